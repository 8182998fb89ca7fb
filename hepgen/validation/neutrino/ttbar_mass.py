"""m(tt̄) of ℓ+jets events with each neutrino method: the χ² reconstruction's jets and neutrino.

The χ² (:mod:`hepgen.physics.ttbar_reconstruction`) picks the jets (b_lep, b_had, q1, q2) and the neutrino hypothesis
— for the W-mass constraint both roots, as analyses do — and m(tt̄) = m(ℓ ν b_lep b_had q1 q2). A flow's m(tt̄) is the
median over its posterior samples of each sample's χ² m(tt̄), as the dilepton study takes its observables; a point
estimate is one hypothesis. The χ² widths are those of the correct assignments on other (validation) events.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hepgen.physics.kinematics import massless_p4
from hepgen.physics.ttbar_reconstruction import (
    ChiSquareWidths,
    assigned_ttbar_mass,
    chi2_assignment,
    fit_widths,
    fit_widths_with_choice,
)

__all__ = ["chi2_hypotheses", "chi2_widths", "ttbar_mass"]

#: Posterior samples per event whose χ² m(tt̄) the flow's median is taken over (the median's sampling error at 64
#: samples is ~1/8 of the posterior's width, well below the resolution it is compared with).
MASS_SAMPLES = 64


def chi2_hypotheses(name: str, outputs: dict[str, Any], point: np.ndarray | None = None) -> np.ndarray:
    """The neutrino hypotheses (px, py, pz, E) ``[B, K, 4]`` the χ² tries for a method: both W-mass roots for the
    analytic solution, else its point estimate ``point`` (px, py, pz) ``[B, 3]`` (default: the file's ``point``)."""
    if name == "analytic":
        roots = outputs["analytic_roots"].astype(np.float64)
        met = outputs["point"][:, :2].astype(np.float64)
        return massless_p4(np.concatenate([np.repeat(met[:, None, :], 2, axis=1), roots[..., None]], axis=-1))
    return massless_p4((outputs["point"] if point is None else point).astype(np.float64)[:, None, :])


def _event_arrays(outputs: dict[str, Any]) -> tuple[np.ndarray, ...]:
    return (
        outputs["lepton_p4"].astype(np.float64),
        outputs["jets_p4"].astype(np.float64),
        outputs["jets_btag"] > 0.5,
        outputs["jets_mask"].astype(bool),
    )


def chi2_widths(name: str, outputs: dict[str, Any]) -> ChiSquareWidths:
    """The χ² widths of a method fitted on these events (the correct assignments; for the analytic solution with the
    root the χ² chooses; for a flow with one posterior sample per event, the hypothesis its χ² sees)."""
    lepton, jets, btag, mask = _event_arrays(outputs)
    partons = outputs["parton_jets"].astype(np.int64)
    if name == "analytic":
        return fit_widths_with_choice(lepton, chi2_hypotheses(name, outputs), jets, btag, mask, partons)
    point = outputs["samples"][:, 0] if "samples" in outputs else None
    return fit_widths(lepton, chi2_hypotheses(name, outputs, point)[:, 0], jets, partons)


def ttbar_mass(
    name: str, outputs: dict[str, Any], widths: ChiSquareWidths, *, samples: int = MASS_SAMPLES
) -> np.ndarray:
    """m(tt̄) [GeV] ``[B]`` of a method's file (NaN where the χ² finds no assignment: fewer than four jets)."""
    lepton, jets, btag, mask = _event_arrays(outputs)

    def by_chi2(hypotheses: np.ndarray) -> np.ndarray:
        rows, _, chosen = chi2_assignment(lepton, hypotheses, jets, btag, mask, widths=widths, full=True)
        return assigned_ttbar_mass(lepton, hypotheses, jets, rows, chosen)

    if "samples" not in outputs:
        return by_chi2(chi2_hypotheses(name, outputs))
    draws = outputs["samples"][:, :samples]
    masses = np.stack([by_chi2(chi2_hypotheses(name, outputs, draws[:, s])) for s in range(draws.shape[1])], axis=1)
    answered = np.isfinite(masses).any(axis=1)  # the χ²'s answer does not depend on the sample: all or none
    return np.where(answered, np.median(np.where(answered[:, None], masses, 0.0), axis=1), np.nan)
