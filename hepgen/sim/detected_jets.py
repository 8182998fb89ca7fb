"""What a detector makes of the particles around a jet: tracks and calorimeter towers, and the same detector's
view of the hard scatter alone (the detector-level truth).

:func:`detect` takes the particles of a batch of jets flat ``[P]`` (with the jet and the interaction each comes
from: 0 the hard scatter, k the k-th pileup interaction) and returns per jet

* the **observed** constituents: every track (charged, found by the tracker, pT smeared, associated by dz with
  the hard vertex or a pileup vertex; :mod:`hepgen.sim.tracking`), then every tower above threshold
  (neutral particles and charged ones without a track, smeared per deposit and summed;
  :mod:`hepgen.sim.calorimeter`), so one tower can hold hard and pileup energy;
* the **detector-level truth**: the hard scatter's tracks (the same tracks, same smearing) and the towers its
  deposits alone fill (the same smeared deposits, no pileup): pileup removal isolated from the detector
  response. For a jet without pileup it equals the observed jet (tested).

Every constituent record has ``pt, eta, phi, mass, charge`` (towers: massless, neutral, at the tower centre),
``is_track``, ``from_hard_vertex`` and ``dz_compatible`` (what the detector reconstructs: True for tracks "from
PV" — not associated with a reconstructed pileup vertex — and for tracks within the dz resolution of the hard
vertex; False for towers), and the truth for evaluation only: ``hard_fraction`` (1 or 0 for a track, the share
of a tower's measured energy from the hard scatter), ``is_pileup`` (``hard_fraction`` < ½) and ``hard_index``
(for a hard track, the index of its particle among the jet's hard particles, in their input order; -1 for pileup
tracks and towers), which links a track to the particle-level truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepgen.sim.calorimeter import Towers, fill_towers, is_electromagnetic, smear_deposits
from hepgen.sim.detector import ConstituentDetector
from hepgen.sim.tracking import (
    Vertices,
    associate_with_hard_vertex,
    compatible_with_hard_vertex,
    reconstruct_tracks,
)

__all__ = ["DETECTED_FIELDS", "DetectedParticles", "detect"]

#: The fields of a detected constituent (see the module docstring).
DETECTED_FIELDS = (
    "pt",
    "eta",
    "phi",
    "mass",
    "charge",
    "is_track",
    "from_hard_vertex",
    "dz_compatible",
    "hard_fraction",
    "is_pileup",
    "hard_index",
)


@dataclass(frozen=True)
class DetectedParticles:
    """Constituents of a batch of jets, flat: ``columns`` (:data:`DETECTED_FIELDS`, ``[N]`` each) and ``counts``
    ``[J]``, each jet's tracks first (in input order), then its towers."""

    columns: dict[str, np.ndarray]
    counts: np.ndarray


def _energy(pt: np.ndarray, eta: np.ndarray, mass: np.ndarray) -> np.ndarray:
    return np.sqrt((pt * np.cosh(eta)) ** 2 + mass**2)


def _assemble(n_jets: int, track_jet: np.ndarray, tracks: dict[str, np.ndarray], towers: Towers) -> DetectedParticles:
    """Per jet: its tracks, then its towers."""
    share = towers.hard_energy / np.maximum(towers.energy, 1e-300)
    tower_columns = {
        "pt": towers.pt,
        "eta": towers.eta,
        "phi": towers.phi,
        "mass": np.zeros(len(towers)),
        "charge": np.zeros(len(towers)),
        "is_track": np.zeros(len(towers), bool),
        "from_hard_vertex": np.zeros(len(towers), bool),
        "dz_compatible": np.zeros(len(towers), bool),
        "hard_fraction": share,
        "is_pileup": share < 0.5,
        "hard_index": np.full(len(towers), -1, np.int64),
    }
    jet = np.concatenate([track_jet, towers.event])
    order = np.argsort(np.concatenate([track_jet * 2, towers.event * 2 + 1]), kind="stable")
    columns = {k: np.concatenate([tracks[k], tower_columns[k]])[order] for k in DETECTED_FIELDS}
    return DetectedParticles(columns, np.bincount(jet, minlength=n_jets))


def _index_among_hard(jet: np.ndarray, hard: np.ndarray, n_jets: int) -> np.ndarray:
    """Each hard particle's index among its jet's hard particles (in input order), -1 for the others ``[P]``."""
    index = np.full(len(jet), -1, np.int64)
    which = np.flatnonzero(hard)
    per_jet = np.bincount(jet[which], minlength=n_jets)
    first = np.cumsum(per_jet) - per_jet
    index[which] = np.arange(len(which)) - first[jet[which]]
    return index


def detect(
    jet: np.ndarray,
    interaction: np.ndarray,
    particles: dict[str, np.ndarray],
    n_jets: int,
    vertices: Vertices,
    detector: ConstituentDetector,
    rng: np.random.Generator,
    track_loss: np.ndarray | None = None,
) -> tuple[DetectedParticles, DetectedParticles]:
    """The observed constituents and the detector-level truth of ``n_jets`` jets.

    Args:
        jet: the jet ``[P]`` each particle belongs to (0 … n_jets − 1).
        interaction: 0 for hard-scatter particles, k for those of the jet's k-th pileup interaction ``[P]``.
        particles: flat columns ``pt, eta, phi, mass, charge`` ``[P]`` [GeV, -, rad, GeV, e].
        vertices: the jets' vertices (one event per jet; :func:`hepgen.sim.tracking.draw_vertices`).
        detector: the tracker, vertexing and calorimeter.
        rng: the random numbers of the tracking and the deposits' smearing.
        track_loss: per jet ``[J]``, a degraded tracker: the tracking efficiency times (1 − track_loss), for the
            observed jet and the truth alike (a particle without a track deposits in the calorimeter); None: 0.
    """
    jet, interaction = np.asarray(jet, np.int64), np.asarray(interaction, np.int64)
    pt, eta, phi, mass, charge = (np.asarray(particles[k], np.float64) for k in ("pt", "eta", "phi", "mass", "charge"))
    hard = interaction == 0
    scale = 1.0 if track_loss is None else 1.0 - np.asarray(track_loss, np.float64)[jet]
    has_track, measured_pt = reconstruct_tracks(pt, eta, charge, detector.tracking, rng, scale)
    compatible = compatible_with_hard_vertex(jet, interaction, pt, eta, vertices, detector.vertexing)
    from_hard = associate_with_hard_vertex(jet, interaction, vertices, compatible)
    tracks = {
        "pt": measured_pt,
        "eta": eta,
        "phi": phi,
        "mass": mass,
        "charge": charge,
        "is_track": np.ones(len(pt), bool),
        "from_hard_vertex": from_hard,
        "dz_compatible": compatible,
        "hard_fraction": hard.astype(np.float64),
        "is_pileup": ~hard,
        "hard_index": _index_among_hard(jet, hard, n_jets),
    }
    tracks = {k: v[has_track] for k, v in tracks.items()}
    calorimeter = detector.calorimeter
    deposit = ~has_track
    em = is_electromagnetic(mass[deposit], calorimeter)
    measured = smear_deposits(_energy(pt[deposit], eta[deposit], mass[deposit]), eta[deposit], em, calorimeter, rng)
    args = (jet[deposit], eta[deposit], phi[deposit])
    towers = fill_towers(*args, measured, em, calorimeter, hard=hard[deposit])
    only_hard = hard[deposit]
    hard_towers = fill_towers(*(a[only_hard] for a in args), measured[only_hard], em[only_hard], calorimeter)
    hard_tracks = {k: v[~tracks["is_pileup"]] for k, v in tracks.items()}
    observed = _assemble(n_jets, jet[has_track], tracks, towers)
    truth = _assemble(n_jets, jet[has_track][~tracks["is_pileup"]], hard_tracks, hard_towers)
    return observed, truth
