"""Kinematics on numpy arrays (GeV, radians): the one place hepgen turns momenta into each other.

The formulas are those of `vector` (checked against it in ``tests/physics/test_kinematics.py``):
pT = hypot(px, py), η = asinh(pz / pT), φ = atan2(py, px), m = sign(m²)√|m²|. They are written on plain
arrays because they sit on hot paths (the generators' per-event loop, the pileup overlay of every training
epoch, the feature building of every prediction block), where `vector`'s per-call overhead (≈0.1–0.5 ms)
would dominate, and because they keep the inputs' float precision: float32 inputs are computed in float32,
exactly as the models were trained. Use `vector` directly for anything else.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

__all__ = [
    "PION_MASS",
    "delta_phi",
    "delta_r",
    "p4_from_pt_eta_phi_mass",
    "pt_eta_phi_mass",
    "summed_p4",
    "invariant_mass",
    "massless_p4",
    "pseudorapidity",
]

#: The charged-pion mass [GeV] (PDG): the mass hypothesis of every jet constituent whose mass is not measured.
PION_MASS = 0.13957039


def _floats(x: np.ndarray) -> np.ndarray:
    """``x`` as a float array, keeping float32/float64 (integers become float64)."""
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float64)


def delta_phi(phi1: np.ndarray, phi2: np.ndarray) -> np.ndarray:
    """φ1 − φ2 wrapped into (−π, π]."""
    d = np.mod(np.asarray(phi1) - np.asarray(phi2) + np.pi, 2 * np.pi) - np.pi
    return np.where(d == -np.pi, np.pi, d)


def delta_r(eta1: np.ndarray, phi1: np.ndarray, eta2: np.ndarray, phi2: np.ndarray) -> np.ndarray:
    """ΔR = √(Δη² + Δφ²), broadcasting like numpy."""
    return np.hypot(np.asarray(eta1) - np.asarray(eta2), delta_phi(phi1, phi2))


def pt_eta_phi_mass(p4: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(pt, eta, phi, mass) of four-momenta ``[..., 4]`` = (px, py, pz, E), in float64.

    η of a particle along the beam (pT = 0) is ±∞ as in `vector`; the mass of a
    space-like rounding error is −√(−m²) as in `vector` and ROOT.
    """
    p4 = np.asarray(p4, dtype=np.float64)
    px, py, pz, e = p4[..., 0], p4[..., 1], p4[..., 2], p4[..., 3]
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.where(pt > 0, np.arcsinh(pz / pt), np.copysign(np.inf, pz))
    eta = np.where((pt == 0) & (pz == 0), 0.0, eta)
    m2 = e * e - px * px - py * py - pz * pz
    return pt, eta, np.arctan2(py, px), np.sign(m2) * np.sqrt(np.abs(m2))


def p4_from_pt_eta_phi_mass(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, mass: np.ndarray) -> np.ndarray:
    """Four-momenta ``[..., 4]`` = (px, py, pz, E) from (pt, eta, phi, mass), in the inputs' float precision."""
    pt, eta, phi, mass = (_floats(x) for x in (pt, eta, phi, mass))
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    return np.stack([px, py, pz, np.sqrt(px * px + py * py + pz * pz + mass * mass)], axis=-1)


def massless_p4(p3: np.ndarray) -> np.ndarray:
    """(px, py, pz) ``[..., 3]`` of massless particles (a neutrino) → (px, py, pz, E = |p|) ``[..., 4]``."""
    p3 = _floats(p3)
    return np.concatenate([p3, np.linalg.norm(p3, axis=-1, keepdims=True)], axis=-1)


def pseudorapidity(p3: np.ndarray) -> np.ndarray:
    """η of (px, py, pz) ``[..., 3]``; a particle along the beam gets a large finite η (pT floored at 1e-9 GeV)."""
    p3 = _floats(p3)
    return np.arcsinh(p3[..., 2] / np.maximum(np.hypot(p3[..., 0], p3[..., 1]), 1e-9))


def invariant_mass(*p4s: np.ndarray) -> np.ndarray:
    """m of the sum of four-momenta ``[..., 4]`` (sign(m²)√|m²|, as `vector`), e.g. m(ℓ, ν, b); shapes broadcast."""
    total = p4s[0]
    for p4 in p4s[1:]:
        total = total + p4
    m2 = total[..., 3] ** 2 - (total[..., :3] ** 2).sum(axis=-1)
    return np.sign(m2) * np.sqrt(np.abs(m2))


def summed_p4(constituents: ak.Array, *, mass: float | None = None) -> np.ndarray:
    """Four-momentum (px, py, pz, E) ``[J, 4]`` of each list of jagged (pt, eta, phi, mass) records ``[J, var]``.

    With ``mass`` every constituent gets that mass hypothesis (e.g. :data:`PION_MASS`) instead of its own.
    """
    pt, eta, phi = (ak.to_numpy(ak.flatten(constituents[k])).astype(np.float64) for k in ("pt", "eta", "phi"))
    m = np.full_like(pt, mass) if mass is not None else ak.to_numpy(ak.flatten(constituents["mass"])).astype(np.float64)
    p4 = p4_from_pt_eta_phi_mass(pt, eta, phi, m)
    counts = ak.to_numpy(ak.num(constituents))
    jet = np.zeros((len(counts), 4))
    np.add.at(jet, np.repeat(np.arange(len(counts)), counts), p4)
    return jet
