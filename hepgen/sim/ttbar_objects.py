"""The detector-level objects of tt̄ events, shared by the ℓ+jets (:mod:`hepgen.sim.ttbar`) and the dilepton
(:mod:`hepgen.sim.ttbar_dilepton`) samples.

* :func:`particle_level` — per batch of Pythia events, vectorised over its particles: the visible particles, those in
  the calorimeter, the lepton candidates, the heavy-flavour hadrons for b-tagging, the visible MET and ΣET;
* :func:`isolated_leptons` — the isolated electrons and muons of one event;
* :func:`cluster_jets` — anti-kt jets of many events in one fastjet call;
* :func:`jet_response` — jet energy smearing, flavour labels, b-tags and the jet selection;
* :func:`lepton_scale` — a lepton's energy smearing;
* :func:`match_partons` — each parton's jet (ΔR < 0.4, closest pairs first).

Every parameter is in :class:`~hepgen.sim.detector.DetectorResponse`.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

import awkward as ak
import numpy as np

from hepgen.physics.kinematics import delta_r, pt_eta_phi_mass
from hepgen.physics.substructure import quiet_fastjet_banner
from hepgen.sim.detector import DetectorResponse, relative_energy_resolution, smear_scale, tag_probability
from hepgen.sim.pythia import HEAVY_HADRON_MIN_PT, NEUTRINOS, ParticleRecords, hadron_flavour

__all__ = [
    "ParticleLevel",
    "particle_level",
    "isolated_leptons",
    "cluster_jets",
    "Jets",
    "jet_response",
    "match_partons",
    "lepton_scale",
    "PARTON_MATCH_RADIUS",
    "CLUSTER_PT_MIN",
]

#: The parton–jet matching radius.
PARTON_MATCH_RADIUS = 0.4
#: The clustering's jet pT threshold [GeV], before smearing: well below the 25 GeV analysis threshold.
CLUSTER_PT_MIN = 10.0


@dataclass
class ParticleLevel:
    """Per-particle flags and kinematics of a batch of events (``[n]`` over all its particles) and per-event sums
    (``[B]``)."""

    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    visible: np.ndarray  # final state, not a neutrino
    in_detector: np.ndarray  # visible and within the calorimeter: the jets' and MET's input
    lepton_candidate: np.ndarray  # a final-state e or μ within the lepton pT and η acceptance
    flavour: np.ndarray  # hadron flavour (5 b, 4 c, 0 other)
    heavy: np.ndarray  # a b or c hadron above HEAVY_HADRON_MIN_PT
    met_visible: np.ndarray  # [B, 2] −Σ (px, py) of the particles in the detector [GeV]
    sum_et: np.ndarray  # [B] Σ pT of the particles in the detector [GeV]


def particle_level(records: ParticleRecords, detector: DetectorResponse) -> ParticleLevel:
    """The :class:`ParticleLevel` view of a batch of events."""
    pt, eta, phi, _ = pt_eta_phi_mass(records.p4)
    event_of = records.event_of
    abs_id = np.abs(records.id)
    visible = records.final & ~np.isin(abs_id, NEUTRINOS)
    in_detector = visible & (np.abs(eta) < detector.calorimeter_eta_max)
    lepton_candidate = (
        records.final
        & np.isin(abs_id, (11, 13))
        & (pt > detector.leptons.pt_min)
        & (np.abs(eta) < detector.leptons.eta_max)
    )
    flavour = hadron_flavour(records.id)
    heavy = (flavour > 0) & (pt > HEAVY_HADRON_MIN_PT)
    n = records.n_events
    met_visible = -np.stack(
        [np.bincount(event_of[in_detector], records.p4[in_detector, k], minlength=n) for k in (0, 1)], 1
    )
    sum_et = np.bincount(event_of[in_detector], pt[in_detector], minlength=n)
    return ParticleLevel(pt, eta, phi, visible, in_detector, lepton_candidate, flavour, heavy, met_visible, sum_et)


def isolated_leptons(level: ParticleLevel, lo: int, hi: int, detector: DetectorResponse) -> list[int]:
    """The particle indices (into the batch) of the isolated lepton candidates of the event in ``[lo, hi)``: the
    scalar pT sum of the other visible particles within the isolation radius is below ``isolation_max`` × its pT."""
    isolated = []
    vis = np.flatnonzero(level.visible[lo:hi]) + lo
    for i in np.flatnonzero(level.lepton_candidate[lo:hi]) + lo:
        near = vis[
            delta_r(level.eta[vis], level.phi[vis], level.eta[i], level.phi[i]) < detector.leptons.isolation_radius
        ]
        if level.pt[near[near != i]].sum() < detector.leptons.isolation_max * level.pt[i]:
            isolated.append(i)
    return isolated


def cluster_jets(visible: list[np.ndarray], radius: float) -> list[np.ndarray]:
    """Anti-kt jets (px, py, pz, E) with pT > :data:`CLUSTER_PT_MIN` of each event's particles ``[n_i, 4]``,
    clustered by fastjet in one call."""
    import fastjet

    counts = np.array([len(v) for v in visible])
    flat = np.concatenate(visible) if len(visible) else np.zeros((0, 4))
    particles = ak.unflatten(
        ak.zip({"px": flat[:, 0], "py": flat[:, 1], "pz": flat[:, 2], "E": flat[:, 3]}, with_name="Momentum4D"),
        counts,
    )
    with quiet_fastjet_banner():
        sequence = fastjet.ClusterSequence(particles, fastjet.JetDefinition(fastjet.antikt_algorithm, radius))
    jets = sequence.inclusive_jets(min_pt=CLUSTER_PT_MIN)
    flat = ak.flatten(jets)
    p4 = np.stack([ak.to_numpy(flat.px), ak.to_numpy(flat.py), ak.to_numpy(flat.pz), ak.to_numpy(flat.E)], axis=1)
    return np.split(p4, np.cumsum(ak.to_numpy(ak.num(jets)))[:-1])


@dataclass
class Jets:
    """The selected jets of one event, by decreasing smeared pT (``[n]`` each), and the energy scale of every
    clustered jet (``scale`` ``[m]``, for the MET: the mismeasurement of the jets below threshold counts too)."""

    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    mass: np.ndarray
    btag: np.ndarray
    flavour: np.ndarray
    scale: np.ndarray

    def columns(self) -> dict[str, np.ndarray]:
        """The jets as NanoAOD ``Jet_*`` columns (:data:`JET_COLUMNS`)."""
        return {"pt": self.pt, "eta": self.eta, "phi": self.phi, "mass": self.mass, "btag": self.btag} | {
            "hadronFlavour": self.flavour
        }


def jet_response(
    jets_p4: np.ndarray,
    heavy_p4: np.ndarray,
    heavy_flavour: np.ndarray,
    detector: DetectorResponse,
    rng: np.random.Generator,
) -> Jets:
    """Smear the clustered jets ``[m, 4]`` (the whole four-vector scales), label their flavour from the heavy
    hadrons ``[h, 4]`` within the b-tag matching radius, tag them (two draws from ``rng``, in that order), and keep
    those above the jet pT threshold within the tracker, by decreasing pT."""
    scale = smear_scale(relative_energy_resolution(jets_p4[:, 3], *astuple(detector.jets.energy)), rng)
    pt, eta, phi, mass = pt_eta_phi_mass(jets_p4 * scale[:, None])
    flavour = np.zeros(len(jets_p4), dtype=np.int32)
    if len(heavy_p4) and len(jets_p4):
        _, h_eta, h_phi, _ = pt_eta_phi_mass(heavy_p4)
        near = delta_r(eta[:, None], phi[:, None], h_eta[None, :], h_phi[None, :]) < detector.btag.match_radius
        has_b = (near & (heavy_flavour[None, :] == 5)).any(axis=1)
        has_c = (near & (heavy_flavour[None, :] == 4)).any(axis=1)
        flavour = np.where(has_b, 5, np.where(has_c, 4, 0)).astype(np.int32)
    btag = (rng.uniform(size=len(jets_p4)) < tag_probability(flavour, detector)).astype(np.int32)
    good = (pt > detector.jets.pt_min) & (np.abs(eta) < detector.jets.eta_max)
    order = np.argsort(-pt[good], kind="stable")
    return Jets(
        pt[good][order],
        eta[good][order],
        phi[good][order],
        mass[good][order],
        btag[good][order],
        flavour[good][order],
        scale,
    )


def lepton_scale(p4: np.ndarray, pdg_id: int, detector: DetectorResponse, rng: np.random.Generator) -> float:
    """The smearing factor of one lepton's four-momentum ``[4]`` (muons by pT, electrons by energy; one draw)."""
    if abs(pdg_id) == 13:
        resolution = np.hypot(
            detector.leptons.muon.constant, detector.leptons.muon.stochastic * float(np.hypot(*p4[:2]))
        )
    else:
        resolution = float(relative_energy_resolution(p4[3], *astuple(detector.leptons.electron)))
    return float(smear_scale(np.array([resolution]), rng)[0])


def match_partons(
    parton_eta: np.ndarray, parton_phi: np.ndarray, jet_eta: np.ndarray, jet_phi: np.ndarray
) -> np.ndarray:
    """Index of the jet matched to each parton (−1 if none): closest pairs first, ΔR < :data:`PARTON_MATCH_RADIUS`,
    one jet per parton."""
    match = np.full(len(parton_eta), -1, dtype=np.int32)
    if len(jet_eta) == 0:
        return match
    dr = delta_r(parton_eta[:, None], parton_phi[:, None], jet_eta[None, :], jet_phi[None, :])
    for flat in np.argsort(dr, axis=None):
        p, j = divmod(int(flat), dr.shape[1])
        if dr[p, j] >= PARTON_MATCH_RADIUS:
            break
        if match[p] < 0 and j not in match:
            match[p] = j
    return match
