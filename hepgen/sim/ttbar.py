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

import numpy as np

from hepgen.physics.kinematics import pt_eta_phi_mass
from hepgen.sim.detector import DetectorResponse
from hepgen.sim.output import ColumnBuffer
from hepgen.sim.pythia import ParticleRecords, make_pythia, next_batch
from hepgen.sim.ttbar_objects import (
    cluster_jets,
    isolated_leptons,
    jet_response,
    lepton_scale,
    match_partons,
    particle_level,
)

__all__ = ["TTbarSelection", "TTBAR_SETTINGS", "ttbar_settings", "TTbarBlockResult", "generate_ttbar_block"]

#: Pythia settings of the tt̄ process (the W decays are added per instance).
TTBAR_SETTINGS: tuple[str, ...] = ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on", "6:m0 = 172.5")


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
            "run": np.uint32,
            "luminosityBlock": np.uint32,
            "event": np.uint64,
            "MET_pt": f4,
            "MET_phi": f4,
            "MET_sumEt": f4,
            "GenNu_pt": f4,
            "GenNu_eta": f4,
            "GenNu_phi": f4,
            "GenNu_pdgId": i4,
            "GenLepton_pt": f4,
            "GenLepton_eta": f4,
            "GenLepton_phi": f4,
            "GenLepton_mass": f4,
            "GenLepton_pdgId": i4,
        },
    )


def _truth(records: ParticleRecords, event: int) -> dict[str, Any] | None:
    """The tt̄ decay products of one event; None if the record does not hold t → Wq with one leptonic W."""
    o = records.offsets[event]
    head = slice(o, min(o + 12, records.offsets[event + 1]))  # the hard process sits at the top of the record
    tops = [i - o for i in range(head.start, head.stop) if abs(records.id[i]) == 6 and records.status[i] == -22]
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
        if len(w_decay) != 2:
            return None
        ids = [abs(pid(d)) for d in w_decay]
        if 11 in ids or 13 in ids:
            lep = w_decay[ids.index(11) if 11 in ids else ids.index(13)]
            nu = w_decay[1 - w_decay.index(lep)]
            truth["b_lep"] = (p4(quark[0]), pid(quark[0]))
            truth["lepton"] = (p4(lep), pid(lep))
            final_nu = records.bottom_copy(event, nu)
            truth["neutrino"] = (p4(final_nu), pid(final_nu))
        else:
            truth["b_had"] = (p4(quark[0]), pid(quark[0]))
            q1, q2 = sorted(w_decay, key=lambda d: -float(np.hypot(*records.p4[o + d, :2])))
            truth["q1"] = (p4(q1), pid(q1))
            truth["q2"] = (p4(q2), pid(q2))
    return truth if len(truth) == 6 else None


def _candidates(
    records: ParticleRecords, first_number: int, detector: DetectorResponse, cutflow: dict[str, int]
) -> list[_Candidate]:
    """Truth + isolated-lepton preselection of every event of a batch."""
    level = particle_level(records, detector)
    out: list[_Candidate] = []
    for event in range(records.n_events):
        lo, hi = records.offsets[event], records.offsets[event + 1]
        truth = _truth(records, event)
        if truth is None:
            cutflow["truth"] += 1
            continue
        isolated = isolated_leptons(level, lo, hi, detector)
        if len(isolated) != 1:
            continue
        lepton = isolated[0]
        jets_input = level.in_detector[lo:hi].copy()
        jets_input[lepton - lo] = False
        h = np.flatnonzero(level.heavy[lo:hi]) + lo
        out.append(
            _Candidate(
                number=first_number + event,
                visible=records.p4[lo:hi][jets_input],
                heavy_p4=records.p4[h],
                heavy_flavour=level.flavour[h],
                lepton_p4=records.p4[lepton].copy(),
                lepton_id=int(records.id[lepton]),
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

    # lepton
    lep_pt, lep_eta, lep_phi, lep_mass = (float(x[0]) for x in pt_eta_phi_mass(candidate.lepton_p4[None, :]))
    lep_scale = lepton_scale(candidate.lepton_p4, candidate.lepton_id, detector, rng)

    # missing transverse momentum
    noise = detector.met_sqrt_sumet * np.sqrt(candidate.sum_et) * rng.standard_normal(2)
    if detector.met_source == "neutrino":
        met = candidate.truth["neutrino"][0][:2] + noise
    else:
        mismeasured = ((jets.scale - 1.0)[:, None] * jets_p4[:, :2]).sum(axis=0) + (
            lep_scale - 1.0
        ) * candidate.lepton_p4[:2]
        met = candidate.met_visible - mismeasured + noise

    lep_pt_smeared = lep_pt * lep_scale
    if (
        len(jets.pt) < selection.min_jets
        or jets.btag.sum() < selection.min_btags
        or lep_pt_smeared <= detector.lepton_pt_min
    ):
        return None

    t = candidate.truth
    partons = [t["b_lep"], t["b_had"], t["q1"], t["q2"]]
    p_pt, p_eta, p_phi, p_mass = pt_eta_phi_mass(np.stack([p for p, _ in partons]))
    jet_index = match_partons(p_eta, p_phi, jets.eta, jets.phi)
    nu_pt, nu_eta, nu_phi, _ = pt_eta_phi_mass(t["neutrino"][0][None, :])
    gl_pt, gl_eta, gl_phi, gl_mass = pt_eta_phi_mass(t["lepton"][0][None, :])
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
            "pt": [lep_pt_smeared],
            "eta": [lep_eta],
            "phi": [lep_phi],
            "mass": [lep_mass * lep_scale],
            "charge": [-1 if candidate.lepton_id > 0 else 1],
            "pdgId": [candidate.lepton_id],
        },
        "GenParton": {
            "pt": p_pt,
            "eta": p_eta,
            "phi": p_phi,
            "mass": p_mass,
            "pdgId": [pid for _, pid in partons],
            "jetIdx": jet_index,
        },
    }
    scalars = {
        "MET_pt": float(np.hypot(*met)),
        "MET_phi": float(np.arctan2(met[1], met[0])),
        "MET_sumEt": candidate.sum_et,
        "GenNu_pt": float(nu_pt[0]),
        "GenNu_eta": float(nu_eta[0]),
        "GenNu_phi": float(nu_phi[0]),
        "GenNu_pdgId": int(t["neutrino"][1]),
        "GenLepton_pt": float(gl_pt[0]),
        "GenLepton_eta": float(gl_eta[0]),
        "GenLepton_phi": float(gl_phi[0]),
        "GenLepton_mass": float(gl_mass[0]),
        "GenLepton_pdgId": int(t["lepton"][1]),
    }
    return collections, scalars


def generate_ttbar_block(
    n_selected: int,
    *,
    pythia_seeds: tuple[int, int],
    rng: np.random.Generator,
    block_index: int = 0,
    detector: DetectorResponse | None = None,
    selection: TTbarSelection | None = None,
    batch_size: int = 50,
    max_generated: int | None = None,
    progress: Any = None,
) -> TTbarBlockResult:
    """Generate events until ``n_selected`` pass the selection (or ``max_generated`` are generated).

    Args:
        n_selected: selected events to return.
        pythia_seeds: seeds of the W⁺ → ℓ⁺ν and W⁻ → ℓ⁻ν̄ instances.
        rng: the generator for detector smearing and tagging.
        block_index: stored as ``luminosityBlock`` (1-based) and in the event numbers.
        batch_size: events generated per ``nextBatch`` call (the W charge alternates between batches).
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
        for candidate, jets_p4 in zip(pending, cluster_jets([c.visible for c in pending], detector.jet_radius)):
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
        pythia = pythias[(cutflow["generated"] // batch_size) % 2]  # alternate the two W charges batch by batch
        n = min(batch_size, max_generated - cutflow["generated"])
        records = next_batch(pythia, n)
        cutflow["pythia_failed"] += n - records.n_events
        candidates = _candidates(records, cutflow["generated"] + 1, detector, cutflow)
        cutflow["generated"] += n
        cutflow["one_isolated_lepton"] += len(candidates)
        pending.extend(candidates)
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
