"""The energy mover's distance between two clouds of particles (Komiske, Metodiev, Thaler 2019), an optimal-transport
distance between each generated (or kept) constituent cloud and the true one: the least pT·distance needed to move one
cloud's pT onto the other's, per unit of the truth's pT, plus the difference of the summed pT.

    EMD = (min_f Σ_ij f_ij ΔR_ij / R + |Σ pT − Σ pT'|) / Σ pT'

with flows f_ij ≥ 0 moving at most each particle's pT (Σ_j f_ij ≤ pT_i, Σ_i f_ij ≤ pT'_j, Σ f = min(Σ pT, Σ pT')),
ΔR in (η, φ) and R the jet radius. Dimensionless: 0 for identical clouds, the share of the jet's pT times the
distance it moved in units of R otherwise. Solved exactly by the network simplex of `POT <https://pythonot.github.io>`_
(``ot.emd2``), the unbalanced part by a dummy particle carrying the pT difference at zero cost (the |ΔΣpT| term adds
it back), as the EnergyFlow package defines it.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from hepgen.validation.pileup.score import DIVERGED_PT

__all__ = ["energy_movers_distance", "cloud_distances", "JET_RADIUS"]

#: The radius of the study's jets (``hepgen generate jets --radius``, default 1.0): the unit of the distances.
JET_RADIUS = 1.0


def energy_movers_distance(
    pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    true_pt: np.ndarray,
    true_eta: np.ndarray,
    true_phi: np.ndarray,
    *,
    radius: float = 1.0,
) -> float:
    """The EMD of a cloud (pT [GeV], η, φ ``[n]``) from the true one (``[m]``), per unit of the truth's summed pT;
    NaN for a cloud of a diverged sampler (a particle not finite or above :data:`~hepgen.validation.pileup.score.
    DIVERGED_PT`, as the observables skip it)."""
    import ot

    pt, true_pt = np.asarray(pt, np.float64), np.asarray(true_pt, np.float64)
    total, true_total = pt.sum(), true_pt.sum()
    if true_total <= 0:
        raise ValueError("the true cloud has no pT")
    if not (np.isfinite(pt).all() and np.isfinite(eta).all() and np.isfinite(phi).all()) or (pt >= DIVERGED_PT).any():
        return float("nan")
    if len(pt) == 0 or total <= 0:
        return 1.0  # nothing to move: all of the truth's pT is missing
    dphi = (np.asarray(phi)[:, None] - np.asarray(true_phi)[None, :] + np.pi) % (2 * np.pi) - np.pi
    distance = np.hypot(np.asarray(eta)[:, None] - np.asarray(true_eta)[None, :], dphi) / radius
    # balance the masses with a dummy particle on the lighter side, reachable at zero cost
    a, b = pt, true_pt
    if total > true_total:
        b, distance = np.append(b, total - true_total), np.hstack([distance, np.zeros((len(a), 1))])
    elif true_total > total:
        a, distance = np.append(a, true_total - total), np.vstack([distance, np.zeros((1, len(b)))])
    scale = max(total, true_total)  # unit masses: POT checks that both sum alike to 6 decimals, whatever the scale
    moved = ot.emd2(a / scale, b / scale, distance) * scale
    return float((moved + abs(total - true_total)) / true_total)


def cloud_distances(clouds: ak.Array, truth: ak.Array, *, per_truth: int = 1, radius: float = JET_RADIUS) -> np.ndarray:
    """The EMD of every cloud ``[R]`` (records pt, eta, phi) from its jet's truth ``[J]``, with ``per_truth``
    consecutive clouds per jet (R = J × per_truth, jet-major): ``[J, per_truth]``."""

    def columns(cloud: ak.Array) -> tuple[np.ndarray, list[np.ndarray]]:
        counts = ak.to_numpy(ak.num(cloud))
        offsets = np.concatenate([[0], np.cumsum(counts)])
        flat = [ak.to_numpy(ak.flatten(cloud[k])).astype(np.float64) for k in ("pt", "eta", "phi")]
        return offsets, flat

    (o, c), (to, tc) = columns(clouds), columns(truth)
    out = np.empty(len(clouds))
    for r in range(len(clouds)):
        j = r // per_truth
        out[r] = energy_movers_distance(
            *(x[o[r] : o[r + 1]] for x in c), *(x[to[j] : to[j + 1]] for x in tc), radius=radius
        )
    return out.reshape(len(truth), per_truth)
