"""The main job, `hepgen quickstart`: read every shipped sample and check its physics.

At this stage it reads the CMS NanoAOD file (truth W neutrinos against MET)
and hepgen's own Pythia samples (the W and top mass peaks in tt̄ → ℓ+jets, the
top-jet mass with and without pileup overlaid on the fly), samples the
neutrino posterior of the test events with the shipped flow and compares it
with the analytic solution, and writes ``results/summary.md`` (and
``results/neutrino/``). It grows into the full chain (train → predict →
validate) as the task modules land; it stays a plain function so tests can
call it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import vector

from hepgen.errors import MissingFileError
from hepgen.io import describe_events, read
from hepgen.io.writer import atomic_path

__all__ = ["QuickstartResult", "run_quickstart", "DEFAULT_NANOAOD", "SHIPPED_SAMPLES"]

log = logging.getLogger("hepgen.quickstart")

#: The shipped CMS Open Data NanoAOD file, relative to the data folder.
DEFAULT_NANOAOD = "cms_opendata_ttbar_nanoaod.root"
#: hepgen's shipped Pythia samples (see data/README.md for the commands that make them).
SHIPPED_SAMPLES = {
    "ttbar": "ttbar_ljets.root",
    "ttbar_test": "ttbar_ljets_test.root",
    "jets": "top_jets.root",
    "minbias": "minbias_pool.root",
}
#: The neutrino flow trained on the shipped sample (analyses/neutrino/README.md says how).
DEFAULT_NEUTRINO_MODEL = Path("analyses") / "neutrino" / "model"


@dataclass(frozen=True)
class QuickstartResult:
    """What the quickstart measured and where it wrote its report."""

    n_events: int
    n_with_w_neutrino: int
    met_nu_pt_correlation: float
    summary_path: Path
    figures: dict[str, float] = field(default_factory=dict)


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        raise MissingFileError(
            f"quickstart input {str(path)!r} ({what}) not found; run from the hepgen checkout or pass --data DIR; "
            "data/README.md gives the command that regenerates each sample"
        )
    return path


def _four_vectors(cloud, index: int = 0):  # noqa: ANN001, ANN202 - PointCloud -> vector array
    return vector.array(
        {k: cloud[k][:, index] for k in ("pt", "eta", "phi")}
        | {"mass": cloud["mass"][:, index] if "mass" in cloud.features else np.zeros(cloud.n_events)}
    )


def _ttbar_section(path: Path, max_events: int) -> tuple[str, dict[str, float]]:
    events = read(path, "hepgen-ttbar", entry_stop=max_events)
    lepton = _four_vectors(events["leptons"])
    neutrino = _four_vectors(events.truth["neutrino"])
    b_lep = _four_vectors(events.truth["partons"], 0)
    m_w = np.median((lepton + neutrino).mass)
    m_t = np.median((lepton + neutrino + b_lep).mass)
    met = events["met"]["pt"][:, 0]
    corr = float(np.corrcoef(met, events.truth["neutrino"]["pt"][:, 0])[0, 1])
    jets = events["jets"]
    figures = {"ttbar_median_m_lnu": float(m_w), "ttbar_median_m_lnub": float(m_t), "ttbar_met_nu_corr": corr}
    text = (
        f"## hepgen tt̄ → ℓ+jets (`{path}`, first {events.n_events} events)\n\n"
        f"- median m(ℓ, ν_truth) = {m_w:.1f} GeV (W: 80.4); median m(ℓ, ν_truth, b_lep) = {m_t:.1f} GeV (top: 172.5)\n"
        f"- corr(MET, ν pT) = {corr:.3f}; jets/event {jets.counts.mean():.2f}; "
        f"b-tags/event {np.where(jets.mask, jets['btag'], 0).sum(1).mean():.2f}\n\n"
    )
    return text, figures


def _jets_section(jets_path: Path, pool_path: Path, max_jets: int, mu: float) -> tuple[str, dict[str, float]]:
    import awkward as ak
    import uproot

    from hepgen.sim.pileup import HardJets, PileupPool, overlay_pileup

    with uproot.open(jets_path) as f:
        raw = f["Jets"].arrays(entry_stop=max_jets)
    constituents = ak.zip({k: raw[f"Constituent_{k}"] for k in ("pt", "eta", "phi", "mass", "charge")})
    hard = HardJets.from_columns(ak.to_numpy(raw.Jet_eta), ak.to_numpy(raw.Jet_phi), constituents)
    pool = PileupPool.from_root(pool_path)
    observed = overlay_pileup(hard, pool, mu=mu, seed=1)
    m_hard = float(np.median(ak.to_numpy(raw.Jet_mass)))
    m_obs = float(np.median(observed.jet_mass))
    n_hard = float(np.mean(ak.to_numpy(raw.nConstituent)))
    n_obs = float(np.mean(ak.num(observed.constituents)))
    figures = {"top_jet_median_mass": m_hard, f"top_jet_median_mass_mu{mu:g}": m_obs}
    text = (
        f"## Top jets and pileup (`{jets_path}`, `{pool_path}`, {len(raw)} jets)\n\n"
        f"- without pileup: median jet mass {m_hard:.1f} GeV, {n_hard:.0f} constituents per jet\n"
        f"- with pileup overlaid (Poisson μ = {mu:g}, pool of {pool.n_events} events): median mass {m_obs:.1f} GeV "
        f"({100 * (m_obs / m_hard - 1):+.0f} %), {n_obs:.0f} constituents, "
        f"{100 * float(ak.mean(observed.constituents.is_pileup)):.0f} % of them pileup — what VIPR will learn to undo\n\n"
    )
    return text, figures


def _neutrino_section(test: Path, model: Path, out: Path, max_events: int) -> tuple[str, dict[str, float]]:
    from hepgen.tasks.neutrino_run import predict_neutrino
    from hepgen.validation.neutrino_comparison import validate_neutrino

    predictions = out / "predictions"
    flow = predict_neutrino(data=[str(test)], out=predictions / "flow.root", run=model, samples=256, max_events=max_events,
                            overwrite=True)
    analytic = predict_neutrino(data=[str(test)], out=predictions / "analytic.root", method="analytic", max_events=max_events,
                                overwrite=True)
    metrics = validate_neutrino([flow, analytic], out)
    f, a = metrics["methods"]["flow"], metrics["methods"]["analytic"]
    figures = {
        "nu_flow_px_resolution": f["px"]["resolution"], "nu_analytic_px_resolution": a["px"]["resolution"],
        "nu_flow_pz_resolution": f["pz"]["resolution"], "nu_analytic_pz_resolution": a["pz"]["resolution"],
        "nu_flow_pz_ks": f["pz"]["calibration"]["ks"],
    }  # fmt: skip
    text = (
        f"## Neutrino posterior: the shipped ν-flow (`{model}`) on `{test}` ({metrics['events']} events)\n\n"
        f"- px resolution: flow {f['px']['resolution']:.1f} GeV, analytic (MET) {a['px']['resolution']:.1f} GeV\n"
        f"- pz resolution: flow {f['pz']['resolution']:.1f} GeV, analytic W-mass solution {a['pz']['resolution']:.1f} GeV\n"
        f"- flow calibration in pz: KS {f['pz']['calibration']['ks']:.3f}, largest coverage deviation "
        f"{f['pz']['calibration']['max_coverage_deviation']:.3f} ({f['pz']['calibration']['verdict']})\n"
        f"- full comparison and figures: `{out}/summary.md`\n\n"
    )
    return text, figures


def run_quickstart(
    data_dir: str | os.PathLike = "data",
    out_dir: str | os.PathLike = "results",
    *,
    max_events: int = 5000,
    neutrino_model: str | os.PathLike = DEFAULT_NEUTRINO_MODEL,
) -> QuickstartResult:
    """Read the shipped samples, check their physics, run the shipped neutrino flow, write ``out_dir/summary.md``."""
    data = Path(data_dir)
    path = _require(data / DEFAULT_NANOAOD, "CMS Open Data NanoAOD")
    log.info("reading %s with the 'nanoaod' schema", path)
    events = read(path, "nanoaod")
    neutrinos = events.truth["neutrinos"]
    has_nu = neutrinos.counts >= 1
    met_pt = events["met"]["pt"][:, 0]
    nu_pt = neutrinos["pt"][:, 0]
    corr = float(np.corrcoef(met_pt[has_nu], nu_pt[has_nu])[0, 1]) if has_nu.sum() > 2 else float("nan")
    report = (
        "# hepgen quickstart\n\n"
        f"## CMS Open Data NanoAOD (`{path}`, schema `nanoaod`)\n\n"
        f"- events read: {events.n_events}\n"
        f"- events with a truth W → ℓν neutrino (GenPart, mother |pdgId| = 24): {int(has_nu.sum())}\n"
        f"- correlation of reconstructed MET with the truth neutrino pT: {corr:.3f}\n\n"
        "```\n" + describe_events(events) + "\n```\n\n"
    )
    figures: dict[str, float] = {"nanoaod_met_nu_corr": corr}
    ttbar = _require(data / SHIPPED_SAMPLES["ttbar"], "hepgen tt̄ sample")
    log.info("reading %s with the 'hepgen-ttbar' schema", ttbar)
    text, more = _ttbar_section(ttbar, max_events)
    report += text
    figures |= more
    jets = _require(data / SHIPPED_SAMPLES["jets"], "hepgen top jets")
    pool = _require(data / SHIPPED_SAMPLES["minbias"], "hepgen minimum-bias pool")
    log.info("overlaying pileup from %s on %s", pool, jets)
    text, more = _jets_section(jets, pool, min(max_events, 2000), mu=60.0)
    report += text
    figures |= more
    model = Path(neutrino_model)
    if not (model / "model.pt").exists():
        raise MissingFileError(f"the neutrino model {str(model / 'model.pt')!r} is missing; run from the hepgen checkout")
    test = _require(data / SHIPPED_SAMPLES["ttbar_test"], "hepgen tt̄ test sample")
    log.info("sampling the neutrino posterior of %s with %s", test, model)
    text, more = _neutrino_section(test, model, Path(out_dir) / "neutrino", min(max_events, 2000))
    report += text
    figures |= more
    out = Path(out_dir) / "summary.md"
    with atomic_path(out) as tmp:
        tmp.write_text(report, encoding="utf-8")
    return QuickstartResult(events.n_events, int(has_nu.sum()), corr, out, figures)
