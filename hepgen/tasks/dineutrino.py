"""ν²-Flows: the posterior of both neutrinos of dilepton tt̄ → bℓ⁺ν b̄ℓ⁻ν̄, against the classical reconstructions.

``hepgen train|predict|validate dineutrino``: a conditional flow over both neutrinos; ``predict --model ellipse`` or
``--model weighting`` runs the analytic ellipse method or Neutrino Weighting
(:mod:`hepgen.physics.dilepton_neutrinos`) on the same events; ``validate`` compares them
(:mod:`hepgen.validation.dineutrino_comparison`).

* **inputs** (:func:`dineutrino_arrays`) — ℓ⁺ then ℓ⁻ (px, py, pz, log E, charge, is-muon), up to ten jets (px,
  py, pz, log E, b-tag flag), MET (px, py), read through the ``hepgen-ttbar-dilepton`` schema; events without exactly
  one lepton of each charge, or without jets, are counted and left out; the ``constrained`` input set
  (:data:`INPUT_SETS`) adds the classical answers as tokens, :func:`classical_tokens`: every ellipse-method
  solution and Neutrino Weighting's best pair, for both pairings of the two b candidates (none where a method fails);
* **target** — (px, py, η) of the neutrino from the top (ν, the partner of ℓ⁺) and of the one from the antitop (ν̄):
  six numbers; η rather than pz for the same reason as the single neutrino's (:mod:`hepgen.tasks.neutrino`);
* **model** (:class:`DineutrinoModel`) — :class:`~hepgen.nn.ObjectSetEncoder` and a conditional neural spline flow
  over the six standardised targets (:class:`~hepgen.models.regressors.FlowHead`, sampled with the context-cached
  sampler: the encoder and the flow's per-event work once per event);
* **prediction file** (tree ``Dineutrino``, one row per usable event): ``point`` (ν, ν̄) (px, py, pz) ``[B, 2, 3]``
  (the flow's posterior median; 0 where a classical method found no solution) and ``answered`` ``[B]``; for the
  flow ``samples`` ``[B, S, 2, 3]``; ``b_p4`` ``[B, 2, 4]`` the jets taken as the top's and the antitop's b (the
  pairing each method prefers: the classical methods' own choice, for the flow the pairing whose m(ℓνb) are nearer
  m_t on average over its samples, :func:`flow_pairing`); ``leptons_p4`` (ℓ⁺, ℓ⁻); and when known ``truth`` ``[B, 2, 3]`` and the true tt̄
  observables ``truth_m_ttbar``, ``truth_top_pt``, ``truth_cos_theta_plus``, ``truth_cos_theta_minus``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from hepgen.errors import HepgenInputError
from hepgen.io.events import Events
from hepgen.models.regressors import FlowHead
from hepgen.nn import MaskedStandardizer, ObjectSetEncoder
from hepgen.physics.dilepton_neutrinos import (
    b_jet_candidates,
    ellipse_method,
    neutrino_weighting,
    solve_with_pairings,
    ttbar_observables,
)
from hepgen.physics.kinematics import invariant_mass, massless_p4, p4_from_pt_eta_phi_mass
from hepgen.physics.ttbar_reconstruction import TOP_MASS
from hepgen.tasks.base import Block, BlockOutput, PredictSettings, Task, TrainingData, TrainSettings, ValidateSettings
from hepgen.tasks.data_parallel import event_batches, split_events
from hepgen.tasks.neutrino import btag_flags
from hepgen.tasks.settings import redefault, setting

__all__ = [
    "DILEPTON_FEATURES",
    "SOLUTION_FEATURES",
    "INPUT_SETS",
    "classical_tokens",
    "TARGETS",
    "CLASSICAL_METHODS",
    "DineutrinoArrays",
    "dineutrino_arrays",
    "targets_to_momenta",
    "DineutrinoModel",
    "DineutrinoTraining",
    "DineutrinoPrediction",
    "DineutrinoValidation",
    "DineutrinoTask",
    "DINEUTRINO",
]

#: Per object type, the features the encoder reads (GeV).
DILEPTON_FEATURES: dict[str, tuple[str, ...]] = {
    "leptons": ("px", "py", "pz", "log_energy", "charge", "is_muon"),
    "jets": ("px", "py", "pz", "log_energy", "btag"),
    "met": ("px", "py"),
}
#: A classical (ν, ν̄) answer as a token: both momenta [GeV], the pair's m(tt̄) [GeV] and whether the b candidates
#: were swapped (1: the second candidate is the top's b).
SOLUTION_FEATURES = ("nu_px", "nu_py", "nu_pz", "nubar_px", "nubar_py", "nubar_pz", "m_ttbar", "swapped")
#: The input sets a model can read, by name (models saved before it existed read ``basic``).
INPUT_SETS: dict[str, dict[str, tuple[str, ...]]] = {
    "basic": DILEPTON_FEATURES,
    "constrained": DILEPTON_FEATURES | {"ellipse": SOLUTION_FEATURES, "weighting": SOLUTION_FEATURES},
}
#: Events per call of the classical methods while building inputs (Neutrino Weighting's grid: ~1.4 MB per event).
_CLASSICAL_CHUNK = 2000

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
        truth_observables: the true tt̄ observables (:func:`~hepgen.physics.dilepton_neutrinos.ttbar_observables`
            of the generator's b quarks, leptons and neutrinos) ``{name: [B]}``, or None.
    """

    objects: dict[str, np.ndarray]
    masks: dict[str, np.ndarray]
    target: np.ndarray | None
    leptons_p4: np.ndarray
    jets_p4: np.ndarray
    event_index: np.ndarray
    skipped: dict[str, int]
    truth_observables: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.event_index)

    def select(self, index: np.ndarray) -> DineutrinoArrays:
        return DineutrinoArrays(
            {k: v[index] for k, v in self.objects.items()},
            {k: v[index] for k, v in self.masks.items()},
            None if self.target is None else self.target[index],
            self.leptons_p4[index],
            self.jets_p4[index],
            self.event_index[index],
            dict(self.skipped),
            None if self.truth_observables is None else {k: v[index] for k, v in self.truth_observables.items()},
        )

    def tensors(self) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        return (
            {k: torch.as_tensor(v) for k, v in self.objects.items()},
            {k: torch.as_tensor(v) for k, v in self.masks.items()},
        )


def _eta(p3: np.ndarray) -> np.ndarray:
    pt = np.hypot(p3[..., 0], p3[..., 1])
    return np.arcsinh(p3[..., 2] / np.maximum(pt, 1e-9))


def dineutrino_arrays(
    events: Events, *, max_jets: int = 10, require_truth: bool = False, inputs: str = "basic"
) -> DineutrinoArrays:
    """The model inputs (the input set ``inputs`` of :data:`INPUT_SETS`) from events read with the
    ``hepgen-ttbar-dilepton`` schema (ℓ⁺ first, then ℓ⁻)."""
    if inputs not in INPUT_SETS:
        raise HepgenInputError(f"unknown dilepton input set {inputs!r}; known: {list(INPUT_SETS)}")
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
    lepton_features = np.concatenate(
        [
            l_p4[..., :3],
            np.log(np.maximum(l_p4[..., 3:4], 1e-3)),
            np.array([1.0, -1.0])[None, :, None].repeat(len(idx), 0),
            np.take_along_axis(is_muon, order, axis=1)[..., None],
        ],
        axis=-1,
    )

    n_jets = min(jets.max_length, max_jets)
    j_mask = jets.mask[idx, :n_jets]
    j_p4 = p4_from_pt_eta_phi_mass(jets["pt"], jets["eta"], jets["phi"], jets["mass"])[idx, :n_jets] * j_mask[..., None]
    btag = (
        btag_flags(jets["btag"][idx, :n_jets], j_mask)
        if "btag" in jets.features
        else np.zeros(j_mask.shape, np.float32)
    )
    with np.errstate(divide="ignore"):
        jet_features = np.concatenate(
            [j_p4[..., :3], np.log(np.where(j_mask, j_p4[..., 3], 1.0))[..., None], btag[..., None]], -1
        )
    jet_features *= j_mask[..., None]

    target = None
    if truth is not None and (truth.mask[idx].sum(axis=1) == 2).all():
        nu_p3 = np.stack([truth["px"], truth["py"], truth["pz"]], axis=-1)[idx][:, :2]
        nu_first = truth["pdgId"][idx, 0] > 0  # ν (positive id, from the top's W⁺) first
        nu_p3 = np.where(nu_first[:, None, None], nu_p3, nu_p3[:, ::-1])
        target = np.concatenate(
            [nu_p3[:, 0, :2], _eta(nu_p3[:, 0])[:, None], nu_p3[:, 1, :2], _eta(nu_p3[:, 1])[:, None]], axis=1
        ).astype(np.float32)
    truth_observables = None
    if target is not None and {"b_quarks", "gen_leptons"} <= set(events.truth):
        quarks, gen = events.truth["b_quarks"], events.truth["gen_leptons"]
        b4 = p4_from_pt_eta_phi_mass(quarks["pt"], quarks["eta"], quarks["phi"], quarks["mass"])[idx]
        l4 = p4_from_pt_eta_phi_mass(gen["pt"], gen["eta"], gen["phi"], gen["mass"])[idx]
        truth_nu = targets_to_momenta(target.astype(np.float64))
        truth_observables = ttbar_observables(b4[:, 0], l4[:, 0], truth_nu[:, 0], b4[:, 1], l4[:, 1], truth_nu[:, 1])
    objects = {
        "leptons": lepton_features.astype(np.float32),
        "jets": jet_features.astype(np.float32),
        "met": np.stack([met["px"][idx, 0], met["py"][idx, 0]], axis=-1)[:, None, :].astype(np.float32),
    }
    masks = {"leptons": np.ones((len(idx), 2), bool), "jets": j_mask, "met": np.ones((len(idx), 1), bool)}
    if inputs == "constrained":
        b_pair = _b_candidates(btag, j_p4, j_mask)
        for name, (values, mask) in classical_tokens(b_pair, l_p4.astype(np.float64), objects["met"][:, 0]).items():
            objects[name], masks[name] = values, mask
    for name, values in objects.items():
        if not np.isfinite(values).all():
            raise HepgenInputError(f"non-finite {name} inputs after building the dilepton features")
    return DineutrinoArrays(
        objects, masks, target, l_p4.astype(np.float32), j_p4.astype(np.float32), idx, skipped, truth_observables
    )


def targets_to_momenta(values: Tensor | np.ndarray) -> Tensor | np.ndarray:
    """(px, py, η) of ν and ν̄ ``[..., 6]`` → their (px, py, pz) ``[..., 2, 3]`` with pz = pT sinh η."""
    lib = torch if isinstance(values, Tensor) else np
    pairs = values.reshape(*values.shape[:-1], 2, 3)
    px, py, eta = pairs[..., 0], pairs[..., 1], pairs[..., 2]
    pz = lib.sqrt(px**2 + py**2) * lib.sinh(eta)
    return lib.stack([px, py, pz], -1) if lib is torch else np.stack([px, py, pz], axis=-1)


class DineutrinoModel(nn.Module):
    """The object-set encoder and a conditional flow over the six targets (:data:`TARGETS`)."""

    def __init__(
        self,
        *,
        dim: int = 64,
        heads: int = 4,
        layers: int = 3,
        head_hidden: int = 128,
        flow_transforms: int = 4,
        inputs: str = "basic",
    ) -> None:
        super().__init__()
        if inputs not in INPUT_SETS:
            raise ValueError(f"unknown input set {inputs!r}; known: {list(INPUT_SETS)}")
        self.config = {
            "dim": dim,
            "heads": heads,
            "layers": layers,
            "head_hidden": head_hidden,
            "flow_transforms": flow_transforms,
            "inputs": inputs,
        }
        self.encoder = ObjectSetEncoder(INPUT_SETS[inputs], dim=dim, heads=heads, layers=layers)
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
    def sample(
        self, objects: dict[str, Tensor], masks: dict[str, Tensor], n: int, *, with_log_prob: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """``n`` posterior samples of the six targets per event ``[B, n, 6]`` (physical units; with ``with_log_prob``
        also their log density ``[B, n]`` in the standardised space, which ranks an event's samples)."""
        draws, log_prob = self.head.sample(self.encoder(objects, masks), n, with_log_prob=with_log_prob)
        draws = self.target_standardizer.inverse(draws).transpose(0, 1)
        return (draws, log_prob.transpose(0, 1)) if with_log_prob else draws


# -- the task -------------------------------------------------------------------------------------------------------

#: The classical methods ``predict --model`` runs (no training).
CLASSICAL_METHODS = {"ellipse": ellipse_method, "weighting": neutrino_weighting}


def b_candidates_p4(arrays: DineutrinoArrays) -> np.ndarray:
    """The two jets taken as b quarks per event ``[B, 2, 4]`` (zero where an event has one jet):
    :func:`~hepgen.physics.dilepton_neutrinos.b_jet_candidates`."""
    return _b_candidates(arrays.objects["jets"][..., 4], arrays.jets_p4, arrays.masks["jets"])


def _b_candidates(btag: np.ndarray, jets_p4: np.ndarray, mask: np.ndarray) -> np.ndarray:
    chosen = b_jet_candidates(btag, np.hypot(jets_p4[..., 0], jets_p4[..., 1]), mask)
    p4 = np.take_along_axis(jets_p4.astype(np.float64), np.maximum(chosen, 0)[..., None], axis=1)
    return np.where((chosen >= 0)[..., None], p4, 0.0)


def classical_tokens(
    b_pair: np.ndarray, leptons: np.ndarray, met: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The classical answers as model inputs: ``{"ellipse": (values [B, 8, 8], mask [B, 8]), "weighting": (values
    [B, 2, 8], mask [B, 2])}`` (:data:`SOLUTION_FEATURES`; zero where masked). The ellipse method's up to four
    solutions and Neutrino Weighting's best pair, each with the b candidates ``b_pair`` ``[B, 2, 4]`` in both orders
    (ℓ⁺ ``leptons[:, 0]`` with the first, then with the second); ``met`` (px, py) ``[B, 2]`` [GeV]."""
    out: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {name: ([], []) for name in CLASSICAL_METHODS}
    for start in range(0, len(b_pair), _CLASSICAL_CHUNK):
        rows = slice(start, start + _CLASSICAL_CHUNK)
        b, lep, m = b_pair[rows], leptons[rows], np.asarray(met[rows], dtype=np.float64)
        for name, method in CLASSICAL_METHODS.items():
            values, masks = [], []
            for swapped in (0, 1):
                bt, bbar = b[:, swapped], b[:, 1 - swapped]
                with np.errstate(all="ignore"):
                    solutions = method(bt, lep[:, 0], bbar, lep[:, 1], m)
                valid = solutions.valid & (np.abs(bt[:, 3]) > 0)[:, None] & (np.abs(bbar[:, 3]) > 0)[:, None]
                nu, nubar = np.nan_to_num(solutions.nu), np.nan_to_num(solutions.nubar)
                total = (bt + bbar + lep[:, 0] + lep[:, 1])[:, None] + massless_p4(nu) + massless_p4(nubar)
                m_ttbar = np.sqrt(np.maximum(total[..., 3] ** 2 - (total[..., :3] ** 2).sum(-1), 0.0))
                v = np.concatenate([nu, nubar, m_ttbar[..., None], np.full(m_ttbar.shape + (1,), float(swapped))], -1)
                values.append(np.where(valid[..., None], v, 0.0))
                masks.append(valid)
            out[name][0].append(np.concatenate(values, axis=1))
            out[name][1].append(np.concatenate(masks, axis=1))
    widths = {"ellipse": 8, "weighting": 2}
    return {
        name: (
            np.concatenate(v).astype(np.float32)
            if v
            else np.zeros((0, widths[name], len(SOLUTION_FEATURES)), np.float32),
            np.concatenate(k) if k else np.zeros((0, widths[name]), bool),
        )
        for name, (v, k) in out.items()
    }


def flow_pairing(b_pair: np.ndarray, leptons: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """The b candidates in top order ``[B, 2, 4]`` for the flow: the pairing whose m(ℓ⁺ν b), m(ℓ⁻ν̄ b̄) are nearer
    m_t on average over the posterior ``samples`` (px, py, pz) ``[B, S, 2, 3]`` (mean squared distance). Confirmed
    on the early-stopping validation events of the 100 000-event training (``analyses/dineutrino/point_estimators.py``):
    cos θ⁺ / cos θ⁻ resolution 0.328 / 0.347 against 0.358 / 0.378 with the median neutrinos' pairing (paired
    differences 0.030 ± 0.005, 0.031 ± 0.006), top pT 0.286 against 0.305 (m(tt̄) does not depend on the pairing)."""
    nus = massless_p4(samples.astype(np.float64))
    lep = leptons[:, None, :, :]
    cost = [
        (
            (invariant_mass(lep[:, :, 0], nus[:, :, 0], b_pair[:, None, k]) - TOP_MASS) ** 2
            + (invariant_mass(lep[:, :, 1], nus[:, :, 1], b_pair[:, None, 1 - k]) - TOP_MASS) ** 2
        ).mean(axis=1)
        for k in (0, 1)
    ]
    swap = cost[1] < cost[0]
    return np.where(swap[:, None, None], b_pair[:, ::-1], b_pair)


def _batch(part: DineutrinoArrays) -> tuple[dict[str, Tensor], dict[str, Tensor], Tensor]:
    """One training batch: (objects, masks, target)."""
    return (*part.tensors(), torch.as_tensor(part.target))


@dataclass
class DineutrinoTraining(TrainSettings):
    """``hepgen train dineutrino``: a flow over both neutrinos on a transformer encoding of the event."""

    data: list[str] = setting([], "training ROOT files (globs allowed)", required=True, metavar="FILE")
    schema: str = setting("hepgen-ttbar-dilepton", "the reading schema (see `hepgen schemas`)")
    dim: int = setting(64, "token width of the encoder")
    heads: int = setting(4, "attention heads")
    layers: int = setting(3, "self-attention blocks")
    head_hidden: int = setting(128, "hidden width of the flow's networks")
    flow_transforms: int = setting(4, "spline transforms of the flow")
    inputs: str = setting(
        "basic",
        "the input set: basic, or constrained (adds the ellipse method's solutions and "
        "Neutrino Weighting's best pair as tokens)",
        choices=tuple(INPUT_SETS),
    )


@dataclass
class DineutrinoPrediction(PredictSettings):
    """``hepgen predict dineutrino``: both neutrinos for every usable event, by a trained flow or a classical method."""

    data: list[str] = setting([], "input ROOT files (globs allowed)", required=True, metavar="FILE")
    model: str | None = setting(None, "a classical method instead of --run", choices=tuple(CLASSICAL_METHODS))
    schema: str = setting("hepgen-ttbar-dilepton", "the reading schema (see `hepgen schemas`)")
    samples: int = redefault(PredictSettings, "samples", 256)
    batch_size: int = setting(512, "events per network call")


@dataclass
class DineutrinoValidation(ValidateSettings):
    """``hepgen validate dineutrino``: the methods of the prediction files (one per method) on the same events."""


class DineutrinoTask(Task):
    """ν²-Flows against the ellipse method and Neutrino Weighting (see the module docstring)."""

    name = "dineutrino"
    summary = "both neutrinos of dilepton tt̄: a flow against the ellipse method and Neutrino Weighting"
    Training = DineutrinoTraining
    Prediction = DineutrinoPrediction
    Validation = DineutrinoValidation
    model_class = DineutrinoModel
    output_tree = "Dineutrino"
    block_size = 1024
    group_name = "method (prediction file)"

    def build_model(self, settings: DineutrinoTraining) -> DineutrinoModel:
        return DineutrinoModel(
            dim=settings.dim,
            heads=settings.heads,
            layers=settings.layers,
            head_hidden=settings.head_hidden,
            flow_transforms=settings.flow_transforms,
            inputs=settings.inputs,
        )

    def training_data(self, settings: DineutrinoTraining, model: DineutrinoModel) -> TrainingData:
        from hepgen.io import read

        arrays = dineutrino_arrays(
            read(settings.data, settings.schema, entry_stop=settings.max_events),
            require_truth=True,
            inputs=settings.inputs,
        )
        if len(arrays) < 10:
            raise HepgenInputError(
                f"only {len(arrays)} usable events in {settings.data}; training needs more (skipped: {arrays.skipped})"
            )
        train, val = split_events(arrays, settings.val_fraction, settings.seed)
        model.fit_standardization(train)
        return TrainingData(
            event_batches(train, settings.batch_size, _batch, shuffle=True, seed=settings.seed),
            event_batches(val, 4 * settings.batch_size, _batch, shuffle=False, seed=0),
            f"training the flow on {len(train)} events, validating on {len(val)} (skipped {arrays.skipped})",
        )

    def loss(
        self, model: DineutrinoModel, batch: Any, *, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        objects, masks, target = batch
        return {"nll": model.loss(objects, masks, target)}

    def load_predictor(self, settings: DineutrinoPrediction) -> DineutrinoModel | str:
        """The trained model of ``--run``, or the name of the classical method of ``--model``."""
        if (settings.run is None) == (settings.model is None) or settings.onnx:
            raise HepgenInputError("give either a trained --run or --model ellipse|weighting")
        return settings.model if settings.model is not None else super().load_predictor(settings)

    def count_entries(self, settings: DineutrinoPrediction) -> int:
        from hepgen.io import count_entries

        return count_entries(settings.data, settings.schema)

    def input_files(self, settings: DineutrinoPrediction) -> list[str]:
        from hepgen.io.files import expand_files

        return expand_files(settings.data)

    def prediction_metadata(self, predictor: DineutrinoModel | str, settings: DineutrinoPrediction) -> dict[str, Any]:
        return {"method": predictor if isinstance(predictor, str) else "flow"}

    def predict_block(
        self, predictor: DineutrinoModel | str, settings: DineutrinoPrediction, block: Block
    ) -> BlockOutput:
        """Both neutrinos of one block's usable events (see the module docstring for the branches)."""
        from hepgen.io import read

        events = read(settings.data, settings.schema, entry_start=block.start, entry_stop=block.stop)
        arrays = dineutrino_arrays(events, inputs="basic" if isinstance(predictor, str) else predictor.config["inputs"])
        b_pair = b_candidates_p4(arrays)
        leptons = arrays.leptons_p4.astype(np.float64)
        met = arrays.objects["met"][:, 0].astype(np.float64)
        outputs: dict[str, np.ndarray] = {}
        if isinstance(predictor, str):
            solutions, pairing = solve_with_pairings(
                CLASSICAL_METHODS[predictor], b_pair, leptons[:, 0], leptons[:, 1], met
            )
            point = np.nan_to_num(np.stack([solutions.chosen_nu, solutions.chosen_nubar], axis=1))  # 0 where failed
            outputs["answered"] = ~solutions.failed
            ordered = np.where((pairing == 1)[:, None, None], b_pair[:, ::-1], b_pair)
        else:
            torch.manual_seed(block.seed)
            draws = []
            for start in range(0, len(arrays), settings.batch_size):
                objects, masks = arrays.select(
                    np.arange(start, min(start + settings.batch_size, len(arrays)))
                ).tensors()
                draws.append(targets_to_momenta(predictor.sample(objects, masks, settings.samples)).numpy())
            samples = np.concatenate(draws) if draws else np.zeros((0, settings.samples, 2, 3), np.float32)
            point = np.median(samples, axis=1)
            outputs["samples"] = samples.astype(np.float32)
            outputs["answered"] = np.ones(len(arrays), bool)
            ordered = flow_pairing(b_pair, leptons, samples)
        outputs["point"] = point.astype(np.float32)
        outputs["b_p4"] = ordered.astype(np.float32)
        outputs["leptons_p4"] = arrays.leptons_p4
        if arrays.target is not None:
            outputs["truth"] = targets_to_momenta(arrays.target).astype(np.float32)
        if arrays.truth_observables is not None:
            outputs |= {f"truth_{k}": v.astype(np.float32) for k, v in arrays.truth_observables.items()}
        event_id = {k: v[arrays.event_index] for k, v in events.event_id.items()}
        return BlockOutput({"Dineutrino": (outputs, event_id)}, counts=dict(arrays.skipped))

    def validate(self, settings: DineutrinoValidation) -> dict[str, Any]:
        from hepgen.validation.dineutrino_comparison import validate_dineutrino

        return validate_dineutrino(
            settings.pred,
            settings.out,
            label_text=settings.label,
            experiment=settings.experiment,
            figures=settings.figures,
        )

    def validation_headline(self, metrics: dict[str, Any]) -> str:
        return f"validated {len(metrics['methods'])} method(s) on {metrics['events']} events"


#: The dilepton task, as registered in :mod:`hepgen.tasks.registry`.
DINEUTRINO = DineutrinoTask()
