"""tt̄ → bℓ⁺ν b̄ℓ⁻ν̄ (dilepton) at 13 TeV with both truth neutrinos, behind the parametrised detector.

Pythia 8 generates pp → tt̄ with both W forced to eν or μν (the same process, tune and detector as the ℓ+jets
sample, :mod:`hepgen.sim.ttbar`). Each event then goes through:

1. truth: per top, its b quark, its lepton (Born level, as it leaves the W) and its neutrino (after any recoil);
2. exactly two isolated leptons of opposite charge (:mod:`hepgen.sim.detector`'s isolation);
3. anti-kt R = 0.4 jets with fastjet from the other visible particles, clustered in batches of events;
4. the detector: jet and lepton smearing, b-tagging, MET;
5. the selection (by default ≥ 2 jets, ≥ 1 b-tag: :data:`DILEPTON_SELECTION`) and the matching of each b quark to a
   jet (ΔR < 0.4, closest pairs first).

Output (NanoAOD names): ``Jet_*``, ``Lepton_*`` (the two leptons, leading first), ``MET_*``, and the truth in top
order — the top's, then the antitop's: ``GenNu_*`` (ν, then ν̄), ``GenLepton_*`` (ℓ⁺, then ℓ⁻) and ``GenB_*`` (b, then
b̄, with ``jetIdx``). Read by the ``hepgen-ttbar-dilepton`` schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hepgen.physics.kinematics import pt_eta_phi_mass
from hepgen.sim.detector import DetectorResponse
from hepgen.sim.output import ColumnBuffer
from hepgen.sim.pythia import ParticleRecords, make_pythia, next_batch
from hepgen.sim.ttbar import TTBAR_SETTINGS, TTbarSelection
from hepgen.sim.ttbar_objects import (
    cluster_jets,
    isolated_leptons,
    jet_response,
    lepton_scale,
    match_partons,
    particle_level,
)

__all__ = ["DILEPTON_SETTINGS", "DILEPTON_SELECTION", "DileptonBlockResult", "generate_dilepton_block"]

#: Pythia settings: the tt̄ process with both W forced to eν or μν.
DILEPTON_SETTINGS: tuple[str, ...] = (*TTBAR_SETTINGS, "24:onMode = off", "24:onIfAny = 11 13")
#: The default selection (besides exactly two isolated opposite-charge leptons): ≥ 2 jets, ≥ 1 b-tag.
DILEPTON_SELECTION = TTbarSelection(min_jets=2, min_btags=1)


@dataclass
class _Candidate:
    """An event with two isolated opposite-charge leptons, waiting for jet clustering."""

    number: int
    visible: np.ndarray  # [n, 4] visible particles for jets (the two leptons excluded)
    heavy_p4: np.ndarray
    heavy_flavour: np.ndarray
    leptons_p4: np.ndarray  # [2, 4]
    lepton_ids: tuple[int, int]
    met_visible: np.ndarray  # [2]
    sum_et: float
    truth: dict[str, Any]


@dataclass
class DileptonBlockResult:
    """The selected events of one block and its bookkeeping."""

    columns: dict[str, Any]
    generated: int
    with_two_leptons: int
    selected: int
    cutflow: dict[str, int] = field(default_factory=dict)


def dilepton_columns() -> ColumnBuffer:
    f4, i4 = np.float32, np.int32
    return ColumnBuffer(
        {
            "Jet": {"pt": f4, "eta": f4, "phi": f4, "mass": f4, "btag": i4, "hadronFlavour": i4},
            "Lepton": {"pt": f4, "eta": f4, "phi": f4, "mass": f4, "charge": i4, "pdgId": i4},
            "GenNu": {"pt": f4, "eta": f4, "phi": f4, "pdgId": i4},
            "GenLepton": {"pt": f4, "eta": f4, "phi": f4, "mass": f4, "pdgId": i4},
            "GenB": {"pt": f4, "eta": f4, "phi": f4, "mass": f4, "pdgId": i4, "jetIdx": i4},
        },
        {
            "run": np.uint32,
            "luminosityBlock": np.uint32,
            "event": np.uint64,
            "MET_pt": f4,
            "MET_phi": f4,
            "MET_sumEt": f4,
        },
    )


def _truth(records: ParticleRecords, event: int) -> dict[str, Any] | None:
    """Per top sign (+1 top, −1 antitop) its b, lepton and neutrino (p4, pdgId); None if the record does not hold
    t → Wb, W → ℓν for both tops."""
    o = records.offsets[event]
    head = range(o, min(o + 12, records.offsets[event + 1]))  # the hard process sits at the top of the record
    tops = [i - o for i in head if abs(records.id[i]) == 6 and records.status[i] == -22]
    if len(tops) != 2:
        return None

    def pid(i):
        return int(records.id[o + i])

    def p4(i):
        return records.p4[o + i].copy()

    truth: dict[str, Any] = {}
    for t in tops:
        daughters = records.daughters(event, records.bottom_copy(event, t))
        quark = [d for d in daughters if abs(pid(d)) in (1, 3, 5)]
        boson = [d for d in daughters if abs(pid(d)) == 24]
        if len(quark) != 1 or len(boson) != 1:
            return None
        w_decay = records.daughters(event, records.bottom_copy(event, boson[0]))
        ids = [abs(pid(d)) for d in w_decay]
        if len(w_decay) != 2 or not ({11, 13} & set(ids)) or not ({12, 14} & set(ids)):
            return None
        lep = w_decay[0] if ids[0] in (11, 13) else w_decay[1]
        nu = records.bottom_copy(event, w_decay[1] if lep == w_decay[0] else w_decay[0])
        truth[1 if pid(t) > 0 else -1] = {
            "b": (p4(quark[0]), pid(quark[0])),
            "lepton": (p4(lep), pid(lep)),
            "neutrino": (p4(nu), pid(nu)),
        }
    return truth if set(truth) == {1, -1} else None


def _charge(pdg_id: int) -> int:
    """The charge of an electron or muon from its PDG id (11: e⁻)."""
    return -1 if pdg_id > 0 else 1


def _candidates(
    records: ParticleRecords, first_number: int, detector: DetectorResponse, cutflow: dict[str, int]
) -> list[_Candidate]:
    """Truth + two-isolated-lepton preselection of every event of a batch."""
    level = particle_level(records, detector)
    out: list[_Candidate] = []
    for event in range(records.n_events):
        lo, hi = records.offsets[event], records.offsets[event + 1]
        truth = _truth(records, event)
        if truth is None:
            cutflow["truth"] += 1
            continue
        isolated = isolated_leptons(level, lo, hi, detector)
        if len(isolated) != 2 or _charge(int(records.id[isolated[0]])) == _charge(int(records.id[isolated[1]])):
            continue
        isolated.sort(key=lambda i: -level.pt[i])
        jets_input = level.in_detector[lo:hi].copy()
        jets_input[np.asarray(isolated) - lo] = False
        h = np.flatnonzero(level.heavy[lo:hi]) + lo
        out.append(
            _Candidate(
                number=first_number + event,
                visible=records.p4[lo:hi][jets_input],
                heavy_p4=records.p4[h],
                heavy_flavour=level.flavour[h],
                leptons_p4=records.p4[isolated].copy(),
                lepton_ids=(int(records.id[isolated[0]]), int(records.id[isolated[1]])),
                met_visible=level.met_visible[event],
                sum_et=float(level.sum_et[event]),
                truth=truth,
            )
        )
    return out


def _reconstruct(
    candidate: _Candidate,
    jets_p4: np.ndarray,
    detector: DetectorResponse,
    selection: TTbarSelection,
    rng: np.random.Generator,
) -> tuple[dict, dict] | None:
    """Detector response and selection of one clustered candidate; None if it fails the selection."""
    jets = jet_response(jets_p4, candidate.heavy_p4, candidate.heavy_flavour, detector, rng)

    lepton_scales = np.array(
        [lepton_scale(p, i, detector, rng) for p, i in zip(candidate.leptons_p4, candidate.lepton_ids)]
    )
    leptons = candidate.leptons_p4 * lepton_scales[:, None]
    l_pt, l_eta, l_phi, l_mass = pt_eta_phi_mass(leptons)

    noise = detector.met_sqrt_sumet * np.sqrt(candidate.sum_et) * rng.standard_normal(2)
    if detector.met_source == "neutrino":
        met = candidate.truth[1]["neutrino"][0][:2] + candidate.truth[-1]["neutrino"][0][:2] + noise
    else:
        mismeasured = ((jets.scale - 1.0)[:, None] * jets_p4[:, :2]).sum(axis=0)
        mismeasured += ((lepton_scales - 1.0)[:, None] * candidate.leptons_p4[:, :2]).sum(axis=0)
        met = candidate.met_visible - mismeasured + noise

    if (
        len(jets.pt) < selection.min_jets
        or jets.btag.sum() < selection.min_btags
        or (l_pt <= detector.lepton_pt_min).any()
    ):
        return None
    lepton_order = np.argsort(-l_pt, kind="stable")

    truth = [candidate.truth[1], candidate.truth[-1]]  # the top's, then the antitop's
    b_p4 = np.stack([t["b"][0] for t in truth])
    b_pt, b_eta, b_phi, b_mass = pt_eta_phi_mass(b_p4)
    nu_pt, nu_eta, nu_phi, _ = pt_eta_phi_mass(np.stack([t["neutrino"][0] for t in truth]))
    gl_pt, gl_eta, gl_phi, gl_mass = pt_eta_phi_mass(np.stack([t["lepton"][0] for t in truth]))
    ids = np.asarray(candidate.lepton_ids)[lepton_order]
    collections = {
        "Jet": {
            "pt": jets.pt,
            "eta": jets.eta,
            "phi": jets.phi,
            "mass": jets.mass,
            "btag": jets.btag,
            "hadronFlavour": jets.flavour,
        },
        "Lepton": {
            "pt": l_pt[lepton_order],
            "eta": l_eta[lepton_order],
            "phi": l_phi[lepton_order],
            "mass": l_mass[lepton_order],
            "charge": [_charge(int(i)) for i in ids],
            "pdgId": ids,
        },
        "GenNu": {"pt": nu_pt, "eta": nu_eta, "phi": nu_phi, "pdgId": [t["neutrino"][1] for t in truth]},
        "GenLepton": {
            "pt": gl_pt,
            "eta": gl_eta,
            "phi": gl_phi,
            "mass": gl_mass,
            "pdgId": [t["lepton"][1] for t in truth],
        },
        "GenB": {
            "pt": b_pt,
            "eta": b_eta,
            "phi": b_phi,
            "mass": b_mass,
            "pdgId": [t["b"][1] for t in truth],
            "jetIdx": match_partons(b_eta, b_phi, jets.eta, jets.phi),
        },
    }
    scalars = {
        "MET_pt": float(np.hypot(*met)),
        "MET_phi": float(np.arctan2(met[1], met[0])),
        "MET_sumEt": candidate.sum_et,
    }
    return collections, scalars


def generate_dilepton_block(
    n_selected: int,
    *,
    pythia_seed: int,
    rng: np.random.Generator,
    block_index: int = 0,
    detector: DetectorResponse | None = None,
    selection: TTbarSelection = DILEPTON_SELECTION,
    batch_size: int = 50,
    max_generated: int | None = None,
    progress: Any = None,
) -> DileptonBlockResult:
    """Generate events until ``n_selected`` pass the selection (or ``max_generated`` are generated); as
    :func:`hepgen.sim.ttbar.generate_ttbar_block` with one Pythia instance (both W decay leptonically)."""
    detector = detector or DetectorResponse()
    pythia = make_pythia(list(DILEPTON_SETTINGS), pythia_seed)
    max_generated = max_generated if max_generated is not None else 100 * n_selected + 1000
    buffer = dilepton_columns()
    cutflow = {"generated": 0, "consumed": 0, "pythia_failed": 0, "truth": 0, "two_isolated_leptons": 0, "selected": 0}
    pending: list[_Candidate] = []

    def flush() -> None:
        if not pending:
            return
        for candidate, jets_p4 in zip(pending, cluster_jets([c.visible for c in pending], detector.jet_radius)):
            if len(buffer) >= n_selected:
                break
            result = _reconstruct(candidate, jets_p4, detector, selection, rng)
            if result is not None:
                collections, scalars = result
                scalars |= {
                    "run": 1,
                    "luminosityBlock": block_index + 1,
                    "event": block_index * 100_000_000 + candidate.number,
                }
                buffer.append(collections, scalars)
                cutflow["consumed"] = candidate.number
                if progress is not None:
                    progress.update(1)
        pending.clear()

    while len(buffer) < n_selected and cutflow["generated"] < max_generated:
        n = min(batch_size, max_generated - cutflow["generated"])
        records = next_batch(pythia, n)
        cutflow["pythia_failed"] += n - records.n_events
        candidates = _candidates(records, cutflow["generated"] + 1, detector, cutflow)
        cutflow["generated"] += n
        cutflow["two_isolated_leptons"] += len(candidates)
        pending.extend(candidates)
        flush()
    flush()
    cutflow["selected"] = len(buffer)
    if len(buffer) < n_selected:
        cutflow["consumed"] = cutflow["generated"]
    return DileptonBlockResult(
        buffer.columns(), cutflow["consumed"], cutflow["two_isolated_leptons"], len(buffer), cutflow
    )
