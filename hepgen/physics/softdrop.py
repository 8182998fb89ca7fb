"""SoftDrop grooming (Larkoski, Marzani, Soyez, Thaler 2014) of batches of jets with fastjet.

The constituents are reclustered with Cambridge/Aachen and declustered from the
top; the softer branch is dropped while
``min(pT1, pT2) / (pT1 + pT2) < z_cut (ΔR12 / R0)^β``. β = 0 is the modified
mass-drop tagger; larger β grooms less at small angles. Runs vectorised over
all jets through fastjet's awkward interface.

:func:`softdrop_grid` grooms a whole grid of (z_cut, β) from one C/A clustering per jet: SoftDrop only walks the
primary (harder-branch) declustering chain and stops at the first splitting that passes, so the chain — each
splitting's z and ΔR², and the step at which each constituent leaves it in a softer branch — is recorded once and
every setting is a cut on it. It gives the constituents of :func:`softdrop_groom` for every setting.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import awkward as ak
import numpy as np

from hepgen.physics.substructure import (
    RECLUSTER_RADIUS,
    from_fastjet_output,
    quiet_fastjet_banner,
    recluster,
    to_fastjet_input,
)

__all__ = ["SOFTDROP_GRID", "softdrop_grid", "softdrop_groom"]

#: The (z_cut, β) settings the validation scans (R0 = 1.0), the usual range of the experiments.
SOFTDROP_GRID: tuple[tuple[float, float], ...] = tuple(itertools.product((0.05, 0.1, 0.15, 0.2), (0.0, 0.5, 1.0, 2.0)))


def _check(z_cut: float, beta: float, r0: float) -> None:
    if not 0 < z_cut < 1 or beta < 0 or r0 <= 0:
        raise ValueError(f"SoftDrop needs 0 < z_cut < 1, beta ≥ 0, r0 > 0; got z_cut={z_cut}, beta={beta}, r0={r0}")


def _require_constituents(constituents: ak.Array) -> None:
    if len(constituents) and ak.min(ak.num(constituents)) == 0:
        raise ValueError("SoftDrop got a jet without constituents; remove empty jets first (and count them)")


def softdrop_groom(constituents: ak.Array, *, z_cut: float = 0.1, beta: float = 0.0, r0: float = 1.0) -> ak.Array:
    """The constituents that survive SoftDrop, per jet: jagged ``(pt, eta, phi, mass)`` records ``[J, var]``.

    Args:
        constituents: jagged ``(pt, eta, phi, mass)`` records ``[J, var]``; every jet needs ≥ 1 constituent.
        z_cut: the momentum-fraction threshold.
        beta: the angular exponent β.
        r0: the angular normalisation R0 (the jet radius).
    """
    _check(z_cut, beta, r0)
    _require_constituents(constituents)
    if len(constituents) == 0:
        return constituents
    groomed = recluster(constituents, "cambridge").exclusive_jets_softdrop_grooming(
        njets=1, beta=beta, symmetry_cut=z_cut, symmetry_measure="scalar_z", R0=r0, recursion_choice="larger_pt"
    )
    return from_fastjet_output(groomed.constituents)


def _primary_chain(p4: np.ndarray, fj) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One jet's C/A primary declustering chain: (z ``[K]``, ΔR² ``[K]``, the step at which each constituent leaves
    the chain ``[N]``; K for the last one standing), following the larger-pT branch as fastjet's SoftDrop does."""
    particles = []
    for i, (px, py, pz, e) in enumerate(p4):
        particle = fj.PseudoJet(px, py, pz, e)
        particle.set_user_index(i)
        particles.append(particle)
    sequence = fj.ClusterSequence(particles, fj.JetDefinition(fj.cambridge_algorithm, RECLUSTER_RADIUS))
    jet = sequence.exclusive_jets(1)[0]
    leaves = np.full(len(p4), -1, dtype=np.int64)
    z, delta_r2 = [], []
    harder, softer = fj.PseudoJet(), fj.PseudoJet()
    while jet.has_parents(harder, softer):
        if harder.pt2() < softer.pt2():
            harder, softer = softer, harder
        pt1, pt2 = harder.pt(), softer.pt()
        z.append(min(pt1, pt2) / (pt1 + pt2))
        delta_r2.append(harder.squared_distance(softer))
        leaves[[c.user_index() for c in softer.constituents()]] = len(z) - 1
        jet, harder, softer = harder, fj.PseudoJet(), fj.PseudoJet()
    leaves[leaves < 0] = len(z)
    return np.asarray(z), np.asarray(delta_r2), leaves


def softdrop_grid(
    constituents: ak.Array, settings: Sequence[tuple[float, float]] = SOFTDROP_GRID, *, r0: float = 1.0
) -> list[ak.Array]:
    """:func:`softdrop_groom` for every ``(z_cut, β)`` of ``settings`` from one clustering per jet.

    Args:
        constituents: jagged ``(pt, eta, phi, mass)`` records ``[J, var]``; every jet needs ≥ 1 constituent.
        settings: the ``(z_cut, β)`` pairs.
        r0: the angular normalisation R0.

    Returns:
        one jagged ``(pt, eta, phi, mass)`` array ``[J, var]`` per setting, in the order of ``settings``: the
        constituents :func:`softdrop_groom` keeps (the same four-vectors; their order within a jet may differ).
    """
    for z_cut, beta in settings:
        _check(z_cut, beta, r0)
    _require_constituents(constituents)
    import fastjet._swig as fj

    inputs = to_fastjet_input(constituents)
    counts = ak.to_numpy(ak.num(inputs))
    flat = np.stack([ak.to_numpy(ak.flatten(inputs[k])) for k in ("px", "py", "pz", "E")], axis=-1)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    z_cut = np.array([z for z, _ in settings])[:, None]
    half_beta = np.array([b for _, b in settings])[:, None] / 2
    keep = np.zeros((len(settings), len(flat)), dtype=bool)
    with quiet_fastjet_banner():
        for j in range(len(counts)):
            z, delta_r2, leaves = _primary_chain(flat[offsets[j] : offsets[j + 1]], fj)
            passes = z[None, :] > z_cut * (delta_r2[None, :] / r0**2) ** half_beta  # [settings, K]
            stop = np.where(passes.any(axis=1), passes.argmax(axis=1), len(z))  # the first passing splitting
            keep[:, offsets[j] : offsets[j + 1]] = leaves[None, :] >= stop[:, None]
    groomed = []
    for row in keep:
        kept = ak.unflatten(
            ak.zip({k: flat[row, i] for i, k in enumerate(("px", "py", "pz", "E"))}),
            np.add.reduceat(row, offsets[:-1]) if len(counts) else counts,
        )
        groomed.append(from_fastjet_output(kept))
    return groomed
