"""ν²-Flows: the posterior of both neutrinos of dilepton tt̄ → bℓ⁺ν b̄ℓ⁻ν̄ (issue 15 — in progress).

Built so far: the inputs and the model. The task's ``train|predict|validate`` commands (and its registration in
:mod:`hepgen.tasks.registry`) come with the validation against the classical methods of
:mod:`hepgen.physics.dilepton_neutrinos`.

* **inputs** (:func:`dineutrino_arrays`) — ℓ⁺ then ℓ⁻ (px, py, pz, log E, charge, is-muon), up to ten jets (px,
  py, pz, log E, b-tag flag), MET (px, py), read through the ``hepgen-ttbar-dilepton`` schema; events without exactly
  one lepton of each charge, or without jets, are counted and left out;
* **target** — (px, py, η) of the neutrino from the top (ν, the partner of ℓ⁺) and of the one from the antitop (ν̄):
  six numbers; η rather than pz for the same reason as the single neutrino's (:mod:`hepgen.tasks.neutrino`);
* **model** (:class:`DineutrinoModel`) — :class:`~hepgen.nn.ObjectSetEncoder` and a conditional neural spline flow
  over the six standardised targets (:class:`~hepgen.models.regressors.FlowHead`, sampled with the context-cached
  sampler: the encoder and the flow's per-event work once per event).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from hepgen.errors import HepgenInputError
from hepgen.io.events import Events
from hepgen.models.regressors import FlowHead
from hepgen.nn import MaskedStandardizer, ObjectSetEncoder
from hepgen.physics.kinematics import p4_from_pt_eta_phi_mass
from hepgen.tasks.neutrino import btag_flags

__all__ = ["DILEPTON_FEATURES", "TARGETS", "DineutrinoArrays", "dineutrino_arrays", "targets_to_momenta",
           "DineutrinoModel"]  # fmt: skip

#: Per object type, the features the encoder reads (GeV).
DILEPTON_FEATURES: dict[str, tuple[str, ...]] = {
    "leptons": ("px", "py", "pz", "log_energy", "charge", "is_muon"),
    "jets": ("px", "py", "pz", "log_energy", "btag"),
    "met": ("px", "py"),
}
#: What the model predicts per event: (px [GeV], py [GeV], η) of ν (from the top), then of ν̄ (from the antitop).
TARGETS = ("nu_px", "nu_py", "nu_eta", "nubar_px", "nubar_py", "nubar_eta")


@dataclass
class DineutrinoArrays:
    """Model inputs (and truth, when known) for ``B`` events, as numpy arrays.

    Attributes:
        objects, masks: object type → values ``[B, N, F]`` (float32) and masks ``[B, N]``.
        target: (px, py, η) of ν then ν̄ ``[B, 6]``, or None.
        leptons_p4: ℓ⁺ and ℓ⁻ (px, py, pz, E) ``[B, 2, 4]``; jets_p4: ``[B, N, 4]`` (zero padding).
        event_index: the kept events' positions in the input ``Events``; skipped: reasons → events left out.
    """

    objects: dict[str, np.ndarray]
    masks: dict[str, np.ndarray]
    target: np.ndarray | None
    leptons_p4: np.ndarray
    jets_p4: np.ndarray
    event_index: np.ndarray
    skipped: dict[str, int]

    def __len__(self) -> int:
        return len(self.event_index)

    def select(self, index: np.ndarray) -> DineutrinoArrays:
        return DineutrinoArrays({k: v[index] for k, v in self.objects.items()}, {k: v[index] for k, v in self.masks.items()},
                                None if self.target is None else self.target[index], self.leptons_p4[index],
                                self.jets_p4[index], self.event_index[index], dict(self.skipped))  # fmt: skip

    def tensors(self) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        return ({k: torch.as_tensor(v) for k, v in self.objects.items()},
                {k: torch.as_tensor(v) for k, v in self.masks.items()})  # fmt: skip


def _eta(p3: np.ndarray) -> np.ndarray:
    pt = np.hypot(p3[..., 0], p3[..., 1])
    return np.arcsinh(p3[..., 2] / np.maximum(pt, 1e-9))


def dineutrino_arrays(events: Events, *, max_jets: int = 10, require_truth: bool = False) -> DineutrinoArrays:
    """The model inputs from events read with the ``hepgen-ttbar-dilepton`` schema (ℓ⁺ first, then ℓ⁻)."""
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
            raise HepgenInputError("training needs the truth neutrinos (the schema has no 'neutrinos' truth collection)")
        complete = truth.mask.sum(axis=1) == 2
        skipped["no truth neutrino pair"] = int((keep & ~complete).sum())
        keep &= complete
    idx = np.flatnonzero(keep)

    plus_first = charge[idx, 0] > 0
    order = np.where(plus_first[:, None], [0, 1], [1, 0])  # ℓ⁺ then ℓ⁻
    l_p4 = p4_from_pt_eta_phi_mass(leptons["pt"], leptons["eta"], leptons["phi"], leptons["mass"])[idx][:, :2]
    l_p4 = np.take_along_axis(l_p4, order[..., None], axis=1)
    is_muon = (np.abs(leptons["pdgId"][idx][:, :2]) == 13).astype(np.float64)
    lepton_features = np.concatenate([
        l_p4[..., :3], np.log(np.maximum(l_p4[..., 3:4], 1e-3)), np.array([1.0, -1.0])[None, :, None].repeat(len(idx), 0),
        np.take_along_axis(is_muon, order, axis=1)[..., None],
    ], axis=-1)  # fmt: skip

    n_jets = min(jets.max_length, max_jets)
    j_mask = jets.mask[idx, :n_jets]
    j_p4 = p4_from_pt_eta_phi_mass(jets["pt"], jets["eta"], jets["phi"], jets["mass"])[idx, :n_jets] * j_mask[..., None]
    btag = btag_flags(jets["btag"][idx, :n_jets], j_mask) if "btag" in jets.features else np.zeros(j_mask.shape, np.float32)
    with np.errstate(divide="ignore"):
        jet_features = np.concatenate([j_p4[..., :3], np.log(np.where(j_mask, j_p4[..., 3], 1.0))[..., None], btag[..., None]], -1)
    jet_features *= j_mask[..., None]

    target = None
    if truth is not None and (truth.mask[idx].sum(axis=1) == 2).all():
        nu_p3 = np.stack([truth["px"], truth["py"], truth["pz"]], axis=-1)[idx][:, :2]
        nu_first = truth["pdgId"][idx, 0] > 0  # ν (positive id, from the top's W⁺) first
        nu_p3 = np.where(nu_first[:, None, None], nu_p3, nu_p3[:, ::-1])
        target = np.concatenate([nu_p3[:, 0, :2], _eta(nu_p3[:, 0])[:, None], nu_p3[:, 1, :2], _eta(nu_p3[:, 1])[:, None]],
                                axis=1).astype(np.float32)  # fmt: skip
    objects = {"leptons": lepton_features.astype(np.float32), "jets": jet_features.astype(np.float32),
               "met": np.stack([met["px"][idx, 0], met["py"][idx, 0]], axis=-1)[:, None, :].astype(np.float32)}  # fmt: skip
    masks = {"leptons": np.ones((len(idx), 2), bool), "jets": j_mask, "met": np.ones((len(idx), 1), bool)}
    for name, values in objects.items():
        if not np.isfinite(values).all():
            raise HepgenInputError(f"non-finite {name} inputs after building the dilepton features")
    return DineutrinoArrays(objects, masks, target, l_p4.astype(np.float32), j_p4.astype(np.float32), idx, skipped)


def targets_to_momenta(values: Tensor | np.ndarray) -> Tensor | np.ndarray:
    """(px, py, η) of ν and ν̄ ``[..., 6]`` → their (px, py, pz) ``[..., 2, 3]`` with pz = pT sinh η."""
    lib = torch if isinstance(values, Tensor) else np
    pairs = values.reshape(*values.shape[:-1], 2, 3)
    px, py, eta = pairs[..., 0], pairs[..., 1], pairs[..., 2]
    pz = lib.sqrt(px**2 + py**2) * lib.sinh(eta)
    return lib.stack([px, py, pz], -1) if lib is torch else np.stack([px, py, pz], axis=-1)


class DineutrinoModel(nn.Module):
    """The object-set encoder and a conditional flow over the six targets (:data:`TARGETS`)."""

    def __init__(self, *, dim: int = 64, heads: int = 4, layers: int = 3, head_hidden: int = 128,
                 flow_transforms: int = 4) -> None:  # fmt: skip
        super().__init__()
        self.config = {"dim": dim, "heads": heads, "layers": layers, "head_hidden": head_hidden,
                       "flow_transforms": flow_transforms}  # fmt: skip
        self.encoder = ObjectSetEncoder(DILEPTON_FEATURES, dim=dim, heads=heads, layers=layers)
        self.target_standardizer = MaskedStandardizer(len(TARGETS))
        self.head = FlowHead(dim, len(TARGETS), hidden=head_hidden, transforms=flow_transforms)

    def fit_standardization(self, arrays: DineutrinoArrays) -> None:
        """Fit the input and target standardisations on training arrays."""
        if arrays.target is None:
            raise HepgenInputError("fitting the target standardisation needs truth targets")
        self.encoder.fit_standardization(*arrays.tensors())
        self.target_standardizer.fit(torch.as_tensor(arrays.target))

    def loss(self, objects: dict[str, Tensor], masks: dict[str, Tensor], target: Tensor) -> Tensor:
        """Mean negative log-likelihood of the standardised targets."""
        return -self.head(self.encoder(objects, masks)).log_prob(self.target_standardizer(target)).mean()

    @torch.no_grad()
    def sample(self, objects: dict[str, Tensor], masks: dict[str, Tensor], n: int, *,
               with_log_prob: bool = False) -> Tensor | tuple[Tensor, Tensor]:  # fmt: skip
        """``n`` posterior samples of the six targets per event ``[B, n, 6]`` (physical units; with ``with_log_prob``
        also their log density ``[B, n]`` in the standardised space, which ranks an event's samples)."""
        draws, log_prob = self.head.sample(self.encoder(objects, masks), n, with_log_prob=with_log_prob)
        draws = self.target_standardizer.inverse(draws).transpose(0, 1)
        return (draws, log_prob.transpose(0, 1)) if with_log_prob else draws
