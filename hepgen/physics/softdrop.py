"""SoftDrop grooming (Larkoski, Marzani, Soyez, Thaler 2014) of batches of jets with fastjet.

The constituents are reclustered with Cambridge/Aachen and declustered from the
top; the softer branch is dropped while
``min(pT1, pT2) / (pT1 + pT2) < z_cut (ΔR12 / R0)^β``. β = 0 is the modified
mass-drop tagger; larger β grooms less at small angles. Runs vectorised over
all jets through fastjet's awkward interface.
"""

from __future__ import annotations

import itertools

import awkward as ak

from hepgen.physics.substructure import from_fastjet_output, recluster

__all__ = ["SOFTDROP_GRID", "softdrop_groom"]

#: The (z_cut, β) settings the validation scans (R0 = 1.0), the usual range of the experiments.
SOFTDROP_GRID: tuple[tuple[float, float], ...] = tuple(itertools.product((0.05, 0.1, 0.15, 0.2), (0.0, 0.5, 1.0, 2.0)))


def softdrop_groom(constituents: ak.Array, *, z_cut: float = 0.1, beta: float = 0.0, r0: float = 1.0) -> ak.Array:
    """The constituents that survive SoftDrop, per jet: jagged ``(pt, eta, phi, mass)`` records ``[J, var]``.

    Args:
        constituents: jagged ``(pt, eta, phi, mass)`` records ``[J, var]``; every jet needs ≥ 1 constituent.
        z_cut: the momentum-fraction threshold.
        beta: the angular exponent β.
        r0: the angular normalisation R0 (the jet radius).
    """
    if not 0 < z_cut < 1 or beta < 0 or r0 <= 0:
        raise ValueError(f"SoftDrop needs 0 < z_cut < 1, beta ≥ 0, r0 > 0; got z_cut={z_cut}, beta={beta}, r0={r0}")
    if len(constituents) and ak.min(ak.num(constituents)) == 0:
        raise ValueError("SoftDrop got a jet without constituents; remove empty jets first (and count them)")
    if len(constituents) == 0:
        return constituents
    groomed = recluster(constituents, "cambridge").exclusive_jets_softdrop_grooming(
        njets=1, beta=beta, symmetry_cut=z_cut, symmetry_measure="scalar_z", R0=r0, recursion_choice="larger_pt"
    )
    return from_fastjet_output(groomed.constituents)
