"""Pileup overlay: add minimum-bias interactions to hard-scatter jets, deterministically for a seed.

Jets and the pool are awkward record arrays, read through :mod:`hepgen.io` with the ``hepgen-jets`` and
``hepgen-minbias`` schemas (:func:`read_hard_jets`, :func:`read_pileup_pool`), so they get the readers'
checks (missing files, trees and branches named, NaN/inf refused, truncation counted):

* hard jets: one record per jet, ``eta``, ``phi`` (the hard jet's axis), ``mass`` (its true mass),
  ``constituents`` — jagged records (pt, eta, phi, mass, charge) — and, where the files hold them,
  ``surroundings``: the rest of the hard event within R + :data:`SURROUNDING_MARGIN` (used when jets are reclustered);
* the pool: one list of particle records (pt, eta, phi, mass, charge) per minimum-bias event.

For each jet, the number of pileup interactions is drawn from Poisson(μ) or |N(μ, σ)| (rounded), that many
events are drawn from the pool (with replacement), each is flipped in η with probability ½ and rotated by a
random φ (so a finite pool yields many distinct configurations), and its particles within ΔR < R of the hard
jet's axis join the jet. Every observed constituent carries an ``is_pileup`` flag, and the observed jet's
four-momentum is the sum of all its constituents. What data knows of the pileup is recorded beside it: the
nominal μ and the number of reconstructed vertices, 1 + Binomial(N_PU, ε_vtx) — never N_PU itself. An optional
detector inefficiency loses each observed particle with a probability (the truth keeps it).

Used on the fly by training (fresh pileup every epoch), prediction, and ``hepgen generate jets --pileup POOL``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import awkward as ak
import numpy as np

from hepgen.errors import HepgenInputError
from hepgen.physics.kinematics import delta_phi, pt_eta_phi_mass, summed_p4
from hepgen.sim.boosted_jets import SURROUNDING_MARGIN
from hepgen.sim.detector import ConstituentDetector
from hepgen.sim.overlay_inputs import (
    PARTICLE_FIELDS,
    count_jets,
    hard_jets_from_columns,
    read_hard_jets,
    read_pileup_pool,
)

__all__ = [
    "VERTEX_EFFICIENCY",
    "PARTICLE_FIELDS",
    "read_hard_jets",
    "count_jets",
    "read_pileup_pool",
    "hard_jets_from_columns",
    "OverlaidJets",
    "overlay_pileup",
    "draw_pileup_counts",
]

#: The probability that a pileup interaction of the overlay gives a reconstructed vertex: N_PV = 1 + Binomial(N_PU, ε).
VERTEX_EFFICIENCY = 0.7

log = logging.getLogger("hepgen.pileup")


@dataclass(frozen=True)
class OverlaidJets:
    """Observed jets after the overlay (and the detector's losses).

    Attributes:
        constituents: jagged records per jet (pt, eta, phi, mass, charge, is_pileup); hard
            constituents first in their original order, then pileup particles (those lost to the
            detector's inefficiency are not there).
        n_interactions: pileup interactions overlaid per jet ``[J]`` (the truth: never a model input).
        n_vertices: reconstructed primary vertices ``[J]``: 1 + Binomial(n_interactions, vertex efficiency).
        mu: the nominal μ of each jet's bunch crossing ``[J]`` (what data knows from the luminosity).
        inefficiency: the detector's particle inefficiency for each jet ``[J]`` (known from calibration).
        hard_kept: jagged bool per hard constituent (in the hard jet's order): False if the detector lost it.
        jet_pt, jet_eta, jet_phi, jet_mass: the observed jet four-momentum ``[J]`` (constituents' own masses).
        detector_truth: with a detector, the hard scatter through the same detector (tracks and towers, same
            smearing, no pileup; :mod:`hepgen.sim.detected_jets`); None in the particle-level world.
        softkiller_cuts: with ``event_baselines``, SoftKiller's pT cut on each event for every patch size of
            :data:`~hepgen.physics.pileup_mitigation.SOFTKILLER_GRID`: ``softkiller`` and ``chs_softkiller`` ``[J, G]``.
        rho: with a detector, the event's pileup density ρ [GeV per unit area] ``[J]`` from the tracks and towers
            of the overlaid region (:func:`~hepgen.physics.pileup_mitigation.pileup_density`); None without one.
        track_loss: with a detector, the tracker's degradation for each jet ``[J]`` (its tracking efficiency
            times 1 − track_loss; known from calibration); None without one.
    """

    constituents: ak.Array
    n_interactions: np.ndarray
    n_vertices: np.ndarray
    mu: np.ndarray
    inefficiency: np.ndarray
    hard_kept: ak.Array
    jet_pt: np.ndarray
    jet_eta: np.ndarray
    jet_phi: np.ndarray
    jet_mass: np.ndarray
    detector_truth: ak.Array | None = None
    softkiller_cuts: dict[str, np.ndarray] | None = None
    rho: np.ndarray | None = None
    track_loss: np.ndarray | None = None


def draw_pileup_counts(
    n: int,
    mu: float | np.ndarray,
    rng: np.random.Generator,
    *,
    distribution: Literal["poisson", "gaussian"] = "poisson",
    sigma: float | None = None,
) -> np.ndarray:
    """Numbers of pileup interactions for ``n`` jets: Poisson(μ), or round(|N(μ, σ)|); μ a number or ``[n]``."""
    if not np.all(np.asarray(mu) >= 0):
        raise HepgenInputError(f"μ (mean pileup interactions) must be >= 0; got {np.min(mu)}")
    if distribution == "poisson":
        return rng.poisson(mu, n).astype(np.int64)
    if distribution == "gaussian":
        if sigma is None or not sigma >= 0:
            raise HepgenInputError(f"the gaussian pileup distribution needs σ >= 0; got {sigma}")
        return np.rint(np.abs(rng.normal(mu, sigma, n))).astype(np.int64)
    raise HepgenInputError(f"pileup distribution must be 'poisson' or 'gaussian'; got {distribution!r}")


def _offsets(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


@dataclass(frozen=True)
class _Flat:
    """Flat float64 columns of jagged particle records with their ``offsets`` (the overlay's working form)."""

    columns: dict[str, np.ndarray]
    offsets: np.ndarray

    @classmethod
    def of(cls, particles: ak.Array) -> _Flat:
        counts = ak.to_numpy(ak.num(particles)).astype(np.int64)
        return cls(
            {k: ak.to_numpy(ak.flatten(particles[k])).astype(np.float64) for k in PARTICLE_FIELDS}, _offsets(counts)
        )


def overlay_pileup(
    jets: ak.Array,
    pool: ak.Array,
    *,
    mu: float | np.ndarray,
    seed: int | np.random.Generator,
    distribution: Literal["poisson", "gaussian"] = "poisson",
    sigma: float | None = None,
    radius: float = 1.0,
    n_interactions: np.ndarray | None = None,
    vertex_efficiency: float = VERTEX_EFFICIENCY,
    inefficiency: float | np.ndarray = 0.0,
    track_loss: float | np.ndarray = 0.0,
    chunk_size: int = 1000,
    detector: ConstituentDetector | None = None,
    recluster: bool = False,
    event_baselines: bool = False,
) -> OverlaidJets:
    """Overlay pileup on every jet (vectorised over all jets and interactions), then the detector's losses.

    Args:
        jets: hard-jet records (``eta``, ``phi``, ``constituents``; see the module docstring).
        pool: the minimum-bias pool (one list of particle records per event).
        mu: the nominal mean number of interactions, one for all jets or one per jet ``[J]``;
            ``distribution``/``sigma`` choose the law of the actual number.
        seed: a seed or a ``numpy`` generator; the same seed gives the same overlay.
        radius: particles within ΔR < ``radius`` of the jet axis are added.
        n_interactions: fixed counts per jet ``[J]`` (overrides the draw from ``mu``), e.g. for scans.
        vertex_efficiency: the probability that a pileup interaction gives a reconstructed vertex:
            ``n_vertices`` = 1 (the hard scatter) + Binomial(n_interactions, vertex_efficiency).
        inefficiency: the probability that the detector loses an observed particle (hard or pileup),
            independently per particle, one for all jets or one per jet ``[J]``; the truth keeps it. Behind a
            detector, each observed track and tower is lost with it (before any event baseline or clustering sees
            them), on top of the tracker's own efficiency.
        track_loss: (with a detector) a degraded tracker, one for all jets or one per jet ``[J]``: every particle's
            tracking efficiency times 1 − track_loss, in the observed jet and the truth alike (a charged particle
            without a track deposits its energy in the calorimeter).
        chunk_size: jets overlaid at once (bounds the memory; part of what the seed reproduces).
        detector: the tracker, vertexing and calorimeter applied to the overlaid particles
            (:mod:`hepgen.sim.detected_jets`): the constituents become tracks and towers, ``n_vertices`` comes from
            the vertexing, ``detector_truth`` holds the hard scatter through the same detector. None: particles.
        recluster: (with a detector) overlay pileup within ``radius`` + :data:`SURROUNDING_MARGIN` of the hard
            axis, recluster everything with anti-kT R = ``radius`` and keep the jet matched to the hard jet's axis
            (:mod:`hepgen.sim.reclustering`), for the observed jet and the detector-level truth alike. The hard
            event is the jet's constituents and its ``surroundings`` (where the jet files hold them; else the
            constituents only, and a warning).
        event_baselines: (with a detector) PUPPI weights (``puppi_weight`` of each constituent) and SoftKiller's
            cuts (``softkiller_cuts``) computed on the whole overlaid region before the jet is clustered.
    """
    if len(pool) == 0:
        raise HepgenInputError("the pileup pool holds no events")
    if not 0 < vertex_efficiency <= 1:
        raise HepgenInputError(f"the vertex efficiency must be in (0, 1]; got {vertex_efficiency}")
    if recluster and detector is None:
        raise HepgenInputError(
            "reclustering the jets needs a detector (--detector cms); the particle world keeps the cone"
        )
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    cone = radius + SURROUNDING_MARGIN if recluster else radius
    J = len(jets)
    nominal = np.broadcast_to(np.asarray(mu, dtype=np.float64), (J,)).copy()
    lost = np.broadcast_to(np.asarray(inefficiency, dtype=np.float64), (J,)).copy()
    if not np.all((lost >= 0) & (lost < 1)):
        raise HepgenInputError(f"the particle inefficiency must be in [0, 1); got {np.unique(lost)}")
    tracks_lost = np.broadcast_to(np.asarray(track_loss, dtype=np.float64), (J,)).copy()
    if not np.all((tracks_lost >= 0) & (tracks_lost < 1)):
        raise HepgenInputError(f"the track loss must be in [0, 1); got {np.unique(tracks_lost)}")
    if detector is None and np.any(tracks_lost > 0):
        raise HepgenInputError("a track loss needs a detector (--detector cms): particles have no tracks")
    counts = (
        draw_pileup_counts(J, nominal, rng, distribution=distribution, sigma=sigma)
        if n_interactions is None
        else (np.asarray(n_interactions, dtype=np.int64))
    )
    axis = (np.asarray(ak.to_numpy(jets.eta), np.float64), np.asarray(ak.to_numpy(jets.phi), np.float64))
    hard, particles = _Flat.of(_hard_event(jets, recluster)), _Flat.of(pool)
    parts = [
        _overlay_chunk(axis, hard, particles, counts, a, min(a + chunk_size, J), rng, cone, detector is not None)
        for a in range(0, J, chunk_size)
    ]
    if not parts:
        parts = [_overlay_chunk(axis, hard, particles, counts, 0, 0, rng, cone, detector is not None)]
    constituents = ak.concatenate(parts) if len(parts) > 1 else parts[0]
    if detector is not None:
        from hepgen.sim.detector_overlay import through_detector

        return through_detector(
            jets,
            constituents,
            counts,
            nominal,
            detector,
            rng,
            lost=lost,
            track_loss=tracks_lost,
            axis=axis,
            cone=cone,
            radius=radius,
            recluster=recluster,
            event_baselines=event_baselines,
        )
    n_vertices = 1 + rng.binomial(counts, vertex_efficiency)
    hard_counts = ak.num(jets.constituents)
    if np.any(lost > 0):
        n_obs = ak.num(constituents)
        kept = ak.unflatten(rng.uniform(size=int(ak.sum(n_obs))) >= np.repeat(lost, ak.to_numpy(n_obs)), n_obs)
        hard_kept = kept[ak.local_index(kept) < hard_counts]  # the hard constituents come first, in order
        constituents = constituents[kept]
    else:
        hard_kept = ak.values_astype(ak.ones_like(jets.constituents.pt), bool)
    jet_pt, jet_eta, jet_phi, jet_mass = pt_eta_phi_mass(summed_p4(constituents))
    return OverlaidJets(constituents, counts, n_vertices, nominal, lost, hard_kept, jet_pt, jet_eta, jet_phi, jet_mass)


def _hard_event(jets: ak.Array, recluster: bool) -> ak.Array:
    """The hard particles the overlay starts from ``[J, var]``: the jet's constituents, followed (when jets are
    reclustered) by the rest of the hard event around it."""
    if not recluster:
        return jets.constituents
    if "surroundings" not in jets.fields:
        log.warning(
            "the jet files do not hold the hard event around the jets (Surrounding_*): the jets are reclustered "
            "from their own constituents and pileup only; regenerate them with `hepgen generate jets`"
        )
        return jets.constituents
    return ak.concatenate([jets.constituents[list(PARTICLE_FIELDS)], jets.surroundings[list(PARTICLE_FIELDS)]], axis=1)


def _overlay_chunk(
    axis: tuple[np.ndarray, np.ndarray],
    hard: _Flat,
    pool: _Flat,
    all_counts: np.ndarray,
    lo: int,
    hi: int,
    rng: np.random.Generator,
    radius: float,
    with_interaction: bool,
) -> ak.Array:
    """Overlay on jets ``lo:hi``: their jagged observed constituents (hard first, then pileup), with the interaction
    each particle comes from (0: the hard scatter) if ``with_interaction``."""
    c_lo, c_hi = hard.offsets[lo], hard.offsets[hi]
    jet_eta, jet_phi = axis[0][lo:hi], axis[1][lo:hi]
    jet_columns = {k: v[c_lo:c_hi] for k, v in hard.columns.items()}
    hard_counts = np.diff(hard.offsets[lo : hi + 1])
    counts = all_counts[lo:hi]
    J = hi - lo
    total = int(counts.sum())
    n_pool = len(pool.offsets) - 1
    # one row per (jet, interaction): the pool event, an eta flip and a phi rotation
    jet_of_interaction = np.repeat(np.arange(J), counts)
    pool_event = rng.integers(0, n_pool, total)
    flip = np.where(rng.uniform(size=total) < 0.5, -1.0, 1.0)
    rotation = rng.uniform(-np.pi, np.pi, total)
    # expand to one row per pool particle
    sizes = pool.offsets[pool_event + 1] - pool.offsets[pool_event]
    interaction_of_particle = np.repeat(np.arange(total), sizes)
    starts = np.repeat(pool.offsets[pool_event] - _offsets(sizes)[:-1], sizes)
    source = starts + np.arange(int(sizes.sum()))
    eta = pool.columns["eta"][source] * flip[interaction_of_particle]
    jet = jet_of_interaction[interaction_of_particle]
    near = np.flatnonzero(np.abs(eta - jet_eta[jet]) < radius)  # |Δη| >= R is never within ΔR < R: φ only for these
    phi = pool.columns["phi"][source[near]] + rotation[interaction_of_particle[near]]
    d_phi = delta_phi(phi, jet_phi[jet[near]])
    within = (eta[near] - jet_eta[jet[near]]) ** 2 + d_phi**2 < radius**2
    inside = near[within]
    pu_jet = jet[inside]
    pu = {
        "pt": pool.columns["pt"][source[inside]],
        "eta": eta[inside],
        "phi": delta_phi(phi[within], 0.0),  # wrapped into (-pi, pi]
        "mass": pool.columns["mass"][source[inside]],
        "charge": pool.columns["charge"][source[inside]],
    }
    # merge: per jet, hard constituents first, then pileup (stable order)
    pu_counts = np.bincount(pu_jet, minlength=J)
    hard_jet = np.repeat(np.arange(J), hard_counts)
    order = np.argsort(np.concatenate([hard_jet * 2, pu_jet * 2 + 1]), kind="stable")
    merged = {k: np.concatenate([jet_columns[k], pu[k]])[order] for k in PARTICLE_FIELDS}
    merged["is_pileup"] = np.concatenate([np.zeros(len(jet_columns["pt"]), bool), np.ones(len(pu_jet), bool)])[order]
    if with_interaction:  # the detector needs each particle's vertex
        within_jet = interaction_of_particle[inside] - _offsets(counts)[:-1][pu_jet] + 1
        merged["interaction"] = np.concatenate([np.zeros(len(jet_columns["pt"]), np.int32), within_jet])[order]
    return ak.unflatten(
        ak.zip({k: v.astype(np.float32) if v.dtype.kind == "f" else v for k, v in merged.items()}),
        hard_counts + pu_counts,
    )
