"""The tt̄ system of dilepton decay products (reconstructed or true): its mass, the tops' pT, and the spin-analysing
angles of the leptons in the helicity basis, with ``vector``'s boosts."""

from __future__ import annotations

import numpy as np

__all__ = ["ttbar_observables"]


def _vectors(p4: np.ndarray):
    import vector

    return vector.array({"px": p4[..., 0], "py": p4[..., 1], "pz": p4[..., 2], "E": p4[..., 3]})


def ttbar_observables(
    b: np.ndarray,
    lepton_plus: np.ndarray,
    nu: np.ndarray,
    bbar: np.ndarray,
    lepton_minus: np.ndarray,
    nubar: np.ndarray,
) -> dict[str, np.ndarray]:
    """The tt̄ system of reconstructed (or true) decay products, four-momenta ``[B, 4]`` (ν, ν̄ may be (px, py, pz):
    taken massless): ``m_ttbar`` [GeV], ``top_pt``, ``antitop_pt`` [GeV], and the spin-analysing angles in the helicity
    basis, ``cos_theta_plus`` (ℓ⁺ in the top rest frame against the top direction in the tt̄ rest frame) and
    ``cos_theta_minus`` (ℓ⁻ in the antitop rest frame against the antitop direction), with ``vector``'s boosts."""
    nu, nubar = (
        np.concatenate([x, np.linalg.norm(x, axis=-1, keepdims=True)], -1) if x.shape[-1] == 3 else x
        for x in (np.asarray(nu, dtype=np.float64), np.asarray(nubar, dtype=np.float64))
    )
    top = np.asarray(b, dtype=np.float64) + lepton_plus + nu
    antitop = np.asarray(bbar, dtype=np.float64) + lepton_minus + nubar
    system = _vectors(top + antitop)
    out = {
        "m_ttbar": np.asarray(system.mass),
        "top_pt": np.hypot(top[:, 0], top[:, 1]),
        "antitop_pt": np.hypot(antitop[:, 0], antitop[:, 1]),
    }
    for name, parent, lepton in (("cos_theta_plus", top, lepton_plus), ("cos_theta_minus", antitop, lepton_minus)):
        parent_in_ttbar = _vectors(parent).boostCM_of_p4(system)  # the (anti)top in the tt̄ rest frame
        lepton_in_ttbar = _vectors(np.asarray(lepton, dtype=np.float64)).boostCM_of_p4(system)
        lepton_in_parent = lepton_in_ttbar.boostCM_of_p4(parent_in_ttbar)
        axis = np.stack([parent_in_ttbar.px, parent_in_ttbar.py, parent_in_ttbar.pz], -1)
        direction = np.stack([lepton_in_parent.px, lepton_in_parent.py, lepton_in_parent.pz], -1)
        out[name] = (axis * direction).sum(-1) / (np.linalg.norm(axis, axis=-1) * np.linalg.norm(direction, axis=-1))
    return out
