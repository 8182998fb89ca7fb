"""The one training driver of every task (PyTorch Lightning at the edge).

:func:`train` takes a :class:`~hepgen.tasks.base.Task` and its training settings and does everything that is
not task-specific: the run folder (``config.yaml`` with the whole resolved settings, refusal to overwrite a
trained model, ``--resume`` from ``checkpoints/last.ckpt`` after a compatibility check), seeding, the AdamW
optimiser with a cosine decay, an optional EMA of the weights, checkpoints of the best validation loss and of
the last step, early stopping, the CSV log, DDP (each rank trains on its share of every epoch, see
:class:`~hepgen.tasks.data_parallel.EpochBatches`), and finally ``model.pt`` with the best weights (the EMA's
when on) for ``predict``.

Reproducibility: the data order of epoch ``e`` depends on ``(seed, e)``; the noise and dropout of optimizer
step ``s`` on rank ``r`` derive from ``(seed, s, r)``. So a run that crashes and is resumed ends with the
weights of an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from hepgen.models.edm import ExponentialMovingAverage
from hepgen.shards import derive_seed
from hepgen.tasks.base import Task, TrainSettings
from hepgen.tasks.data_parallel import planned_world_size
from hepgen.tasks.run_folder import check_resume_compatible, prepare_run_folder, save_model_file, write_run_config

__all__ = ["train", "TaskModule", "move_to_device", "export_checkpoint"]

log = logging.getLogger("hepgen.training")


def _lightning():
    import lightning

    return lightning


def move_to_device(batch: Any, device: torch.device) -> Any:
    """Tensors anywhere in ``batch`` (tensors, dicts, tuples, lists, dataclasses) moved to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, Mapping):
        return {k: move_to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(move_to_device(v, device) for v in batch)
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        return dataclasses.replace(
            batch,
            **{f.name: move_to_device(getattr(batch, f.name), device) for f in dataclasses.fields(batch) if f.init},
        )
    return batch


def _batch_size(batch: Any) -> int:
    """The leading dimension of the first tensor in ``batch`` (for logging)."""
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0])
    items = (
        batch.values()
        if isinstance(batch, Mapping)
        else (
            batch
            if isinstance(batch, (tuple, list))
            else [getattr(batch, f.name) for f in dataclasses.fields(batch)]
            if dataclasses.is_dataclass(batch)
            else []
        )
    )
    for item in items:
        if item is not None and not isinstance(item, (int, float, str)):
            size = _batch_size(item)
            if size:
                return size
    return 0


class TaskModule(_lightning().LightningModule):
    """The Lightning wrapper of any task's model: the task's loss terms, AdamW with cosine decay, optional EMA.

    Logs ``train_loss`` (and ``train_<term>`` for several terms) and ``val_loss`` (the EMA's when on).
    """

    def __init__(
        self, task: Task, model: torch.nn.Module, settings: TrainSettings, *, total_steps: int, train_data: Any = None
    ) -> None:
        super().__init__()
        self.task, self.model, self.settings = task, model, settings
        self.total_steps = max(total_steps, 1)
        self.train_data = train_data
        self.ema = ExponentialMovingAverage(model, decay=settings.ema_decay) if settings.ema_decay > 0 else None

    @property
    def sampling_model(self) -> torch.nn.Module:
        """The weights to evaluate and save: the EMA when on."""
        return self.ema.model if self.ema is not None else self.model

    def on_train_epoch_start(self) -> None:
        if self.train_data is not None:
            self.train_data.set_epoch(self.current_epoch)  # the data order is restored on resume

    def _step_generator(self, device: torch.device) -> torch.Generator:
        # dropout (global RNG) and the task's noise (this generator) of each step derive from (seed, step, rank),
        # so a resumed run continues identically
        seed = derive_seed(self.settings.seed, self.global_step, self.global_rank)
        torch.manual_seed(seed)
        return torch.Generator(device=device).manual_seed(seed)

    def _log_terms(
        self, prefix: str, terms: Mapping[str, torch.Tensor], batch_size: int, **options: Any
    ) -> torch.Tensor:
        """The loss to minimise — ``terms["total"]`` if the task gives it (its other terms are then only logged),
        else the sum of the terms — logged as ``<prefix>_loss`` with every term."""
        total = terms["total"] if "total" in terms else sum(terms.values())
        self.log(f"{prefix}_loss", total, prog_bar=True, batch_size=batch_size, **options)
        if len(terms) > 1:
            for name, value in terms.items():
                if name != "total":
                    self.log(f"{prefix}_{name}", value, batch_size=batch_size, **options)
        return total  # type: ignore[return-value]

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        terms = self.task.loss(self.model, batch, generator=self._step_generator(self.device))
        return self._log_terms("train", terms, _batch_size(batch))

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.ema is not None:
            self.ema.update(self.model)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        generator = torch.Generator(device=self.device).manual_seed(batch_idx)  # the same noise every validation
        terms = self.task.loss(self.sampling_model, batch, generator=generator)
        self._log_terms("val", terms, _batch_size(batch), sync_dist=True)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.ema is not None:
            checkpoint["ema"] = self.ema.state_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.ema is not None and "ema" in checkpoint:
            self.ema.load_state_dict(checkpoint["ema"])

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        return move_to_device(batch, device)

    def configure_optimizers(self) -> Any:
        s = self.settings
        optimizer = torch.optim.AdamW(self.model.parameters(), lr=s.learning_rate, weight_decay=s.weight_decay)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=self.total_steps, eta_min=s.learning_rate * s.lr_floor
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def train(task: Task, settings: TrainSettings, *, callbacks: Sequence[Any] = ()) -> Path:
    """Train ``task`` with ``settings``; returns the run folder (see the module docstring for its contents).

    ``callbacks`` are extra Lightning callbacks (tests use them to interrupt or observe a run).
    """
    L = _lightning()
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    run = prepare_run_folder(settings.out, resume=settings.resume)
    if settings.resume:
        check_resume_compatible(run, task.name, settings)
    L.seed_everything(settings.seed, workers=True, verbose=False)
    model = task.build_model(settings)
    data = task.training_data(settings, model)
    if data.description:
        log.info("%s: %s", task.name, data.description)
    steps_per_epoch = max(data.train.n_batches // planned_world_size(settings.devices, settings.num_nodes), 1)
    total = settings.max_steps if settings.max_steps > 0 else steps_per_epoch * max(settings.max_epochs, 1)
    module = TaskModule(task, model, settings, total_steps=total, train_data=data.train)
    write_run_config(run, task.name, settings)
    checkpoint = ModelCheckpoint(
        dirpath=run / "checkpoints", filename="best", monitor="val_loss", mode="min", save_last=True
    )
    trainer = L.Trainer(
        max_epochs=settings.max_epochs,
        max_steps=settings.max_steps,
        accelerator=settings.accelerator,
        devices=settings.devices,
        strategy=settings.strategy,
        num_nodes=settings.num_nodes,
        precision=settings.precision,
        callbacks=[
            checkpoint,
            EarlyStopping(monitor="val_loss", mode="min", patience=settings.patience, strict=False),
            *callbacks,
        ],  # strict=False: a run shorter than one epoch has no validation loss yet
        logger=CSVLogger(run, name="logs"),  # logs/version_N/metrics.csv: a resumed run keeps the earlier log
        enable_progress_bar=settings.progress,
        enable_model_summary=False,
        log_every_n_steps=max(1, min(50, steps_per_epoch)),
        val_check_interval=settings.val_check_interval,
        deterministic=False,
    )
    from hepgen.errors import HepgenInputError

    if settings.data_workers < 0:
        raise HepgenInputError(f"--data-workers must be >= 0; got {settings.data_workers}")
    train_loader = torch.utils.data.DataLoader(data.train, batch_size=None, num_workers=settings.data_workers)
    val_loader = torch.utils.data.DataLoader(data.validation, batch_size=None, num_workers=settings.data_workers)
    last = run / "checkpoints" / "last.ckpt"
    trainer.fit(module, train_loader, val_loader, ckpt_path=str(last) if settings.resume and last.exists() else None)
    if trainer.global_rank == 0:
        best = checkpoint.best_model_path
        if best and Path(best).exists():  # the best validation loss, not the last step
            state = torch.load(best, map_location="cpu", weights_only=False)
            module.load_state_dict(state["state_dict"])
            module.on_load_checkpoint(state)
        score = checkpoint.best_model_score
        save_model_file(
            run / "model.pt",
            task.name,
            module.sampling_model.config,
            module.sampling_model.state_dict(),
            best_val_loss=None if score is None else float(score),
            **task.model_file_extras(settings),
        )
    return run


def export_checkpoint(task: Task, run: str | Path, *, checkpoint: str = "best", out: str | Path | None = None) -> Path:
    """Write the ``model.pt`` of a run from one of its Lightning checkpoints (``best`` or ``last``), e.g. to use a
    run that is still training or was stopped: the same file :func:`train` writes at its end (the EMA's weights
    when on). Returns the model file (``RUN/model.pt`` unless ``out``)."""
    from hepgen.errors import HepgenInputError
    from hepgen.tasks.run_folder import read_run_config
    from hepgen.tasks.settings import resolve

    run = Path(run)
    path = run / "checkpoints" / f"{checkpoint}.ckpt"
    if not path.exists():
        found = sorted(p.name for p in (run / "checkpoints").glob("*.ckpt")) if (run / "checkpoints").exists() else []
        raise HepgenInputError(f"no checkpoint {str(path)!r}; the run holds {found or 'none'}")
    settings = resolve(task.Training, (f"{run}/config.yaml", read_run_config(run / "config.yaml", task.name)))
    model = task.build_model(settings)
    module = TaskModule(task, model, settings, total_steps=1)
    state = torch.load(path, map_location="cpu", weights_only=False)
    module.load_state_dict(state["state_dict"])
    module.on_load_checkpoint(state)
    target = Path(out) if out is not None else run / "model.pt"
    save_model_file(
        target,
        task.name,
        module.sampling_model.config,
        module.sampling_model.state_dict(),
        checkpoint=f"{checkpoint} (epoch {state.get('epoch')}, step {state.get('global_step')})",
        **task.model_file_extras(settings),
    )
    return target
