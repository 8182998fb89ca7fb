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

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from hepgen.physics.kinematics import pt_eta_phi_mass
from hepgen.sim import ttbar_events as events
from hepgen.sim.output import ColumnBuffer
from hepgen.sim.pythia import ParticleRecords, make_pythia
from hepgen.sim.ttbar_objects import match_partons

__all__ = ["TTbarSelection", "TTBAR_SETTINGS", "ttbar_settings", "generate_ttbar_block"]

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


def ttbar_columns() -> ColumnBuffer:
    f4, i4 = np.float32, np.int32
    return ColumnBuffer(
        {
            "Jet": events.JET_COLUMNS,
            "Lepton": events.LEPTON_COLUMNS,
            "GenParton": {"pt": f4, "eta": f4, "phi": f4, "mass": f4, "pdgId": i4, "jetIdx": i4},
        },
        events.EVENT_COLUMNS
        | {
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
    decays = events.top_decays(records, event)
    if decays is None:
        return None
    o = records.offsets[event]

    def pid(i: int) -> int:
        return int(records.id[o + i])

    def p4(i: int) -> np.ndarray:
        return records.p4[o + i].copy()

    truth: dict[str, Any] = {}
    for decay in decays:
        w_decay = decay.w_daughters
        ids = [abs(pid(d)) for d in w_decay]
        if 11 in ids or 13 in ids:
            lep = w_decay[ids.index(11) if 11 in ids else ids.index(13)]
            nu = w_decay[1 - w_decay.index(lep)]
            truth["b_lep"] = decay.quark
            truth["lepton"] = (p4(lep), pid(lep))
            final_nu = records.bottom_copy(event, nu)
            truth["neutrino"] = (p4(final_nu), pid(final_nu))
        else:
            truth["b_had"] = decay.quark
            q1, q2 = sorted(w_decay, key=lambda d: -float(np.hypot(*records.p4[o + d, :2])))
            truth["q1"] = (p4(q1), pid(q1))
            truth["q2"] = (p4(q2), pid(q2))
    return truth if len(truth) == 6 else None


def _one_lepton(ids: list[int]) -> bool:
    """Exactly one isolated lepton."""
    return len(ids) == 1


def _neutrino_pt(truth: dict[str, Any]) -> np.ndarray:
    """The W-decay neutrino's (px, py) [GeV]."""
    return truth["neutrino"][0][:2]


def _reconstruct(
    candidate: events.Candidate, measured: events.Measured, *, selection: TTbarSelection
) -> tuple[dict, dict] | None:
    """The NanoAOD columns of one measured candidate; None if it fails the selection."""
    jets, met, lep_scale = measured.jets, measured.met, measured.lepton_scales[0]
    lepton_p4, lepton_id = candidate.leptons_p4[0], candidate.lepton_ids[0]
    lep_pt, lep_eta, lep_phi, lep_mass = (float(x[0]) for x in pt_eta_phi_mass(lepton_p4[None, :]))
    lep_pt_smeared = lep_pt * lep_scale
    if not measured.selected(selection, lep_pt_smeared):
        return None

    t = candidate.truth
    partons = [t["b_lep"], t["b_had"], t["q1"], t["q2"]]
    p_pt, p_eta, p_phi, p_mass = pt_eta_phi_mass(np.stack([p for p, _ in partons]))
    jet_index = match_partons(p_eta, p_phi, jets.eta, jets.phi)
    nu_pt, nu_eta, nu_phi, _ = pt_eta_phi_mass(t["neutrino"][0][None, :])
    gl_pt, gl_eta, gl_phi, gl_mass = pt_eta_phi_mass(t["lepton"][0][None, :])
    collections = {
        "Jet": jets.columns(),
        "Lepton": events.lepton_columns([lep_pt_smeared], [lep_eta], [lep_phi], [lep_mass * lep_scale], [lepton_id]),
        "GenParton": {
            "pt": p_pt,
            "eta": p_eta,
            "phi": p_phi,
            "mass": p_mass,
            "pdgId": [pid for _, pid in partons],
            "jetIdx": jet_index,
        },
    }
    scalars = events.met_columns(met, candidate.sum_et) | {
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
    selection: TTbarSelection | None = None,
    extra_settings: Sequence[str] = (),
    **options: Any,
) -> events.BlockResult:
    """Generate events until ``n_selected`` pass the selection (or ``options["max_generated"]`` are generated).

    ``pythia_seeds``: the seeds of the W⁺ → ℓ⁺ν and W⁻ → ℓ⁻ν̄ instances (they take turns batch by batch);
    ``extra_settings``: Pythia settings added to both (e.g. another tune);
    ``options``: ``rng`` (required), ``block_index``, ``detector``, ``batch_size``, ``max_generated``, ``progress``, as
    :func:`~hepgen.sim.ttbar_events.generate_block`.
    """
    reconstruct = partial(_reconstruct, selection=selection or TTbarSelection())
    sample = events.TTbarSample(_truth, _one_lepton, _neutrino_pt, reconstruct, preselected="one_isolated_lepton")
    pythias = [
        make_pythia([*ttbar_settings(charge), *extra_settings], seed) for charge, seed in zip((1, -1), pythia_seeds)
    ]
    buffer = ttbar_columns()
    return events.generate_block(sample, pythias, buffer, n_selected, **options)
