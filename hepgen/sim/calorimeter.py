"""Calorimeter towers: the neutral constituents a detector sees, where hard-scatter and pileup energy can share
one measurement.

Every particle that reaches the calorimeter without a track (neutral, or charged but not tracked) deposits its
energy in the ECAL (photons, electrons) or the HCAL (hadrons); each deposit is smeared with the resolution of its
part (:func:`smear_deposits`), then the deposits are summed into square (η, φ) towers and thresholded
(:func:`fill_towers`). Smearing and tower filling are separate so that the same smeared deposits can fill the
towers of the whole event and those of the hard scatter alone (the detector-level truth). Vectorised over a
batch of events: deposits are flat arrays ``[D]`` with their ``event``; parameters and sources in
:class:`hepgen.sim.detector.Calorimeter`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hepgen.sim.detector import Calorimeter, CalorimeterRegion, smear_lognormal

__all__ = ["deposit_resolution", "is_electromagnetic", "smear_deposits", "Towers", "fill_towers"]


def deposit_resolution(energy: np.ndarray, eta: np.ndarray, regions: Sequence[CalorimeterRegion]) -> np.ndarray:
    """σ(E) [GeV] ``[D]`` of deposits of ``energy`` [GeV] at ``eta`` in a calorimeter part given by its |η|
    regions (0 beyond the last region)."""
    energy, abs_eta = np.asarray(energy, np.float64), np.abs(np.asarray(eta, np.float64))
    sigma = np.zeros_like(energy)
    row = np.searchsorted(np.array([region.eta_max for region in regions]), abs_eta)  # |η| <= eta_max of row
    for r, region in enumerate(regions):
        inside = row == r
        prefactor = region.scale + region.curvature * (abs_eta[inside] - region.centre) ** 2
        e = energy[inside]
        sigma[inside] = prefactor * np.sqrt((region.constant * e) ** 2 + region.stochastic**2 * e + region.noise**2)
    return sigma


def is_electromagnetic(mass: np.ndarray, calorimeter: Calorimeter) -> np.ndarray:
    """True for the particles ``[D]`` that shower in the ECAL (photons, electrons: mass < ``em_mass_max``)."""
    return np.asarray(mass, np.float64) < calorimeter.em_mass_max


def smear_deposits(
    energy: np.ndarray, eta: np.ndarray, electromagnetic: np.ndarray, calorimeter: Calorimeter, rng: np.random.Generator
) -> np.ndarray:
    """The measured energy [GeV] ``[D]`` of each deposit: log-normal with the ECAL or HCAL σ(E) at its η."""
    energy = np.asarray(energy, np.float64)
    sigma = np.where(
        electromagnetic,
        deposit_resolution(energy, eta, calorimeter.ecal),
        deposit_resolution(energy, eta, calorimeter.hcal),
    )
    return smear_lognormal(energy, sigma, rng)


@dataclass(frozen=True)
class Towers:
    """The towers above threshold of a batch of events, flat ``[T]``: ``event``; the tower centre ``eta``, ``phi``;
    the measured ``energy`` and ``pt`` [GeV] (massless at the centre); ``hard_energy``, the part of the measured
    energy from hard-scatter deposits (truth, for evaluation only); ``ecal_energy``, the part in the ECAL."""

    event: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    energy: np.ndarray
    pt: np.ndarray
    hard_energy: np.ndarray
    ecal_energy: np.ndarray

    def __len__(self) -> int:
        return len(self.energy)


def _grid(calorimeter: Calorimeter) -> tuple[int, int, float]:
    """Towers per η side (η = 0 is a tower edge), towers in φ, and the φ width (2π / a whole number of towers)."""
    half = int(np.ceil(calorimeter.eta_max / calorimeter.tower_size - 1e-9))
    n_phi = max(1, round(2 * np.pi / calorimeter.tower_size))
    return half, n_phi, 2 * np.pi / n_phi


def fill_towers(
    event: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    measured_energy: np.ndarray,
    electromagnetic: np.ndarray,
    calorimeter: Calorimeter,
    *,
    hard: np.ndarray | None = None,
) -> Towers:
    """Sum smeared deposits ``[D]`` into the towers of their event and keep those above threshold.

    Each tower's ECAL and HCAL sums are thresholded separately (energy >= minimum and >= significance × σ(E) at
    the tower centre); a tower is kept when either part survives, with the surviving parts' energy. ``hard``
    marks the hard-scatter deposits (their share is reported per tower; default: all hard).
    """
    eta, phi = np.asarray(eta, np.float64), np.asarray(phi, np.float64)
    energy, em = np.asarray(measured_energy, np.float64), np.asarray(electromagnetic, bool)
    hard = np.ones(len(energy), bool) if hard is None else np.asarray(hard, bool)
    half, n_phi, phi_width = _grid(calorimeter)
    n_eta = 2 * half
    inside = np.abs(eta) < calorimeter.eta_max
    i_eta = np.clip(np.floor(eta / calorimeter.tower_size).astype(np.int64) + half, 0, n_eta - 1)
    i_phi = np.floor(np.mod(phi + np.pi, 2 * np.pi) / phi_width).astype(np.int64) % n_phi
    cell = (np.asarray(event, np.int64) * n_eta + i_eta) * n_phi + i_phi
    towers, which = np.unique(cell[inside], return_inverse=True)
    total = np.zeros((len(towers), 2))
    from_hard = np.zeros((len(towers), 2))
    part = (~em[inside]).astype(np.int64)  # 0 ECAL, 1 HCAL
    np.add.at(total, (which, part), energy[inside])
    np.add.at(from_hard, (which, part), np.where(hard[inside], energy[inside], 0.0))
    centre_eta = ((towers // n_phi) % n_eta - half + 0.5) * calorimeter.tower_size
    centre_phi = -np.pi + (towers % n_phi + 0.5) * phi_width
    keep = np.stack(
        [
            _above_threshold(
                total[:, 0],
                centre_eta,
                calorimeter.ecal,
                calorimeter.ecal_energy_min,
                calorimeter.ecal_significance_min,
            ),
            _above_threshold(
                total[:, 1],
                centre_eta,
                calorimeter.hcal,
                calorimeter.hcal_energy_min,
                calorimeter.hcal_significance_min,
            ),
        ],
        axis=1,
    )
    measured = np.where(keep, total, 0.0)
    tower_energy = measured.sum(axis=1)
    kept = tower_energy > 0
    return Towers(
        event=(towers // (n_eta * n_phi))[kept],
        eta=centre_eta[kept],
        phi=centre_phi[kept],
        energy=tower_energy[kept],
        pt=tower_energy[kept] / np.cosh(centre_eta[kept]),
        hard_energy=np.where(keep, from_hard, 0.0).sum(axis=1)[kept],
        ecal_energy=measured[kept, 0],
    )


def _above_threshold(
    energy: np.ndarray, eta: np.ndarray, regions: Sequence[CalorimeterRegion], energy_min: float, significance: float
) -> np.ndarray:
    return (energy >= energy_min) & (energy >= significance * deposit_resolution(energy, eta, regions))
