"""Stage 1 of the main job: read every shipped sample and check its physics (the W and top peaks of the tt̄ sample,
MET following the neutrino, top jets and what pileup does to them, the CMS NanoAOD file)."""

from __future__ import annotations

import math
from pathlib import Path

import awkward as ak
import numpy as np
import vector

from hepgen.io import read

__all__ = ["inputs_section"]


def _four_vectors(cloud, index: int = 0):
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
    from hepgen.sim.pileup import overlay_pileup, read_hard_jets, read_pileup_pool

    jets = read_hard_jets(jets_path, entry_stop=max_jets)
    pool = read_pileup_pool(pool_path)
    observed = overlay_pileup(jets, pool, mu=mu, seed=1)
    m_hard = float(np.median(ak.to_numpy(jets.mass)))
    m_obs = float(np.median(observed.jet_mass))
    n_hard = float(np.mean(ak.to_numpy(ak.num(jets.constituents))))
    n_obs = float(np.mean(ak.num(observed.constituents)))
    figures = {"top_jet_median_mass": m_hard, f"top_jet_median_mass_mu{mu:g}": m_obs}
    text = (
        f"## Top jets and pileup (`{jets_path}`, `{pool_path}`, {len(jets)} jets)\n\n"
        f"- without pileup: median jet mass {m_hard:.1f} GeV, {n_hard:.0f} constituents per jet\n"
        f"- with pileup overlaid (Poisson μ = {mu:g}, pool of {len(pool)} events): median mass {m_obs:.1f} GeV "
        f"({100 * (m_obs / m_hard - 1):+.0f} %), {n_obs:.0f} constituents, "
        f"{100 * float(ak.mean(observed.constituents.is_pileup)):.0f} % of them pileup — what VIPR will learn to undo\n\n"
    )
    return text, figures


def inputs_section(
    nano: Path, inputs: dict[str, Path], max_events: int
) -> tuple[str, dict[str, float], tuple[int, int, float]]:
    """Stage 1: the samples' physics. (report, figures, (NanoAOD events, with a W neutrino, corr(MET, ν pT)))."""
    events = read(nano, "nanoaod")
    neutrinos = events.truth["neutrinos"]
    has_nu = neutrinos.counts >= 1
    met_pt = events["met"]["pt"][:, 0]
    corr = float(np.corrcoef(met_pt[has_nu], neutrinos["pt"][:, 0][has_nu])[0, 1]) if has_nu.sum() > 2 else math.nan
    report = (
        f"## CMS Open Data NanoAOD (`{nano}`, schema `nanoaod`)\n\n"
        f"- events read: {events.n_events}; with a truth W → ℓν neutrino (GenPart, mother |pdgId| = 24): "
        f"{int(has_nu.sum())}; corr(MET, ν pT) = {corr:.3f}\n\n"
    )
    figures = {"nanoaod_met_nu_corr": corr}
    for text, more in (
        _ttbar_section(inputs["ttbar"], max_events),
        _jets_section(inputs["jets"], inputs["minbias"], min(max_events, 2000), mu=60.0),
    ):
        report += text
        figures |= more
    return report, figures, (events.n_events, int(has_nu.sum()), corr)
