"""Jet substructure observables of batches of jets from their constituents, computed with fastjet.

Every function takes the constituents of ``J`` jets as a jagged awkward array of
records with ``pt, eta, phi, mass`` (GeV, radians) — one list per jet — and
returns numpy arrays ``[J]``. All jets are clustered at once through fastjet's
vectorised (awkward) interface; nothing loops over jets in Python.

Definitions (the standard ones; each is checked against a hand computation in
the tests):

- ``mass``, ``pt``: of the four-momentum sum of the constituents.
- ``tau21 = τ2/τ1``, ``tau32 = τ3/τ2``: N-subjettiness (Thaler, Van Tilburg
  2011) with exclusive-kT axes and the normalised measure,
  ``τN = Σ_i pT_i min_k ΔR_ik^β / Σ_i pT_i R0^β`` with β = 1, R0 = ``radius``.
- ``d2``: the energy-correlation ratio D2 = e3/e2³ with β = 1 (Larkoski,
  Moult, Neill 2014), ``e_N`` from pT and ΔR in (y, φ).
- ``sqrt_d12``, ``sqrt_d23``: the kT splitting scales: √d of the last (second
  to last) exclusive kT merging with ``d_ij = min(pT_i², pT_j²) ΔR_ij²``
  (R = 1 convention, no beam distance: the constituents are reclustered with
  a large radius so that they all end in one jet).
- ``n_constituents``.

A jet with fewer particles than an observable needs (τ21 of a one-particle
jet: τ1 = 0) gets NaN for that observable; callers count and skip them.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import awkward as ak
import numpy as np

from hepgen.physics.kinematics import p4_from_pt_eta_phi_mass, pt_eta_phi_mass, summed_p4

__all__ = [
    "OBSERVABLES",
    "OBSERVABLE_LABELS",
    "jet_observables",
    "recluster",
    "to_fastjet_input",
    "from_fastjet_output",
    "quiet_fastjet_banner",
    "RECLUSTER_RADIUS",
]

#: The observables :func:`jet_observables` returns, in this order.
OBSERVABLES: tuple[str, ...] = ("mass", "pt", "tau21", "tau32", "d2", "sqrt_d12", "sqrt_d23", "n_constituents")

#: Axis labels (LaTeX) with units.
OBSERVABLE_LABELS: dict[str, str] = {
    "mass": r"jet mass [GeV]",
    "pt": r"jet $p_T$ [GeV]",
    "tau21": r"$\tau_{21}$",
    "tau32": r"$\tau_{32}$",
    "d2": r"$D_2^{(\beta=1)}$",
    "sqrt_d12": r"$d_{12}^{1/2}$ [GeV]",
    "sqrt_d23": r"$d_{23}^{1/2}$ [GeV]",
    "n_constituents": "constituents",
}

#: Reclustering radius that keeps every constituent of an R ≤ 1 jet in one exclusive jet (no beam merging).
RECLUSTER_RADIUS = 10.0


_banner_silenced = False


@contextlib.contextmanager
def quiet_fastjet_banner() -> Iterator[None]:
    """Send fastjet's one-time banner (written by C++ to file descriptor 1 on the first clustering) to /dev/null."""
    global _banner_silenced
    if _banner_silenced:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
        _banner_silenced = True


def to_fastjet_input(constituents: ak.Array) -> ak.Array:
    """Jagged ``(pt, eta, phi, mass)`` records ``[J, var]`` → jagged ``Momentum4D`` (px, py, pz, E) for fastjet."""
    counts = ak.to_numpy(ak.num(constituents))
    pt, eta, phi, mass = (
        ak.to_numpy(ak.flatten(constituents[k])).astype(np.float64) for k in ("pt", "eta", "phi", "mass")
    )
    p4 = p4_from_pt_eta_phi_mass(pt, eta, phi, np.maximum(mass, 0.0))
    flat = ak.zip({"px": p4[:, 0], "py": p4[:, 1], "pz": p4[:, 2], "E": p4[:, 3]}, with_name="Momentum4D")
    return ak.unflatten(flat, counts)


def from_fastjet_output(particles: ak.Array) -> ak.Array:
    """Jagged (px, py, pz, E) records ``[J, var]`` → jagged ``(pt, eta, phi, mass)`` records."""
    counts = ak.to_numpy(ak.num(particles))
    p4 = np.stack([ak.to_numpy(ak.flatten(particles[k])).astype(np.float64) for k in ("px", "py", "pz", "E")], axis=-1)
    pt, eta, phi, mass = pt_eta_phi_mass(p4)
    return ak.unflatten(ak.zip({"pt": pt, "eta": eta, "phi": phi, "mass": np.maximum(mass, 0.0)}), counts)


def recluster(constituents: ak.Array, algorithm: str):
    """fastjet ClusterSequence of every jet's constituents with ``algorithm`` (kt, cambridge) at a large radius."""
    import fastjet

    definition = fastjet.JetDefinition(getattr(fastjet, f"{algorithm}_algorithm"), RECLUSTER_RADIUS)
    with quiet_fastjet_banner():
        sequence = fastjet.ClusterSequence(to_fastjet_input(constituents), definition)
    return sequence


def jet_observables(constituents: ak.Array, *, radius: float = 1.0) -> dict[str, np.ndarray]:
    """The :data:`OBSERVABLES` of each jet: name → ``[J]`` (NaN where a jet has too few particles).

    Args:
        constituents: jagged records with ``pt, eta, phi, mass`` ``[J, var]``; empty jets are allowed
            (all their observables but ``n_constituents`` are NaN).
        radius: the jet radius R0 of the N-subjettiness normalisation.
    """
    counts = ak.to_numpy(ak.num(constituents)).astype(np.int64)
    n_jets = len(counts)
    result = {name: np.full(n_jets, np.nan) for name in OBSERVABLES}
    result["n_constituents"] = counts.astype(np.float64)
    filled = np.flatnonzero(counts > 0)
    if len(filled) == 0:
        return result
    jets = constituents[filled] if len(filled) < n_jets else constituents
    pt, _, _, mass = pt_eta_phi_mass(summed_p4(jets))
    result["pt"][filled], result["mass"][filled] = pt, np.maximum(mass, 0.0)

    kt = recluster(jets, "kt")
    taus = ak.to_numpy(
        kt.njettiness(
            measure_definition="NormalizedMeasure", axes_definition="KT_Axes", njets=[1, 2, 3], beta=1.0, R0=radius
        )
    )
    taus = np.asarray(taus, dtype=np.float64).reshape(len(filled), 3)
    n = counts[filled]
    with np.errstate(divide="ignore", invalid="ignore"):
        result["tau21"][filled] = np.where(n >= 2, taus[:, 1] / taus[:, 0], np.nan)
        result["tau32"][filled] = np.where(n >= 3, taus[:, 2] / taus[:, 1], np.nan)
    d2 = ak.to_numpy(kt.exclusive_jets_energy_correlator(njets=1, func="d2", beta=1.0)).astype(np.float64)
    result["d2"][filled] = np.where(n >= 3, d2, np.nan)
    scale = RECLUSTER_RADIUS**2  # d_ij was divided by R²
    d12 = ak.to_numpy(kt.exclusive_dmerge(1)).astype(np.float64) * scale
    d23 = ak.to_numpy(kt.exclusive_dmerge(2)).astype(np.float64) * scale
    result["sqrt_d12"][filled] = np.where(n >= 2, np.sqrt(np.maximum(d12, 0.0)), np.nan)
    result["sqrt_d23"][filled] = np.where(n >= 3, np.sqrt(np.maximum(d23, 0.0)), np.nan)
    return result
