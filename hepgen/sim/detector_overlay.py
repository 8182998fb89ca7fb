"""The overlay's detector stage: the overlaid particles of each jet through the constituent detector (tracks,
vertices, towers and the detector-level truth; :mod:`hepgen.sim.detected_jets`), the event's pileup density ρ
(from the tracks and towers of the whole region, before any jet is clustered), the baselines that work on the
whole event (PUPPI weights, SoftKiller cuts), and the jets reclustered in the event
(:mod:`hepgen.sim.reclustering`). Called by :func:`hepgen.sim.pileup.overlay_pileup` with a detector.
"""

from __future__ import annotations

from dataclasses import replace

import awkward as ak
import numpy as np

from hepgen.physics.kinematics import pt_eta_phi_mass, summed_p4
from hepgen.physics.pileup_mitigation import event_softkiller_cuts, pileup_density
from hepgen.physics.puppi import PUPPI_RUN2, PUPPI_VARIANTS, puppi_jet_weights_of_tunes
from hepgen.sim.detected_jets import detect
from hepgen.sim.detector import ConstituentDetector
from hepgen.sim.pileup import PARTICLE_FIELDS, OverlaidJets
from hepgen.sim.reclustering import matched_jet_constituents
from hepgen.sim.tracking import draw_vertices

__all__ = ["through_detector"]


def through_detector(
    jets: ak.Array,
    particles: ak.Array,
    counts: np.ndarray,
    nominal: np.ndarray,
    detector: ConstituentDetector,
    rng: np.random.Generator,
    *,
    lost: np.ndarray,
    track_loss: np.ndarray,
    axis: tuple[np.ndarray, np.ndarray],
    cone: float,
    radius: float,
    recluster: bool,
    event_baselines: bool,
) -> OverlaidJets:
    """The overlaid particles ``[J, var]`` (with their ``interaction``) through the detector: tracks and towers,
    vertices, the detector-level truth (the tracker degraded by the jet's ``track_loss`` ``[J]``), each observed track
    and tower lost with the jet's probability ``lost`` ``[J]``; then the event baselines on the region of radius ``cone`` and the reclustering at ``radius`` if asked
    (see :func:`hepgen.sim.pileup.overlay_pileup`)."""
    n_jets = len(counts)
    jet = np.repeat(np.arange(n_jets), ak.to_numpy(ak.num(particles)))
    flat = {k: ak.to_numpy(ak.flatten(particles[k])).astype(np.float64) for k in PARTICLE_FIELDS}
    interaction = ak.to_numpy(ak.flatten(particles.interaction)).astype(np.int64)
    vertices = draw_vertices(counts, detector.vertexing, rng)
    degraded = track_loss if np.any(track_loss > 0) else None
    observed, truth = detect(jet, interaction, flat, n_jets, vertices, detector, rng, degraded)
    constituents, detector_truth = _jagged(observed), _jagged(truth)
    if np.any(lost > 0):  # tracks and towers lost to a degraded detector; the truth keeps them
        counts_observed = ak.num(constituents)
        draws = rng.uniform(size=int(ak.sum(counts_observed)))
        constituents = constituents[
            ak.unflatten(draws >= np.repeat(lost, ak.to_numpy(counts_observed)), counts_observed)
        ]
    hard_kept = ak.values_astype(ak.ones_like(jets.constituents.pt), bool)
    observed = OverlaidJets(
        constituents=constituents,
        n_interactions=counts,
        n_vertices=vertices.n_pv,
        mu=nominal,
        inefficiency=lost,
        hard_kept=hard_kept,
        detector_truth=detector_truth,
        rho=pileup_density(constituents, *axis, radius=cone),
        track_loss=track_loss,
        **_jet_fields(constituents),
    )
    if event_baselines:
        observed = _with_event_baselines(observed, axis, cone)
    return _reclustered(observed, axis, radius) if recluster else observed


def _with_event_baselines(observed: OverlaidJets, axis: tuple[np.ndarray, np.ndarray], cone: float) -> OverlaidJets:
    """PUPPI weights (CMS's Run-2 tune: ``puppi_weight``; each of :data:`~hepgen.physics.puppi.PUPPI_VARIANTS`:
    ``puppi_weight_t``) and SoftKiller cuts computed on each event's whole region (before any jet is clustered)."""
    variants = puppi_jet_weights_of_tunes(observed.constituents, observed.n_vertices, PUPPI_VARIANTS)
    constituents = ak.with_field(
        observed.constituents, ak.values_astype(variants[PUPPI_VARIANTS.index(PUPPI_RUN2)], np.float32), "puppi_weight"
    )
    for t, weights in enumerate(variants):
        constituents = ak.with_field(constituents, ak.values_astype(weights, np.float32), f"puppi_weight_{t}")
    cuts = event_softkiller_cuts(observed.constituents, *axis, radius=cone)
    return replace(observed, constituents=constituents, softkiller_cuts=cuts)


def _reclustered(observed: OverlaidJets, axis: tuple[np.ndarray, np.ndarray], radius: float) -> OverlaidJets:
    """The observed jets and the detector-level truth reclustered (anti-kT ``radius``), matched to the hard axes."""
    constituents, _ = matched_jet_constituents(observed.constituents, *axis, radius=radius)
    truth, _ = matched_jet_constituents(observed.detector_truth, *axis, radius=radius)
    return replace(observed, constituents=constituents, detector_truth=truth, **_jet_fields(constituents))


def _jet_fields(constituents: ak.Array) -> dict[str, np.ndarray]:
    """The observed jet four-momentum ``[J]`` of :class:`OverlaidJets` from its constituents."""
    return dict(zip(("jet_pt", "jet_eta", "jet_phi", "jet_mass"), pt_eta_phi_mass(summed_p4(constituents))))


def _jagged(detected) -> ak.Array:
    """Jagged records ``[J, var]`` (float32 kinematics, as the particle-level overlay) of detected constituents."""
    columns = {k: v.astype(np.float32) if v.dtype.kind == "f" else v for k, v in detected.columns.items()}
    return ak.unflatten(ak.zip(columns), detected.counts)
