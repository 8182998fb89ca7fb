"""PUPPI, pileup per particle identification (Bertolini, Harris, Low, Tran, arXiv:1407.6013), as CMS runs it.

For each particle i, α_i = ln Σ_j pT_j² / ΔR_ij² over the neighbours j within ΔR < R0 (ΔR² < 10⁻⁴ skipped; α = 0
without neighbours). Neighbours are the charged particles associated with the hard vertex in the central region
(where tracks exist) and all particles beyond it. The event's pileup reference is the median and the RMS of α over
the charged particles associated with a pileup vertex (|η| < ``eta_extrapolation``, pT >= ``rms_pt_min``, α ≠ 0;
the RMS from the values at or below the median), scaled per region. A neutral particle's weight is the χ²
(1 dof) probability of χ² = (α − median)·|α − median| / RMS² (0 for α below the median), zeroed below 0.01 or
when w·pT < ``min_neutral_pt`` + ``slope`` × N_PV, and raised for high-pT neutrals to
clamp((pT − 20)/(200 − 20), w, 1). Charged particles (those with a track) get 1 from the hard vertex, 0 from a
pileup vertex.

The default is CMS's Run-2 tune "v15" (CMSSW CommonTools/PileupAlgos/python/Puppi_cff.py at f58146d, the fact
sheet's C1; the definitions in PuppiContainer.cc / PuppiAlgo.cc, C2). No Python package implements PUPPI, so it
is written here: per event, vectorised over its particles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import awkward as ak
import numpy as np
from scipy.special import erf

from hepgen.physics.kinematics import delta_phi
from hepgen.physics.pileup_mitigation import chs_keep, tracker_charged

__all__ = [
    "PuppiRegion",
    "PuppiTune",
    "PUPPI_RUN2",
    "PUPPI_VARIANTS",
    "puppi_alpha",
    "puppi_weights",
    "puppi_weights_of_tunes",
    "puppi_jet_weights",
    "puppi_jet_weights_of_tunes",
]


@dataclass(frozen=True)
class PuppiRegion:
    """The PUPPI parameters of one |η| region (|η| < ``eta_max``); pT in GeV."""

    eta_max: float
    cone: float = 0.4  # R0
    rms_pt_min: float = 0.1
    min_neutral_pt: float = 0.2
    slope: float = 0.015  # per reconstructed vertex
    median_scale: float = 1.0
    rms_scale: float = 1.0
    charged_neighbours: bool = True


@dataclass(frozen=True)
class PuppiTune:
    """A PUPPI tune: its |η| regions and the settings common to them."""

    regions: tuple[PuppiRegion, ...]
    eta_extrapolation: float = 2.0
    weight_min: float = 0.01
    protect_pt_start: float = 20.0
    protect_pt_full: float = 200.0

    def __post_init__(self) -> None:
        from hepgen.errors import HepgenInputError

        for region in self.regions:
            if not region.cone > 0 or not region.rms_scale > 0:
                raise HepgenInputError(f"a PUPPI cone and RMS scale must be > 0; got {region}")


#: CMS Run-2 "v15" (C1): |η| < 2.5 charged neighbours; 2.5–3 and 3–10 all neighbours, with their scale factors.
PUPPI_RUN2 = PuppiTune(
    regions=(
        #            |η| <  R0   rms_pt_min  min_neutral_pt  slope  median_scale  rms_scale  charged_neighbours
        PuppiRegion(2.5, 0.4, 0.1, 0.2, 0.015, 1.00, 1.00, True),
        PuppiRegion(3.0, 0.4, 0.5, 1.7, 0.080, 0.90, 1.20, False),
        PuppiRegion(10.0, 0.4, 0.5, 2.0, 0.080, 0.75, 0.95, False),
    )
)


def _central_variant(rms_scale: float, median_scale: float, min_neutral_pt: float) -> PuppiTune:
    central = replace(
        PUPPI_RUN2.regions[0], rms_scale=rms_scale, median_scale=median_scale, min_neutral_pt=min_neutral_pt
    )
    return replace(PUPPI_RUN2, regions=(central, *PUPPI_RUN2.regions[1:]))


#: Variants of the Run-2 tune's central region (|η| < 2.5), one of which the validation chooses per observable on
#: the validation jets (``puppi_tuned``), as an experiment retunes PUPPI for its detector: how far above the pileup
#: median α a neutral must lie (RMS scale 0.25–2; CMS's tunes use 0.75–1.2 in the forward regions), a lower median
#: (0.8), and a harder neutral pT cut (1 GeV).
PUPPI_VARIANTS: tuple[PuppiTune, ...] = tuple(
    _central_variant(rms, median, min_pt)
    for rms in (0.25, 0.5, 1.0, 2.0)
    for median, min_pt in ((1.0, 0.2), (0.8, 0.2), (1.0, 1.0))
)


def puppi_alpha(
    pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, neighbour: np.ndarray, cone: float, rows: np.ndarray | None = None
) -> np.ndarray:
    """α of the particles ``rows`` (default: all) of one event, from the ``neighbour`` particles within ΔR < ``cone``."""
    pt, eta, phi = (np.asarray(x, np.float64) for x in (pt, eta, phi))
    i = np.arange(len(pt)) if rows is None else np.asarray(rows)
    j = np.flatnonzero(neighbour)
    dr2 = (eta[i][:, None] - eta[j][None, :]) ** 2 + delta_phi(phi[i][:, None], phi[j][None, :]) ** 2
    use = (dr2 < cone**2) & (dr2 >= 1e-4)
    total = np.where(use, pt[j][None, :] ** 2 / np.where(use, dr2, 1.0), 0.0).sum(axis=1)
    return np.log(np.where(total > 0, total, 1.0))


def _reference(alpha: np.ndarray) -> tuple[float, float]:
    """Median and RMS (of the values at or below it) of the pileup α; (0, 0) when there is none."""
    alpha = alpha[alpha != 0]
    if not len(alpha):
        return 0.0, 0.0
    median = float(np.sort(alpha)[len(alpha) // 2])
    below = alpha[alpha <= median]
    return median, float(np.sqrt(np.mean((below - median) ** 2)))


def puppi_weights(
    pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    has_track: np.ndarray,
    from_hard_vertex: np.ndarray,
    n_pv: int,
    tune: PuppiTune = PUPPI_RUN2,
) -> np.ndarray:
    """PUPPI weights ``[P]`` in [0, 1] of the particles (tracks and towers) of one event.

    Args:
        pt, eta, phi: the particles' measured kinematics [GeV, -, rad].
        has_track: True for charged particles with a track (they are weighted by their vertex).
        from_hard_vertex: for tracks, whether they are associated with the hard vertex (ignored for the others).
        n_pv: the event's number of reconstructed vertices.
    """
    return puppi_weights_of_tunes(pt, eta, phi, has_track, from_hard_vertex, n_pv, (tune,))[0]


def puppi_weights_of_tunes(
    pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    has_track: np.ndarray,
    from_hard_vertex: np.ndarray,
    n_pv: int,
    tunes: Sequence[PuppiTune],
) -> np.ndarray:
    """:func:`puppi_weights` of one event for several ``tunes`` at once ``[T, P]`` (α computed once per cone and
    choice of neighbours)."""
    pt, eta = np.asarray(pt, np.float64), np.asarray(eta, np.float64)
    has_track = np.asarray(has_track, bool)
    hard_track = has_track & np.asarray(from_hard_vertex, bool)
    pileup_track = has_track & ~hard_track
    alphas: dict[tuple[float, bool], np.ndarray] = {}
    out = np.empty((len(tunes), len(pt)))
    for t, tune in enumerate(tunes):
        weights = hard_track.astype(np.float64)
        region_of = np.searchsorted(np.array([r.eta_max for r in tune.regions]), np.abs(eta), side="right")
        for index, region in enumerate(tune.regions):
            neutral = (region_of == index) & ~has_track
            if not neutral.any():
                continue
            key = (region.cone, region.charged_neighbours)
            if key not in alphas:
                neighbours = hard_track if region.charged_neighbours else np.ones_like(has_track)
                alphas[key] = puppi_alpha(pt, eta, phi, neighbours, region.cone)
            alpha = alphas[key]
            reference = pileup_track & (np.abs(eta) < tune.eta_extrapolation) & (pt >= region.rms_pt_min)
            median, rms = _reference(alpha[reference])
            median, rms = median * region.median_scale, rms * region.rms_scale
            deviation = alpha[neutral] - median
            chi2 = deviation * np.abs(deviation) / max(rms, 1e-12) ** 2
            w = np.where(chi2 > 0, erf(np.sqrt(np.maximum(chi2, 0.0) / 2)), 0.0)  # χ² CDF, 1 dof
            w = np.where(w < tune.weight_min, 0.0, w)
            w = np.where(w * pt[neutral] < region.min_neutral_pt + region.slope * n_pv, 0.0, w)
            ramp = (pt[neutral] - tune.protect_pt_start) / (tune.protect_pt_full - tune.protect_pt_start)
            weights[neutral] = np.where(pt[neutral] > tune.protect_pt_start, np.clip(ramp, w, 1.0), w)
        out[t] = weights
    return out


def puppi_jet_weights(particles: ak.Array, n_pv: np.ndarray, tune: PuppiTune = PUPPI_RUN2) -> ak.Array:
    """PUPPI weights ``[J, var]`` of jagged particle records (``pt, eta, phi`` and what CHS needs: ``is_track`` and
    ``from_hard_vertex`` behind a detector, else ``charge`` and ``is_pileup``; with ``dz_compatible``, the tracks
    associated with no vertex and far in dz from the hard one are weighted like neutrals, as in CMS's v15), each
    jet taken as its event with ``n_pv[j]`` reconstructed vertices. The event is only the jet's surroundings (the
    particles stored with it), so α near its edge misses neighbours beyond it."""
    return puppi_jet_weights_of_tunes(particles, n_pv, (tune,))[0]


def puppi_jet_weights_of_tunes(particles: ak.Array, n_pv: np.ndarray, tunes: Sequence[PuppiTune]) -> list[ak.Array]:
    """:func:`puppi_jet_weights` for several ``tunes``: one jagged ``[J, var]`` array per tune."""
    has_track, from_hard = tracker_charged(particles), chs_keep(particles)
    if "dz_compatible" in particles.fields:  # unassociated tracks (far from the hard vertex, no pileup vertex): neutral
        has_track = has_track & ~(from_hard & ~particles.dz_compatible)
    counts = ak.to_numpy(ak.num(particles)).astype(np.int64)
    flat = {k: ak.to_numpy(ak.flatten(particles[k])).astype(np.float64) for k in ("pt", "eta", "phi")}
    track, hard = ak.to_numpy(ak.flatten(has_track)).astype(bool), ak.to_numpy(ak.flatten(from_hard)).astype(bool)
    weights = np.empty((len(tunes), len(track)))
    offsets = np.concatenate([[0], np.cumsum(counts)])
    for j, (a, b) in enumerate(zip(offsets[:-1], offsets[1:], strict=True)):
        weights[:, a:b] = puppi_weights_of_tunes(
            flat["pt"][a:b], flat["eta"][a:b], flat["phi"][a:b], track[a:b], hard[a:b], int(n_pv[j]), tunes
        )
    return [ak.unflatten(w, counts) for w in weights]
