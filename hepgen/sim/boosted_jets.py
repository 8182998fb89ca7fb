"""Boosted large-R jets with their hard-scatter constituents: hadronic tops, W bosons, QCD.

Final-state visible particles with pT > 0.5 GeV and |η| < 4.5 (the same
acceptance as the minimum-bias pool, so pileup can be overlaid consistently)
are clustered with anti-kt R = 1.0 (fastjet). Jets with pT > ``pt_min`` and
|η| < 2.0 are kept:

* ``top`` (default): pp → tt̄ with both W → quarks; a jet is kept if a top and
  its three decay quarks lie within ΔR < 0.8 of the jet axis (fully contained);
* ``w``: pp → WW/WZ with W → quarks (Z → νν so it yields no jet); W and both
  quarks within ΔR < 0.8;
* ``qcd``: pp → jj (``HardQCD:all``); every jet is kept.

The hard-process pT threshold is ``pt_min − 50`` GeV so events are not wasted
below the jet threshold. Each entry of the output is one jet (``Jet_*``) with
its constituents (``Constituent_*``, jagged) and the rest of its event around it
(``Surrounding_*``: the other accepted particles within ΔR < R + :data:`SURROUNDING_MARGIN`
of the jet axis, so jets can be reclustered after pileup), read by the ``hepgen-jets`` schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import awkward as ak
import numpy as np

from hepgen.physics.kinematics import delta_r, pt_eta_phi_mass
from hepgen.physics.substructure import quiet_fastjet_banner
from hepgen.sim.output import ColumnBuffer
from hepgen.sim.pythia import NEUTRINOS, ParticleRecords, charges, make_pythia, next_batch

__all__ = [
    "JET_PROCESSES",
    "JetSampleConfig",
    "jets_columns",
    "generate_jets_block",
    "CONSTITUENT_PT_MIN",
    "PARTICLE_ETA_MAX",
    "SURROUNDING_MARGIN",
]

#: Particle acceptance shared with the minimum-bias pool (GeV, |η|).
CONSTITUENT_PT_MIN = 0.5
PARTICLE_ETA_MAX = 4.5
_JET_ETA_MAX = 2.0
_CONTAINMENT_RADIUS = 0.8
#: How far beyond the jet radius the jet files keep the rest of the hard event (``Surrounding_*``), and pileup is
#: overlaid when jets are reclustered: particles from there can migrate into the reclustered jet.
SURROUNDING_MARGIN = 0.5

#: Pythia settings per process; the hard-process pT threshold is added from the jet pT threshold.
JET_PROCESSES: dict[str, tuple[str, ...]] = {
    "top": ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on", "6:m0 = 172.5", "24:onMode = off", "24:onIfAny = 1 2 3 4 5"),
    "w": (
        "WeakDoubleBoson:ffbar2WW = on",
        "WeakDoubleBoson:ffbar2ZW = on",
        "24:onMode = off",
        "24:onIfAny = 1 2 3 4 5",
        "23:onMode = off",
        "23:onIfAny = 12 14 16",
    ),
    "qcd": ("HardQCD:all = on",),
}


@dataclass(frozen=True)
class JetSampleConfig:
    """Which jets to make: ``process`` (top, w, qcd), jet ``pt_min`` (GeV) and ``radius``."""

    process: str = "top"
    pt_min: float = 400.0
    radius: float = 1.0

    def __post_init__(self) -> None:
        if self.process not in JET_PROCESSES:
            raise ValueError(f"unknown jet process {self.process!r}; choose from {sorted(JET_PROCESSES)}")
        if self.pt_min <= 0 or self.radius <= 0:
            raise ValueError("pt_min and radius must be positive")

    def pythia_settings(self) -> list[str]:
        return [*JET_PROCESSES[self.process], f"PhaseSpace:pTHatMin = {max(self.pt_min - 50.0, 20.0)}"]


def jets_columns() -> ColumnBuffer:
    f4, i4 = np.float32, np.int32
    particle = {"pt": f4, "eta": f4, "phi": f4, "mass": f4, "charge": f4, "pdgId": i4}
    return ColumnBuffer(
        {"Constituent": {**particle, "isPileup": np.bool_}, "Surrounding": particle},
        {
            "event": np.int64,
            "Jet_pt": f4,
            "Jet_eta": f4,
            "Jet_phi": f4,
            "Jet_mass": f4,
            "HardJet_pt": f4,
            "HardJet_eta": f4,
            "HardJet_phi": f4,
            "HardJet_mass": f4,
            "Jet_label": i4,
            "Jet_partonPt": f4,
            "nPileupInteractions": i4,
        },
    )


def _decays(records: ParticleRecords, event: int, resonance: int) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """(momentum, [decay-quark momenta]) of each hadronically decaying ``resonance`` (6 or 24) in one event."""
    o = records.offsets[event]
    out = []
    for i in range(o + 1, min(o + 12, records.offsets[event + 1])):
        if abs(records.id[i]) != resonance or records.status[i] != -22:
            continue
        last = records.bottom_copy(event, i - o)
        quarks: list[np.ndarray] = []
        for d in records.daughters(event, last):
            a = abs(records.id[o + d])
            if a <= 5:
                quarks.append(records.p4[o + d])
            elif a == 24:  # t → W b: the W's quarks
                w = records.bottom_copy(event, d)
                quarks += [records.p4[o + k] for k in records.daughters(event, w) if abs(records.id[o + k]) <= 5]
        if len(quarks) == (3 if resonance == 6 else 2):
            out.append((records.p4[o + last], quarks))
    return out


def _particles(p4: np.ndarray, info: np.ndarray, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The output fields of the event's particles ``rows`` (``p4 [N, 4]``, ``info [N, 2]``: charge, pdgId)."""
    pt, eta, phi, mass = pt_eta_phi_mass(p4[rows])
    return {"pt": pt, "eta": eta, "phi": phi, "mass": mass, "charge": info[rows, 0], "pdgId": info[rows, 1]}


def _surrounding(p4: np.ndarray, members: np.ndarray, eta: float, phi: float, radius: float) -> np.ndarray:
    """Indices of the event's particles ``p4 [N, 4]`` within ΔR < ``radius`` of (``eta``, ``phi``) that are not
    among the jet's ``members``."""
    _, p_eta, p_phi, _ = pt_eta_phi_mass(p4)
    near = delta_r(p_eta, p_phi, eta, phi) < radius
    near[members] = False
    return np.flatnonzero(near)


@dataclass
class JetsBlockResult:
    columns: dict[str, Any]
    generated: int
    jets: int
    cutflow: dict[str, int] = field(default_factory=dict)


def generate_jets_block(
    n_jets: int,
    *,
    pythia_seed: int,
    config: JetSampleConfig | None = None,
    block_index: int = 0,
    batch_size: int = 50,
    max_generated: int | None = None,
    progress: Any = None,
) -> JetsBlockResult:
    """Generate events until ``n_jets`` jets pass (each event may give up to two)."""
    import fastjet

    config = config or JetSampleConfig()
    pythia = make_pythia(config.pythia_settings(), pythia_seed)
    max_generated = max_generated if max_generated is not None else 50 * n_jets + 500
    buffer = jets_columns()
    definition = fastjet.JetDefinition(fastjet.antikt_algorithm, config.radius)
    resonance = {"top": 6, "w": 24}.get(config.process)
    generated = consumed = 0
    pending: list[tuple[int, np.ndarray, np.ndarray, list]] = []

    def flush() -> None:
        nonlocal consumed
        if not pending:
            return
        counts = np.array([len(p4) for _, p4, _, _ in pending])
        flat = np.concatenate([p4 for _, p4, _, _ in pending])
        particles = ak.unflatten(
            ak.zip({"px": flat[:, 0], "py": flat[:, 1], "pz": flat[:, 2], "E": flat[:, 3]}, with_name="Momentum4D"),
            counts,
        )
        with quiet_fastjet_banner():
            sequence = fastjet.ClusterSequence(particles, definition)
        jets = sequence.inclusive_jets(min_pt=config.pt_min)
        members = sequence.constituent_index(min_pt=config.pt_min)
        # flat numpy views of the whole batch: jets per event, constituents per jet
        jets_per_event = ak.to_numpy(ak.num(jets))
        flat_jets = ak.flatten(jets)
        j4 = np.stack(
            [ak.to_numpy(flat_jets.px), ak.to_numpy(flat_jets.py), ak.to_numpy(flat_jets.pz), ak.to_numpy(flat_jets.E)],
            axis=1,
        )
        all_pt, all_eta, all_phi, all_mass = pt_eta_phi_mass(j4)
        flat_members = ak.flatten(members)
        members_per_jet = ak.to_numpy(ak.num(flat_members))
        member_index = ak.to_numpy(ak.flatten(flat_members))
        member_start = np.concatenate([[0], np.cumsum(members_per_jet)])
        jet_start = np.concatenate([[0], np.cumsum(jets_per_event)])
        for e, (number, p4, info, truth) in enumerate(pending):
            if len(buffer) >= n_jets:
                break
            first = jet_start[e]
            jpt, jeta, jphi, jmass = (a[first : jet_start[e + 1]] for a in (all_pt, all_eta, all_phi, all_mass))
            for k in np.argsort(-jpt, kind="stable"):
                if abs(jeta[k]) >= _JET_ETA_MAX or len(buffer) >= n_jets:
                    continue
                label, parton_pt = 0, 0.0
                if resonance is not None:
                    contained = None
                    for mother, quarks in truth:
                        m_pt, m_eta, m_phi, _ = pt_eta_phi_mass(np.stack([mother, *quarks]))
                        if np.all(delta_r(m_eta, m_phi, jeta[k], jphi[k]) < _CONTAINMENT_RADIUS):
                            contained = float(m_pt[0])
                    if contained is None:
                        continue
                    label, parton_pt = resonance, contained
                j = first + k
                idx = member_index[member_start[j] : member_start[j + 1]]
                around = _surrounding(p4, idx, jeta[k], jphi[k], config.radius + SURROUNDING_MARGIN)
                jet = {"pt": jpt[k], "eta": jeta[k], "phi": jphi[k], "mass": jmass[k]}
                buffer.append(
                    {
                        "Constituent": {**_particles(p4, info, idx), "isPileup": np.zeros(len(idx), bool)},
                        "Surrounding": _particles(p4, info, around),
                    },
                    {
                        "event": block_index * 100_000_000 + number,
                        **{f"Jet_{k2}": v for k2, v in jet.items()},
                        **{f"HardJet_{k2}": v for k2, v in jet.items()},
                        "Jet_label": label,
                        "Jet_partonPt": parton_pt,
                        "nPileupInteractions": 0,
                    },
                )
                consumed = number
                if progress is not None:
                    progress.update(1)
        pending.clear()

    while len(buffer) < n_jets and generated < max_generated:
        n = min(batch_size, max_generated - generated)
        records = next_batch(pythia, n)
        pt, eta, _, _ = pt_eta_phi_mass(records.p4)
        keep = (
            records.final
            & ~np.isin(np.abs(records.id), NEUTRINOS)
            & (pt > CONSTITUENT_PT_MIN)
            & (np.abs(eta) < PARTICLE_ETA_MAX)
        )
        charge = charges(pythia, records.id)
        scalar_sum = np.bincount(records.event_of[keep], pt[keep], minlength=records.n_events)
        for event in range(records.n_events):
            truth = _decays(records, event, resonance) if resonance is not None else []
            if (resonance is not None and not truth) or scalar_sum[event] < config.pt_min:
                continue  # no hadronic resonance, or too little pT to hold a jet above threshold
            lo, hi = records.offsets[event], records.offsets[event + 1]
            k = np.flatnonzero(keep[lo:hi]) + lo
            info = np.stack([charge[k], records.id[k]], axis=1)
            pending.append((generated + event + 1, records.p4[k], info, truth))
        generated += n
        flush()
    flush()
    if len(buffer) < n_jets:
        consumed = generated
    return JetsBlockResult(
        columns=buffer.columns(), generated=consumed, jets=len(buffer), cutflow={"generated": generated}
    )
