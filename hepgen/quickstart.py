"""The main job, `hepgen quickstart`: the whole chain on the shipped data, from ROOT files to a report.

1. read every shipped sample and check its physics (the CMS NanoAOD file, the tt̄ W and top peaks,
   top jets with pileup overlaid);
2. train the neutrino flow and its baselines (MDN, Gaussian, MSE) on ``data/ttbar_ljets.root``;
3. sample their posteriors on the independent test events and compare them with the analytic
   W-mass solution (``results/neutrino/``);
4. train VIPR on ``data/top_jets.root`` with pileup overlaid on the fly;
5. sample it on the independent test jets at several μ and compare with the observed jets and the
   tuned SoftDrop baseline (``results/pileup/``);
6. write ``results/summary.md`` and ``results/metrics.json``.

The budget presets (:data:`BUDGETS`) set the training steps and the evaluation sizes; ``small``
(the default) fits in ≈ 15 minutes on a 2-core CPU, ``large`` is meant for a GPU. With
``use_shipped_models`` the training is skipped and the models in ``analyses/*/model`` are used.
It stays a plain function so tests (and notebooks) can call it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import vector

from hepgen.errors import HepgenInputError, MissingFileError
from hepgen.io import read
from hepgen.io.writer import atomic_path

__all__ = ["QuickstartResult", "QuickstartBudget", "BUDGETS", "run_quickstart", "DEFAULT_NANOAOD", "SHIPPED_SAMPLES"]

log = logging.getLogger("hepgen.quickstart")

#: The shipped CMS Open Data NanoAOD file, relative to the data folder.
DEFAULT_NANOAOD = "cms_opendata_ttbar_nanoaod.root"
#: hepgen's shipped Pythia samples (see data/README.md for the commands that make them).
SHIPPED_SAMPLES = {
    "ttbar": "ttbar_ljets.root",
    "ttbar_test": "ttbar_ljets_test.root",
    "jets": "top_jets.root",
    "jets_test": "top_jets_test.root",
    "minbias": "minbias_pool.root",
}
#: The models trained on the shipped samples (analyses/*/README.md say how), used with ``use_shipped_models``.
DEFAULT_NEUTRINO_MODEL = Path("analyses") / "neutrino" / "model"
DEFAULT_PILEUP_MODEL = Path("analyses") / "pileup" / "model"

#: The neutrino methods the quickstart trains, flow first.
NEUTRINO_METHODS = ("flow", "mdn", "gauss", "mse")


@dataclass(frozen=True)
class QuickstartBudget:
    """How much the quickstart trains and evaluates.

    Attributes:
        neutrino_steps: optimizer steps per neutrino model (batch 256).
        neutrino_events: training events read (the rest of the file is unused).
        neutrino_test_events: test events predicted and validated.
        neutrino_samples: posterior samples per test event.
        vipr_steps: VIPR optimizer steps (batch 64).
        vipr_jets: training jets read.
        vipr_test_jets: test jets predicted per μ.
        vipr_samples, vipr_sampler_steps: posterior samples per jet and Heun steps.
        mu_values: the μ points of the pileup validation.
        model_scale: multiplies the network widths (1: the defaults, dim 64).
    """

    neutrino_steps: int
    neutrino_events: int
    neutrino_test_events: int
    neutrino_samples: int
    vipr_steps: int
    vipr_jets: int
    vipr_test_jets: int
    vipr_samples: int
    vipr_sampler_steps: int
    mu_values: tuple[float, ...]
    model_scale: int = 1


#: Presets: ``test`` (seconds; the test suite), ``small`` (the default, ≈ 15 min on a 2-core CPU),
#: ``medium`` (≈ 1 h CPU, minutes on a GPU), ``large`` (a GPU; for results worth a plot in a talk).
BUDGETS: dict[str, QuickstartBudget] = {
    "test": QuickstartBudget(8, 1500, 300, 16, 6, 300, 12, 2, 12, (60.0,)),
    "small": QuickstartBudget(400, 20000, 5000, 256, 500, 10000, 100, 4, 25, (60.0, 140.0)),
    "medium": QuickstartBudget(3000, 20000, 5000, 256, 4000, 10000, 200, 8, 50, (20.0, 60.0, 100.0, 140.0, 200.0)),
    "large": QuickstartBudget(20000, 20000, 5000, 256, 30000, 10000, 200, 16, 50, (20.0, 60.0, 100.0, 140.0, 200.0), 2),
}


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


class _Stages:
    """Numbered progress lines with the elapsed time of each stage (what a physicist watches in a terminal)."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.done = total, enabled, 0
        self.timings: dict[str, float] = {}
        self._start = time.perf_counter()

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        self.done += 1
        start = time.perf_counter()
        if self.enabled:
            print(f"[{self.done}/{self.total}] {name} ...", flush=True)
        yield
        self.timings[name] = time.perf_counter() - start
        if self.enabled:
            print(f"[{self.done}/{self.total}] {name}: done in {self.timings[name]:.0f} s "
                  f"(total {time.perf_counter() - self._start:.0f} s)", flush=True)  # fmt: skip


def _train_neutrino_models(train: Path, runs: Path, budget: QuickstartBudget, accelerator: str, progress: bool) -> dict[str, Path]:
    from hepgen.tasks.neutrino_run import NeutrinoTrainConfig, train_neutrino

    trained = {}
    for method in NEUTRINO_METHODS:
        config = NeutrinoTrainConfig(
            data=[str(train)], out=str(runs / f"neutrino_{method}"), model=method, max_events=budget.neutrino_events,
            max_steps=budget.neutrino_steps, max_epochs=-1, dim=64 * budget.model_scale, accelerator=accelerator,
            devices=1, progress=progress, patience=1000,
        )  # fmt: skip
        shutil.rmtree(config.out, ignore_errors=True)  # the quickstart always starts afresh
        trained[method] = train_neutrino(config)
    return trained


def _neutrino_section(test: Path, models: dict[str, Path], out: Path, budget: QuickstartBudget, device: str,
                      progress: bool) -> tuple[str, dict[str, Any]]:  # fmt: skip
    from hepgen.tasks.neutrino_run import predict_neutrino
    from hepgen.validation.neutrino_comparison import validate_neutrino

    predictions = out / "predictions"
    files = [predict_neutrino(data=[str(test)], out=predictions / f"{method}.root", run=run, samples=budget.neutrino_samples,
                              max_events=budget.neutrino_test_events, overwrite=True, device=device, progress=progress)
             for method, run in models.items()]  # fmt: skip
    files.append(predict_neutrino(data=[str(test)], out=predictions / "analytic.root", method="analytic",
                                  max_events=budget.neutrino_test_events, overwrite=True))  # fmt: skip
    metrics = validate_neutrino(files, out)
    methods = metrics["methods"]
    lines = [
        f"## Neutrino posterior on `{test}` ({metrics['events']} independent test events)",
        "",
        "| method | px resolution [GeV] | pz resolution [GeV] | pz calibration (KS; verdict) |",
        "|---|---|---|---|",
    ]
    for name, entry in methods.items():
        cal = entry["pz"].get("calibration")
        cal_text = f"{cal['ks']:.3f}; {cal['verdict']}" if cal else "point estimate"
        lines.append(f"| {name} | {entry['px']['resolution']:.1f} | {entry['pz']['resolution']:.1f} | {cal_text} |")
    lines += ["", f"Figures and the full tables: `{out}/summary.md` (residuals, m(ℓν), m(ℓνb), truth quantiles, "
                  "coverage, pulls).", ""]  # fmt: skip
    return "\n".join(lines) + "\n", metrics


def _train_vipr(jets: Path, pool: Path, runs: Path, budget: QuickstartBudget, accelerator: str, progress: bool) -> Path:
    from hepgen.tasks.pileup_run import PileupTrainConfig, train_pileup

    config = PileupTrainConfig(
        jets=[str(jets)], pileup=[str(pool)], out=str(runs / "vipr"), max_jets=budget.vipr_jets, max_steps=budget.vipr_steps,
        max_epochs=-1, dim=64 * budget.model_scale, accelerator=accelerator, devices=1, progress=progress, patience=1000,
    )  # fmt: skip
    shutil.rmtree(config.out, ignore_errors=True)
    return train_pileup(config)


def _pileup_section(test_jets: Path, pool: Path, model: Path, out: Path, budget: QuickstartBudget, device: str,
                    progress: bool) -> tuple[str, dict[str, Any]]:  # fmt: skip
    from hepgen.tasks.pileup_run import predict_pileup
    from hepgen.validation.pileup_comparison import validate_pileup

    files = [predict_pileup(run=model, jets=[str(test_jets)], pileup=[str(pool)], out=out / "predictions" / f"vipr_mu{mu:g}.root",
                            mu=mu, samples=budget.vipr_samples, steps=budget.vipr_sampler_steps, max_jets=budget.vipr_test_jets,
                            seed=int(mu), device=device, progress=progress, overwrite=True)
             for mu in budget.mu_values]  # fmt: skip
    metrics = validate_pileup(files, out, progress=progress)
    lines = [
        f"## Pileup removal on `{test_jets}` ({budget.vipr_test_jets} independent top jets, "
        f"{budget.vipr_samples} VIPR samples each)",
        "",
        "Relative residual of each observable, m/m_true − 1 etc.: bias (median) / resolution (IQR/1.349), on the test "
        "jets; SoftDrop tuned on the validation jets.",
        "",
        "| μ | observable | observed | SoftDrop (z_cut, β) | VIPR posterior median | VIPR calibration (KS) |",
        "|---|---|---|---|---|---|",
    ]
    for mu, entry in metrics["per_mu"].items():
        for name in ("mass", "tau32", "d2", "n_constituents"):
            m = {k: entry["methods"][k][name] for k in ("observed", "softdrop", "vipr median")}
            sd = entry["softdrop_choice"][name]
            cal = entry["calibration"].get(name)
            cal_text = f"{cal['ks']:.3f} ({cal['verdict']})" if cal else "–"
            lines.append(
                f"| {mu} | {name} | {m['observed']['bias']:+.3f} / {m['observed']['resolution']:.3f} "
                f"| ({sd['z_cut']:g}, {sd['beta']:g}) {m['softdrop']['bias']:+.3f} / {m['softdrop']['resolution']:.3f} "
                f"| {m['vipr median']['bias']:+.3f} / {m['vipr median']['resolution']:.3f} | {cal_text} |"
            )
    lines += ["", f"All eight observables, W1 distances and figures: `{out}/summary.md`.", ""]
    return "\n".join(lines) + "\n", metrics


def run_quickstart(
    data_dir: str | os.PathLike = "data",
    out_dir: str | os.PathLike = "results",
    *,
    budget: str | QuickstartBudget = "small",
    use_shipped_models: bool = False,
    accelerator: str = "cpu",
    progress: bool = True,
    neutrino_model: str | os.PathLike = DEFAULT_NEUTRINO_MODEL,
    pileup_model: str | os.PathLike = DEFAULT_PILEUP_MODEL,
    max_events: int = 5000,
) -> QuickstartResult:
    """Run the whole chain on the shipped samples; writes ``out_dir/summary.md`` and ``out_dir/metrics.json``.

    Args:
        data_dir: the folder with the shipped samples (``data/``).
        out_dir: the results folder (``runs/`` inside it holds the trained models).
        budget: a preset of :data:`BUDGETS` or a :class:`QuickstartBudget`.
        use_shipped_models: skip training; use ``neutrino_model`` and ``pileup_model``.
        accelerator: ``cpu``, ``gpu`` or ``auto`` (Lightning's; prediction uses CUDA for ``gpu``).
        progress: stage lines and progress bars.
        max_events: events read by the input checks of stage 1.
    """
    if isinstance(budget, str):
        if budget not in BUDGETS:
            raise HepgenInputError(f"unknown budget {budget!r}; choose one of {sorted(BUDGETS)}")
        budget = BUDGETS[budget]
    device = "cuda" if accelerator in ("gpu", "cuda") else "cpu"
    data, out = Path(data_dir), Path(out_dir)
    inputs = {key: _require(data / name, key) for key, name in SHIPPED_SAMPLES.items()}
    nano = _require(data / DEFAULT_NANOAOD, "CMS Open Data NanoAOD")
    if use_shipped_models:
        for model in (Path(neutrino_model), Path(pileup_model)):
            if not (model / "model.pt").exists():
                raise MissingFileError(f"the shipped model {str(model / 'model.pt')!r} is missing; run from the hepgen checkout")
    stages = _Stages(4 if use_shipped_models else 6, progress)
    figures: dict[str, float] = {}

    with stages("reading the shipped samples and checking their physics"):
        events = read(nano, "nanoaod")
        neutrinos = events.truth["neutrinos"]
        has_nu = neutrinos.counts >= 1
        met_pt = events["met"]["pt"][:, 0]
        corr = float(np.corrcoef(met_pt[has_nu], neutrinos["pt"][:, 0][has_nu])[0, 1]) if has_nu.sum() > 2 else float("nan")
        inputs_report = (
            f"## CMS Open Data NanoAOD (`{nano}`, schema `nanoaod`)\n\n"
            f"- events read: {events.n_events}; with a truth W → ℓν neutrino (GenPart, mother |pdgId| = 24): "
            f"{int(has_nu.sum())}; corr(MET, ν pT) = {corr:.3f}\n\n"
        )
        figures["nanoaod_met_nu_corr"] = corr
        text, more = _ttbar_section(inputs["ttbar"], max_events)
        inputs_report += text
        figures |= more
        text, more = _jets_section(inputs["jets"], inputs["minbias"], min(max_events, 2000), mu=60.0)
        inputs_report += text
        figures |= more

    runs = out / "runs"
    if use_shipped_models:
        neutrino_models = {"flow": Path(neutrino_model)}
    else:
        with stages(f"training the neutrino flow and its baselines ({', '.join(NEUTRINO_METHODS)}; "
                    f"{budget.neutrino_steps} steps each)"):  # fmt: skip
            neutrino_models = _train_neutrino_models(inputs["ttbar"], runs, budget, accelerator, progress)
    with stages("neutrino posteriors on the test events, validation against the analytic solution"):
        neutrino_report, neutrino_metrics = _neutrino_section(inputs["ttbar_test"], neutrino_models, out / "neutrino", budget,
                                                              device, progress)  # fmt: skip
    if use_shipped_models:
        vipr = Path(pileup_model)
    else:
        with stages(f"training VIPR ({budget.vipr_steps} steps, pileup overlaid on the fly)"):
            vipr = _train_vipr(inputs["jets"], inputs["minbias"], runs, budget, accelerator, progress)
    with stages(f"VIPR posteriors on the test jets at μ = {', '.join(f'{m:g}' for m in budget.mu_values)}, "
                "validation against SoftDrop"):  # fmt: skip
        pileup_report, pileup_metrics = _pileup_section(inputs["jets_test"], inputs["minbias"], vipr, out / "pileup", budget,
                                                        device, progress)  # fmt: skip

    budget_name = next((k for k, v in BUDGETS.items() if v == budget), "custom")
    models_text = ("the shipped models (`" + str(neutrino_model) + "`, `" + str(pileup_model) + "`)" if use_shipped_models
                   else f"models trained just now (`{runs}/`)")  # fmt: skip
    report = (
        "# hepgen quickstart\n\n"
        f"Budget `{budget_name}`, {models_text}, accelerator `{accelerator}`. Stage timings: "
        + ", ".join(f"{name.split(' (')[0]} {seconds:.0f} s" for name, seconds in stages.timings.items()) + ".\n\n"
        "A small budget gives models that learn the physics but are far from converged: the figures show the "
        "method, not its best result (see `analyses/*/README.md` for longer trainings; `--budget medium|large` and "
        "`--accelerator gpu` train longer here).\n\n"
        + neutrino_report + "\n" + pileup_report + "\n" + inputs_report
    )
    metrics = {"budget": budget_name, "budget_settings": budget.__dict__, "use_shipped_models": use_shipped_models,
               "timings_s": stages.timings, "inputs": figures, "neutrino": neutrino_metrics, "pileup": pileup_metrics}  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "metrics.json") as tmp:
        tmp.write_text(json.dumps(metrics, indent=2, sort_keys=True, default=float), encoding="utf-8")
    summary = out / "summary.md"
    with atomic_path(summary) as tmp:
        tmp.write_text(report, encoding="utf-8")
    flow = neutrino_metrics["methods"].get("flow", {})
    figures["nu_flow_pz_resolution"] = flow.get("pz", {}).get("resolution", float("nan"))
    figures["nu_analytic_pz_resolution"] = neutrino_metrics["methods"]["analytic"]["pz"]["resolution"]
    return QuickstartResult(events.n_events, int(has_nu.sum()), corr, summary, figures)
