"""The dilepton task's inputs: ℓ⁺ then ℓ⁻, up to ten jets, MET and (``constrained``) the classical answers as
tokens; the target is (px, py, η) of ν (from the top) and of ν̄ (from the antitop)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import Tensor

from hepgen.errors import HepgenInputError, one_of
from hepgen.io.events import Events
from hepgen.physics.dilepton_neutrinos import ttbar_observables
from hepgen.physics.kinematics import p4_from_pt_eta_phi_mass
from hepgen.tasks.dineutrino.classical import SOLUTION_FEATURES, b_candidates_of, classical_tokens
from hepgen.tasks.events import EventArrays, btag_flags, eta_of, jet_features, lepton_features, targets_to_momentum

__all__ = [
    "DILEPTON_FEATURES",
    "INPUT_SETS",
    "TARGETS",
    "DineutrinoArrays",
    "dineutrino_arrays",
    "targets_to_momenta",
]

#: Per object type, the features the encoder reads (GeV).
DILEPTON_FEATURES: dict[str, tuple[str, ...]] = {
    "leptons": ("px", "py", "pz", "log_energy", "charge", "is_muon"),
    "jets": ("px", "py", "pz", "log_energy", "btag"),
    "met": ("px", "py"),
}
#: The input sets a model can read, by name (models saved before it existed read ``basic``).
INPUT_SETS: dict[str, dict[str, tuple[str, ...]]] = {
    "basic": DILEPTON_FEATURES,
    "constrained": DILEPTON_FEATURES | {"ellipse": SOLUTION_FEATURES, "weighting": SOLUTION_FEATURES},
}

#: What the model predicts per event: (px [GeV], py [GeV], η) of ν (from the top), then of ν̄ (from the antitop).
TARGETS = ("nu_px", "nu_py", "nu_eta", "nubar_px", "nubar_py", "nubar_eta")


@dataclass
class DineutrinoArrays(EventArrays):
    """The dilepton model's inputs (and truth, when known) for ``B`` events (:class:`EventArrays`).

    Attributes:
        target: (px, py, η) of ν then ν̄ ``[B, 6]``, or None.
        leptons_p4: ℓ⁺ and ℓ⁻ (px, py, pz, E) ``[B, 2, 4]``; jets_p4: ``[B, N, 4]`` (zero padding).
        truth_observables: the true tt̄ observables (:func:`~hepgen.physics.dilepton_neutrinos.ttbar_observables`
            of the generator's b quarks, leptons and neutrinos) ``{name: [B]}``, or None.
        b_jets: the jets (indices among the model's jets) matched to the b and the b̄ quark ``[B, 2]`` (−1: matched
            to none of them), or None without the truth: the labels of the jet-assignment head.
    """

    leptons_p4: np.ndarray
    jets_p4: np.ndarray
    truth_observables: dict[str, np.ndarray] | None = None
    b_jets: np.ndarray | None = None


def targets_to_momenta(values: Tensor | np.ndarray) -> Tensor | np.ndarray:
    """(px, py, η) of ν and ν̄ ``[..., 6]`` → their (px, py, pz) ``[..., 2, 3]`` with pz = pT sinh η."""
    return targets_to_momentum(values.reshape(*values.shape[:-1], 2, 3))


def dineutrino_arrays(
    events: Events, *, max_jets: int = 10, require_truth: bool = False, inputs: str = "basic"
) -> DineutrinoArrays:
    """The model inputs (the input set ``inputs`` of :data:`INPUT_SETS`) from events read with the
    ``hepgen-ttbar-dilepton`` schema (ℓ⁺ first, then ℓ⁻)."""
    one_of(INPUT_SETS, inputs, "dilepton input set")
    if "leptons" not in list(events):
        raise HepgenInputError(f"the dilepton inputs need a 'leptons' collection; the events have {sorted(events)}")
    leptons, jets, met = events["leptons"], events["jets"], events["met"]
    charge = np.where(leptons.mask, leptons["charge"], 0)
    pair = (leptons.mask.sum(axis=1) == 2) & (charge[:, :2].sum(axis=1) == 0) & (np.abs(charge[:, :2]).sum(axis=1) == 2)
    has_jets = jets.mask.any(axis=1)
    skipped = {"no opposite-charge lepton pair": int((~pair).sum()), "no jets": int((pair & ~has_jets).sum())}
    keep = pair & has_jets
    truth = events.truth.get("neutrinos")
    if require_truth:
        if truth is None:
            raise HepgenInputError(
                "training needs the truth neutrinos (the schema has no 'neutrinos' truth collection)"
            )
        complete = truth.mask.sum(axis=1) == 2
        skipped["no truth neutrino pair"] = int((keep & ~complete).sum())
        keep &= complete
    idx = np.flatnonzero(keep)

    plus_first = charge[idx, 0] > 0
    order = np.where(plus_first[:, None], [0, 1], [1, 0])  # ℓ⁺ then ℓ⁻
    l_p4 = p4_from_pt_eta_phi_mass(leptons["pt"], leptons["eta"], leptons["phi"], leptons["mass"])[idx][:, :2]
    l_p4 = np.take_along_axis(l_p4, order[..., None], axis=1)
    is_muon = (np.abs(leptons["pdgId"][idx][:, :2]) == 13).astype(np.float64)
    charges = np.broadcast_to(np.array([1.0, -1.0]), (len(idx), 2))
    lepton_inputs = lepton_features(l_p4, charges, np.take_along_axis(is_muon, order, axis=1))

    n_jets = min(jets.max_length, max_jets)
    j_mask = jets.mask[idx, :n_jets]
    j_p4 = p4_from_pt_eta_phi_mass(jets["pt"], jets["eta"], jets["phi"], jets["mass"])[idx, :n_jets] * j_mask[..., None]
    btag = (
        btag_flags(jets["btag"][idx, :n_jets], j_mask)
        if "btag" in jets.features
        else np.zeros(j_mask.shape, np.float32)
    )
    jet_inputs = jet_features(j_p4, btag, j_mask)

    target = None
    if truth is not None and (truth.mask[idx].sum(axis=1) == 2).all():
        nu_p3 = np.stack([truth["px"], truth["py"], truth["pz"]], axis=-1)[idx][:, :2]
        nu_first = truth["pdgId"][idx, 0] > 0  # ν (positive id, from the top's W⁺) first
        nu_p3 = np.where(nu_first[:, None, None], nu_p3, nu_p3[:, ::-1])
        target = np.concatenate(
            [nu_p3[:, 0, :2], eta_of(nu_p3[:, 0])[:, None], nu_p3[:, 1, :2], eta_of(nu_p3[:, 1])[:, None]], axis=1
        ).astype(np.float32)
    truth_observables, b_jets = None, None
    if "b_quarks" in events.truth and "jetIdx" in events.truth["b_quarks"].features:
        quarks = events.truth["b_quarks"]
        index = np.where(quarks.mask[idx][:, :2], quarks["jetIdx"][idx][:, :2], -1).astype(np.int64)
        b_jets = np.where((index >= 0) & (index < n_jets), index, -1)
    if target is not None and {"b_quarks", "gen_leptons"} <= set(events.truth):
        quarks, gen = events.truth["b_quarks"], events.truth["gen_leptons"]
        b4 = p4_from_pt_eta_phi_mass(quarks["pt"], quarks["eta"], quarks["phi"], quarks["mass"])[idx]
        l4 = p4_from_pt_eta_phi_mass(gen["pt"], gen["eta"], gen["phi"], gen["mass"])[idx]
        truth_nu = targets_to_momenta(target.astype(np.float64))
        truth_observables = ttbar_observables(b4[:, 0], l4[:, 0], truth_nu[:, 0], b4[:, 1], l4[:, 1], truth_nu[:, 1])
    objects = {
        "leptons": lepton_inputs.astype(np.float32),
        "jets": jet_inputs.astype(np.float32),
        "met": np.stack([met["px"][idx, 0], met["py"][idx, 0]], axis=-1)[:, None, :].astype(np.float32),
    }
    masks = {"leptons": np.ones((len(idx), 2), bool), "jets": j_mask, "met": np.ones((len(idx), 1), bool)}
    if inputs == "constrained":
        b_pair = b_candidates_of(btag, j_p4, j_mask)
        for name, (values, mask) in classical_tokens(b_pair, l_p4.astype(np.float64), objects["met"][:, 0]).items():
            objects[name], masks[name] = values, mask
    arrays = DineutrinoArrays(
        objects,
        masks,
        target,
        idx,
        skipped,
        leptons_p4=l_p4.astype(np.float32),
        jets_p4=j_p4.astype(np.float32),
        truth_observables=truth_observables,
        b_jets=b_jets,
    )
    arrays.check_finite("dilepton")
    return arrays
