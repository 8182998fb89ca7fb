"""The analytic neutrino: pz from the W-mass constraint m(ℓ, ν) = m_W, given the lepton and MET.

With the neutrino massless and its transverse momentum set to MET, the
constraint (p_ℓ + p_ν)² = m_W² is a quadratic in p_z^ν. Writing
μ = (m_W² − m_ℓ²)/2 + p_T^ℓ · p_T^ν and a = E_ℓ² − p_{z,ℓ}² (= p_T,ℓ² + m_ℓ²):

    p_z^ν = (μ p_{z,ℓ} ± E_ℓ √(μ² − a (p_T^ν)²)) / a

Both roots are returned. The default choice is the smaller |p_z| (the
standard choice of ATLAS and CMS top analyses: right about 60–70 % of the
time). When the discriminant μ² − a (p_T^ν)² is negative (MET mismeasured,
or the W off shell), the roots are complex; the prescription used here, and in
most analyses, takes their common real part μ p_{z,ℓ} / a. ``is_complex``
flags those events so they can be studied separately.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["W_MASS", "NeutrinoSolution", "solve_neutrino_pz"]

#: PDG W mass in GeV.
W_MASS = 80.377


@dataclass(frozen=True)
class NeutrinoSolution:
    """Both roots ``[B]`` (GeV), the chosen one, and whether the roots were complex."""

    pz_plus: np.ndarray
    pz_minus: np.ndarray
    pz: np.ndarray
    is_complex: np.ndarray


def solve_neutrino_pz(
    lepton_px: np.ndarray,
    lepton_py: np.ndarray,
    lepton_pz: np.ndarray,
    lepton_energy: np.ndarray,
    met_px: np.ndarray,
    met_py: np.ndarray,
    *,
    w_mass: float | np.ndarray = W_MASS,
) -> NeutrinoSolution:
    """Solve the W-mass constraint for the neutrino pz, per event (all arrays ``[B]``, GeV).

    ``w_mass`` may be an array, e.g. the true m(ℓν) of each event in a closure test.
    """
    px, py, pz, e = (np.asarray(x, dtype=np.float64) for x in (lepton_px, lepton_py, lepton_pz, lepton_energy))
    mx, my = np.asarray(met_px, dtype=np.float64), np.asarray(met_py, dtype=np.float64)
    m_lepton_sq = np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0)
    mu = 0.5 * (np.asarray(w_mass, dtype=np.float64) ** 2 - m_lepton_sq) + px * mx + py * my
    a = e**2 - pz**2
    discriminant = mu**2 - a * (mx**2 + my**2)
    is_complex = discriminant < 0
    root = e * np.sqrt(np.where(is_complex, 0.0, discriminant))
    centre = mu * pz / a
    plus, minus = centre + root / a, centre - root / a
    chosen = np.where(np.abs(plus) < np.abs(minus), plus, minus)
    return NeutrinoSolution(pz_plus=plus, pz_minus=minus, pz=chosen, is_complex=is_complex)
