"""Kinematic helpers on numpy arrays (GeV, radians).

``pt_eta_phi_mass`` sits on the generators' per-event hot path, where
`vector`'s per-call overhead (≈0.1–0.5 ms) would dominate tiny arrays; it
uses the same formulas as `vector` (checked against it in the tests):
pT = hypot(px, py), η = asinh(pz / pT), φ = atan2(py, px), m = sign(m²)√|m²|.
Elsewhere, use `vector` directly.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

__all__ = ["delta_phi", "delta_r", "p4_from_pt_eta_phi_mass", "pt_eta_phi_mass", "summed_p4"]


def delta_phi(phi1: np.ndarray, phi2: np.ndarray) -> np.ndarray:
    """φ1 − φ2 wrapped into (−π, π]."""
    d = np.mod(np.asarray(phi1) - np.asarray(phi2) + np.pi, 2 * np.pi) - np.pi
    return np.where(d == -np.pi, np.pi, d)


def delta_r(eta1: np.ndarray, phi1: np.ndarray, eta2: np.ndarray, phi2: np.ndarray) -> np.ndarray:
    """ΔR = √(Δη² + Δφ²), broadcasting like numpy."""
    return np.hypot(np.asarray(eta1) - np.asarray(eta2), delta_phi(phi1, phi2))


def pt_eta_phi_mass(p4: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(pt, eta, phi, mass) of four-momenta ``[..., 4]`` = (px, py, pz, E).

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
    """Four-momenta ``[..., 4]`` = (px, py, pz, E) from (pt, eta, phi, mass)."""
    pt, eta, phi, mass = (np.asarray(x, dtype=np.float64) for x in (pt, eta, phi, mass))
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    return np.stack([px, py, pz, np.sqrt(px * px + py * py + pz * pz + mass * mass)], axis=-1)


def summed_p4(constituents: ak.Array) -> np.ndarray:
    """Four-momentum (px, py, pz, E) ``[J, 4]`` of each list of jagged (pt, eta, phi, mass) records ``[J, var]``."""
    p4 = p4_from_pt_eta_phi_mass(*(ak.to_numpy(ak.flatten(constituents[k])) for k in ("pt", "eta", "phi", "mass")))
    counts = ak.to_numpy(ak.num(constituents))
    jet = np.zeros((len(counts), 4))
    np.add.at(jet, np.repeat(np.arange(len(counts)), counts), p4)
    return jet
