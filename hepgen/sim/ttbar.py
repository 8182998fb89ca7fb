"""tt̄ → ℓ+jets at 13 TeV with the truth neutrino, behind the parametrised detector.

Pythia 8 generates pp → tt̄ with one W forced to eν or μν and the other to
quarks. Two Pythia instances alternate event by event, one with W⁺ → ℓ⁺ν and
one with W⁻ → ℓ⁻ν̄, so both lepton charges are equally represented. Each
event then goes through:

1. truth: the tops' decay products from the event record — the W-decay
   neutrino (after any recoil, as MET sees it), the charged lepton (Born level,
   as it leaves the W), the b from each top and the two quarks from the
   hadronic W;
2. the isolated lepton (exactly one required; see :mod:`hepgen.sim.detector`);
3. anti-kt R = 0.4 jets with fastjet from the other visible particles,
   clustered in batches of events;
4. the detector: jet and lepton smearing, b-tagging, MET;
5. the selection (by default one lepton, ≥ 4 jets, ≥ 2 b-tags, as ν-Flows)
   and the matching of each parton to a jet (ΔR < 0.4, closest pairs first).

Output names follow NanoAOD (``Jet_*``, ``Lepton_*``, ``MET_*``, ``GenNu_*``,
``GenLepton_*``, ``GenParton_*``) and are read by the ``hepgen-ttbar`` schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import awkward as ak
import numpy as np

from hepgen.physics.kinematics import delta_r, pt_eta_phi_mass
from hepgen.sim.detector import DetectorResponse, relative_energy_resolution, smear_scale, tag_probability
from hepgen.sim.output import ColumnBuffer
from hepgen.sim.pythia import final_state, make_pythia

__all__ = ["TTbarSelection", "TTBAR_SETTINGS", "ttbar_settings", "TTbarBlockResult", "generate_ttbar_block"]

#: Pythia settings of the tt̄ process (the W decays are added per instance).
TTBAR_SETTINGS: tuple[str, ...] = ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on", "6:m0 = 172.5")

_NEUTRINOS = (12, 14, 16)
_PARTON_MATCH_RADIUS = 0.4
_CLUSTER_PT_MIN = 10.0  # GeV, before smearing; well below the 25 GeV analysis threshold


def ttbar_settings(leptonic_charge: int) -> list[str]:
    """Settings forcing the W of charge ``leptonic_charge`` (±1) to eν/μν and the other W to quarks."""
    if leptonic_charge not in (1, -1):
        raise ValueError("leptonic_charge must be +1 or -1")
    lep, had = ("onPosIfAny", "onNegIfAny") if leptonic_charge > 0 else ("onNegIfAny", "onPosIfAny")
    return [*TTBAR_SETTINGS, "24:onMode = off", f"24:{lep} = 11 13", f"24:{had} = 1 2 3 4 5"]


@dataclass(frozen=True)
class TTbarSelection:
    """The event selection: exactly ``n_leptons`` isolated leptons, ≥ ``min_jets`` jets, ≥ ``min_btags`` b-tags."""

    min_jets: int = 4
    min_btags: int = 2

    def __post_init__(self) -> None:
        if self.min_jets < 0 or self.min_btags < 0 or self.min_btags > max(self.min_jets, self.min_btags):
            raise ValueError(f"invalid selection {self}")


@dataclass
class _Candidate:
    """An event with exactly one isolated lepton, waiting for jet clustering."""

    number: int
    visible: np.ndarray  # [n, 4] visible particles for jets (lepton excluded)
    heavy_p4: np.ndarray
    heavy_flavour: np.ndarray
    lepton_p4: np.ndarray  # [4]
    lepton_id: int
    met_visible: np.ndarray  # [2] −Σ visible pT (lepton included)
    sum_et: float
    truth: dict[str, Any]


@dataclass
class TTbarBlockResult:
    """The selected events of one block and its bookkeeping."""

    columns: dict[str, Any]
    generated: int
    with_one_lepton: int
    selected: int
    failed_truth: int = 0
    cutflow: dict[str, int] = field(default_factory=dict)


def ttbar_columns() -> ColumnBuffer:
    f4, i4 = np.float32, np.int32
    return ColumnBuffer(
        {
            "Jet": {"pt": f4, "eta": f4, "phi": f4, "mass": f4, "btag": i4, "hadronFlavour": i4},
            "Lepton": {"pt": f4, "eta": f4, "phi": f4, "mass": f4, "charge": i4, "pdgId": i4},
            "GenParton": {"pt": f4, "eta": f4, "phi": f4, "mass": f4, "pdgId": i4, "jetIdx": i4},
        },
        {
            "run": np.uint32, "luminosityBlock": np.uint32, "event": np.uint64,
            "MET_pt": f4, "MET_phi": f4, "MET_sumEt": f4,
            "GenNu_pt": f4, "GenNu_eta": f4, "GenNu_phi": f4, "GenNu_pdgId": i4,
            "GenLepton_pt": f4, "GenLepton_eta": f4, "GenLepton_phi": f4, "GenLepton_mass": f4, "GenLepton_pdgId": i4,
        },
    )  # fmt: skip


def _p4(particle: Any) -> np.ndarray:
    return np.array([particle.px(), particle.py(), particle.pz(), particle.e()])


def _truth(event: Any) -> dict[str, Any] | None:
    """The tt̄ decay products; None if the record does not hold t → Wb with one leptonic W."""
    tops = [i for i in range(1, min(event.size(), 12)) if event[i].idAbs() == 6 and event[i].status() == -22]
    if len(tops) != 2:
        return None
    truth: dict[str, Any] = {}
    for t in tops:
        last = event[t].iBotCopyId()
        daughters = list(event[last].daughterList())
        quark = [d for d in daughters if event[d].idAbs() in (1, 3, 5)]
        boson = [d for d in daughters if event[d].idAbs() == 24]
        if len(quark) != 1 or len(boson) != 1:
            return None
        w_decay = list(event[event[boson[0]].iBotCopyId()].daughterList())
        ids = [event[d].idAbs() for d in w_decay]
        if len(w_decay) != 2:
            return None
        if any(i in (11, 13) for i in ids):
            lep = w_decay[ids.index(11) if 11 in ids else ids.index(13)]
            nu = w_decay[1 - w_decay.index(lep)]
            truth["b_lep"] = (_p4(event[quark[0]]), event[quark[0]].id())
            truth["lepton"] = (_p4(event[lep]), event[lep].id())
            final_nu = event[event[nu].iBotCopyId()]
            truth["neutrino"] = (_p4(final_nu), final_nu.id())
        else:
            truth["b_had"] = (_p4(event[quark[0]]), event[quark[0]].id())
            q1, q2 = sorted(w_decay, key=lambda d: -event[d].pT())
            truth["q1"] = (_p4(event[q1]), event[q1].id())
            truth["q2"] = (_p4(event[q2]), event[q2].id())
    return truth if len(truth) == 6 else None


def _isolated_leptons(p4: np.ndarray, pdg: np.ndarray, detector: DetectorResponse) -> np.ndarray:
    """Indices of isolated electrons and muons above threshold among the final-state particles."""
    pt, eta, phi, _ = pt_eta_phi_mass(p4)
    is_lepton = np.isin(np.abs(pdg), (11, 13)) & (pt > detector.lepton_pt_min) & (np.abs(eta) < detector.lepton_eta_max)
    candidates = np.flatnonzero(is_lepton)
    if len(candidates) == 0:
        return candidates
    visible = ~np.isin(np.abs(pdg), _NEUTRINOS)
    keep = []
    for i in candidates:
        near = visible & (delta_r(eta, phi, eta[i], phi[i]) < detector.isolation_radius)
        near[i] = False
        if pt[near].sum() < detector.isolation_max * pt[i]:
            keep.append(i)
    return np.asarray(keep, dtype=np.int64)


def _candidate(number: int, pythia: Any, detector: DetectorResponse) -> _Candidate | None | str:
    """Truth + lepton preselection of the current Pythia event (a string names why it failed)."""
    truth = _truth(pythia.event)
    if truth is None:
        return "truth"
    fs = final_state(pythia.event, heavy_hadrons=True)
    leptons = _isolated_leptons(fs.p4, fs.pdg_id, detector)
    if len(leptons) != 1:
        return "lepton"
    pt, eta, _, _ = pt_eta_phi_mass(fs.p4)
    in_detector = (~np.isin(np.abs(fs.pdg_id), _NEUTRINOS)) & (np.abs(eta) < detector.calorimeter_eta_max)
    met_visible = -fs.p4[in_detector, :2].sum(axis=0)
    jets_input = in_detector.copy()
    jets_input[leptons[0]] = False
    return _Candidate(
        number=number,
        visible=fs.p4[jets_input],
        heavy_p4=fs.heavy_p4,
        heavy_flavour=fs.heavy_flavour,
        lepton_p4=fs.p4[leptons[0]],
        lepton_id=int(fs.pdg_id[leptons[0]]),
        met_visible=met_visible,
        sum_et=float(pt[in_detector].sum()),
        truth=truth,
    )


def _cluster(candidates: list[_Candidate], radius: float) -> list[np.ndarray]:
    """Anti-kt jets (px, py, pz, E) with pT > 10 GeV per candidate event, clustered by fastjet in one batch."""
    import fastjet

    counts = np.array([len(c.visible) for c in candidates])
    flat = np.concatenate([c.visible for c in candidates]) if len(candidates) else np.zeros((0, 4))
    particles = ak.unflatten(
        ak.zip({"px": flat[:, 0], "py": flat[:, 1], "pz": flat[:, 2], "E": flat[:, 3]}, with_name="Momentum4D"),
        counts,
    )
    sequence = fastjet.ClusterSequence(particles, fastjet.JetDefinition(fastjet.antikt_algorithm, radius))
    jets = sequence.inclusive_jets(min_pt=_CLUSTER_PT_MIN)
    return [
        np.stack([ak.to_numpy(j.px), ak.to_numpy(j.py), ak.to_numpy(j.pz), ak.to_numpy(j.E)], axis=1).reshape(-1, 4)
        for j in jets
    ]


def _match_partons(parton_eta, parton_phi, jet_eta, jet_phi) -> np.ndarray:  # noqa: ANN001
    """Index of the jet matched to each parton (−1 if none): closest pairs first, ΔR < 0.4, one jet per parton."""
    match = np.full(len(parton_eta), -1, dtype=np.int32)
    if len(jet_eta) == 0:
        return match
    dr = delta_r(parton_eta[:, None], parton_phi[:, None], jet_eta[None, :], jet_phi[None, :])
    for flat in np.argsort(dr, axis=None):
        p, j = divmod(int(flat), dr.shape[1])
        if dr[p, j] >= _PARTON_MATCH_RADIUS:
            break
        if match[p] < 0 and j not in match:
            match[p] = j
    return match


def _reconstruct(
    candidate: _Candidate,
    jets_p4: np.ndarray,
    detector: DetectorResponse,
    selection: TTbarSelection,
    rng: np.random.Generator,
) -> tuple[dict, dict] | None:
    """Detector response and selection of one clustered candidate; None if it fails the selection."""
    # jets: smear the energy (the whole four-vector scales), label the flavour, tag
    scale = smear_scale(relative_energy_resolution(jets_p4[:, 3], detector.jet_stochastic, detector.jet_constant), rng)
    jets = jets_p4 * scale[:, None]
    pt, eta, phi, mass = pt_eta_phi_mass(jets)
    flavour = np.zeros(len(jets), dtype=np.int32)
    if len(candidate.heavy_p4) and len(jets):
        h_pt, h_eta, h_phi, _ = pt_eta_phi_mass(candidate.heavy_p4)
        near = delta_r(eta[:, None], phi[:, None], h_eta[None, :], h_phi[None, :]) < detector.btag_match_radius
        has_b = (near & (candidate.heavy_flavour[None, :] == 5)).any(axis=1)
        has_c = (near & (candidate.heavy_flavour[None, :] == 4)).any(axis=1)
        flavour = np.where(has_b, 5, np.where(has_c, 4, 0)).astype(np.int32)
    btag = (rng.uniform(size=len(jets)) < tag_probability(flavour, detector)).astype(np.int32)

    # lepton
    lepton_is_muon = abs(candidate.lepton_id) == 13
    lep_pt, lep_eta, lep_phi, lep_mass = (float(x[0]) for x in pt_eta_phi_mass(candidate.lepton_p4[None, :]))
    if lepton_is_muon:
        lep_res = np.hypot(detector.muon_constant, detector.muon_pt_slope * lep_pt)
    else:
        lep_res = float(relative_energy_resolution(candidate.lepton_p4[3], detector.electron_stochastic, detector.electron_constant))
    lep_scale = float(smear_scale(np.array([lep_res]), rng)[0])
    lepton = candidate.lepton_p4 * lep_scale

    # missing transverse momentum
    noise = detector.met_sqrt_sumet * np.sqrt(candidate.sum_et) * rng.standard_normal(2)
    if detector.met_source == "neutrino":
        met = candidate.truth["neutrino"][0][:2] + noise
    else:
        mismeasured = ((scale - 1.0)[:, None] * jets_p4[:, :2]).sum(axis=0) + (lep_scale - 1.0) * candidate.lepton_p4[:2]
        met = candidate.met_visible - mismeasured + noise

    good = (pt > detector.jet_pt_min) & (np.abs(eta) < detector.jet_eta_max)
    order = np.argsort(-pt[good], kind="stable")
    pt, eta, phi, mass = pt[good][order], eta[good][order], phi[good][order], mass[good][order]
    btag, flavour = btag[good][order], flavour[good][order]
    lep_pt_smeared = lep_pt * lep_scale
    if len(pt) < selection.min_jets or btag.sum() < selection.min_btags or lep_pt_smeared <= detector.lepton_pt_min:
        return None

    t = candidate.truth
    partons = [t["b_lep"], t["b_had"], t["q1"], t["q2"]]
    p_pt, p_eta, p_phi, p_mass = pt_eta_phi_mass(np.stack([p for p, _ in partons]))
    jet_index = _match_partons(p_eta, p_phi, eta, phi)
    nu_pt, nu_eta, nu_phi, _ = pt_eta_phi_mass(t["neutrino"][0][None, :])
    gl_pt, gl_eta, gl_phi, gl_mass = pt_eta_phi_mass(t["lepton"][0][None, :])
    collections = {
        "Jet": {"pt": pt, "eta": eta, "phi": phi, "mass": mass, "btag": btag, "hadronFlavour": flavour},
        "Lepton": {
            "pt": [lep_pt_smeared], "eta": [lep_eta], "phi": [lep_phi], "mass": [lep_mass * lep_scale],
            "charge": [-1 if candidate.lepton_id > 0 else 1], "pdgId": [candidate.lepton_id],
        },
        "GenParton": {
            "pt": p_pt, "eta": p_eta, "phi": p_phi, "mass": p_mass,
            "pdgId": [pid for _, pid in partons], "jetIdx": jet_index,
        },
    }  # fmt: skip
    scalars = {
        "MET_pt": float(np.hypot(*met)), "MET_phi": float(np.arctan2(met[1], met[0])), "MET_sumEt": candidate.sum_et,
        "GenNu_pt": float(nu_pt[0]), "GenNu_eta": float(nu_eta[0]), "GenNu_phi": float(nu_phi[0]),
        "GenNu_pdgId": int(t["neutrino"][1]),
        "GenLepton_pt": float(gl_pt[0]), "GenLepton_eta": float(gl_eta[0]), "GenLepton_phi": float(gl_phi[0]),
        "GenLepton_mass": float(gl_mass[0]), "GenLepton_pdgId": int(t["lepton"][1]),
    }  # fmt: skip
    return collections, scalars


def generate_ttbar_block(
    n_selected: int,
    *,
    pythia_seeds: tuple[int, int],
    rng: np.random.Generator,
    block_index: int = 0,
    detector: DetectorResponse | None = None,
    selection: TTbarSelection | None = None,
    batch_size: int = 64,
    max_generated: int | None = None,
    progress: Any = None,
) -> TTbarBlockResult:
    """Generate events until ``n_selected`` pass the selection (or ``max_generated`` are generated).

    Args:
        n_selected: selected events to return.
        pythia_seeds: seeds of the W⁺ → ℓ⁺ν and W⁻ → ℓ⁻ν̄ instances.
        rng: the generator for detector smearing and tagging.
        block_index: stored as ``luminosityBlock`` (1-based) and in the event numbers.
        batch_size: candidate events clustered together by fastjet.
        max_generated: a safety stop (default: 100 × ``n_selected`` + 1000).
        progress: an object with ``update(n)`` called with newly selected events (a tqdm bar).
    """
    detector = detector or DetectorResponse()
    selection = selection or TTbarSelection()
    pythias = [make_pythia(ttbar_settings(+1), pythia_seeds[0]), make_pythia(ttbar_settings(-1), pythia_seeds[1])]
    max_generated = max_generated if max_generated is not None else 100 * n_selected + 1000
    buffer = ttbar_columns()
    cutflow = {"generated": 0, "consumed": 0, "pythia_failed": 0, "truth": 0, "one_isolated_lepton": 0, "selected": 0}
    pending: list[_Candidate] = []

    def flush() -> None:
        if not pending:
            return
        for candidate, jets_p4 in zip(pending, _cluster(pending, detector.jet_radius)):
            if len(buffer) >= n_selected:
                break
            result = _reconstruct(candidate, jets_p4, detector, selection, rng)
            if result is not None:
                collections, scalars = result
                event_number = block_index * 100_000_000 + candidate.number
                scalars |= {"run": 1, "luminosityBlock": block_index + 1, "event": event_number}
                buffer.append(collections, scalars)
                cutflow["consumed"] = candidate.number  # events generated up to the last one kept
                if progress is not None:
                    progress.update(1)
        pending.clear()

    while len(buffer) < n_selected and cutflow["generated"] < max_generated:
        pythia = pythias[cutflow["generated"] % 2]
        cutflow["generated"] += 1
        if not pythia.next():
            cutflow["pythia_failed"] += 1
            continue
        candidate = _candidate(cutflow["generated"], pythia, detector)
        if candidate == "truth":
            cutflow["truth"] += 1
            continue
        if isinstance(candidate, str):
            continue
        cutflow["one_isolated_lepton"] += 1
        pending.append(candidate)
        if len(pending) >= batch_size:
            flush()
    flush()
    cutflow["selected"] = len(buffer)
    if len(buffer) < n_selected:  # stopped by max_generated: every generated event counts
        cutflow["consumed"] = cutflow["generated"]
    return TTbarBlockResult(
        columns=buffer.columns(),
        generated=cutflow["consumed"],
        with_one_lepton=cutflow["one_isolated_lepton"],
        selected=len(buffer),
        failed_truth=cutflow["truth"],
        cutflow=cutflow,
    )
