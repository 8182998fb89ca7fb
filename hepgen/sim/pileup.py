"""Pileup overlay: add minimum-bias interactions to hard-scatter jets, deterministically for a seed.

For each jet, the number of pileup interactions is drawn from Poisson(μ) or
|N(μ, σ)| (rounded), that many events are drawn from the pool (with
replacement), each is flipped in η with probability ½ and rotated by a random
φ (so a finite pool yields many distinct configurations), and its particles
within ΔR < R of the hard jet's axis join the jet. Every observed constituent
carries an ``is_pileup`` flag, and the observed jet's four-momentum is the sum
of all its constituents.

Used on the fly by training (fresh pileup every epoch) and by
``hepgen generate jets --pileup POOL``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import awkward as ak
import numpy as np

from hepgen.physics.kinematics import delta_phi, pt_eta_phi_mass

__all__ = ["PileupPool", "HardJets", "OverlaidJets", "overlay_pileup", "draw_pileup_counts"]


def _offsets(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


@dataclass(frozen=True)
class PileupPool:
    """Minimum-bias events as flat particle arrays (pt GeV, eta, phi, mass GeV, charge) with event ``offsets``."""

    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    mass: np.ndarray
    charge: np.ndarray
    offsets: np.ndarray

    @property
    def n_events(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def from_columns(cls, particles: ak.Array) -> PileupPool:
        """From jagged records with fields pt, eta, phi, mass, charge (one list per event)."""
        counts = ak.to_numpy(ak.num(particles)).astype(np.int64)
        flat = {f: ak.to_numpy(ak.flatten(particles[f])).astype(np.float64) for f in ("pt", "eta", "phi", "mass", "charge")}
        return cls(**flat, offsets=_offsets(counts))

    @classmethod
    def from_root(cls, files: str | os.PathLike | Sequence[str | os.PathLike], *, tree: str = "Events") -> PileupPool:
        """Read a pool written by ``hepgen generate minbias`` (``Particle_*`` branches)."""
        from hepgen.io.files import expand_files, open_tree

        parts = []
        for path in expand_files(files):
            t = open_tree(path, tree)
            try:
                arrays = t.arrays([f"Particle_{f}" for f in ("pt", "eta", "phi", "mass", "charge")], library="ak")
            finally:
                t.file.close()
            parts.append(ak.zip({f: arrays[f"Particle_{f}"] for f in ("pt", "eta", "phi", "mass", "charge")}))
        pool = cls.from_columns(ak.concatenate(parts) if len(parts) > 1 else parts[0])
        if pool.n_events == 0:
            raise ValueError(f"the pileup pool {files} holds no events")
        for name in ("pt", "eta", "phi", "mass", "charge"):
            if not np.isfinite(getattr(pool, name)).all():
                raise ValueError(f"the pileup pool {files} holds NaN/inf in Particle_{name}")
        return pool


@dataclass(frozen=True)
class HardJets:
    """Hard-scatter jets: axis (``eta``, ``phi``) ``[J]`` and flat constituents with ``offsets`` ``[J + 1]``."""

    eta: np.ndarray
    phi: np.ndarray
    pt: np.ndarray
    c_eta: np.ndarray
    c_phi: np.ndarray
    c_mass: np.ndarray
    c_charge: np.ndarray
    offsets: np.ndarray

    @property
    def n_jets(self) -> int:
        return len(self.eta)

    @classmethod
    def from_columns(cls, jet_eta: np.ndarray, jet_phi: np.ndarray, constituents: ak.Array) -> HardJets:
        """From jet axes and jagged constituent records (fields pt, eta, phi, mass, charge)."""
        counts = ak.to_numpy(ak.num(constituents)).astype(np.int64)
        f = {k: ak.to_numpy(ak.flatten(constituents[k])).astype(np.float64) for k in ("pt", "eta", "phi", "mass", "charge")}
        return cls(
            eta=np.asarray(jet_eta, np.float64), phi=np.asarray(jet_phi, np.float64), pt=f["pt"], c_eta=f["eta"],
            c_phi=f["phi"], c_mass=f["mass"], c_charge=f["charge"], offsets=_offsets(counts),
        )  # fmt: skip


@dataclass(frozen=True)
class OverlaidJets:
    """Observed jets after the overlay.

    Attributes:
        constituents: jagged records per jet (pt, eta, phi, mass, charge, is_pileup); hard
            constituents first in their original order, then pileup particles.
        n_interactions: pileup interactions drawn per jet ``[J]``.
        jet_pt, jet_eta, jet_phi, jet_mass: the observed jet four-momentum ``[J]``.
    """

    constituents: ak.Array
    n_interactions: np.ndarray
    jet_pt: np.ndarray
    jet_eta: np.ndarray
    jet_phi: np.ndarray
    jet_mass: np.ndarray


def draw_pileup_counts(
    n: int,
    mu: float,
    rng: np.random.Generator,
    *,
    distribution: Literal["poisson", "gaussian"] = "poisson",
    sigma: float | None = None,
) -> np.ndarray:
    """Numbers of pileup interactions for ``n`` jets: Poisson(μ), or round(|N(μ, σ)|)."""
    if mu < 0:
        raise ValueError(f"mu must be >= 0; got {mu}")
    if distribution == "poisson":
        return rng.poisson(mu, n).astype(np.int64)
    if distribution == "gaussian":
        if sigma is None or sigma < 0:
            raise ValueError("the gaussian pileup distribution needs sigma >= 0")
        return np.rint(np.abs(rng.normal(mu, sigma, n))).astype(np.int64)
    raise ValueError(f"distribution must be 'poisson' or 'gaussian'; got {distribution!r}")


def overlay_pileup(
    jets: HardJets,
    pool: PileupPool,
    *,
    mu: float,
    seed: int | np.random.Generator,
    distribution: Literal["poisson", "gaussian"] = "poisson",
    sigma: float | None = None,
    radius: float = 1.0,
    n_interactions: np.ndarray | None = None,
    chunk_size: int = 1000,
) -> OverlaidJets:
    """Overlay pileup on every jet (vectorised over all jets and interactions).

    Args:
        jets: the hard-scatter jets and their constituents.
        pool: the minimum-bias pool.
        mu: mean number of interactions; ``distribution``/``sigma`` choose its law.
        seed: a seed or a ``numpy`` generator; the same seed gives the same overlay.
        radius: particles within ΔR < ``radius`` of the jet axis are added.
        n_interactions: fixed counts per jet ``[J]`` (overrides ``mu``), e.g. for scans.
        chunk_size: jets overlaid at once (bounds the memory; part of what the seed reproduces).
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    J = jets.n_jets
    counts = draw_pileup_counts(J, mu, rng, distribution=distribution, sigma=sigma) if n_interactions is None else (
        np.asarray(n_interactions, dtype=np.int64)
    )  # fmt: skip
    parts = [
        _overlay_chunk(jets, pool, counts, slice(a, min(a + chunk_size, J)), rng, radius)
        for a in range(0, J, chunk_size)
    ]
    if not parts:
        parts = [_overlay_chunk(jets, pool, counts, slice(0, 0), rng, radius)]
    constituents = ak.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
    p4 = np.concatenate([p[1] for p in parts])
    jet_pt, jet_eta, jet_phi, jet_mass = pt_eta_phi_mass(p4)
    return OverlaidJets(constituents, counts, jet_pt, jet_eta, jet_phi, jet_mass)


def _overlay_chunk(
    all_jets: HardJets, pool: PileupPool, all_counts: np.ndarray, part: slice, rng: np.random.Generator, radius: float
) -> tuple[ak.Array, np.ndarray]:
    """Overlay on jets ``part``: returns their jagged constituents and observed four-momenta ``[j, 4]``."""
    lo, hi = part.start, part.stop
    c_lo, c_hi = all_jets.offsets[lo], all_jets.offsets[hi]
    jets = HardJets(
        all_jets.eta[lo:hi], all_jets.phi[lo:hi], all_jets.pt[c_lo:c_hi], all_jets.c_eta[c_lo:c_hi],
        all_jets.c_phi[c_lo:c_hi], all_jets.c_mass[c_lo:c_hi], all_jets.c_charge[c_lo:c_hi],
        all_jets.offsets[lo : hi + 1] - c_lo,
    )  # fmt: skip
    counts = all_counts[lo:hi]
    J = hi - lo
    total = int(counts.sum())
    # one row per (jet, interaction): the pool event, an eta flip and a phi rotation
    jet_of_interaction = np.repeat(np.arange(J), counts)
    pool_event = rng.integers(0, pool.n_events, total)
    flip = np.where(rng.uniform(size=total) < 0.5, -1.0, 1.0)
    rotation = rng.uniform(-np.pi, np.pi, total)
    # expand to one row per pool particle
    sizes = pool.offsets[pool_event + 1] - pool.offsets[pool_event]
    interaction_of_particle = np.repeat(np.arange(total), sizes)
    starts = np.repeat(pool.offsets[pool_event] - _offsets(sizes)[:-1], sizes)
    source = starts + np.arange(int(sizes.sum()))
    eta = pool.eta[source] * flip[interaction_of_particle]
    phi = pool.phi[source] + rotation[interaction_of_particle]
    jet = jet_of_interaction[interaction_of_particle]
    d_phi = delta_phi(phi, jets.phi[jet])
    inside = (eta - jets.eta[jet]) ** 2 + d_phi**2 < radius**2
    pu_jet = jet[inside]
    pu = {
        "pt": pool.pt[source][inside],
        "eta": eta[inside],
        "phi": delta_phi(phi[inside], 0.0),  # wrapped into (-pi, pi]
        "mass": pool.mass[source][inside],
        "charge": pool.charge[source][inside],
    }
    # merge: per jet, hard constituents first, then pileup (stable order)
    hard_counts = np.diff(jets.offsets)
    pu_counts = np.bincount(pu_jet, minlength=J)
    hard_jet = np.repeat(np.arange(J), hard_counts)
    order = np.argsort(np.concatenate([hard_jet * 2, pu_jet * 2 + 1]), kind="stable")
    merged = {
        "pt": np.concatenate([jets.pt, pu["pt"]])[order],
        "eta": np.concatenate([jets.c_eta, pu["eta"]])[order],
        "phi": np.concatenate([jets.c_phi, pu["phi"]])[order],
        "mass": np.concatenate([jets.c_mass, pu["mass"]])[order],
        "charge": np.concatenate([jets.c_charge, pu["charge"]])[order],
        "is_pileup": np.concatenate([np.zeros(len(jets.pt), bool), np.ones(len(pu_jet), bool)])[order],
    }
    n_obs = hard_counts + pu_counts
    # observed jet four-momentum: sum of all constituents
    px = merged["pt"] * np.cos(merged["phi"])
    py = merged["pt"] * np.sin(merged["phi"])
    pz = merged["pt"] * np.sinh(merged["eta"])
    e = np.sqrt(px**2 + py**2 + pz**2 + merged["mass"] ** 2)
    obs_jet = np.repeat(np.arange(J), n_obs)
    p4 = np.stack([np.bincount(obs_jet, w, minlength=J) for w in (px, py, pz, e)], axis=1).reshape(J, 4)
    constituents = ak.unflatten(ak.zip({k: v.astype(np.float32) if v.dtype != bool else v for k, v in merged.items()}), n_obs)
    return constituents, p4
