"""ν-Flows: the posterior p(ν | event) of the W-decay neutrino in tt̄ → ℓ+jets.

The whole story in one file:

* **inputs** — the leading lepton (px, py, pz, log E, charge, is-muon), up to
  ten jets (px, py, pz, log E, b-tag), MET (px, py) and the two analytic
  W-mass roots (smaller and larger |pz|, and whether they were complex), read
  through the readers' schemas (``hepgen-ttbar`` or CMS ``nanoaod``); the
  ``constrained`` input set (:data:`INPUT_SETS`) adds to every jet the
  top-candidate masses m(ℓνj) built with each W-mass root and MET, the
  quantity that tells the right root from the wrong one;
* **encoder** — one token per object, an embedding per object type, masked
  self-attention blocks, class-attention pooling (:mod:`hepgen.nn`);
* **heads** — ``mse``, ``gauss``, ``mdn`` or ``flow`` (:mod:`hepgen.models.regressors`),
  all trained by the same loss, −log p(y | event);
* **target** — the neutrino's (px, py, η). η rather than pz: pz has heavy,
  event-dependent tails (|pz| of a few TeV), while η is bounded in practice
  and close to Gaussian, which makes the density far easier to learn. pz is
  recovered exactly as pT sinh η for every sample.
* **standardisation** — fitted on the training set and stored in the model's
  buffers, so a saved model needs no training data.

* **task** — :data:`NEUTRINO`: the settings of ``hepgen train|predict|validate neutrino``, the
  loss, and the prediction file (tree ``Neutrino``: the point estimate ``[B, 3]``, the posterior
  samples ``[B, S, 3]``, the lepton and, when known, the truth), which
  :mod:`hepgen.validation.neutrino_comparison` compares with the analytic solution.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.distributions import AffineTransform, Distribution, TransformedDistribution

from hepgen.errors import HepgenInputError
from hepgen.io.events import Events
from hepgen.io.pointcloud import PointCloud
from hepgen.models.regressors import HEADS, FlowHead, make_head
from hepgen.nn import MaskedStandardizer, ObjectSetEncoder
from hepgen.physics.kinematics import p4_from_pt_eta_phi_mass
from hepgen.physics.neutrino import solve_neutrino_pz
from hepgen.tasks.base import Block, BlockOutput, PredictSettings, Task, TrainingData, TrainSettings, ValidateSettings
from hepgen.tasks.data_parallel import event_batches, split_events
from hepgen.tasks.settings import redefault, setting

__all__ = [
    "TARGETS",
    "OBJECT_FEATURES",
    "FEATURE_DOCS",
    "BTAG_THRESHOLD",
    "btag_flags",
    "NeutrinoSamplingGraph",
    "OnnxNeutrinoSampler",
    "posterior_outputs",
    "posterior_samples_dask",
    "NeutrinoArrays",
    "neutrino_arrays",
    "NeutrinoModel",
    "targets_to_momentum",
    "batches",
    "NeutrinoTraining",
    "NeutrinoPrediction",
    "NeutrinoValidation",
    "NeutrinoTask",
    "NEUTRINO",
]

#: What the model predicts, per event: the neutrino's (px [GeV], py [GeV], η).
TARGETS = ("px", "py", "eta")

#: Per object type, the features the encoder reads (GeV, radians): the ``basic`` input set.
OBJECT_FEATURES: dict[str, tuple[str, ...]] = {
    "lepton": ("px", "py", "pz", "log_energy", "charge", "is_muon"),
    "jets": ("px", "py", "pz", "log_energy", "btag"),
    "met": ("px", "py"),
    "analytic": ("pz_small", "pz_large", "is_complex"),
}

#: The input sets a model can read, by name. ``constrained`` adds to each jet m(ℓ ν j) [GeV] with ν = (MET, the
#: smaller-|pz| root) and with the larger root: near m_t for the leptonic b and the right root.
INPUT_SETS: dict[str, dict[str, tuple[str, ...]]] = {
    "basic": OBJECT_FEATURES,
    "constrained": OBJECT_FEATURES | {"jets": (*OBJECT_FEATURES["jets"], "m_lnuj_small", "m_lnuj_large")},
}

#: What each input feature is, with its unit: what a caller outside hepgen (the ONNX export) must compute.
FEATURE_DOCS: dict[str, str] = {
    "px": "GeV",
    "py": "GeV",
    "pz": "GeV",
    "log_energy": "ln(E / GeV)",
    "charge": "the lepton's charge, ±1",
    "is_muon": "1 for a muon, 0 for an electron",
    "btag": "1 if b-tagged (a discriminator above its working point, e.g. DeepJet > 0.3), else 0",
    "pz_small": "GeV, the W-mass solution for the neutrino's pz with the smaller |pz| (the real part if complex)",
    "pz_large": "GeV, the other W-mass solution",
    "is_complex": "1 if the W-mass solutions were complex, else 0",
    "m_lnuj_small": "GeV, m(ℓ ν j) of this jet with ν = (MET, pz_small)",
    "m_lnuj_large": "GeV, m(ℓ ν j) of this jet with ν = (MET, pz_large)",
}

_LEPTON_PT_MIN_NANOAOD = 20.0

#: A b-tag discriminator above this is a tag: DeepJet's medium working point is 0.28–0.31 in Run 2 (NanoAOD's
#: ``Jet_btagDeepFlavB``); hepgen's own files hold 0/1 flags, which it leaves unchanged.
BTAG_THRESHOLD = 0.3

log = logging.getLogger(__name__)


def btag_flags(discriminator: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The model's b-tag input, 1 for a tagged jet and 0 otherwise ``[B, N]``, from a discriminator or 0/1 flags.

    Negative values are NanoAOD's placeholders for a discriminator that was not computed (the 2015 CMS Open Data file
    has ``Jet_btagDeepFlavB = −3000`` for every jet): untagged, and counted in a warning — fed as they are, they would
    sit thousands of standard deviations from anything the model saw.
    """
    discriminator = np.asarray(discriminator)
    placeholder = (discriminator < 0) & mask
    if placeholder.any():
        log.warning(
            "%d of %d jets have no b-tag discriminator (placeholder values < 0): treated as untagged",
            int(placeholder.sum()),
            int(mask.sum()),
        )
    return ((discriminator > BTAG_THRESHOLD) & mask).astype(np.float32)


@dataclass
class NeutrinoArrays:
    """Model inputs (and truth, when known) for ``B`` events, as numpy arrays.

    Attributes:
        objects: object type → values ``[B, N_type, F_type]`` (float32).
        masks: object type → mask ``[B, N_type]``.
        target: truth (px, py, η) ``[B, 3]`` or None.
        lepton_p4: the lepton's (px, py, pz, E) ``[B, 4]``, for m(ℓν) in validation.
        b_lep_p4: the truth leptonic-top b (px, py, pz, E) ``[B, 4]`` or None.
        analytic_pz: the analytic solution's chosen pz ``[B]``.
        event_index: the kept events' positions in the input ``Events`` ``[B]``.
        skipped: reasons → number of input events left out (no lepton, no truth neutrino, ...).
        analytic_roots: both roots of the W-mass constraint ``[B, 2]`` (equal when complex).
        jets_p4: the jets' (px, py, pz, E) ``[B, N, 4]`` (zero padding), for the χ² reconstruction.
        parton_jets: the jet matched to each parton (b_lep, b_had, q1, q2) ``[B, 4]`` (−1: none, or unknown).
    """

    objects: dict[str, np.ndarray]
    masks: dict[str, np.ndarray]
    target: np.ndarray | None
    lepton_p4: np.ndarray
    b_lep_p4: np.ndarray | None
    analytic_pz: np.ndarray
    event_index: np.ndarray
    skipped: dict[str, int]
    analytic_roots: np.ndarray | None = None
    jets_p4: np.ndarray | None = None
    parton_jets: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.event_index)

    def select(self, index: np.ndarray) -> NeutrinoArrays:
        def pick(a):
            return None if a is None else a[index]

        return NeutrinoArrays(
            {k: v[index] for k, v in self.objects.items()},
            {k: v[index] for k, v in self.masks.items()},
            pick(self.target),
            self.lepton_p4[index],
            pick(self.b_lep_p4),
            self.analytic_pz[index],
            self.event_index[index],
            dict(self.skipped),
            pick(self.analytic_roots),
            pick(self.jets_p4),
            pick(self.parton_jets),
        )

    @property
    def b_lep_jet(self) -> np.ndarray:
        """The jet of the leptonic b ``[B]`` (−1 if unmatched or unknown): the jet-assignment target."""
        if self.parton_jets is None:
            return np.full(len(self), -1, dtype=np.int64)
        return self.parton_jets[:, 0].astype(np.int64)

    def tensors(self, device: str | torch.device | None = None) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        objects = {k: torch.as_tensor(v, device=device) for k, v in self.objects.items()}
        masks = {k: torch.as_tensor(v, device=device) for k, v in self.masks.items()}
        return objects, masks


def _leading_lepton(events: Events) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(p4 [B, 4], charge [B], is_muon [B], has_lepton [B]) of the leading lepton."""
    if "leptons" in events:
        cloud = events["leptons"]
        is_muon = np.abs(cloud["pdgId"][:, 0]) == 13
        has = cloud.mask[:, 0]
        p4 = p4_from_pt_eta_phi_mass(cloud["pt"][:, 0], cloud["eta"][:, 0], cloud["phi"][:, 0], cloud["mass"][:, 0])
        return p4, cloud["charge"][:, 0], is_muon, has
    if "electrons" in events and "muons" in events:  # CMS NanoAOD: the leading e or μ above 20 GeV
        e, m = events["electrons"], events["muons"]
        e_pt = np.where(e.mask[:, 0], e["pt"][:, 0], 0.0)
        m_pt = np.where(m.mask[:, 0], m["pt"][:, 0], 0.0)
        is_muon = m_pt > e_pt

        def pick(f):
            return np.where(is_muon, m[f][:, 0], e[f][:, 0])

        p4 = p4_from_pt_eta_phi_mass(pick("pt"), pick("eta"), pick("phi"), pick("mass"))
        has = np.maximum(e_pt, m_pt) > _LEPTON_PT_MIN_NANOAOD
        return p4, pick("charge"), is_muon, has
    raise HepgenInputError(
        f"the events hold no lepton collection ('leptons', or 'electrons' and 'muons'): {list(events)}"
    )


def _truth_neutrino(events: Events) -> tuple[np.ndarray, np.ndarray] | None:
    """(p4 [B, 4], present [B]) of the truth W-decay neutrino, or None without truth."""
    for name in ("neutrino", "neutrinos"):
        if name in events.truth:
            cloud = events.truth[name]
            return p4_from_pt_eta_phi_mass(
                cloud["pt"][:, 0], cloud["eta"][:, 0], cloud["phi"][:, 0], np.zeros(cloud.n_events)
            ), cloud.mask[:, 0]
    return None


def neutrino_arrays(
    events: Events, *, max_jets: int = 10, require_truth: bool = False, inputs: str = "basic"
) -> NeutrinoArrays:
    """Build the model inputs (the input set ``inputs`` of :data:`INPUT_SETS`) from events read with the
    ``hepgen-ttbar`` or ``nanoaod`` schema.

    Events without a lepton, without jets, or (with ``require_truth``) without a
    truth neutrino are left out and counted in ``skipped``.
    """
    if inputs not in INPUT_SETS:
        raise HepgenInputError(f"unknown neutrino input set {inputs!r}; known: {list(INPUT_SETS)}")
    lepton_p4, charge, is_muon, has_lepton = _leading_lepton(events)
    jets: PointCloud = events["jets"]
    if jets.max_length > max_jets:
        jets = PointCloud(jets.values[:, :max_jets], jets.mask[:, :max_jets], jets.features)
    has_jets = jets.mask.any(axis=1)
    met = events["met"]
    met_px, met_py = met["px"][:, 0], met["py"][:, 0]
    truth = _truth_neutrino(events)
    keep = has_lepton & has_jets
    skipped = {"no lepton": int((~has_lepton).sum()), "no jets": int((has_lepton & ~has_jets).sum())}
    if require_truth:
        if truth is None:
            raise HepgenInputError("training needs truth neutrinos, but the schema has no neutrino truth collection")
        skipped["no truth neutrino"] = int((keep & ~truth[1]).sum())
        keep &= truth[1]
    idx = np.flatnonzero(keep)

    jet_p4 = p4_from_pt_eta_phi_mass(jets["pt"], jets["eta"], jets["phi"], jets["mass"])
    btag = btag_flags(jets["btag"], jets.mask) if "btag" in jets.features else np.zeros(jets.mask.shape, np.float32)
    with np.errstate(divide="ignore"):
        jet_features = np.concatenate(
            [jet_p4[..., :3], np.log(np.where(jets.mask, jet_p4[..., 3], 1.0))[..., None], btag[..., None]], axis=-1
        )
    jet_features *= jets.mask[..., None]
    lepton_features = np.concatenate(
        [lepton_p4[:, :3], np.log(np.maximum(lepton_p4[:, 3:4], 1e-3)), charge[:, None], is_muon[:, None]], axis=-1
    )
    solution = solve_neutrino_pz(*lepton_p4[idx].T, met_px[idx], met_py[idx])
    small = np.where(np.abs(solution.pz_plus) < np.abs(solution.pz_minus), solution.pz_plus, solution.pz_minus)
    large = np.where(np.abs(solution.pz_plus) < np.abs(solution.pz_minus), solution.pz_minus, solution.pz_plus)
    analytic = np.stack([small, large, solution.is_complex.astype(np.float64)], axis=-1)

    B = len(idx)
    jet_features = jet_features[idx]
    if inputs == "constrained":
        jet_features = np.concatenate(
            [
                jet_features,
                _top_candidate_masses(
                    lepton_p4[idx], jet_p4[idx], jets.mask[idx], met_px[idx], met_py[idx], small, large
                ),
            ],
            -1,
        )
    objects = {
        "lepton": lepton_features[idx, None, :].astype(np.float32),
        "jets": jet_features.astype(np.float32),
        "met": np.stack([met_px, met_py], axis=-1)[idx, None, :].astype(np.float32),
        "analytic": analytic[:, None, :].astype(np.float32),
    }
    masks = {
        "lepton": np.ones((B, 1), bool),
        "jets": jets.mask[idx],
        "met": np.ones((B, 1), bool),
        "analytic": np.ones((B, 1), bool),
    }
    target = None
    if truth is not None:
        nu = truth[0][idx]
        pt = np.hypot(nu[:, 0], nu[:, 1])
        target = np.stack([nu[:, 0], nu[:, 1], np.arcsinh(nu[:, 2] / np.maximum(pt, 1e-9))], axis=-1).astype(np.float32)
        target[~truth[1][idx]] = np.nan  # no truth for this event (only possible without require_truth)
    b_lep, parton_jets = None, None
    if "partons" in events.truth:
        p = events.truth["partons"]
        b_lep = p4_from_pt_eta_phi_mass(p["pt"][:, 0], p["eta"][:, 0], p["phi"][:, 0], p["mass"][:, 0])[idx]
        if "jetIdx" in p.features:
            matched = np.where(p.mask, p["jetIdx"], -1).astype(np.int64)[idx]
            parton_jets = np.where(matched < jets.max_length, matched, -1)  # a jet beyond those read is no match
    for name, values in objects.items():
        if not np.isfinite(values).all():
            raise HepgenInputError(f"non-finite {name} inputs after building the neutrino features")
    roots = np.stack([solution.pz_plus, solution.pz_minus], axis=-1)
    return NeutrinoArrays(
        objects,
        masks,
        target,
        lepton_p4[idx],
        b_lep,
        solution.pz,
        idx,
        skipped,
        roots,
        (jet_p4 * jets.mask[..., None])[idx].astype(np.float32),
        parton_jets,
    )


def _top_candidate_masses(
    lepton_p4: np.ndarray,
    jet_p4: np.ndarray,
    mask: np.ndarray,
    met_px: np.ndarray,
    met_py: np.ndarray,
    pz_small: np.ndarray,
    pz_large: np.ndarray,
) -> np.ndarray:
    """m(ℓ ν j) [GeV] of every jet with ν = (MET, each W-mass root) ``[B, N, 2]`` (zero for padding)."""
    masses = []
    for pz in (pz_small, pz_large):
        nu = np.stack([met_px, met_py, pz, np.sqrt(met_px**2 + met_py**2 + pz**2)], axis=-1)
        p = (lepton_p4 + nu)[:, None, :] + jet_p4
        masses.append(np.sqrt(np.maximum(p[..., 3] ** 2 - (p[..., :3] ** 2).sum(-1), 0.0)))
    return np.stack(masses, axis=-1) * mask[..., None]


def targets_to_momentum(values: Tensor | np.ndarray) -> Tensor | np.ndarray:
    """(px, py, η) ``[..., 3]`` → (px, py, pz) ``[..., 3]`` with pz = pT sinh η."""
    lib = torch if isinstance(values, Tensor) else np
    px, py, eta = values[..., 0], values[..., 1], values[..., 2]
    pz = lib.sqrt(px**2 + py**2) * lib.sinh(eta)
    return lib.stack([px, py, pz], -1) if lib is torch else np.stack([px, py, pz], axis=-1)


#: The encoder's parameters, saved at the top level of the model before it became an ObjectSetEncoder.
_ENCODER_PARTS = ("standardizers.", "embeddings.", "type_embedding.", "blocks.", "pool.")


def _encoder_keys(module: nn.Module, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
    """Load models saved with the encoder's parameters at the top level (``blocks.0…`` → ``encoder.blocks.0…``)."""
    for key in [k for k in state_dict if k.startswith(prefix) and k[len(prefix) :].startswith(_ENCODER_PARTS)]:
        state_dict[f"{prefix}encoder.{key[len(prefix) :]}"] = state_dict.pop(key)


class NeutrinoModel(nn.Module):
    """Transformer encoder over the event's objects + a density head over (px, py, η) (+ a jet-assignment head).

    Args:
        head: ``mse``, ``gauss``, ``mdn`` or ``flow``.
        dim: token width; heads: attention heads; layers: self-attention blocks.
        head_hidden: hidden width of the head's networks.
        flow_transforms: spline coupling transforms (flow head).
        mdn_components: mixture components (mdn head).
        max_jets: jets read per event.
        inputs: the input set (:data:`INPUT_SETS`); models saved before it existed read ``basic``.
        assignment: also predict which jet is the leptonic b (a per-jet softmax over the jet tokens), trained
            jointly, the assignment's loss weighted by a learned homoscedastic uncertainty (Kendall, Gal, Cipolla
            2018: e^{−s} CE + ½ s). The density's loss keeps weight 1: it is already a normalised negative
            log-likelihood (a learned temperature e^{−s} NLL + ½ s has no minimum once the NLL is negative, which a
            flow reaches on standardised targets), in the same units as the classification's cross-entropy.
    """

    def __init__(
        self,
        *,
        head: str = "flow",
        dim: int = 64,
        heads: int = 4,
        layers: int = 3,
        head_hidden: int = 128,
        flow_transforms: int = 4,
        mdn_components: int = 5,
        max_jets: int = 10,
        dropout: float = 0.0,
        assignment: bool = False,
        inputs: str = "basic",
    ) -> None:
        super().__init__()
        self.config = {
            "head": head,
            "dim": dim,
            "heads": heads,
            "layers": layers,
            "head_hidden": head_hidden,
            "flow_transforms": flow_transforms,
            "mdn_components": mdn_components,
            "max_jets": max_jets,
            "dropout": dropout,
            "assignment": assignment,
            "inputs": inputs,
        }
        if inputs not in INPUT_SETS:
            raise ValueError(f"unknown input set {inputs!r}; known: {list(INPUT_SETS)}")
        features = INPUT_SETS[inputs]
        self.head_kind = head
        self.encoder = ObjectSetEncoder(features, dim=dim, heads=heads, layers=layers, dropout=dropout)
        self.target_standardizer = MaskedStandardizer(len(TARGETS))
        self.register_load_state_dict_pre_hook(_encoder_keys)
        options: dict[str, int] = {"hidden": head_hidden}
        if head == "flow":
            options["transforms"] = flow_transforms
        if head == "mdn":
            options["components"] = mdn_components
        self.head = make_head(head, dim, len(TARGETS), **options)
        if assignment:
            self.assignment_head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, 1))
            # log σ² of the assignment's loss (Kendall et al. 2018)
            self.log_variance = nn.Parameter(torch.zeros(()))

    @property
    def point_estimate(self) -> bool:
        """True for the MSE head (no spread: its samples are its point)."""
        return bool(getattr(self.head, "point_estimate", False))

    @property
    def has_assignment(self) -> bool:
        return hasattr(self, "assignment_head")

    def fit_standardization(self, arrays: NeutrinoArrays) -> None:
        """Fit every input and target standardizer on training arrays."""
        self.encoder.fit_standardization(
            {k: torch.as_tensor(v) for k, v in arrays.objects.items()},
            {k: torch.as_tensor(v) for k, v in arrays.masks.items()},
        )
        if arrays.target is None:
            raise HepgenInputError("fitting the target standardisation needs truth targets")
        self.target_standardizer.fit(torch.as_tensor(arrays.target))

    def encode(self, objects: dict[str, Tensor], masks: dict[str, Tensor]) -> Tensor:
        """Context vector ``[B, dim]`` of each event."""
        return self.encoder(objects, masks)

    def forward(self, objects: dict[str, Tensor], masks: dict[str, Tensor]) -> Distribution:
        """The posterior over the *standardised* targets (what the loss uses)."""
        return self.head(self.encode(objects, masks))

    def _assignment_logits(self, tokens: Tensor, masks: dict[str, Tensor]) -> Tensor:
        n_jets = masks["jets"].shape[1]
        logits = self.assignment_head(tokens[:, 1 : 1 + n_jets]).squeeze(-1)  # the jet tokens follow the lepton's
        return logits.masked_fill(~masks["jets"], float("-inf"))

    def losses(
        self, objects: dict[str, Tensor], masks: dict[str, Tensor], target: Tensor, b_jet: Tensor | None = None
    ) -> dict[str, Tensor]:
        """The negative log-likelihood of the standardised targets; with the assignment head also the cross-entropy
        of the leptonic-b jet (events without a matched jet excluded) and the uncertainty-weighted total."""
        tokens, mask = self.encoder.tokens(objects, masks)
        nll = -self.head(self.encoder.pool(tokens, mask)).log_prob(self.target_standardizer(target)).mean()
        if not self.has_assignment:
            return {"nll": nll}
        logits = self._assignment_logits(tokens, masks)
        known = b_jet >= 0
        ce = (
            nn.functional.cross_entropy(logits[known], b_jet[known], reduction="sum") / known.sum().clamp_min(1)
            if known.any()
            else logits.sum() * 0.0
        )
        s = self.log_variance
        weighted = nll + torch.exp(-s) * ce + 0.5 * s  # a classification's uncertainty weight: e^{−s} CE + ½ s
        return {"nll": nll, "assignment": ce, "assignment_log_variance": s.detach(), "weighted": weighted}

    def loss(self, objects: dict[str, Tensor], masks: dict[str, Tensor], target: Tensor) -> Tensor:
        """Mean negative log-likelihood of the standardised targets."""
        return self.losses(objects, masks, target)["nll"]

    @torch.no_grad()
    def assignment_probability(self, objects: dict[str, Tensor], masks: dict[str, Tensor]) -> Tensor:
        """p(jet j is the leptonic b) ``[B, N_jets]`` (zero for padding)."""
        tokens, _ = self.encoder.tokens(objects, masks)
        return torch.softmax(self._assignment_logits(tokens, masks), dim=-1).nan_to_num(0.0)

    def posterior(self, objects: dict[str, Tensor], masks: dict[str, Tensor]) -> Distribution:
        """The posterior over physical (px [GeV], py [GeV], η)."""
        std = self.target_standardizer
        return TransformedDistribution(self(objects, masks), [AffineTransform(std.mean, std.std, event_dim=1)])

    @torch.no_grad()
    def sample(
        self, objects: dict[str, Tensor], masks: dict[str, Tensor], n: int, *, with_log_prob: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """``n`` posterior samples of (px, py, η) per event ``[B, n, 3]``; with ``with_log_prob`` also the log
        density of each ``[B, n]`` (up to a constant per event: in the standardised space, which ranks the samples of
        an event exactly as the physical one — what the mode estimate needs). The flow gives both in one pass."""
        std = self.target_standardizer
        if isinstance(self.head, FlowHead):  # one encoder pass, per-event flow work once per event
            draws, log_prob = self.head.sample(self.encode(objects, masks), n, with_log_prob=with_log_prob)
            draws = std.inverse(draws).transpose(0, 1)
            return (draws, log_prob.transpose(0, 1)) if with_log_prob else draws
        dist = self(objects, masks)
        if not with_log_prob:
            return std.inverse(dist.sample((n,))).transpose(0, 1)  # [n, B, 3] → [B, n, 3]
        if hasattr(dist, "rsample_and_log_prob"):
            draws, log_prob = dist.rsample_and_log_prob((n,))
        else:
            draws = dist.sample((n,))
            log_prob = dist.log_prob(draws)
        return std.inverse(draws).transpose(0, 1), log_prob.transpose(0, 1)


class NeutrinoSamplingGraph(nn.Module):
    """The flow's sampling pass as one graph for ONNX: the objects and masks of :data:`INPUT_SETS` (in the order of
    ``model.encoder.features``) and base-distribution noise ``[B, S, 3]`` (standard normal) → samples (px, py, η)
    ``[B, S, 3]``, momenta (px, py, pz) [GeV] ``[B, S, 3]``, log densities ``[B, S]`` (standardised space) and, with
    the assignment head, p(jet is the leptonic b) ``[B, N_jets]``. Deterministic given the noise."""

    def __init__(self, model: NeutrinoModel) -> None:
        super().__init__()
        from hepgen.models.flow_sampling import ContextCachedSampler, supports

        if not isinstance(model.head, FlowHead) or not supports(model.head.flow):
            raise HepgenInputError(
                f"only flow-head neutrino models export their sampling pass; this one has a {model.head_kind!r} head"
            )
        self.model = model
        self.sampler = ContextCachedSampler(model.head.flow)
        self.names = list(model.encoder.features)

    def forward(self, *inputs: Tensor) -> tuple[Tensor, ...]:
        *tensors, noise = inputs
        objects = {k: tensors[2 * i] for i, k in enumerate(self.names)}
        masks = {k: tensors[2 * i + 1] for i, k in enumerate(self.names)}
        tokens, token_mask = self.model.encoder.tokens(objects, masks)
        x, log_prob = self.sampler.transform_noise(
            self.model.encoder.pool(tokens, token_mask), noise.transpose(0, 1), with_log_prob=True
        )
        samples = self.model.target_standardizer.inverse(x).transpose(0, 1)
        px, py, eta = samples.unbind(-1)
        pz = (
            torch.sqrt(px * px + py * py) * 0.5 * (torch.exp(eta) - torch.exp(-eta))
        )  # sinh: the exporter has no aten::sinh
        out = (samples, torch.stack([px, py, pz], -1), log_prob.transpose(0, 1))
        if self.model.has_assignment:
            probability = torch.softmax(self.model._assignment_logits(tokens, masks), dim=-1).nan_to_num(0.0)
            out = (*out, probability)
        return out


class OnnxNeutrinoSampler:
    """An exported neutrino flow (``hepgen export neutrino``) run with onnxruntime, with the sampling interface of
    :class:`NeutrinoModel` that :meth:`NeutrinoTask.predict_block` uses: the base noise is drawn from torch's
    generator exactly as the PyTorch flow draws it, so ``predict --onnx`` gives ``predict --run``'s numbers."""

    point_estimate = False
    head_kind = "flow"

    def __init__(self, folder: str, *, threads: int | None = None) -> None:
        from hepgen.tasks.onnx_export import OnnxGraphs

        self.graphs = OnnxGraphs(folder, task="neutrino", threads=threads)
        self.config = self.graphs.metadata["model_config"]
        self.has_assignment = bool(self.config.get("assignment"))

    def _run(self, objects: dict[str, Tensor], masks: dict[str, Tensor], noise: Tensor) -> dict[str, np.ndarray]:
        feed = {**{k: v for k, v in objects.items()}, **{f"{k}_mask": v for k, v in masks.items()}, "noise": noise}
        return self.graphs.run("neutrino_sampler", **feed)

    def sample(
        self, objects: dict[str, Tensor], masks: dict[str, Tensor], n: int, *, with_log_prob: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """As :meth:`NeutrinoModel.sample`: ``[B, n, 3]`` samples of (px, py, η) (and their log density ``[B, n]``)."""
        B = next(iter(objects.values())).shape[0]
        noise = torch.normal(torch.zeros(n, B, len(TARGETS)), torch.ones(n, B, len(TARGETS)))  # zuko's base.sample
        out = self._run(objects, masks, noise.transpose(0, 1).contiguous())
        self._assignment = out.get("assignment_probability")
        samples = torch.from_numpy(out["samples"])
        return (samples, torch.from_numpy(out["log_density"])) if with_log_prob else samples

    def assignment_probability(self, objects: dict[str, Tensor], masks: dict[str, Tensor]) -> Tensor:
        """p(jet j is the leptonic b) ``[B, N_jets]`` (one sample's pass; the assignment does not depend on noise)."""
        B = next(iter(objects.values())).shape[0]
        return torch.from_numpy(self._run(objects, masks, torch.zeros(B, 1, len(TARGETS)))["assignment_probability"])


def neutrino_export_graphs(
    model: NeutrinoModel, *, events: int = 6, samples: int = 5
) -> tuple[list[Any], dict[str, Any]]:
    """The exported graph of a flow-head model (:class:`NeutrinoSamplingGraph`), checked on random inputs of
    ``events`` events (some jets padded) and ``samples`` samples, and the feature definitions for the caller."""
    from hepgen.tasks.onnx_export import ExportGraph, TensorDoc

    graph = NeutrinoSamplingGraph(model)
    features = INPUT_SETS[model.config["inputs"]]
    generator = torch.Generator().manual_seed(0)
    inputs: dict[str, Tensor] = {}
    docs: dict[str, TensorDoc] = {}
    for name in graph.names:
        std = model.encoder.standardizers[name]
        width = model.config["max_jets"] if name == "jets" else 1
        values = std.mean + std.std * torch.randn(events, width, len(features[name]), generator=generator)
        mask = torch.ones(events, width, dtype=torch.bool)
        if name == "jets":  # 4 … max_jets real jets, the rest padding (zeros, as the reader pads)
            real = torch.randint(4, width + 1, (events,), generator=generator)
            mask = torch.arange(width)[None, :] < real[:, None]
            values = values * mask[..., None]
            if name == "jets" and "btag" in features[name]:
                column = features[name].index("btag")
                values[..., column] = (values[..., column] > std.mean[column]).float() * mask
        axis = "jets" if name == "jets" else f"{name}s"
        inputs[name], inputs[f"{name}_mask"] = values.float(), mask
        what = "up to max_jets jets, padded with zeros" if name == "jets" else f"one {name} object per event"
        docs[name] = TensorDoc(
            ("events", axis, len(features[name])),
            "float32",
            f"{what}: ({', '.join(features[name])}); see 'features' for units",
        )
        docs[f"{name}_mask"] = TensorDoc(("events", axis), "bool", f"true for real {name} entries, false for padding")
    inputs["noise"] = torch.randn(events, samples, len(TARGETS), generator=generator)
    docs["noise"] = TensorDoc(("events", "samples", 3), "float32", "standard-normal base noise, one row per sample")
    outputs = {
        "samples": TensorDoc(
            ("events", "samples", 3), "float32", "posterior samples of the neutrino's (px [GeV], py [GeV], η)"
        ),
        "momentum": TensorDoc(
            ("events", "samples", 3), "float32", "the same samples as (px, py, pz) [GeV], pz = pT sinh η"
        ),
        "log_density": TensorDoc(
            ("events", "samples"),
            "float32",
            "log p of each sample (standardised space, up to a "
            "constant per event): the sample with the largest is the mode estimate",
        ),
    }
    if model.has_assignment:
        outputs["assignment_probability"] = TensorDoc(
            ("events", "jets"), "float32", "p(jet j is the leptonic-top b); 0 for padding"
        )
    exported = ExportGraph(
        "neutrino_sampler",
        graph.eval(),
        inputs,
        docs,
        outputs,
        description="one encoder pass and the flow's inverse per event: samples of p(ν | event) from base noise",
    )
    extra = {
        "features": {name: {f: FEATURE_DOCS[f] for f in features[name]} for name in graph.names},
        "max_jets": model.config["max_jets"],
        "input_standardization": {
            name: {
                "mean": model.encoder.standardizers[name].mean.tolist(),
                "std": model.encoder.standardizers[name].std.tolist(),
            }
            for name in graph.names
        },
        "target_standardization": {
            "mean": model.target_standardizer.mean.tolist(),
            "std": model.target_standardizer.std.tolist(),
        },
        "notes": "The standardisations are inside the graph (given for reference): feed physical features. "
        "Jets are the event's leading max_jets jets in pT order; MET is (px, py); the W-mass solutions use "
        "m_W = 80.377 GeV (hepgen.physics.neutrino.solve_neutrino_pz).",
    }
    return [exported], extra


def batches(arrays: NeutrinoArrays, batch_size: int, *, shuffle: bool, seed: int = 0):
    """Yield ``(objects, masks, target)`` tensor batches (whole-batch indexing: no per-event collate)."""
    order = np.random.default_rng(seed).permutation(len(arrays)) if shuffle else np.arange(len(arrays))
    for start in range(0, len(arrays), batch_size):
        part = arrays.select(order[start : start + batch_size])
        objects, masks = part.tensors()
        target = None if part.target is None else torch.as_tensor(part.target)
        yield objects, masks, target


def _batch(part: NeutrinoArrays) -> tuple[dict[str, Tensor], dict[str, Tensor], Tensor | None, Tensor]:
    """One training batch: (objects, masks, target, leptonic-b jet)."""
    objects, masks = part.tensors()
    return (
        objects,
        masks,
        None if part.target is None else torch.as_tensor(part.target),
        torch.as_tensor(part.b_lep_jet),
    )


# -- the task -------------------------------------------------------------------------------------------------------


def posterior_outputs(
    predictor: Any, arrays: NeutrinoArrays, *, samples: int, seed: int, batch_size: int = 512, device: str = "cpu"
) -> dict[str, np.ndarray]:
    """The posterior of the events of ``arrays`` from a trained model (or its ONNX runner), the random stream seeded
    by ``seed``: ``point`` (the median, px, py, pz [GeV]) ``[B, 3]``, ``samples`` ``[B, S, 3]`` and ``mode`` (the most
    likely sample, ν-Flows' estimate) ``[B, 3]`` for probabilistic models, ``assignment_probability`` ``[B, N_jets]``
    with the jet-assignment head."""
    torch.manual_seed(seed)
    draws, modes, assignment = [], [], []
    n = 1 if predictor.point_estimate else samples
    for objects, masks, _ in batches(arrays, batch_size, shuffle=False):
        objects = {k: v.to(device) for k, v in objects.items()}
        masks = {k: v.to(device) for k, v in masks.items()}
        drawn, log_prob = predictor.sample(objects, masks, n, with_log_prob=True)
        momentum = targets_to_momentum(drawn)
        draws.append(momentum.cpu().numpy())
        best = log_prob.argmax(dim=1)  # the most likely of the samples (ν-Flows' mode estimate)
        modes.append(momentum[torch.arange(len(best), device=best.device), best].cpu().numpy())
        if predictor.has_assignment:
            assignment.append(predictor.assignment_probability(objects, masks).cpu().numpy())
    sample_array = np.concatenate(draws) if draws else np.zeros((0, n, 3), np.float32)
    outputs = {"point": np.median(sample_array, axis=1).astype(np.float32)}
    if not predictor.point_estimate:
        outputs["samples"] = sample_array.astype(np.float32)
        outputs["mode"] = (np.concatenate(modes) if modes else np.zeros((0, 3))).astype(np.float32)
    if predictor.has_assignment:
        width = arrays.masks["jets"].shape[1]
        outputs["assignment_probability"] = (np.concatenate(assignment) if assignment else np.zeros((0, width))).astype(
            np.float32
        )
    return outputs


# -- lazy inference on dask-awkward collections ---------------------------------------------------------------------


_SAMPLING_LOCK = threading.Lock()


@functools.lru_cache(maxsize=4)
def _cached_model(run: str, modified: float) -> NeutrinoModel:
    """A run's model, loaded once per process (per worker) and kept while its file is unchanged."""
    from hepgen.tasks.run_folder import load_model

    return load_model("neutrino", run)


def _partition_posterior(
    partition: Any, run: str, samples: int, seed: int, schema: str, batch_size: int, partition_info: dict | None = None
) -> Any:
    """One partition's posterior, one record per input event (None where the event has no lepton or jets)."""
    import awkward as ak

    from hepgen.io import events_from_arrays
    from hepgen.io.reader import _needed_branches, resolve_schema

    if ak.backend(partition) == "typetracer":  # dask-awkward's column optimisation: say which branches are read
        from hepgen.io.reader import _flatten_collections

        flat = _flatten_collections(partition)
        for branch in _needed_branches(resolve_schema(schema)):
            if branch in flat:
                ak.typetracer.touch_data(flat[branch])
        return _posterior_records(None, samples, length=None)
    index = (partition_info or {}).get("number", 0)
    model_path = _model_file(run)
    model = _cached_model(str(model_path), model_path.stat().st_mtime)
    events = events_from_arrays(partition, schema, source=f"partition {index}")
    arrays = neutrino_arrays(events, inputs=model.config["inputs"])
    from hepgen.shards import derive_seed

    with _SAMPLING_LOCK:  # torch's global stream is seeded per partition: one partition at a time per process
        outputs = posterior_outputs(
            model, arrays, samples=samples, seed=derive_seed(seed, index), batch_size=batch_size
        )
    return _posterior_records(outputs, samples, length=len(partition), rows=arrays.event_index)


def _model_file(run: str) -> Any:
    from pathlib import Path

    path = Path(run)
    return path / "model.pt" if path.is_dir() else path


def _posterior_records(
    outputs: dict[str, np.ndarray] | None, samples: int, *, length: int | None, rows: np.ndarray | None = None
) -> Any:
    """Per input event a record {point [3], mode [3], samples [S][3]} (px, py, pz in GeV), None for events the
    neutrino needs but lacks (no lepton or no jets); a typetracer of that form for ``length=None``."""
    import awkward as ak

    n = 0 if outputs is None else len(outputs["point"])
    point = np.zeros((n, 3), np.float32) if outputs is None else outputs["point"]
    mode = outputs.get("mode", point) if outputs is not None else point
    drawn = np.zeros((n, samples, 3), np.float32) if outputs is None else outputs.get("samples", point[:, None, :])
    content = ak.zip(
        {"point": ak.from_numpy(point), "mode": ak.from_numpy(mode), "samples": ak.from_numpy(drawn)}, depth_limit=1
    )
    if length is None:
        index = np.zeros(0, np.int64)
        records = ak.Array(ak.contents.IndexedOptionArray(ak.index.Index64(index), content.layout))
        return ak.Array(records.layout.to_typetracer(forget_length=True))
    index = np.full(length, -1, np.int64)
    index[rows] = np.arange(len(rows))
    return ak.Array(ak.contents.IndexedOptionArray(ak.index.Index64(index), content.layout))


def posterior_samples_dask(
    events: Any, run: str, *, samples: int = 256, seed: int = 0, schema: str = "nanoaod", batch_size: int = 512
) -> Any:
    """The neutrino posterior of a dask-awkward event collection, lazily, partition by partition.

    ``events``: NanoAOD events as a dask-awkward array — ``uproot.dask(files)`` (flat ``Jet_pt``, ``MET_pt``, ...),
    ``dask_awkward.from_awkward(...)``, or coffea's ``NanoEventsFactory.from_root(..., mode="dask").events()``
    (nested ``Jet.pt``). Returns a dask-awkward array with one record per input event — ``point`` (the posterior
    median) and ``mode`` ``[3]``, ``samples`` ``[S][3]``, all (px, py, pz) in GeV — or None for an event without a
    lepton or jets. Nothing runs until ``.compute()``; each worker loads the model of ``run`` once.

    Partition ``i`` samples with the stream ``derive_seed(seed, i)``, as ``hepgen predict neutrino`` samples its block
    ``i``: when each partition is one prediction block (``NEUTRINO.block_size`` events, e.g.
    ``uproot.dask(files, step_size=1024)``) the numbers are those of ``hepgen predict`` with the same ``--seed``. ::

        import uproot
        from hepgen.tasks.neutrino import posterior_samples_dask

        events = uproot.dask({"nano.root": "Events"}, step_size=1024)
        nu = posterior_samples_dask(events, "analyses/neutrino/model", samples=64, seed=1)
        pz_median = nu.point[:, 2].compute()
    """
    try:
        import dask_awkward as dak
    except ImportError:
        raise HepgenInputError("dask-awkward is not installed: `pip install 'hepgen[dask]'`") from None
    from hepgen.io.reader import resolve_schema

    resolve_schema(schema)  # an unknown schema fails now, not inside a worker
    model_path = _model_file(run)
    if not model_path.exists():
        raise HepgenInputError(
            f"no trained model at {str(model_path)!r}; train one with `hepgen train neutrino --out RUN`"
        )
    _check_dask_branches(events, schema)
    meta = _posterior_records(None, samples, length=None)
    return dak.map_partitions(
        _partition_posterior,
        events,
        run=str(run),
        samples=samples,
        seed=seed,
        schema=schema,
        batch_size=batch_size,
        meta=meta,
        label="hepgen-neutrino-posterior",
    )


def _check_dask_branches(events: Any, schema: str) -> None:
    """Refuse, before any work, a collection that lacks a branch the schema needs (named, with the closest ones)."""
    from hepgen.io.reader import _check_available, _flatten_collections, resolve_schema

    flat = _flatten_collections(events._meta)
    _check_available(set(flat), "the dask-awkward collection", "it lacks", resolve_schema(schema))


@dataclass
class NeutrinoTraining(TrainSettings):
    """``hepgen train neutrino``: a density head over (px, py, η) on a transformer encoding of the event."""

    data: list[str] = setting([], "training ROOT files (globs allowed)", required=True, metavar="FILE")
    model: str = setting("flow", "the density head", choices=tuple(HEADS))
    schema: str = setting("hepgen-ttbar", "the reading schema (hepgen-ttbar, nanoaod; see `hepgen schemas`)")
    dim: int = setting(64, "token width of the encoder")
    heads: int = setting(4, "attention heads")
    layers: int = setting(3, "self-attention blocks")
    head_hidden: int = setting(128, "hidden width of the head's networks")
    flow_transforms: int = setting(4, "spline coupling transforms (flow head)")
    mdn_components: int = setting(5, "mixture components (mdn head)")
    assignment: bool = setting(
        False, "also learn which jet is the leptonic b, jointly, with learned uncertainty weights"
    )
    inputs: str = setting(
        "constrained",
        "the input set: basic, or constrained (adds m(ℓνj) with each W-mass root)",
        choices=("basic", "constrained"),
    )


@dataclass
class NeutrinoPrediction(PredictSettings):
    """``hepgen predict neutrino``: posterior samples of the neutrino for every usable input event."""

    data: list[str] = setting([], "input ROOT files (globs allowed)", required=True, metavar="FILE")
    model: str | None = setting(None, "a method that needs no training instead of --run", choices=("analytic",))
    schema: str = setting("hepgen-ttbar", "the reading schema (hepgen-ttbar, nanoaod; see `hepgen schemas`)")
    samples: int = redefault(PredictSettings, "samples", 256)
    batch_size: int = setting(512, "events per network call")


@dataclass
class NeutrinoValidation(ValidateSettings):
    """``hepgen validate neutrino``: the methods of the prediction files (one per method) on the same events."""


class NeutrinoTask(Task):
    """ν-Flows (see the module docstring)."""

    name = "neutrino"
    summary = "the neutrino of tt̄ → ℓ+jets: flow, mixture, Gaussian and MSE heads against the W-mass solution"
    Training = NeutrinoTraining
    Prediction = NeutrinoPrediction
    Validation = NeutrinoValidation
    model_class = NeutrinoModel
    output_tree = "Neutrino"
    block_size = 1024
    group_name = "method (prediction file)"

    def build_model(self, settings: NeutrinoTraining) -> NeutrinoModel:
        return NeutrinoModel(
            head=settings.model,
            dim=settings.dim,
            heads=settings.heads,
            layers=settings.layers,
            head_hidden=settings.head_hidden,
            flow_transforms=settings.flow_transforms,
            mdn_components=settings.mdn_components,
            assignment=settings.assignment,
            inputs=settings.inputs,
        )

    def training_data(self, settings: NeutrinoTraining, model: NeutrinoModel) -> TrainingData:
        from hepgen.io import read

        arrays = neutrino_arrays(
            read(settings.data, settings.schema, entry_stop=settings.max_events),
            require_truth=True,
            inputs=model.config["inputs"],
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
            f"training {settings.model} on {len(train)} events, validating on {len(val)} (skipped {arrays.skipped})",
        )

    def loss(self, model: NeutrinoModel, batch: Any, *, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        objects, masks, target, b_jet = batch
        terms = model.losses(objects, masks, target, b_jet)
        if "weighted" in terms:  # the uncertainty-weighted sum is minimised; the NLL and CE are logged
            return {"total": terms.pop("weighted"), **terms}
        return terms

    def load_predictor(self, settings: NeutrinoPrediction) -> NeutrinoModel | OnnxNeutrinoSampler | None:
        """The trained model of ``--run`` (or its ONNX export, ``--onnx``), or None for ``--model analytic``."""
        if sum(x is not None for x in (settings.run, settings.model, settings.onnx)) != 1:
            raise HepgenInputError("give either a trained --run, an exported --onnx DIR or --model analytic")
        return None if settings.model == "analytic" else super().load_predictor(settings)

    def load_onnx_predictor(self, settings: NeutrinoPrediction) -> OnnxNeutrinoSampler:
        return OnnxNeutrinoSampler(settings.onnx)

    def export_graphs(self, model: NeutrinoModel) -> tuple[list[Any], dict[str, Any]]:
        return neutrino_export_graphs(model)

    def count_entries(self, settings: NeutrinoPrediction) -> int:
        from hepgen.io import count_entries

        return count_entries(settings.data, settings.schema)

    def input_files(self, settings: NeutrinoPrediction) -> list[str]:
        from hepgen.io.files import expand_files

        return expand_files(settings.data)

    def prediction_metadata(self, predictor: NeutrinoModel | None, settings: NeutrinoPrediction) -> dict[str, Any]:
        return {"method": "analytic" if predictor is None else predictor.head_kind}

    def predict_block(self, predictor: NeutrinoModel | None, settings: NeutrinoPrediction, block: Block) -> BlockOutput:
        """Point estimates and samples for one block; the events without a lepton or jets are counted, not kept.

        Outputs: ``point`` (px, py, pz) ``[B, 3]`` (the posterior median per component); for probabilistic models
        ``samples`` ``[B, S, 3]`` and ``mode`` ``[B, 3]`` (the most likely sample); ``assignment_probability``
        ``[B, N_jets]`` with the jet-assignment head; ``lepton_p4``; for the χ² reconstruction ``jets_p4``,
        ``jets_btag``, ``jets_mask`` and ``analytic_roots``; and when known ``truth`` with ``has_truth``,
        ``b_lep_p4`` and ``parton_jets`` (the jet of b_lep, b_had, q1, q2; −1 if unmatched).
        """
        from hepgen.io import read

        events = read(settings.data, settings.schema, entry_start=block.start, entry_stop=block.stop)
        arrays = neutrino_arrays(events, inputs="basic" if predictor is None else predictor.config["inputs"])
        outputs: dict[str, np.ndarray] = {}
        if predictor is None:
            met = arrays.objects["met"][:, 0]
            outputs["point"] = np.stack([met[:, 0], met[:, 1], arrays.analytic_pz], axis=-1).astype(np.float32)
        else:
            outputs |= posterior_outputs(
                predictor,
                arrays,
                samples=settings.samples,
                seed=block.seed,
                batch_size=settings.batch_size,
                device=settings.device,
            )
        if arrays.target is not None:
            has_truth = np.isfinite(arrays.target).all(axis=1)
            truth = targets_to_momentum(np.where(has_truth[:, None], arrays.target, 0.0))
            outputs["truth"] = truth.astype(np.float32)  # zero where the event has no truth neutrino
            outputs["has_truth"] = has_truth
        outputs["lepton_p4"] = arrays.lepton_p4.astype(np.float32)
        if arrays.b_lep_p4 is not None:
            outputs["b_lep_p4"] = arrays.b_lep_p4.astype(np.float32)
        # what the χ² reconstruction of the validation needs: the jets, their tags, both W-mass roots, the truth
        outputs["jets_p4"] = arrays.jets_p4.astype(np.float32)
        outputs["jets_btag"] = arrays.objects["jets"][..., 4].astype(np.float32)
        outputs["jets_mask"] = arrays.masks["jets"]
        outputs["analytic_roots"] = arrays.analytic_roots.astype(np.float32)
        if arrays.parton_jets is not None:
            outputs["parton_jets"] = arrays.parton_jets.astype(np.int32)
        event_id = {k: v[arrays.event_index] for k, v in events.event_id.items()}
        return BlockOutput({"Neutrino": (outputs, event_id)}, counts=dict(arrays.skipped))

    def validate(self, settings: NeutrinoValidation) -> dict[str, Any]:
        from hepgen.validation.neutrino_comparison import validate_neutrino

        return validate_neutrino(
            settings.pred,
            settings.out,
            label_text=settings.label,
            experiment=settings.experiment,
            scheduler=settings.scheduler,
            figures=settings.figures,
        )

    def validation_headline(self, metrics: dict[str, Any]) -> str:
        return f"validated {len(metrics['methods'])} method(s) on {metrics['events']} events"


#: The neutrino task, as registered in :mod:`hepgen.tasks.registry`.
NEUTRINO = NeutrinoTask()
