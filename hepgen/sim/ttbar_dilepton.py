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

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from hepgen.physics.kinematics import pt_eta_phi_mass
from hepgen.sim import ttbar_events as events
from hepgen.sim.output import ColumnBuffer
from hepgen.sim.pythia import ParticleRecords, make_pythia
from hepgen.sim.ttbar import TTBAR_SETTINGS, TTbarSelection
from hepgen.sim.ttbar_objects import match_partons

__all__ = ["DILEPTON_SETTINGS", "DILEPTON_SELECTION", "generate_dilepton_block"]

#: Pythia settings: the tt̄ process with both W forced to eν or μν.
DILEPTON_SETTINGS: tuple[str, ...] = (*TTBAR_SETTINGS, "24:onMode = off", "24:onIfAny = 11 13")
#: The default selection (besides exactly two isolated opposite-charge leptons): ≥ 2 jets, ≥ 1 b-tag.
DILEPTON_SELECTION = TTbarSelection(min_jets=2, min_btags=1)


def dilepton_columns() -> ColumnBuffer:
    f4, i4 = np.float32, np.int32
    return ColumnBuffer(
        {
            "Jet": events.JET_COLUMNS,
            "Lepton": events.LEPTON_COLUMNS,
            "GenNu": {"pt": f4, "eta": f4, "phi": f4, "pdgId": i4},
            "GenLepton": {"pt": f4, "eta": f4, "phi": f4, "mass": f4, "pdgId": i4},
            "GenB": {"pt": f4, "eta": f4, "phi": f4, "mass": f4, "pdgId": i4, "jetIdx": i4},
        },
        events.EVENT_COLUMNS,
    )


def _truth(records: ParticleRecords, event: int) -> dict[int, dict[str, Any]] | None:
    """Per top sign (+1 top, −1 antitop) its b, lepton and neutrino (p4, pdgId); None if the record does not hold
    t → Wb, W → ℓν for both tops."""
    decays = events.top_decays(records, event)
    if decays is None:
        return None
    o = records.offsets[event]
    truth: dict[int, dict[str, Any]] = {}
    for decay in decays:
        w_decay = decay.w_daughters
        ids = [abs(int(records.id[o + d])) for d in w_decay]
        if not ({11, 13} & set(ids)) or not ({12, 14} & set(ids)):
            return None
        lep = w_decay[0] if ids[0] in (11, 13) else w_decay[1]
        nu = records.bottom_copy(event, w_decay[1] if lep == w_decay[0] else w_decay[0])
        truth[1 if decay.top_id > 0 else -1] = {
            "b": decay.quark,
            "lepton": (records.p4[o + lep].copy(), int(records.id[o + lep])),
            "neutrino": (records.p4[o + nu].copy(), int(records.id[o + nu])),
        }
    return truth if set(truth) == {1, -1} else None


def _opposite_charges(ids: list[int]) -> bool:
    """Exactly two isolated leptons, of opposite charge."""
    return len(ids) == 2 and events.lepton_charge(ids[0]) != events.lepton_charge(ids[1])


def _neutrinos_pt(truth: dict[int, dict[str, Any]]) -> np.ndarray:
    """Both neutrinos' summed (px, py) [GeV]."""
    return truth[1]["neutrino"][0][:2] + truth[-1]["neutrino"][0][:2]


def _reconstruct(
    candidate: events.Candidate, measured: events.Measured, *, selection: TTbarSelection
) -> tuple[dict, dict] | None:
    """The NanoAOD columns of one measured candidate; None if it fails the selection."""
    jets, met = measured.jets, measured.met
    leptons = candidate.leptons_p4 * measured.lepton_scales[:, None]
    l_pt, l_eta, l_phi, l_mass = pt_eta_phi_mass(leptons)
    if not measured.selected(selection, l_pt):
        return None
    lepton_order = np.argsort(-l_pt, kind="stable")

    truth = [candidate.truth[1], candidate.truth[-1]]  # the top's, then the antitop's
    b_p4 = np.stack([t["b"][0] for t in truth])
    b_pt, b_eta, b_phi, b_mass = pt_eta_phi_mass(b_p4)
    nu_pt, nu_eta, nu_phi, _ = pt_eta_phi_mass(np.stack([t["neutrino"][0] for t in truth]))
    gl_pt, gl_eta, gl_phi, gl_mass = pt_eta_phi_mass(np.stack([t["lepton"][0] for t in truth]))
    ids = np.asarray(candidate.lepton_ids)[lepton_order]
    collections = {
        "Jet": jets.columns(),
        "Lepton": events.lepton_columns(*(x[lepton_order] for x in (l_pt, l_eta, l_phi, l_mass)), ids),
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
    return collections, events.met_columns(met, candidate.sum_et)


def generate_dilepton_block(
    n_selected: int,
    *,
    pythia_seed: int,
    selection: TTbarSelection = DILEPTON_SELECTION,
    extra_settings: Sequence[str] = (),
    **options: Any,
) -> events.BlockResult:
    """Generate events until ``n_selected`` pass the selection; as :func:`hepgen.sim.ttbar.generate_ttbar_block` with
    one Pythia instance (both W decay leptonically; ``extra_settings`` added to its own)."""
    reconstruct = partial(_reconstruct, selection=selection)
    sample = events.TTbarSample(
        _truth, _opposite_charges, _neutrinos_pt, reconstruct, preselected="two_isolated_leptons"
    )
    buffer = dilepton_columns()
    return events.generate_block(
        sample, [make_pythia([*DILEPTON_SETTINGS, *extra_settings], pythia_seed)], buffer, n_selected, **options
    )
