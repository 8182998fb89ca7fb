"""Kinematic helpers on numpy arrays (GeV, radians), delegating four-vector algebra to `vector`."""

from __future__ import annotations

import numpy as np
import vector

__all__ = ["delta_phi", "delta_r", "pt_eta_phi_mass"]


def delta_phi(phi1: np.ndarray, phi2: np.ndarray) -> np.ndarray:
    """φ1 − φ2 wrapped into (−π, π]."""
    d = np.mod(np.asarray(phi1) - np.asarray(phi2) + np.pi, 2 * np.pi) - np.pi
    return np.where(d == -np.pi, np.pi, d)


def delta_r(eta1: np.ndarray, phi1: np.ndarray, eta2: np.ndarray, phi2: np.ndarray) -> np.ndarray:
    """ΔR = √(Δη² + Δφ²), broadcasting like numpy."""
    return np.hypot(np.asarray(eta1) - np.asarray(eta2), delta_phi(phi1, phi2))


def pt_eta_phi_mass(p4: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(pt, eta, phi, mass) of four-momenta ``[..., 4]`` = (px, py, pz, E) through `vector`.

    The mass follows `vector` (and ROOT): −√(−m²) for space-like rounding errors.
    """
    p4 = np.asarray(p4, dtype=np.float64)
    v = vector.array({"px": p4[..., 0], "py": p4[..., 1], "pz": p4[..., 2], "E": p4[..., 3]})
    return np.asarray(v.pt), np.asarray(v.eta), np.asarray(v.phi), np.asarray(v.mass)
