"""The Task interface: what a task says about itself, so one training, prediction and validation driver serve all.

A task (``neutrino``, ``pileup``, ...) is one module that defines a :class:`Task` subclass and registers it in
:mod:`hepgen.tasks.registry`. It declares three settings dataclasses (extending :class:`TrainSettings`,
:class:`PredictSettings` and :class:`ValidateSettings` with its own fields and defaults), its model class, and
implements:

* ``build_model(settings)`` — the ``nn.Module`` to train (plain PyTorch, with its input standardisation);
* ``training_data(settings, model)`` — the training and validation batches as DDP-aware
  :class:`~hepgen.tasks.data_parallel.EpochBatches`, read through :mod:`hepgen.io`; fits the model's
  standardisation on the training split;
* ``loss(model, batch, generator=...)`` — named loss terms, summed by the driver;
* ``count_entries(settings)`` and ``predict_block(predictor, settings, block)`` — the prediction of one block
  of input entries as the trees of the output file (:class:`BlockOutput`);
* ``validate(settings)`` — metrics, summary and figures from prediction files.

Everything else — Lightning, checkpoints, resume, early stopping, EMA, DDP, blocks, shards, seeds, atomic and
empty outputs, Dask, the command line and the run folder — lives once in :mod:`hepgen.tasks.training`,
:mod:`hepgen.tasks.prediction` and :mod:`hepgen.cli`.
"""

from __future__ import annotations

import importlib
import inspect
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from hepgen.nn.set_blocks import SET_BLOCKS
from hepgen.tasks.settings import setting

__all__ = [
    "Task",
    "TrainSettings",
    "PredictSettings",
    "ValidateSettings",
    "TrainingData",
    "Block",
    "BlockOutput",
    "constructor_arguments",
]


@dataclass
class TrainSettings:
    """Settings every training run has; a task's training settings extend it (and may change the defaults)."""

    out: str = setting(
        "",
        "run folder to create: config.yaml, model.pt, checkpoints/, logs/",
        required=True,
        runtime=True,
        metavar="RUN",
    )
    seed: int = setting(1, "seed of the validation split, the initialisation, the data order and the noise")
    batch_size: int = setting(256, "training batch size (per device)", minimum=1)
    learning_rate: float = setting(1e-3, "peak AdamW learning rate", aliases=("--lr",))
    weight_decay: float = setting(1e-4, "AdamW weight decay")
    lr_floor: float = setting(0.02, "the cosine schedule decays the learning rate to this fraction of its peak")
    max_epochs: int = setting(50, "stop after this many epochs (-1: no limit, use --max-steps)", runtime=True)
    max_steps: int = setting(-1, "stop after this many optimizer steps (-1: no limit)", runtime=True)
    patience: int = setting(5, "early stopping: epochs without a lower validation loss", runtime=True)
    val_fraction: float = setting(0.1, "share of the training entries held out for the validation loss")
    max_events: int | None = setting(
        None, "read at most this many training entries (events; jets for pileup)", minimum=1
    )
    ema_decay: float = setting(
        0.0, "keep an exponential moving average of the weights with this decay and save it for sampling (0: off)"
    )
    accelerator: str = setting("auto", "cpu, gpu or auto (Lightning)", runtime=True)
    devices: int | str = setting("auto", "number of devices, or auto", runtime=True)
    strategy: str = setting("auto", "auto, ddp, ddp_spawn, ... (Lightning)", runtime=True)
    num_nodes: int = setting(1, "nodes (DDP over nodes: SLURM or torchrun)", runtime=True)
    precision: str = setting("32-true", "32-true, bf16-mixed, 16-mixed", runtime=True)
    val_check_interval: float = setting(1.0, "validate every this fraction of an epoch", runtime=True)
    resume: bool = setting(False, "continue from RUN/checkpoints/last.ckpt", runtime=True)
    data_workers: int = setting(
        0,
        "worker processes that make the training and validation batches while the model trains (0: in the training "
        "process); the same batches either way (with several workers, in another order)",
        runtime=True,
    )
    progress: bool = setting(True, "progress bars", runtime=True)


@dataclass
class SetBlockSettings:
    """The kind of a network's set blocks (:mod:`hepgen.nn.set_blocks`), for the tasks whose encoders have them."""

    block: str = setting(
        "transformer", "the set blocks: transformer, mod (Mixture-of-Depths) or tokenformer", choices=SET_BLOCKS
    )
    mod_capacity: float = setting(0.5, "with --block mod: the share of each set's tokens a block processes")
    param_tokens: int = setting(64, "with --block tokenformer: parameter tokens per projection", minimum=1)


@dataclass
class PredictSettings:
    """Settings every prediction has; a task's prediction settings extend it."""

    out: str = setting("", "output ROOT file (written atomically)", required=True, runtime=True, metavar="FILE")
    run: str | None = setting(None, "run folder of a trained model (or its model.pt)", metavar="RUN")
    samples: int = setting(16, "posterior samples per entry (event, jet)", minimum=1)
    seed: int = setting(0, "seed of the sampling; each block's stream derives from (seed, block)")
    shard: str | None = setting(None, "i/n: this job's share of the input's blocks", runtime=True, metavar="I/N")
    max_events: int | None = setting(None, "predict at most this many entries (from the first)", minimum=1)
    onnx: str | None = setting(
        None, "an exported model folder (hepgen export) to sample with onnxruntime instead of --run", metavar="DIR"
    )
    device: str = setting("cpu", "cpu or cuda", runtime=True)
    overwrite: bool = setting(False, "recompute even if --out exists (default: a no-op)", runtime=True)
    progress: bool = setting(True, "progress bar", runtime=True)
    scheduler: str | None = setting(None, "run the shards on a Dask cluster: local:N or tcp://host:port", runtime=True)
    parts: int = setting(8, "with --scheduler: the shards the work is cut into", runtime=True)


@dataclass
class ValidateSettings:
    """Settings every validation has; a task's validation settings extend it."""

    pred: list[str] = setting([], "prediction files (globs allowed)", required=True, metavar="FILE")
    out: str = setting("", "folder for metrics.json, summary.md and the figures", required=True, metavar="DIR")
    label: str = setting("Simulation", "text beside the experiment label")
    experiment: str | None = setting(None, "e.g. CMS or ATLAS (default: no experiment name)")
    figures: bool = setting(True, "draw the figures (PDF and PNG)")
    bootstrap: int = setting(200, "bootstrap resamples for the statistical error of every figure of merit")
    progress: bool = setting(True, "progress bar", runtime=True)
    scheduler: str | None = setting(
        None, "evaluate the groups on a Dask cluster: local:N or tcp://host:port", runtime=True
    )
    shard: str | None = setting(None, "i/n: validate only this share of the groups (see the task)", runtime=True)
    overwrite: bool = setting(False, "validate again even if --out holds a validation", runtime=True)


def constructor_arguments(cls: type, settings: Any) -> dict[str, Any]:
    """The keyword arguments of ``cls(...)`` that ``settings`` has a field of the same name for."""
    names = inspect.signature(cls).parameters
    return {name: getattr(settings, name) for name in names if name != "saved_with" and hasattr(settings, name)}


@dataclass
class TrainingData:
    """What a task hands the training driver: this rank's batches of every epoch, and a line for the log."""

    train: Any  # EpochBatches
    validation: Any  # EpochBatches
    description: str = ""


@dataclass(frozen=True)
class Block:
    """One block of input entries ``[start, stop)`` (global over the chained files); ``index`` seeds it."""

    index: int
    start: int
    stop: int
    seed: int

    @property
    def size(self) -> int:
        return self.stop - self.start


@dataclass
class BlockOutput:
    """What one block writes: tree name → (outputs, event_id), all aligned; ``counts`` are summed into metadata."""

    trees: dict[str, tuple[dict[str, Any], dict[str, np.ndarray]]]
    counts: dict[str, int] = field(default_factory=dict)


class Task(ABC):
    """A task: its settings, its model, its data, its loss, its prediction and its validation (see the module).

    A minimal task — it learns one number, the mean of its targets — with the shared settings, a model that records
    its arguments, and the two methods a prediction needs (registered in :mod:`hepgen.tasks.registry`, it would get
    ``hepgen train|predict|validate mean``)::

        >>> import numpy as np, torch
        >>> from hepgen.models.configured import ConfiguredModel
        >>> class Mean(ConfiguredModel):
        ...     def __init__(self, *, start: float = 0.0, saved_with: dict | None = None) -> None:
        ...         super().__init__(locals())
        ...         self.value = torch.nn.Parameter(torch.tensor(start))
        >>> class MeanTask(Task):
        ...     '''The mean of a set of numbers, as an example.'''
        ...     name, output_tree, block_size = "mean", "Mean", 4
        ...     Training, Prediction, Validation = TrainSettings, PredictSettings, ValidateSettings
        ...     model_class, validator = Mean, "hepgen.validation.report:read_metrics"
        ...     def training_data(self, settings, model):
        ...         return TrainingData(train=[torch.tensor([1.0, 3.0])], validation=[torch.tensor([2.0])])
        ...     def loss(self, model, batch, *, generator=None):
        ...         return {"mse": ((model.value - batch) ** 2).mean()}
        ...     def count_entries(self, settings):
        ...         return 10
        ...     def predict_block(self, model, settings, block):
        ...         value = np.full(block.size, model.value.item(), np.float32)
        ...         return BlockOutput({"Mean": ({"value": value}, {"entry": np.arange(block.start, block.stop)})})
        >>> task = MeanTask()
        >>> model = task.build_model(TrainSettings(out="run"))
        >>> model.config, task.summary
        ({'start': 0.0}, 'The mean of a set of numbers, as an example.')
        >>> batch = next(iter(task.training_data(None, model).train))
        >>> task.loss(model, batch)["mse"].item()  # ((0 − 1)² + (0 − 3)²) / 2
        5.0
        >>> task.predict_block(model, None, Block(index=0, start=4, stop=6, seed=1)).trees["Mean"]
        ({'value': array([0., 0.], dtype=float32)}, {'entry': array([4, 5])})
    """

    #: The name used by the CLI (``hepgen train NAME``) and saved in run folders and model files.
    name: ClassVar[str]
    Training: ClassVar[type[TrainSettings]]
    Prediction: ClassVar[type[PredictSettings]]
    Validation: ClassVar[type[ValidateSettings]]
    #: The ``nn.Module`` class; ``model_class(**payload["config"], saved_with=...)`` rebuilds a saved model (every
    #: model class takes ``saved_with``, the plain values of its model file).
    model_class: ClassVar[type]
    #: The main tree of prediction files.
    output_tree: ClassVar[str]
    #: Entries per prediction block: the unit of ``--shard`` and of seeding.
    block_size: ClassVar[int]
    #: How ``validate --shard`` and ``--scheduler`` group prediction files (e.g. "μ point").
    group_name: ClassVar[str] = "prediction file"
    #: ``"module:function"`` of the validation, called as ``function(pred_files, out, **validation_options(...))``.
    validator: ClassVar[str]

    @property
    def summary(self) -> str:
        """One line for ``--help``: the first line of the task class's docstring."""
        return (inspect.getdoc(type(self)) or self.name).splitlines()[0]

    # -- training ------------------------------------------------------------------------------------
    def build_model(self, settings: Any) -> Any:
        """A fresh model for ``settings`` (its standardisation is fitted by :meth:`training_data`): by default
        :attr:`model_class` with every constructor argument that the settings name (``dim``, ``heads``, ...)."""
        return self.model_class(**constructor_arguments(self.model_class, settings))

    @abstractmethod
    def training_data(self, settings: Any, model: Any) -> TrainingData:
        """Read the training entries, split off the validation entries, fit ``model``'s standardisation."""

    @abstractmethod
    def loss(self, model: Any, batch: Any, *, generator: Any = None) -> Mapping[str, Any]:
        """Named loss terms (scalar tensors) of a batch; the driver minimises their sum, or the term ``total`` if
        there is one (the others are then only logged)."""

    def model_file_extras(self, settings: Any) -> dict[str, Any]:
        """Plain values saved in ``model.pt`` beside the weights (read back by prediction)."""
        return {}

    # -- prediction ----------------------------------------------------------------------------------
    def load_predictor(self, settings: Any) -> Any:
        """What :meth:`predict_block` samples from: by default the model of ``settings.run``."""
        from hepgen.errors import HepgenInputError
        from hepgen.tasks.run_folder import load_model

        if getattr(settings, "onnx", None):
            if settings.run is not None:
                raise HepgenInputError("give either --run RUN (PyTorch) or --onnx DIR (onnxruntime), not both")
            return self.load_onnx_predictor(settings)
        if settings.run is None:
            raise HepgenInputError(f"hepgen predict {self.name} needs --run RUN (a trained {self.name} model)")
        return load_model(self, settings.run, device=settings.device)

    def load_onnx_predictor(self, settings: Any) -> Any:
        """What :meth:`predict_block` samples from for ``--onnx DIR``: the exported graphs run with onnxruntime, with
        the interface of the PyTorch predictor (the same numbers within the export's tolerance)."""
        from hepgen.errors import HepgenInputError

        raise HepgenInputError(f"hepgen predict {self.name} cannot run an ONNX export")

    # -- export --------------------------------------------------------------------------------------
    def export_graphs(self, model: Any) -> tuple[list[Any], dict[str, Any]]:
        """The ONNX graphs of a trained model (:class:`~hepgen.tasks.onnx_export.ExportGraph`) and what the export's
        metadata adds (input features, the sampler loop)."""
        from hepgen.errors import HepgenInputError

        raise HepgenInputError(f"task {self.name} has no ONNX export")

    @abstractmethod
    def count_entries(self, settings: Any) -> int:
        """Input entries (events, jets) over all input files; reads no data."""

    @abstractmethod
    def predict_block(self, predictor: Any, settings: Any, block: Block) -> BlockOutput:
        """The outputs of one block; a block of size 0 gives every branch with no rows."""

    def prediction_metadata(self, predictor: Any, settings: Any) -> dict[str, Any]:
        """Provenance written beside the outputs (the driver adds the settings, shard, seed, version)."""
        return {}

    def input_files(self, settings: Any) -> list[str]:
        """The input files of a prediction (for the metadata)."""
        return []

    # -- validation ----------------------------------------------------------------------------------
    def validation_groups(self, files: list[str]) -> dict[Any, list[str]]:
        """Prediction files grouped into independent units (``validate --shard`` takes whole groups)."""
        return {os.fspath(f): [os.fspath(f)] for f in files}

    def validation_options(self, settings: Any) -> dict[str, Any]:
        """The keyword options of :attr:`validator` from the validation settings (every task's generic flags)."""
        keys = {"label": "label_text", "experiment": "experiment", "figures": "figures", "bootstrap": "bootstrap"}
        keys |= {"scheduler": "scheduler", "progress": "progress"}
        return {option: getattr(settings, field) for field, option in keys.items()}

    def validate(self, settings: Any) -> dict[str, Any]:
        """Compare the predictions of ``settings.pred``; writes metrics.json, summary.md, figures to ``settings.out``
        (:attr:`validator` with :meth:`validation_options`)."""
        module, _, function = self.validator.partition(":")
        validator = getattr(importlib.import_module(module), function)
        return validator(settings.pred, settings.out, **self.validation_options(settings))

    def validation_headline(self, metrics: dict[str, Any]) -> str:
        """One line printed after a validation."""
        return f"validated {self.name}; results in the output folder"
