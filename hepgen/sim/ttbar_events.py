"""The event loop both tt̄ samples share (ℓ+jets, :mod:`hepgen.sim.ttbar`; dilepton, :mod:`hepgen.sim.ttbar_dilepton`):
walk the tops' decays, preselect events by their isolated leptons, cluster the jets of many events at once, hand
each clustered candidate to the sample's reconstruction, and count every step.

A sample says only what is its own: how to read its truth from the tops' decays, how many isolated leptons it wants,
and how it reconstructs and selects a clustered candidate (:class:`TTbarSample`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hepgen.sim.detector import DetectorResponse
from hepgen.sim.output import ColumnBuffer
from hepgen.sim.pythia import ParticleRecords, next_batch
from hepgen.sim.ttbar_objects import Jets, cluster_jets, isolated_leptons, jet_response, lepton_scale, particle_level

__all__ = [
    "TopDecay",
    "top_decays",
    "Candidate",
    "TTbarSample",
    "BlockResult",
    "Measured",
    "measure",
    "measured_met",
    "generate_block",
    "lepton_charge",
    "JET_COLUMNS",
    "LEPTON_COLUMNS",
    "EVENT_COLUMNS",
    "lepton_columns",
    "met_columns",
]

_F4, _I4 = np.float32, np.int32
#: The NanoAOD jet and lepton columns both samples write, with their types.
JET_COLUMNS = {"pt": _F4, "eta": _F4, "phi": _F4, "mass": _F4, "btag": _I4, "hadronFlavour": _I4}
LEPTON_COLUMNS = {"pt": _F4, "eta": _F4, "phi": _F4, "mass": _F4, "charge": _I4, "pdgId": _I4}
#: The per-event columns both samples write: the event's identifiers and its MET.
EVENT_COLUMNS = {"run": np.uint32, "luminosityBlock": np.uint32, "event": np.uint64} | {
    "MET_pt": _F4,
    "MET_phi": _F4,
    "MET_sumEt": _F4,
}


def lepton_columns(pt: Any, eta: Any, phi: Any, mass: Any, ids: Sequence[int]) -> dict[str, Any]:
    """The measured leptons as NanoAOD ``Lepton_*`` columns (:data:`LEPTON_COLUMNS`), the charge from the PDG id."""
    return {
        "pt": pt,
        "eta": eta,
        "phi": phi,
        "mass": mass,
        "charge": [lepton_charge(int(i)) for i in ids],
        "pdgId": ids,
    }


def met_columns(met: np.ndarray, sum_et: float) -> dict[str, float]:
    """MET (px, py) [GeV] and ΣET as NanoAOD's ``MET_pt``, ``MET_phi``, ``MET_sumEt``."""
    return {"MET_pt": float(np.hypot(*met)), "MET_phi": float(np.arctan2(met[1], met[0])), "MET_sumEt": sum_et}


@dataclass
class TopDecay:
    """One top of the record: its PDG id, its quark (p4 [GeV], PDG id) and its W's two daughters (record indices
    relative to the event's first particle)."""

    top_id: int
    quark: tuple[np.ndarray, int]
    w_daughters: list[int]


def top_decays(records: ParticleRecords, event: int) -> list[TopDecay] | None:
    """The two tops' t → Wq decays of one event; None if the record does not hold two tops decaying so."""
    o = records.offsets[event]
    head = range(o, min(o + 12, records.offsets[event + 1]))  # the hard process sits at the top of the record
    tops = [i - o for i in head if abs(records.id[i]) == 6 and records.status[i] == -22]
    if len(tops) != 2:
        return None
    decays = []
    for t in tops:
        daughters = records.daughters(event, records.bottom_copy(event, t))
        quark = [d for d in daughters if abs(records.id[o + d]) in (1, 3, 5)]
        boson = [d for d in daughters if abs(records.id[o + d]) == 24]
        if len(quark) != 1 or len(boson) != 1:
            return None
        w_decay = records.daughters(event, records.bottom_copy(event, boson[0]))
        if len(w_decay) != 2:
            return None
        quark_p4 = (records.p4[o + quark[0]].copy(), int(records.id[o + quark[0]]))
        decays.append(TopDecay(int(records.id[o + t]), quark_p4, list(w_decay)))
    return decays


def lepton_charge(pdg_id: int) -> int:
    """The charge of an electron or muon from its PDG id (11: e⁻)."""
    return -1 if pdg_id > 0 else 1


@dataclass
class Candidate:
    """A preselected event, waiting for jet clustering."""

    number: int
    visible: np.ndarray  # [n, 4] visible particles for jets (the isolated leptons excluded)
    heavy_p4: np.ndarray
    heavy_flavour: np.ndarray
    leptons_p4: np.ndarray  # [k, 4], leading first
    lepton_ids: tuple[int, ...]
    met_visible: np.ndarray  # [2] −Σ visible pT (leptons included)
    sum_et: float
    truth: Any


@dataclass
class BlockResult:
    """The selected events of one block (NanoAOD columns) and its bookkeeping: the events ``generated`` (up to the
    last one kept), those ``selected``, and the cutflow of every step."""

    columns: dict[str, Any]
    generated: int
    selected: int
    cutflow: dict[str, int]


@dataclass
class Measured:
    """A clustered candidate behind the detector: its jets, each lepton's energy scale ``[k]``, the MET (px, py)."""

    jets: Jets
    lepton_scales: np.ndarray
    met: np.ndarray
    detector: DetectorResponse

    def selected(self, selection: Any, lepton_pt: Any) -> bool:
        """≥ ``selection.min_jets`` jets, ≥ ``min_btags`` b-tags, and every lepton (measured ``lepton_pt``) above the
        lepton threshold."""
        return (
            len(self.jets.pt) >= selection.min_jets
            and self.jets.btag.sum() >= selection.min_btags
            and bool(np.all(np.asarray(lepton_pt) > self.detector.leptons.pt_min))
        )


def measure(
    candidate: Candidate,
    jets_p4: np.ndarray,
    neutrinos_pt: np.ndarray,
    detector: DetectorResponse,
    rng: np.random.Generator,
) -> Measured:
    """The detector's response to a clustered candidate, in a fixed order of random draws: the jets, each lepton's
    energy scale, the MET's noise."""
    jets = jet_response(jets_p4, candidate.heavy_p4, candidate.heavy_flavour, detector, rng)
    scales = np.array([lepton_scale(p, i, detector, rng) for p, i in zip(candidate.leptons_p4, candidate.lepton_ids)])
    met = measured_met(candidate, jets_p4, jets.scale, scales, neutrinos_pt, detector, rng)
    return Measured(jets, scales, met, detector)


@dataclass(frozen=True)
class TTbarSample:
    """What a tt̄ sample says about itself.

    Attributes:
        truth: (records, event) → the sample's truth, or None to reject the event (counted as ``truth``).
        accepts: the PDG ids of an event's isolated leptons → whether it passes the preselection.
        neutrinos_pt: the truth → the neutrinos' summed (px, py) [GeV] (MET of the ``neutrino`` source).
        reconstruct: (candidate, its :class:`Measured` objects) → (collections, scalars) of a selected event, or None.
        preselected: the cutflow's name of the preselection.
    """

    truth: Callable[[ParticleRecords, int], Any]
    accepts: Callable[[Sequence[int]], bool]
    neutrinos_pt: Callable[[Any], np.ndarray]
    reconstruct: Callable[[Candidate, Measured], tuple[dict, dict] | None]
    preselected: str


def _candidates(
    sample: TTbarSample, records: ParticleRecords, first_number: int, detector: DetectorResponse, cutflow: dict
) -> list[Candidate]:
    """Truth and isolated-lepton preselection of every event of a batch."""
    level = particle_level(records, detector)
    out: list[Candidate] = []
    for event in range(records.n_events):
        lo, hi = records.offsets[event], records.offsets[event + 1]
        truth = sample.truth(records, event)
        if truth is None:
            cutflow["truth"] += 1
            continue
        isolated = isolated_leptons(level, lo, hi, detector)
        if not sample.accepts([int(records.id[i]) for i in isolated]):
            continue
        isolated.sort(key=lambda i: -level.pt[i])
        jets_input = level.in_detector[lo:hi].copy()
        jets_input[np.asarray(isolated) - lo] = False
        h = np.flatnonzero(level.heavy[lo:hi]) + lo
        out.append(
            Candidate(
                number=first_number + event,
                visible=records.p4[lo:hi][jets_input],
                heavy_p4=records.p4[h],
                heavy_flavour=level.flavour[h],
                leptons_p4=records.p4[isolated].copy(),
                lepton_ids=tuple(int(records.id[i]) for i in isolated),
                met_visible=level.met_visible[event],
                sum_et=float(level.sum_et[event]),
                truth=truth,
            )
        )
    return out


def measured_met(
    candidate: Candidate,
    jets_p4: np.ndarray,
    jet_scales: np.ndarray,
    lepton_scales: np.ndarray,
    neutrinos_pt: np.ndarray,
    detector: DetectorResponse,
    rng: np.random.Generator,
) -> np.ndarray:
    """The measured MET (px, py) [GeV]: the visible MET corrected for the jets' and leptons' mismeasurement
    (``met_source="visible"``) or the truth neutrinos' ``neutrinos_pt`` (px, py), plus the ΣET noise."""
    noise = detector.met.sqrt_sumet * np.sqrt(candidate.sum_et) * rng.standard_normal(2)
    if detector.met.source == "neutrino":
        return neutrinos_pt + noise
    mismeasured = ((jet_scales - 1.0)[:, None] * jets_p4[:, :2]).sum(axis=0)
    mismeasured += ((lepton_scales - 1.0)[:, None] * candidate.leptons_p4[:, :2]).sum(axis=0)
    return candidate.met_visible - mismeasured + noise


def generate_block(
    sample: TTbarSample,
    pythias: Sequence[Any],
    buffer: ColumnBuffer,
    n_selected: int,
    *,
    rng: np.random.Generator,
    block_index: int = 0,
    detector: DetectorResponse | None = None,
    batch_size: int = 50,
    max_generated: int | None = None,
    progress: Any = None,
) -> BlockResult:
    """Generate until ``n_selected`` events are in ``buffer`` (or ``max_generated`` are generated); the cutflow's
    ``consumed`` are the events generated up to the last one kept, or all of them when ``max_generated`` stopped.

    Args:
        sample: what the sample says of itself; pythias: its Pythia instances, taking turns batch by batch.
        rng: the generator of the detector's smearing and tagging.
        block_index: stored as ``luminosityBlock`` (1-based) and in the event numbers.
        detector: the detector (default: :class:`~hepgen.sim.detector.DetectorResponse`).
        batch_size: events generated per ``nextBatch`` call.
        max_generated: a safety stop (default: 100 × ``n_selected`` + 1000).
        progress: an object with ``update(n)`` called with newly selected events (a tqdm bar).
    """
    detector = detector or DetectorResponse()
    max_generated = max_generated if max_generated is not None else 100 * n_selected + 1000
    cutflow = {"generated": 0, "consumed": 0, "pythia_failed": 0, "truth": 0, sample.preselected: 0, "selected": 0}
    pending: list[Candidate] = []

    def flush() -> None:
        for candidate, jets_p4 in zip(pending, cluster_jets([c.visible for c in pending], detector.jets.radius)):
            if len(buffer) >= n_selected:
                break
            measured = measure(candidate, jets_p4, sample.neutrinos_pt(candidate.truth), detector, rng)
            result = sample.reconstruct(candidate, measured)
            if result is not None:
                collections, scalars = result
                event_number = block_index * 100_000_000 + candidate.number
                buffer.append(
                    collections, scalars | {"run": 1, "luminosityBlock": block_index + 1, "event": event_number}
                )
                cutflow["consumed"] = candidate.number
                if progress is not None:
                    progress.update(1)
        pending.clear()

    while len(buffer) < n_selected and cutflow["generated"] < max_generated:
        pythia = pythias[(cutflow["generated"] // batch_size) % len(pythias)]
        n = min(batch_size, max_generated - cutflow["generated"])
        records = next_batch(pythia, n)
        cutflow["pythia_failed"] += n - records.n_events
        candidates = _candidates(sample, records, cutflow["generated"] + 1, detector, cutflow)
        cutflow["generated"] += n
        cutflow[sample.preselected] += len(candidates)
        pending.extend(candidates)
        if pending:
            flush()
    if pending:
        flush()
    cutflow["selected"] = len(buffer)
    if len(buffer) < n_selected:
        cutflow["consumed"] = cutflow["generated"]
    return BlockResult(buffer.columns(), cutflow["consumed"], len(buffer), cutflow)
