"""What a pileup model sees and generates: the observed cloud, the jet context and the hard particles to generate.

The observed particles are (Δη, Δφ, log pT) relative to the observed jet axis, and whether each is a charged
particle inside the tracker and whether it is passed through; the jet context is the observed log pT, η, mass,
log(particle count), the *nominal* μ of the bunch crossing, the reconstructed vertices N_PV and the detector's
particle inefficiency — never the true number of interactions — and, behind a detector, the event's pileup density
ρ (:data:`EVENT_FEATURES`). ``chs`` input: the model sees the cloud after
charged-hadron subtraction and generates only what the tracker does not measure; ``observed``: every observed
particle is input and the whole hard jet is generated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np
import torch

from hepgen.errors import HepgenInputError
from hepgen.io.pointcloud import pad_flat
from hepgen.physics.kinematics import PION_MASS, delta_phi, pt_eta_phi_mass, summed_p4
from hepgen.physics.pileup_mitigation import chs_keep, tracker_charged
from hepgen.sim.pileup import OverlaidJets

__all__ = [
    "CONSTITUENT_FEATURES",
    "OBSERVED_FEATURES",
    "CONTEXT_FEATURES",
    "EVENT_FEATURES",
    "TRACKING_FEATURES",
    "context_features",
    "INPUTS",
    "TARGETS",
    "PASSTHROUGH_PT",
    "TOWER_PASSTHROUGH_PT",
    "passthrough_options",
    "JetBatch",
    "input_cloud",
    "passed_through",
    "jet_batch",
]

#: Features of a generated constituent, relative to the observed jet axis.
CONSTITUENT_FEATURES = ("deta", "dphi", "log_pt")
#: Features of an observed particle: the same, whether it is a charged particle inside the tracker, and whether it is
#: passed through to the output (``chs`` input: the tracker's charged particles and the neutral ones above the
#: pass-through pT).
OBSERVED_FEATURES = ("deta", "dphi", "log_pt", "tracker_charged", "passed_through")
#: The jet context: the observed (input-cloud) jet, the nominal μ, the reconstructed vertices and the detector's
#: particle inefficiency (all known in data).
CONTEXT_FEATURES = ("log_pt", "eta", "mass", "log_count", "mu", "n_vertices", "inefficiency")
#: Behind a detector the context also holds the event's pileup density ρ [GeV per unit area] (measured in data as
#: the median pT density of the event's patches; :func:`~hepgen.physics.pileup_mitigation.pileup_density`).
EVENT_FEATURES = ("rho",)
#: A model trained on a range of degraded trackers also knows the jet's track loss (its tracking efficiency times
#: 1 − track_loss; measured in data by the tracking calibration).
TRACKING_FEATURES = ("track_loss",)
#: ``chs``: the input is the cloud after charged-hadron subtraction; the tracker's charged particles, and the neutral
#: ones harder than the pass-through pT (pileup rarely makes one), are passed through, and the rest of the hard jet
#: is generated. ``observed``: every observed particle is input and the whole hard jet is generated.
INPUTS = ("chs", "observed")

#: What is generated behind a detector: ``detector``, the hard scatter through the same detector (pileup removal
#: isolated from the detector response), or ``particle``, the particle-level hard jet (pileup removal and unfolding
#: together; the passed-through tracks stand for their particles). Without a detector both are the hard particles.
TARGETS = ("detector", "particle")

#: Behind a detector, the study's observed towers above this pT [GeV] are passed through (``--tower-passthrough-pt``):
#: chosen on 300 validation top jets (val_top, pool_val) as the lowest of 10, 15, 20, 30 GeV for which the pileup pT
#: in the passed towers stays below 1 % of the jet's pT in 90 % of the jets at μ = 200 (0.87 %; 3.0 % at 15 GeV;
#: mean 0.52 %, 0.15 % at μ = 60); they carry 29 % of the jet's pT, the tracks most of the rest.
TOWER_PASSTHROUGH_PT = 20.0
#: Observed neutral particles above this pT [GeV] are passed through in ``chs`` mode: in the minimum-bias pool a
#: neutral particle above 5 GeV within ΔR < 1 of a jet comes ~0.2 times per jet at μ = 200 (1.3 GeV of pT), while
#: the hard neutral particles below it carry ~8 % of a top jet's pT — what is left to generate.
PASSTHROUGH_PT = 5.0


@dataclass
class JetBatch:
    """Padded arrays of a batch of jets (numpy or torch) for training, sampling or classifying.

    Attributes:
        observed, observed_mask: the input cloud ``[B, M, 5]`` (:data:`OBSERVED_FEATURES`), ``[B, M]``.
        observed_is_pileup: ``[B, M]`` the truth of every input particle (the classifier's target).
        context: ``[B, C]`` (the model's :func:`context_features`); axis: the input-cloud jet (η, φ) ``[B, 2]``.
        hard, hard_mask: the particles to generate ``[B, N, 3]``, ``[B, N]`` (None when unknown).
        truncated: hard particles dropped by ``max_hard``.
        passthrough: per jet the particles passed through to the output (in ``chs`` mode the tracker's charged ones
            and the neutral ones above the pass-through pT; none in ``observed`` mode): jagged (pt, eta, phi) records,
            not converted by :meth:`to_torch`.
        noise: for distillation, the standardised noise ``[B, N, 3]`` from which a teacher generated ``hard``
            (:func:`with_teacher_targets`); None otherwise.
        observed_hard_fraction: ``[B, M]`` the truth share of every input particle's measured energy from the hard
            scatter (1 or 0 for a particle or a track; behind a detector, a tower's share): the target of the
            soft-target classifier and of the hard-fraction posterior (:mod:`hepgen.tasks.pileup.fractions`).
    """

    observed: Any
    observed_mask: Any
    observed_is_pileup: Any
    context: Any
    axis: Any
    hard: Any = None
    hard_mask: Any = None
    truncated: int = 0
    passthrough: Any = None
    noise: Any = None
    observed_hard_fraction: Any = None

    def to_torch(self, device: str | torch.device = "cpu") -> JetBatch:
        def conv(a):
            return None if a is None else torch.as_tensor(a, device=device)

        return JetBatch(
            conv(self.observed),
            conv(self.observed_mask),
            conv(self.observed_is_pileup),
            conv(self.context),
            conv(self.axis),
            conv(self.hard),
            conv(self.hard_mask),
            self.truncated,
            self.passthrough,
            conv(self.noise),
            conv(self.observed_hard_fraction),
        )


def context_features(detector: str, track_losses: Sequence[float] | None = None) -> tuple[str, ...]:
    """The context features of a model for ``detector`` (a name of ``CONSTITUENT_DETECTORS``):
    :data:`CONTEXT_FEATURES`, followed by :data:`EVENT_FEATURES` behind a detector, and by
    :data:`TRACKING_FEATURES` if the model trains on degraded trackers (a ``track_losses`` above 0)."""
    if detector == "none":
        return CONTEXT_FEATURES
    return CONTEXT_FEATURES + EVENT_FEATURES + (TRACKING_FEATURES if any(t > 0 for t in track_losses or ()) else ())


def _relative(
    pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, jet_eta: np.ndarray, jet_phi: np.ndarray
) -> list[np.ndarray]:
    return [eta - jet_eta, delta_phi(phi, jet_phi), np.log(pt)]


def _flat(particles: ak.Array, fields: tuple[str, ...] = ("pt", "eta", "phi")) -> dict[str, np.ndarray]:
    return {k: ak.to_numpy(ak.flatten(particles[k])).astype(np.float64) for k in fields}


def input_cloud(observed: OverlaidJets, input: str, index: np.ndarray | None = None) -> ak.Array:
    """The particles a model sees: all observed ones, or those left by charged-hadron subtraction."""
    if input not in INPUTS:
        raise HepgenInputError(f"unknown VIPR input {input!r}; choose one of {INPUTS}")
    cloud = observed.constituents if index is None else observed.constituents[index]
    return cloud[chs_keep(cloud)] if input == "chs" else cloud


def passed_through(
    particles: ak.Array,
    input: str,
    passthrough_pt: float = PASSTHROUGH_PT,
    tower_passthrough_pt: float | None = None,
) -> ak.Array:
    """Which particles go to the output as they are: in ``chs`` mode the tracker's charged ones and the neutral
    ones above ``passthrough_pt`` — behind a detector the tracks compatible in dz with the hard vertex (a pileup
    track of an unreconstructed vertex survives CHS but not this) and the towers above ``tower_passthrough_pt``
    (None: none; a tower may hold pileup energy, but above ~20 GeV its share is small,
    :data:`TOWER_PASSTHROUGH_PT`); in ``observed`` mode none."""
    if input == "observed":
        return ak.zeros_like(particles.pt, dtype=bool)
    if "is_track" in particles.fields:
        tracks = particles.is_track & particles.from_hard_vertex & particles.dz_compatible
        if tower_passthrough_pt is None:
            return tracks
        return tracks | (~particles.is_track & (particles.pt > tower_passthrough_pt))
    return tracker_charged(particles) | (particles.pt > passthrough_pt)


def passthrough_options(source: Any) -> dict[str, Any]:
    """The pass-through keyword arguments of :func:`passed_through` and :func:`jet_batch` from training settings or
    from a model's ``saved_with`` (a mapping; models saved before a setting existed get its old behaviour)."""
    get = source.get if isinstance(source, dict) else lambda name, default: getattr(source, name, default)
    return {
        "passthrough_pt": get("passthrough_pt", PASSTHROUGH_PT),
        "tower_passthrough_pt": get("tower_passthrough_pt", None),
    }


def _same_cell(truth: ak.Array, towers: ak.Array) -> ak.Array:
    """Jagged bool over the detector-level ``truth`` ``[J, var]``: True for its towers in the cell of one of the
    observed ``towers`` ``[J, var]`` of the same jet (tower centres are the grid's, identical in both)."""

    def keys(records: ak.Array) -> np.ndarray:
        jet = np.repeat(np.arange(len(records)), ak.to_numpy(ak.num(records)))
        eta = np.round(ak.to_numpy(ak.flatten(records.eta)).astype(np.float64), 4)
        phi = np.round(ak.to_numpy(ak.flatten(records.phi)).astype(np.float64), 4)
        return np.stack([jet, eta, phi], axis=1)

    truth_keys, tower_keys = keys(truth), keys(towers)
    is_tower = ~ak.to_numpy(ak.flatten(truth.is_track)).astype(bool)
    found = np.zeros(len(truth_keys), bool)
    if len(tower_keys) and is_tower.any():
        known = {tuple(k) for k in tower_keys}
        found[is_tower] = [tuple(k) in known for k in truth_keys[is_tower]]
    return ak.unflatten(found, ak.num(truth))


def _among(truth: ak.Array, tracks: ak.Array) -> ak.Array:
    """Jagged bool over the detector-level ``truth`` ``[J, var]``: True for its tracks that are among the observed
    ``tracks`` ``[J, var]`` of the same jet (the same ``hard_index``)."""
    span = int(max(ak.max(truth.hard_index, initial=0), ak.max(tracks.hard_index, initial=0))) + 2

    def keys(records: ak.Array) -> np.ndarray:
        jet = np.repeat(np.arange(len(records)), ak.to_numpy(ak.num(records)))
        return jet * span + ak.to_numpy(ak.flatten(records.hard_index)).astype(np.int64)

    truth_keys = keys(truth)
    found = np.isin(truth_keys, keys(tracks)) & (ak.to_numpy(ak.flatten(truth.hard_index)) >= 0)
    return ak.unflatten(found, ak.num(truth))


def _particles_of(tracks: ak.Array, particles: ak.Array) -> ak.Array:
    """Jagged bool over the hard jets' ``particles`` ``[J, var]``: True for those that made one of ``tracks``
    ``[J, var]`` (linked by the tracks' ``hard_index``; tracks of pileup or of the event around the jet match none)."""
    counts = ak.to_numpy(ak.num(particles)).astype(np.int64)
    link = ak.to_numpy(ak.flatten(tracks.hard_index)).astype(np.int64)
    jet = np.repeat(np.arange(len(counts)), ak.to_numpy(ak.num(tracks)))
    use = (link >= 0) & (link < counts[jet])
    made = np.zeros(int(counts.sum()), bool)
    made[(np.cumsum(counts) - counts)[jet[use]] + link[use]] = True
    return ak.unflatten(made, counts)


def jet_batch(
    observed: OverlaidJets,
    *,
    input: str = "chs",
    passthrough_pt: float = PASSTHROUGH_PT,
    tower_passthrough_pt: float | None = None,
    hard: ak.Array | None = None,
    max_hard: int = 128,
    index: np.ndarray | None = None,
    target: str = "detector",
    context: Sequence[str] | None = None,
) -> JetBatch:
    """Padded model inputs for jets ``index`` (all by default) of an overlay, and what to generate if ``hard`` is given.

    The context jet is the input cloud's, with the charged-pion mass hypothesis for every particle; the nominal μ
    and the vertex count come from the overlay. ``hard`` are the hard-jet records the overlay was made from: the
    particles to generate are the hard ones not passed through (:func:`passed_through`: in ``chs`` mode those the
    tracker did not measure and the neutral ones below ``passthrough_pt``, and every hard particle the detector
    lost; in ``observed`` mode all of them); behind a detector, those of ``target`` (:data:`TARGETS`). They are sorted
    by decreasing pT and padded to the longest in the
    batch but at most ``max_hard`` (softer ones beyond it are dropped and counted). ``context``: the model's context
    features (:func:`context_features`; default: those of a model without degraded trackers).
    """
    J = len(observed.jet_pt)
    index = np.arange(J) if index is None else np.asarray(index)
    cloud = input_cloud(observed, input, index)
    counts = ak.to_numpy(ak.num(cloud)).astype(np.int64)
    jet_pt, jet_eta, jet_phi, jet_mass = pt_eta_phi_mass(summed_p4(cloud, mass=PION_MASS))
    event = np.repeat(np.arange(len(index)), counts)
    flat = _flat(cloud)
    charged = ak.to_numpy(ak.flatten(tracker_charged(cloud))).astype(np.float64)
    passed = passed_through(cloud, input, passthrough_pt, tower_passthrough_pt)
    cols = [
        *_relative(flat["pt"], flat["eta"], flat["phi"], jet_eta[event], jet_phi[event]),
        charged,
        ak.to_numpy(ak.flatten(passed)).astype(np.float64),
        ak.to_numpy(ak.flatten(cloud.is_pileup)).astype(np.float64),
        ak.to_numpy(ak.flatten(cloud.hard_fraction if "hard_fraction" in cloud.fields else ~cloud.is_pileup)),
    ]
    width = max(int(counts.max()) if len(counts) else 1, 1)
    values, obs_mask, _, _ = pad_flat(cols, event, counts, width)
    known = {
        "log_pt": np.log(np.maximum(jet_pt, 1e-3)),
        "eta": jet_eta,
        "mass": jet_mass,
        "log_count": np.log(np.maximum(counts, 1)),
        "mu": observed.mu[index],
        "n_vertices": observed.n_vertices[index],
        "inefficiency": observed.inefficiency[index],
    }
    for name in ("rho", "track_loss"):  # behind a detector only
        if getattr(observed, name) is not None:
            known[name] = getattr(observed, name)[index]
    names = context_features("none" if observed.rho is None else "detector") if context is None else context
    if missing := [n for n in names if n not in known]:
        raise HepgenInputError(f"the model's context needs {missing}, which this overlay does not have (a detector?)")
    context_values = np.stack([known[n] for n in names], axis=1).astype(np.float32)
    passthrough = cloud[passed][["pt", "eta", "phi"]] if input == "chs" else None
    batch = JetBatch(
        values[..., :5],
        obs_mask,
        values[..., 5] > 0.5,
        context_values,
        np.stack([jet_eta, jet_phi], axis=1).astype(np.float32),
        passthrough=passthrough,
        observed_hard_fraction=values[..., 6].astype(np.float32),
    )
    if hard is not None:
        if observed.detector_truth is not None and target == "detector":  # the hard scatter through the detector
            particles = observed.detector_truth[index]
            # passed through: the truth's tracks among the observed jet's passed-through tracks; a hard track the
            # detector lost, or that the observed jet's clustering left out, is generated
            passed_tracks = passed_through(particles, input, passthrough_pt) & _among(particles, cloud[passed])
            # and the truth's towers in the cells of the passed observed towers (their measured energy is output)
            passed_cells = _same_cell(particles, cloud[passed & ~cloud.is_track]) if tower_passthrough_pt else False
            particles = particles[~(passed_tracks | passed_cells)]
        elif observed.detector_truth is not None:  # the particle-level jet, but the particles of passed-through tracks
            if tower_passthrough_pt is not None:
                raise HepgenInputError("towers pass through only to the detector-level target (target detector)")
            particles = hard.constituents[index]
            particles = particles[~_particles_of(cloud[passed], particles)]
        else:
            particles = hard.constituents[index]
        if input == "chs" and observed.detector_truth is None:  # passed through, not generated (unless lost)
            particles = particles[~(observed.hard_kept[index] & passed_through(particles, input, passthrough_pt))]
        h_counts = ak.to_numpy(ak.num(particles)).astype(np.int64)
        h = _flat(particles)
        h_event = np.repeat(np.arange(len(index)), h_counts)
        order = np.lexsort((-h["pt"], h_event))  # decreasing pT within each jet
        h_event = h_event[order]
        cols = _relative(h["pt"][order], h["eta"][order], h["phi"][order], jet_eta[h_event], jet_phi[h_event])
        width = max(
            1, min(max_hard, int(h_counts.max()) if len(h_counts) else 1)
        )  # pad to the batch, truncate at max_hard
        batch.hard, batch.hard_mask, _, batch.truncated = pad_flat(cols, h_event, h_counts, width)
    return batch
