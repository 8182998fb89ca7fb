"""Tracks and vertices of an event with pileup: tracking efficiency, pT resolution, vertex positions and the
association of each track with the hard vertex (what CHS and PUPPI use instead of a truth label).

Every function is vectorised over a batch of events: particles are flat arrays ``[P]`` with ``event`` (which
event) and ``vertex`` (0 for the hard interaction, k for the k-th pileup interaction of its event); vertices are a
:class:`Vertices` ``[V]`` with per-event offsets. The parameters and their sources are
:class:`hepgen.sim.detector.Tracking` and :class:`~hepgen.sim.detector.Vertexing`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepgen.sim.detector import Tracking, Vertexing, smear_lognormal

__all__ = [
    "track_efficiency",
    "track_pt_resolution",
    "reconstruct_tracks",
    "dz_resolution",
    "Vertices",
    "draw_vertices",
    "associate_with_hard_vertex",
    "compatible_with_hard_vertex",
]


def track_efficiency(pt: np.ndarray, eta: np.ndarray, tracking: Tracking) -> np.ndarray:
    """Probability ``[P]`` that a charged particle of ``pt`` [GeV] and ``eta`` gives a track."""
    pt, abs_eta = np.asarray(pt, np.float64), np.abs(np.asarray(eta, np.float64))
    barrel, endcap = np.asarray(tracking.barrel), np.asarray(tracking.endcap)
    high = (pt > tracking.low_pt_edge).astype(np.int64)
    efficiency = np.where(abs_eta <= tracking.barrel_eta_max, barrel[high], endcap[high])
    return np.where((pt > tracking.pt_min) & (abs_eta <= tracking.eta_max), efficiency, 0.0)


def track_pt_resolution(pt: np.ndarray, eta: np.ndarray, tracking: Tracking) -> np.ndarray:
    """σ(pT)/pT ``[P]`` = √(a² + (b·pT)²) in the |η| bin of each track, capped at 1 (as Delphes does)."""
    row = np.searchsorted(np.asarray(tracking.resolution_eta_edges), np.abs(np.asarray(eta, np.float64)))
    row = np.minimum(row, len(tracking.resolution_eta_edges) - 1)
    a, b = np.asarray(tracking.resolution_constant)[row], np.asarray(tracking.resolution_slope)[row]
    return np.minimum(np.hypot(a, b * np.asarray(pt, np.float64)), 1.0)


def reconstruct_tracks(
    pt: np.ndarray,
    eta: np.ndarray,
    charge: np.ndarray,
    tracking: Tracking,
    rng: np.random.Generator,
    efficiency_scale: np.ndarray | float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Which particles ``[P]`` have a track (charged, in acceptance, found with :func:`track_efficiency` times
    ``efficiency_scale``, one or ``[P]``: a degraded tracker), and every particle's measured pT [GeV] (log-normal
    smeared for tracks, unchanged otherwise)."""
    pt = np.asarray(pt, np.float64)
    charged = np.asarray(charge) != 0
    efficiency = track_efficiency(pt, eta, tracking) * np.asarray(efficiency_scale, np.float64)
    has_track = charged & (rng.random(pt.shape) < efficiency)
    sigma = np.where(has_track, track_pt_resolution(pt, eta, tracking) * pt, 0.0)
    return has_track, np.where(has_track, smear_lognormal(pt, sigma, rng), pt)


def dz_resolution(pt: np.ndarray, eta: np.ndarray, vertexing: Vertexing) -> np.ndarray:
    """A track's longitudinal impact-parameter resolution σ_dz [cm] ``[P]``: the table of
    :class:`~hepgen.sim.detector.Vertexing` interpolated in log pT within its |η| row."""
    log_pt = np.log(np.maximum(np.asarray(pt, np.float64), 1e-3))
    row = np.minimum(
        np.searchsorted(np.asarray(vertexing.dz_eta_edges), np.abs(np.asarray(eta, np.float64))),
        len(vertexing.dz_eta_edges) - 1,
    )
    centres = np.log(np.asarray(vertexing.dz_pt_centres))
    table = np.asarray(vertexing.dz_resolution_um, np.float64)
    sigma_um = np.empty_like(log_pt)
    for r in range(len(table)):
        rows = row == r
        sigma_um[rows] = np.interp(log_pt[rows], centres, table[r])
    return sigma_um * 1e-4


@dataclass(frozen=True)
class Vertices:
    """The interactions of a batch of events: ``z`` [cm] and ``reconstructed`` ``[V]``, the hard vertex first in
    each event (always reconstructed), event e's vertices at ``offsets[e]:offsets[e + 1]``."""

    z: np.ndarray
    reconstructed: np.ndarray
    offsets: np.ndarray

    @property
    def n_pv(self) -> np.ndarray:
        """Reconstructed vertices per event ``[E]``, the hard one included (what data calls N_PV)."""
        if len(self.offsets) == 1:
            return np.zeros(0, np.int64)
        return np.add.reduceat(self.reconstructed.astype(np.int64), self.offsets[:-1])

    def index(self, event: np.ndarray, vertex: np.ndarray) -> np.ndarray:
        """The flat vertex index ``[P]`` of particles from ``vertex`` (0 = hard) of ``event``."""
        return self.offsets[np.asarray(event)] + np.asarray(vertex)


def draw_vertices(n_pileup: np.ndarray, vertexing: Vertexing, rng: np.random.Generator) -> Vertices:
    """The hard vertex and ``n_pileup[e]`` pileup vertices of each event: z ~ N(0, σ_z) [cm]; each pileup vertex
    reconstructed with probability ε_vtx (one draw, used by the association and by N_PV)."""
    n_pileup = np.asarray(n_pileup, np.int64)
    counts = 1 + n_pileup
    offsets = np.concatenate([[0], np.cumsum(counts)])
    z = rng.normal(0.0, vertexing.luminous_sigma_z, offsets[-1])
    reconstructed = rng.random(offsets[-1]) < vertexing.efficiency
    reconstructed[offsets[:-1]] = True
    return Vertices(z=z, reconstructed=reconstructed, offsets=offsets)


def compatible_with_hard_vertex(
    event: np.ndarray, vertex: np.ndarray, pt: np.ndarray, eta: np.ndarray, vertices: Vertices, vertexing: Vertexing
) -> np.ndarray:
    """True for the tracks ``[P]`` whose vertex lies within ``association_sigmas`` × σ_dz(pT, η)
    (:func:`dz_resolution`) of the hard vertex — what data measures of every track, reconstructed vertex or not."""
    event, vertex = np.asarray(event, np.int64), np.asarray(vertex, np.int64)
    distance = np.abs(vertices.z[vertices.index(event, vertex)] - vertices.z[vertices.offsets[event]])
    return distance <= vertexing.association_sigmas * dz_resolution(pt, eta, vertexing)


def associate_with_hard_vertex(
    event: np.ndarray, vertex: np.ndarray, vertices: Vertices, compatible: np.ndarray
) -> np.ndarray:
    """True for the tracks ``[P]`` a detector assigns to the hard vertex ("from PV"), given their dz
    ``compatible``-ity (:func:`compatible_with_hard_vertex`).

    As Delphes' TrackPileUpSubtractor (D3): a pileup track is assigned to its pileup vertex only when that vertex
    was reconstructed and the track is not compatible with the hard vertex; otherwise (an unreconstructed vertex, or
    one merged with the hard vertex within the track's resolution) it goes with the hard vertex, so a pileup track
    of an unreconstructed vertex far in z is "from PV" for CHS though not compatible with it. Hard-scatter tracks
    always go with the hard vertex.
    """
    vertex = np.asarray(vertex, np.int64)
    own_found = vertices.reconstructed[vertices.index(np.asarray(event, np.int64), vertex)]
    return ~((vertex > 0) & own_found & ~np.asarray(compatible, bool))
