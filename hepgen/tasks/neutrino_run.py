"""Training, prediction and run folders for the neutrino task (PyTorch Lightning at the edge).

``train_neutrino`` reads ROOT files, fits the in-model standardisation on the
training split and trains with Lightning (checkpoints, resume, early stopping
on the validation loss, CSV log, progress bar). The run folder holds:

* ``config.yaml`` — the resolved configuration;
* ``model.pt`` — the best weights, the model's constructor arguments and the
  standardisation (everything ``predict`` needs);
* ``checkpoints/`` — Lightning checkpoints (``last.ckpt`` for resuming);
* ``logs/version_N/metrics.csv`` — losses per step and epoch (one version per start or resume).

``predict_neutrino`` writes posterior samples aligned with the input events.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from hepgen import __version__
from hepgen.errors import HepgenInputError
from hepgen.io import count_entries, read
from hepgen.io.files import expand_files
from hepgen.io.writer import write_event_outputs
from hepgen.shards import Shard, derive_seed, entry_blocks
from hepgen.tasks.data_parallel import EpochBatches, planned_world_size
from hepgen.tasks.neutrino import NeutrinoArrays, NeutrinoModel, neutrino_arrays, targets_to_momentum
from hepgen.tasks.run_folder import check_resume_compatible, load_model_file, prepare_run_folder, save_model_file, write_run_config

__all__ = [
    "NeutrinoTrainConfig",
    "train_neutrino",
    "load_neutrino_model",
    "predict_neutrino",
    "NeutrinoLightningModule",
    "batches",
]

log = logging.getLogger("hepgen.neutrino")

TASK = "neutrino"


@dataclass
class NeutrinoTrainConfig:
    """Everything a neutrino training run needs; stored as the run's ``config.yaml``."""

    data: list[str]
    out: str
    model: str = "flow"
    schema: str = "hepgen-ttbar"
    dim: int = 64
    heads: int = 4
    layers: int = 3
    head_hidden: int = 128
    flow_transforms: int = 4
    mdn_components: int = 5
    batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    max_epochs: int = 50
    max_steps: int = -1
    patience: int = 5
    val_fraction: float = 0.1
    max_events: int | None = None
    seed: int = 1
    accelerator: str = "auto"
    devices: str | int = "auto"
    strategy: str = "auto"
    precision: str = "32-true"
    num_nodes: int = 1
    resume: bool = False
    progress: bool = True
    val_check_interval: float | int = 1.0
    extra: dict[str, Any] = field(default_factory=dict)

    def model_kwargs(self) -> dict[str, Any]:
        return {
            "head": self.model, "dim": self.dim, "heads": self.heads, "layers": self.layers,
            "head_hidden": self.head_hidden, "flow_transforms": self.flow_transforms,
            "mdn_components": self.mdn_components,
        }  # fmt: skip


def batches(arrays: NeutrinoArrays, batch_size: int, *, shuffle: bool, seed: int = 0):  # noqa: ANN201
    """Yield ``(objects, masks, target)`` tensor batches (whole-batch indexing: no per-event collate)."""
    order = np.random.default_rng(seed).permutation(len(arrays)) if shuffle else np.arange(len(arrays))
    for start in range(0, len(arrays), batch_size):
        part = arrays.select(order[start : start + batch_size])
        objects, masks = part.tensors()
        target = None if part.target is None else torch.as_tensor(part.target)
        yield objects, masks, target


def _epoch_batches(arrays: NeutrinoArrays, batch_size: int, *, shuffle: bool, seed: int) -> EpochBatches:
    """Batches of ``arrays``; with ``shuffle`` the order of epoch ``e`` derives from ``(seed, e)`` only."""

    def make(epoch: int) -> list:
        order = np.random.default_rng([seed, epoch]).permutation(len(arrays)) if shuffle else np.arange(len(arrays))

        def build(index: np.ndarray):  # noqa: ANN202
            part = arrays.select(index)
            objects, masks = part.tensors()
            return objects, masks, None if part.target is None else torch.as_tensor(part.target)

        return [lambda i=order[s : s + batch_size]: build(i) for s in range(0, len(arrays), batch_size)]

    return EpochBatches(make, math.ceil(len(arrays) / batch_size))


def _lightning():  # noqa: ANN202
    import lightning

    return lightning


class NeutrinoLightningModule(_lightning().LightningModule):
    """Lightning wrapper: the loss is the model's −log p(y | event); AdamW with cosine decay."""

    def __init__(self, model: NeutrinoModel, *, learning_rate: float, weight_decay: float, total_steps: int,
                 seed: int = 0, train_data: EpochBatches | None = None) -> None:  # fmt: skip
        super().__init__()
        self.model = model
        self.learning_rate, self.weight_decay, self.total_steps = learning_rate, weight_decay, max(total_steps, 1)
        self.seed, self.train_data = seed, train_data

    def on_train_epoch_start(self) -> None:
        if self.train_data is not None:
            self.train_data.set_epoch(self.current_epoch)  # the data order is restored on resume

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        torch.manual_seed(derive_seed(self.seed, self.global_step, self.global_rank))  # dropout etc. resume identically

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        objects, masks, target = batch
        loss = self.model.loss(objects, masks, target)
        self.log("train_loss", loss, prog_bar=True, batch_size=len(target))
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        objects, masks, target = batch
        self.log("val_loss", self.model.loss(objects, masks, target), prog_bar=True, batch_size=len(target), sync_dist=True)

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=self.total_steps, eta_min=self.learning_rate / 50)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def _load_arrays(files: list[str], schema: str, max_events: int | None) -> NeutrinoArrays:
    events = read(files, schema, entry_stop=max_events)
    arrays = neutrino_arrays(events, require_truth=True)
    if len(arrays) < 10:
        raise HepgenInputError(f"only {len(arrays)} usable events in {files}; training needs more (skipped: {arrays.skipped})")
    return arrays


def train_neutrino(config: NeutrinoTrainConfig, *, callbacks: Sequence[Any] = ()) -> Path:
    """Train one neutrino model; returns the run folder (see the module docstring for its contents)."""
    L = _lightning()
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    run = prepare_run_folder(config.out, resume=config.resume)
    if config.resume:
        check_resume_compatible(run, TASK, config)
    L.seed_everything(config.seed, workers=True, verbose=False)
    arrays = _load_arrays(config.data, config.schema, config.max_events)
    order = np.random.default_rng(config.seed).permutation(len(arrays))
    n_val = max(1, int(round(config.val_fraction * len(arrays))))
    train, val = arrays.select(np.sort(order[n_val:])), arrays.select(np.sort(order[:n_val]))
    log.info("training %s on %d events, validating on %d (skipped %s)", config.model, len(train), len(val), arrays.skipped)

    model = NeutrinoModel(**config.model_kwargs())
    model.fit_standardization(train)
    steps_per_epoch = math.ceil(len(train) / config.batch_size) // planned_world_size(config.devices, config.num_nodes)
    total = config.max_steps if config.max_steps > 0 else max(steps_per_epoch, 1) * config.max_epochs
    train_data = _epoch_batches(train, config.batch_size, shuffle=True, seed=config.seed)
    module = NeutrinoLightningModule(
        model, learning_rate=config.learning_rate, weight_decay=config.weight_decay, total_steps=total, seed=config.seed,
        train_data=train_data,
    )
    write_run_config(run, TASK, config)
    checkpoint = ModelCheckpoint(
        dirpath=run / "checkpoints", filename="best", monitor="val_loss", mode="min", save_last=True
    )
    trainer = L.Trainer(
        max_epochs=config.max_epochs,
        max_steps=config.max_steps,
        accelerator=config.accelerator,
        devices=config.devices,
        strategy=config.strategy,
        num_nodes=config.num_nodes,
        precision=config.precision,
        callbacks=[checkpoint, EarlyStopping(monitor="val_loss", mode="min", patience=config.patience), *callbacks],
        logger=CSVLogger(run, name="logs"),  # logs/version_N/metrics.csv: a resumed run keeps the earlier log
        enable_progress_bar=config.progress,
        enable_model_summary=False,
        log_every_n_steps=max(1, min(50, steps_per_epoch)),
        val_check_interval=config.val_check_interval,
        deterministic=False,
    )
    train_loader = torch.utils.data.DataLoader(train_data, batch_size=None)
    val_loader = torch.utils.data.DataLoader(_epoch_batches(val, 4 * config.batch_size, shuffle=False, seed=0), batch_size=None)
    last = run / "checkpoints" / "last.ckpt"
    trainer.fit(module, train_loader, val_loader, ckpt_path=str(last) if config.resume and last.exists() else None)
    if trainer.global_rank == 0:
        best = checkpoint.best_model_path or str(last)
        state = torch.load(best, map_location="cpu", weights_only=False)["state_dict"] if best and Path(best).exists() else None
        if state is not None:
            module.load_state_dict(state)
        save_neutrino_model(model, run / "model.pt", extra={"best_val_loss": _float(checkpoint.best_model_score)})
    return run


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def save_neutrino_model(model: NeutrinoModel, path: Path, *, extra: dict[str, Any] | None = None) -> None:
    """Save weights, constructor arguments and standardisation in one file, atomically."""
    save_model_file(path, TASK, model.config, model.state_dict(), **(extra or {}))


def load_neutrino_model(run: str | os.PathLike, *, device: str | torch.device = "cpu") -> NeutrinoModel:
    """The trained model of a run folder (or a ``model.pt`` file)."""
    payload = load_model_file(run, TASK, device=device)
    model = NeutrinoModel(**payload["config"])
    model.load_state_dict(payload["state_dict"])
    return model.to(device).eval()


#: Events per prediction block: the unit of ``--shard`` and of seeding (see :func:`hepgen.shards.entry_blocks`).
PREDICTION_BLOCK = 1024


def _predict_block(arrays: NeutrinoArrays, model: NeutrinoModel | None, *, samples: int, batch_size: int, seed: int,
                   device: str) -> dict[str, np.ndarray]:  # fmt: skip
    """Point estimates (and samples) for one block of events; the sampling stream depends on ``seed`` only."""
    outputs: dict[str, np.ndarray] = {}
    if model is None:
        met = arrays.objects["met"][:, 0]
        outputs["point"] = np.stack([met[:, 0], met[:, 1], arrays.analytic_pz], axis=-1).astype(np.float32)
    else:
        torch.manual_seed(seed)
        draws = []
        for objects, masks, _ in batches(arrays, batch_size, shuffle=False):
            objects = {k: v.to(device) for k, v in objects.items()}
            masks = {k: v.to(device) for k, v in masks.items()}
            n = 1 if model.point_estimate else samples
            draws.append(targets_to_momentum(model.sample(objects, masks, n)).cpu().numpy())
        width = 1 if model.point_estimate else samples
        sample_array = np.concatenate(draws) if draws else np.zeros((0, width, 3), np.float32)
        outputs["point"] = np.median(sample_array, axis=1).astype(np.float32)
        if not model.point_estimate:
            outputs["samples"] = sample_array.astype(np.float32)
    if arrays.target is not None:
        has_truth = np.isfinite(arrays.target).all(axis=1)
        truth = targets_to_momentum(np.where(has_truth[:, None], arrays.target, 0.0))
        outputs["truth"] = truth.astype(np.float32)  # zero where the event has no truth neutrino
        outputs["has_truth"] = has_truth
    outputs["lepton_p4"] = arrays.lepton_p4.astype(np.float32)
    if arrays.b_lep_p4 is not None:
        outputs["b_lep_p4"] = arrays.b_lep_p4.astype(np.float32)
    return outputs


def predict_neutrino(
    *,
    data: list[str],
    out: str | os.PathLike,
    run: str | os.PathLike | None = None,
    method: str | None = None,
    schema: str = "hepgen-ttbar",
    samples: int = 256,
    batch_size: int = 512,
    shard: Shard | None = None,
    max_events: int | None = None,
    device: str = "cpu",
    seed: int = 0,
    overwrite: bool = False,
    progress: bool = False,
) -> Path:
    """Posterior samples (or the point estimate) of the neutrino for every usable input event.

    Exactly one of ``run`` (a trained model) or ``method="analytic"`` is given.
    The output holds ``point`` (px, py, pz) ``[B, 3]``, ``samples`` ``[B, S, 3]``
    for probabilistic models, ``lepton_p4``, and when known ``truth`` with
    ``has_truth`` and ``b_lep_p4``, aligned with the inputs through ``event_id_*``.
    Events without a lepton or jets are left out and counted in the metadata.

    The input events (all files chained) are cut in blocks of :data:`PREDICTION_BLOCK`;
    ``shard`` i/n takes blocks i, i + n, ...; each block's samples derive from
    (``seed``, block) only, so the shards' outputs together equal the unsharded output.
    A shard without events writes a valid empty file. With ``overwrite=False`` an
    existing output is kept and nothing is computed (safe reruns of grid jobs).
    """
    shard = shard or Shard()
    if (run is None) == (method is None):
        raise HepgenInputError("give either a trained --run or --model analytic")
    if method not in (None, "analytic"):
        raise HepgenInputError(f"--model {method!r} needs a trained run; without one only 'analytic' is available")
    if not overwrite and Path(out).exists():
        log.warning("%s exists; nothing to do (use --overwrite to recompute)", out)
        return Path(out)
    files = expand_files(data)
    n_entries = count_entries(files, schema)
    if max_events is not None:
        n_entries = min(n_entries, max_events)
    blocks = entry_blocks(n_entries, PREDICTION_BLOCK, shard)
    if not blocks:
        log.warning("shard %s holds no events (%d events in blocks of %d); writing an empty output", shard, n_entries,
                    PREDICTION_BLOCK)  # fmt: skip
    model = None if method == "analytic" else load_neutrino_model(run, device=device)  # type: ignore[arg-type]
    name = "analytic" if model is None else model.head_kind
    parts, ids, skipped = [], [], {}
    from tqdm.auto import tqdm

    for block, start, stop in tqdm(blocks, desc=f"predict {name} [{shard}]", unit=" blocks", disable=not progress):
        events = read(files, schema, entry_start=start, entry_stop=stop)
        arrays = neutrino_arrays(events)
        for reason, count in arrays.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + count
        parts.append(_predict_block(arrays, model, samples=samples, batch_size=batch_size, seed=derive_seed(seed, block),
                                    device=device))  # fmt: skip
        ids.append({k: v[arrays.event_index] for k, v in events.event_id.items()})
    if parts:
        outputs = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        event_id = {k: np.concatenate([i[k] for i in ids]) for k in ids[0]}
    else:
        outputs = {"point": np.zeros((0, 3), np.float32), "lepton_p4": np.zeros((0, 4), np.float32)}
        event_id = {"entry": np.zeros(0, np.int64)}
    return write_event_outputs(
        out,
        outputs,
        event_id=event_id,
        tree="Neutrino",
        metadata={
            "task": TASK, "method": name, "run": str(run) if run else None, "schema": schema, "files": files,
            "shard": str(shard), "samples": samples, "skipped": skipped, "seed": seed, "block_size": PREDICTION_BLOCK,
            "hepgen_version": __version__,
        },
    )  # fmt: skip
