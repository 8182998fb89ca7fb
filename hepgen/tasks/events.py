"""What the event tasks (``neutrino``, ``dineutrino``) share: object features, the event arrays, their settings and
the task base that reads, splits and batches events.

* features — :func:`lepton_features`, :func:`jet_features`, :func:`btag_flags` (GeV; padding zero);
* targets — a neutrino as (px, py, η): :func:`eta_of` and back, :func:`targets_to_momentum` (pz = pT sinh η);
* :class:`EventArrays` — a task's model inputs and truth for ``B`` events as numpy arrays, with ``select``,
  ``tensors`` and ``batches``;
* :class:`EventTraining`, :class:`EventPrediction` — the settings both tasks have;
* :class:`EventTask` — training data (read, split, standardise, batch), entry counting, the block reader and the
  validation headline; a task adds its arrays (:meth:`EventTask.arrays`) and its batch
  (:meth:`EventTask.training_batch`).
"""

from __future__ import annotations

import dataclasses
import logging
from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hepgen.errors import HepgenInputError
from hepgen.io.events import Events
from hepgen.tasks.base import (
    Block,
    PredictSettings,
    SetBlockSettings,
    Task,
    TrainingData,
    TrainSettings,
    ValidateSettings,
)
from hepgen.tasks.data_parallel import event_batches, split_events
from hepgen.tasks.settings import redefault, setting

__all__ = [
    "BTAG_THRESHOLD",
    "btag_flags",
    "lepton_features",
    "jet_features",
    "eta_of",
    "targets_to_momentum",
    "EventArrays",
    "EventTraining",
    "EventPrediction",
    "EventValidation",
    "classical_method",
    "EventTask",
]

log = logging.getLogger("hepgen.tasks")

#: A b-tag discriminator above this is a tag: DeepJet's medium working point is 0.28–0.31 in Run 2 (NanoAOD's
#: ``Jet_btagDeepFlavB``); hepgen's own files hold 0/1 flags, which it leaves unchanged.
BTAG_THRESHOLD = 0.3


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


def lepton_features(p4: np.ndarray, charge: np.ndarray, is_muon: np.ndarray) -> np.ndarray:
    """(px, py, pz [GeV], ln E, charge, is-muon) ``[..., 6]`` of leptons (px, py, pz, E) ``[..., 4]``."""
    return np.concatenate(
        [p4[..., :3], np.log(np.maximum(p4[..., 3:4], 1e-3)), charge[..., None], is_muon[..., None]], axis=-1
    )


def jet_features(p4: np.ndarray, btag: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(px, py, pz [GeV], ln E, b-tag flag) ``[B, N, 5]`` of jets (px, py, pz, E) ``[B, N, 4]``; zero for padding."""
    with np.errstate(divide="ignore"):
        features = np.concatenate(
            [p4[..., :3], np.log(np.where(mask, p4[..., 3], 1.0))[..., None], btag[..., None]], axis=-1
        )
    return features * mask[..., None]


def eta_of(p3: np.ndarray) -> np.ndarray:
    """Pseudorapidity of momenta (px, py, pz) ``[..., 3]`` (finite for pT → 0)."""
    pt = np.hypot(p3[..., 0], p3[..., 1])
    return np.arcsinh(p3[..., 2] / np.maximum(pt, 1e-9))


def targets_to_momentum(values: Tensor | np.ndarray) -> Tensor | np.ndarray:
    """(px, py, η) ``[..., 3]`` → (px, py, pz) ``[..., 3]`` with pz = pT sinh η (numpy or torch)."""
    lib = torch if isinstance(values, Tensor) else np
    px, py, eta = values[..., 0], values[..., 1], values[..., 2]
    pz = lib.sqrt(px**2 + py**2) * lib.sinh(eta)
    return lib.stack([px, py, pz], -1) if lib is torch else np.stack([px, py, pz], axis=-1)


@dataclass
class EventArrays:
    """Model inputs (and truth, when known) for ``B`` events, as numpy arrays; a task's arrays extend it.

    Attributes:
        objects: object type → values ``[B, N_type, F_type]`` (float32); masks: object type → ``[B, N_type]``.
        target: the truth targets ``[B, T]`` or None.
        event_index: the kept events' positions in the input ``Events`` ``[B]``.
        skipped: reason → number of input events left out (not per event: copied by :meth:`select`).
    """

    objects: dict[str, np.ndarray]
    masks: dict[str, np.ndarray]
    target: np.ndarray | None
    event_index: np.ndarray
    skipped: dict[str, int]

    def __len__(self) -> int:
        return len(self.event_index)

    def select(self, index: np.ndarray) -> EventArrays:
        """The events ``index`` (every per-event array, and every dict of them, indexed; None stays None)."""

        def pick(value: Any) -> Any:
            if value is None:
                return None
            if isinstance(value, dict):
                return {k: v[index] for k, v in value.items()}
            return value[index]

        changes = {f.name: pick(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name != "skipped"}
        return dataclasses.replace(self, **changes, skipped=dict(self.skipped))

    def tensors(self, device: str | torch.device | None = None) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """(objects, masks) as tensors."""
        objects = {k: torch.as_tensor(v, device=device) for k, v in self.objects.items()}
        masks = {k: torch.as_tensor(v, device=device) for k, v in self.masks.items()}
        return objects, masks

    def batches(self, batch_size: int) -> Iterator[EventArrays]:
        """Consecutive parts of at most ``batch_size`` events, in order (prediction; training shuffles through
        :func:`~hepgen.tasks.data_parallel.event_batches`)."""
        for start in range(0, len(self), batch_size):
            yield self.select(np.arange(start, min(start + batch_size, len(self))))

    def check_finite(self, task: str) -> None:
        """HepgenInputError naming the object type with a non-finite input."""
        for name, values in self.objects.items():
            if not np.isfinite(values).all():
                raise HepgenInputError(f"non-finite {name} inputs after building the {task} features")


@dataclass
class EventTraining(TrainSettings, SetBlockSettings):
    """What training on events has: the files, their schema, and the encoder and flow sizes."""

    schema: str = setting("hepgen-ttbar", "the reading schema (see `hepgen schemas`)")
    data: list[str] = setting([], "training ROOT files (globs allowed)", required=True, metavar="FILE")
    dim: int = setting(64, "token width of the encoder")
    heads: int = setting(4, "attention heads")
    layers: int = setting(3, "self-attention blocks")
    head_hidden: int = setting(128, "hidden width of the head's networks")
    flow_transforms: int = setting(4, "spline coupling transforms of the flow")
    dropout: float = setting(0.0, "dropout in the encoder and on its context (kept on at prediction by --mc-dropout N)")
    bayesian: bool = setting(
        False, "a variational Bayesian last layer of the encoder (prior N(0, 1/fan_in); KL per training event)"
    )


@dataclass
class EventPrediction(PredictSettings):
    """What prediction on events has: the files, their schema, the samples and the network's batch."""

    data: list[str] = setting([], "input ROOT files (globs allowed)", required=True, metavar="FILE")
    schema: str = setting("hepgen-ttbar", "the reading schema (see `hepgen schemas`)")
    samples: int = redefault(PredictSettings, "samples", 256)
    batch_size: int = setting(512, "events per network call", minimum=1)
    ensemble: list[str] = setting(
        [], "more run folders (other seeds) of the same task: sample the mixture of --run and these", metavar="RUN"
    )
    mc_dropout: int = setting(
        1, "stochastic passes per model: dropout masks (--dropout) or weight draws (--bayesian)", metavar="N", minimum=1
    )


def classical_method(choices: tuple[str, ...]) -> Any:
    """The prediction setting ``method``: a method that needs no training (one of ``choices``), instead of ``--run``."""
    return setting(None, "a method that needs no training instead of --run", choices=choices, formerly=("model",))


@dataclass
class EventValidation(ValidateSettings):
    """``hepgen validate``: the methods of the prediction files (one per method) compared on the same events."""


class EventTask(Task):
    """A task on whole events: its entries are the events of ``settings.data`` read with ``settings.schema``."""

    block_size = 1024
    group_name = "method (prediction file)"

    @abstractmethod
    def arrays(self, events: Events, *, require_truth: bool, inputs: str) -> EventArrays:
        """The model inputs of ``events`` (the task's input set ``inputs``)."""

    @abstractmethod
    def training_batch(self, part: EventArrays) -> tuple[Any, ...]:
        """One training batch of ``part``: what :meth:`loss` takes."""

    def training_data(self, settings: EventTraining, model: Any) -> TrainingData:
        """Read the events, split off the early-stopping events, fit the model's standardisation, batch both."""
        from hepgen.io import read

        events = read(settings.data, settings.schema, entry_stop=settings.max_events)
        arrays = self.arrays(events, require_truth=True, inputs=model.config["inputs"])
        if len(arrays) < 10:
            raise HepgenInputError(
                f"only {len(arrays)} usable events in {settings.data}; training needs more (skipped: {arrays.skipped})"
            )
        train, val = split_events(arrays, settings.val_fraction, settings.seed)
        model.fit_standardization(train)
        return TrainingData(
            event_batches(train, settings.batch_size, self.training_batch, shuffle=True, seed=settings.seed),
            event_batches(val, 4 * settings.batch_size, self.training_batch, shuffle=False, seed=0),
            f"training on {len(train)} events, validating on {len(val)} (skipped {arrays.skipped})",
        )

    def load_predictor(self, settings: Any) -> Any:
        """The model of ``--run`` — with ``--ensemble`` or ``--mc-dropout N`` an
        :class:`~hepgen.tasks.epistemic.EpistemicSampler` over its network draws."""
        predictor = super().load_predictor(settings)
        ensemble, passes = getattr(settings, "ensemble", []), getattr(settings, "mc_dropout", 1)
        if not ensemble and passes == 1:
            return predictor
        if settings.onnx:
            raise HepgenInputError("--ensemble and --mc-dropout sample PyTorch models (--run), not an ONNX export")
        from hepgen.tasks.epistemic import EpistemicSampler
        from hepgen.tasks.run_folder import load_model

        members = [predictor, *(load_model(self, run, device=settings.device) for run in ensemble)]
        return EpistemicSampler(members, passes)

    def read_block(self, settings: EventPrediction, block: Block) -> Events:
        """The events of one prediction block."""
        from hepgen.io import read

        return read(settings.data, settings.schema, entry_start=block.start, entry_stop=block.stop)

    def count_entries(self, settings: EventPrediction) -> int:
        from hepgen.io import count_entries

        return count_entries(settings.data, settings.schema)

    def input_files(self, settings: EventPrediction) -> list[str]:
        from hepgen.io.files import expand_files

        return expand_files(settings.data)

    def validation_headline(self, metrics: dict[str, Any]) -> str:
        return f"validated {len(metrics['methods'])} method(s) on {metrics['events']} events"
