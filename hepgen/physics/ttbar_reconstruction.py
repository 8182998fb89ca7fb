"""The χ² reconstruction of tt̄ → ℓ+jets: which jet is the leptonic b, given a neutrino.

For every assignment of the leading jets to (b_lep, b_had, q1, q2) — both b's among the b-tagged jets, the W
quarks among the other jets, q1 < q2 — and every neutrino hypothesis (e.g. the two roots of the W-mass
constraint),

    χ² = ((m(ℓ ν b_lep) − m_t) / σ_lep)² + ((m(b_had q1 q2) − m_t) / σ_had)² + ((m(q1 q2) − m_W) / σ_W)²,

and the smallest χ² wins. Vectorised over events: the assignments of N jets are a fixed table per N. The widths
are those of the correct assignments (:func:`fit_widths`, measured on a validation split), so every neutrino
method gets a χ² tuned to its own m(ℓνb) resolution.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

import numpy as np

from hepgen.physics.kinematics import invariant_mass

__all__ = [
    "TOP_MASS",
    "W_MASS_HADRONIC",
    "ChiSquareWidths",
    "assignments",
    "chi2_assignment",
    "fit_widths",
    "fit_widths_with_choice",
    "assigned_ttbar_mass",
]

#: The top and W masses of the constraints [GeV] (the generator's m_t; PDG m_W).
TOP_MASS = 172.5
W_MASS_HADRONIC = 80.377
#: Jets considered at most (the leading ones by pT).
MAX_JETS = 6


@dataclass(frozen=True)
class ChiSquareWidths:
    """σ of m(ℓνb), m(jjj) and m(jj) [GeV] in the χ²."""

    lep: float = 25.0
    had: float = 20.0
    w: float = 12.0


@cache
def assignments(n_jets: int) -> np.ndarray:
    """Every (b_lep, b_had, q1, q2) of ``n_jets`` jets (q1 < q2), ``[A, 4]``; b-tags are applied per event."""
    rows = [
        (bl, bh, q1, q2)
        for bl, bh in itertools.permutations(range(n_jets), 2)
        for q1, q2 in itertools.combinations([j for j in range(n_jets) if j not in (bl, bh)], 2)
    ]
    return np.array(rows, dtype=np.int64).reshape(-1, 4)


def chi2_assignment(
    lepton: np.ndarray,
    neutrinos: np.ndarray,
    jets: np.ndarray,
    btag: np.ndarray,
    mask: np.ndarray,
    *,
    widths: ChiSquareWidths = ChiSquareWidths(),
    return_hypothesis: bool = False,
    full: bool = False,
) -> tuple[np.ndarray, ...]:
    """The leptonic-b jet of each event by the smallest χ² (−1 if no assignment is possible) and that χ² (and, with
    ``return_hypothesis``, the neutrino hypothesis of that χ² ``[B]``, −1 with no assignment). With ``full``: the
    whole assignment (b_lep, b_had, q1, q2) ``[B, 4]`` (−1 where none) instead of the leptonic-b jet, the χ² and the
    hypothesis.

    Args:
        lepton: (px, py, pz, E) ``[B, 4]``.
        neutrinos: neutrino hypotheses (px, py, pz, E) ``[B, K, 4]`` (K = 1 for a point estimate).
        jets: (px, py, pz, E) ``[B, N, 4]``, leading first; btag: ``[B, N]`` (truthy = tagged); mask: ``[B, N]``.
        widths: the σ of the three constraints.
    """
    B = len(lepton)
    n = np.minimum(mask.sum(axis=1), MAX_JETS).astype(np.int64)
    best_rows = np.full((B, 4), -1, dtype=np.int64)
    best_hypothesis = np.full(B, -1, dtype=np.int64)
    best_chi2 = np.full(B, np.inf)
    for count in np.unique(n):
        if count < 4:
            continue
        events = np.flatnonzero(n == count)
        table = assignments(int(count))  # [A, 4]
        j = jets[events][:, :count]  # [b, count, 4]
        tagged = btag[events][:, :count].astype(bool)

        # [b, A, 4]
        def pick(k, j=j, table=table):
            return j[:, table[:, k]]

        m_had = invariant_mass(pick(1), pick(2), pick(3))
        m_w = invariant_mass(pick(2), pick(3))
        m_lep = invariant_mass(
            lepton[events][:, None, None, :], neutrinos[events][:, :, None, :], pick(0)[:, None]
        )  # [b, K, A]
        chi2 = ((m_lep - TOP_MASS) / widths.lep) ** 2 + (
            ((m_had - TOP_MASS) / widths.had) ** 2 + ((m_w - W_MASS_HADRONIC) / widths.w) ** 2
        )[:, None, :]
        allowed = tagged[:, table[:, 0]] & tagged[:, table[:, 1]]  # both b's tagged ...
        if tagged.sum(axis=1).min() < 2:  # ... when the event has two tags; else any jets
            allowed |= (tagged.sum(axis=1) < 2)[:, None]
        chi2 = np.where(allowed[:, None, :], chi2, np.inf).reshape(len(events), -1)
        flat = np.argmin(chi2, axis=1)
        best_chi2[events] = chi2[np.arange(len(events)), flat]
        found = np.isfinite(best_chi2[events])
        best_rows[events] = np.where(found[:, None], table[flat % len(table)], -1)
        best_hypothesis[events] = np.where(found, flat // len(table), -1)
    if full:
        return best_rows, best_chi2, best_hypothesis
    jet = best_rows[:, 0]
    return (jet, best_chi2, best_hypothesis) if return_hypothesis else (jet, best_chi2)


def assigned_ttbar_mass(
    lepton: np.ndarray, neutrinos: np.ndarray, jets: np.ndarray, rows: np.ndarray, hypothesis: np.ndarray
) -> np.ndarray:
    """m(tt̄) = m(ℓ ν b_lep b_had q1 q2) [GeV] ``[B]`` of the assignment ``rows`` ``[B, 4]`` and neutrino ``hypothesis``
    ``[B]`` of :func:`chi2_assignment` with ``full`` (NaN where it found none); the other arguments as there."""
    events = np.arange(len(lepton))
    picked = jets[events[:, None], np.maximum(rows, 0)]  # [B, 4, 4]
    mass = invariant_mass(lepton, neutrinos[events, np.maximum(hypothesis, 0)], *picked.transpose(1, 0, 2))
    return np.where(hypothesis >= 0, mass, np.nan)


def fit_widths(lepton: np.ndarray, neutrino: np.ndarray, jets: np.ndarray, truth_jets: np.ndarray) -> ChiSquareWidths:
    """The σ of the χ² from the correct assignments: IQR/1.349 of m(ℓνb_lep), m(b_had q q') and m(q q') over the
    events whose four partons are matched to distinct jets (``truth_jets`` ``[B, 4]``: b_lep, b_had, q1, q2; −1 if
    unmatched), with ``neutrino`` ``[B, 4]`` the method's neutrino."""
    ok = (truth_jets >= 0).all(axis=1)
    if ok.sum() < 20:
        return ChiSquareWidths()
    rows = np.flatnonzero(ok)

    def take(k):
        return jets[rows, truth_jets[rows, k]]

    def width(m):
        return float(np.subtract(*np.percentile(m[np.isfinite(m)], [75, 25])) / 1.349)

    return ChiSquareWidths(
        lep=width(invariant_mass(lepton[rows], neutrino[rows], take(0))),
        had=width(invariant_mass(take(1), take(2), take(3))),
        w=width(invariant_mass(take(2), take(3))),
    )


def fit_widths_with_choice(
    lepton: np.ndarray,
    hypotheses: np.ndarray,
    jets: np.ndarray,
    btag: np.ndarray,
    mask: np.ndarray,
    truth_jets: np.ndarray,
    *,
    rounds: int = 3,
) -> ChiSquareWidths:
    """The χ² widths for a method with several neutrino hypotheses ``[B, K, 4]`` (the W-mass constraint's two roots):
    fitted (:func:`fit_widths`) with the hypothesis the χ² itself chooses in each event, not a fixed one — starting
    from hypothesis 0, the widths and the χ²'s choices are iterated ``rounds`` times (they settle within two)."""
    rows = np.arange(len(lepton))
    chosen = np.zeros(len(lepton), dtype=np.int64)
    widths = fit_widths(lepton, hypotheses[rows, chosen], jets, truth_jets)
    for _ in range(rounds):
        _, _, k = chi2_assignment(lepton, hypotheses, jets, btag, mask, widths=widths, return_hypothesis=True)
        chosen = np.where(k >= 0, k, chosen)
        widths = fit_widths(lepton, hypotheses[rows, chosen], jets, truth_jets)
    return widths
