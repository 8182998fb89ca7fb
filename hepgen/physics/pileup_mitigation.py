"""Classical pileup mitigation on the constituents of a jet: charged-hadron subtraction and SoftKiller.

* **CHS** (charged-hadron subtraction): the tracks associated with a pileup vertex are removed; towers (and
  particles without a track) are kept. Behind a detector (constituents with ``is_track`` and
  ``from_hard_vertex``, :mod:`hepgen.sim.detected_jets`) the association is the detector's, by dz, with no
  truth. In the particle-level world (no detector) it is an oracle: every charged particle within the tracker
  acceptance (|η| < 2.5) is taken as tracked and its ``is_pileup`` truth as its vertex.
* **SoftKiller** (Cacciari, Salam, Soyez, arXiv:1407.0408): the (η, φ) plane is cut into square patches of
  size ``a``; the pT cut is the median over the patches of the highest particle pT in each (0 for an empty
  patch), and particles softer than the cut are removed. fastjet's Python package does not ship the fjcontrib
  SoftKiller, so it is written here, vectorised over jets. hepgen sees only the particles within the jet's
  cone (ΔR < R of the jet axis), so the patches are those of a grid of side ``a`` aligned on the jet axis whose
  centres lie inside the cone; with ``eligible`` (e.g. the neutral particles after CHS) only those particles
  enter the patches and may be removed.

Every function takes jagged particle records ``[J, var]`` with at least ``pt, eta, phi`` (and ``charge``,
``is_pileup`` for CHS) and returns a jagged boolean mask of the particles kept.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from hepgen.physics.kinematics import delta_phi

__all__ = [
    "TRACKER_ETA_MAX",
    "SOFTKILLER_GRID",
    "pileup_density",
    "tracker_charged",
    "chs_keep",
    "softkiller_cut",
    "softkiller_keep",
    "event_softkiller_cuts",
]

#: The tracker acceptance: charged particles with |η| below it have a track and a vertex.
TRACKER_ETA_MAX = 2.5
#: SoftKiller patch sizes a (in η and φ) the validation jets choose from.
SOFTKILLER_GRID: tuple[float, ...] = (0.2, 0.3, 0.4, 0.5, 0.6, 0.8)


def tracker_charged(particles: ak.Array) -> ak.Array:
    """True for the tracks: ``is_track`` behind a detector, else the charged particles inside the tracker (|η| < 2.5)."""
    if "is_track" in particles.fields:
        return particles.is_track
    return (particles.charge != 0) & (abs(particles.eta) < TRACKER_ETA_MAX)


def chs_keep(particles: ak.Array) -> ak.Array:
    """Charged-hadron subtraction: False for the tracks associated with a pileup vertex, True otherwise (see the
    module docstring for the association behind a detector and in the particle-level world)."""
    if "from_hard_vertex" in particles.fields:
        return ~(particles.is_track & ~particles.from_hard_vertex)
    if "charge" not in particles.fields or "is_pileup" not in particles.fields:
        from hepgen.errors import HepgenInputError

        raise HepgenInputError(
            f"CHS needs each particle's charge and vertex (is_pileup); the particles have {particles.fields}"
        )
    return ~(particles.is_pileup & tracker_charged(particles))


def _cell_centres(radius: float, size: float) -> tuple[int, np.ndarray]:
    """Cells per side and the flat indices of the cells whose centre lies inside the cone."""
    n = int(np.ceil(2 * radius / size - 1e-9))
    centres = -radius + (np.arange(n) + 0.5) * size
    inside = np.hypot(centres[:, None], centres[None, :]) < radius
    return n, np.flatnonzero(inside.ravel())


def softkiller_cut(
    particles: ak.Array,
    axis_eta: np.ndarray,
    axis_phi: np.ndarray,
    *,
    grid_size: float,
    radius: float = 1.0,
    eligible: ak.Array | None = None,
) -> np.ndarray:
    """SoftKiller's pT cut [GeV] of each jet ``[J]``: the median over the in-cone patches of their leading pT.

    Args:
        particles: jagged records with ``pt, eta, phi`` ``[J, var]``.
        axis_eta, axis_phi: the jet axes ``[J]`` the patch grid is aligned on.
        grid_size: the side ``a`` of a square patch in (η, φ).
        radius: the cone radius R; particles outside it are ignored.
        eligible: jagged bool ``[J, var]``: only these particles fill the patches (default: all).
    """
    cells, pt, n_cells, inside = _patches(particles, axis_eta, axis_phi, grid_size=grid_size, radius=radius)
    use = cells >= 0
    if eligible is not None:
        use &= ak.to_numpy(ak.flatten(eligible)).astype(bool)
    leading = np.zeros(len(axis_eta) * n_cells)
    np.maximum.at(leading, cells[use], pt[use])
    return np.median(leading.reshape(-1, n_cells)[:, inside], axis=1) if len(inside) else np.zeros(len(axis_eta))


def pileup_density(
    particles: ak.Array, axis_eta: np.ndarray, axis_phi: np.ndarray, *, radius: float, grid_size: float = 0.4
) -> np.ndarray:
    """The event's pileup density ρ [GeV per unit of η × φ] ``[J]``: the median over the square patches (side
    ``grid_size``, centres within ``radius`` of the axis) of their summed pT over their area — the grid median of
    Cacciari and Salam (arXiv:0707.1378), on the simulated region around the jet instead of the whole event (the
    jet fills some patches; the median is robust to them while they are fewer than half)."""
    cells, pt, n_cells, inside = _patches(particles, axis_eta, axis_phi, grid_size=grid_size, radius=radius)
    summed = np.zeros(len(axis_eta) * n_cells)
    np.add.at(summed, cells[cells >= 0], pt[cells >= 0])
    per_area = summed.reshape(-1, n_cells)[:, inside] / grid_size**2
    return np.median(per_area, axis=1) if len(inside) else np.zeros(len(axis_eta))


def _patches(
    particles: ak.Array, axis_eta: np.ndarray, axis_phi: np.ndarray, *, grid_size: float, radius: float
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """Each particle's patch on a square grid aligned on its event's axis: (flat patch index over events ``[P]``,
    -1 outside the grid; pT ``[P]``; patches per event; the flat indices of the patches whose centre lies within
    ``radius``)."""
    if not grid_size > 0:
        from hepgen.errors import HepgenInputError

        raise HepgenInputError(f"the patch (grid size) must be > 0; got {grid_size}")
    counts = ak.to_numpy(ak.num(particles)).astype(np.int64)
    jet = np.repeat(np.arange(len(counts)), counts)
    pt = ak.to_numpy(ak.flatten(particles.pt)).astype(np.float64)
    deta = ak.to_numpy(ak.flatten(particles.eta)).astype(np.float64) - np.asarray(axis_eta, np.float64)[jet]
    dphi = delta_phi(ak.to_numpy(ak.flatten(particles.phi)).astype(np.float64), np.asarray(axis_phi, np.float64)[jet])
    n, inside = _cell_centres(radius, grid_size)
    ix = np.floor((deta + radius) / grid_size).astype(np.int64)
    iy = np.floor((dphi + radius) / grid_size).astype(np.int64)
    on_grid = (ix >= 0) & (ix < n) & (iy >= 0) & (iy < n)
    return np.where(on_grid, jet * n * n + ix * n + iy, -1), pt, n * n, inside


def softkiller_keep(
    particles: ak.Array, axis_eta: np.ndarray, axis_phi: np.ndarray, *, eligible: ak.Array | None = None, **grid: float
) -> ak.Array:
    """The particles SoftKiller keeps: every non-``eligible`` particle, and the eligible ones at or above the cut
    (:func:`softkiller_cut`; ``grid``: its ``grid_size`` and ``radius``)."""
    cut = softkiller_cut(particles, axis_eta, axis_phi, eligible=eligible, **grid)
    counts = ak.num(particles)
    threshold = ak.unflatten(np.repeat(cut, ak.to_numpy(counts)), counts)
    keep = particles.pt >= threshold
    return keep if eligible is None else (~eligible) | keep


def event_softkiller_cuts(
    particles: ak.Array, axis_eta: np.ndarray, axis_phi: np.ndarray, *, radius: float
) -> dict[str, np.ndarray]:
    """SoftKiller's pT cuts [GeV] on each event (the particles within ``radius`` of the hard axis, before a jet is
    clustered), for every patch size of :data:`SOFTKILLER_GRID`: ``softkiller`` on all particles ``[J, G]`` and
    ``chs_softkiller`` on the neutral ones left by CHS ``[J, G]``."""
    chs = particles[chs_keep(particles)]
    neutral = ~tracker_charged(chs)
    cuts = {"softkiller": [], "chs_softkiller": []}
    for size in SOFTKILLER_GRID:
        cuts["softkiller"].append(softkiller_cut(particles, axis_eta, axis_phi, grid_size=size, radius=radius))
        cuts["chs_softkiller"].append(
            softkiller_cut(chs, axis_eta, axis_phi, grid_size=size, radius=radius, eligible=neutral)
        )
    return {name: np.stack(values, axis=1) for name, values in cuts.items()}
