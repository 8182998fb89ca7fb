"""Training and prediction for VIPR (PyTorch Lightning at the edge), with pileup overlaid on the fly.

``train_pileup`` reads hard-scatter jets and a minimum-bias pool; every epoch
draws fresh pileup (μ from |N(μ, σ)| by default) for every jet, so the model
never sees the same contamination twice. An EMA of the weights (with warm-up)
is kept for sampling. The run folder holds ``config.yaml``, ``model.pt`` (EMA
weights, constructor arguments, standardisation), ``checkpoints/`` and ``logs/``.

``predict_pileup`` overlays pileup on the hard jets of the input (or reads
observed jets as they are when ``mu`` is None and the files hold them), and
writes K posterior samples per jet: one row per (jet, sample), with the index
of the observed jet, the generated constituents and the generated jet.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence
from typing import Any

import awkward as ak
import numpy as np
import torch

from hepgen import __version__
from hepgen.errors import HepgenInputError
from hepgen.io.files import expand_files, open_tree
from hepgen.io.writer import write_event_outputs
from hepgen.models.edm import ExponentialMovingAverage
from hepgen.physics.kinematics import pt_eta_phi_mass, summed_p4
from hepgen.shards import Shard, derive_seed, entry_blocks
from hepgen.sim.pileup import HardJets, OverlaidJets, PileupPool, draw_pileup_counts, overlay_pileup
from hepgen.tasks.data_parallel import EpochBatches, planned_world_size
from hepgen.tasks.pileup import VIPRModel, jet_batch, to_generated_jets
from hepgen.tasks.run_folder import check_resume_compatible, load_model_file, prepare_run_folder, save_model_file, write_run_config

__all__ = ["PileupTrainConfig", "load_pileup_model", "predict_pileup", "read_hard_jets", "train_pileup"]

log = logging.getLogger("hepgen.pileup")

TASK = "pileup"


@dataclass
class PileupTrainConfig:
    """Everything a VIPR training run needs; stored as the run's ``config.yaml``."""

    jets: list[str]
    pileup: list[str]
    out: str
    mu: float = 60.0
    mu_sigma: float = 10.0
    radius: float = 1.0
    dim: int = 64
    heads: int = 4
    blocks: int = 3
    encoder_blocks: int = 2
    latents: int = 0
    max_hard: int = 128
    batch_size: int = 64
    learning_rate: float = 5e-4
    max_epochs: int = 50
    max_steps: int = -1
    patience: int = 10
    val_fraction: float = 0.1
    max_jets: int | None = None
    ema_decay: float = 0.999
    seed: int = 1
    accelerator: str = "auto"
    devices: str | int = "auto"
    strategy: str = "auto"
    precision: str = "32-true"
    num_nodes: int = 1
    resume: bool = False
    progress: bool = True

    def model_kwargs(self) -> dict[str, Any]:
        return {"dim": self.dim, "heads": self.heads, "blocks": self.blocks, "encoder_blocks": self.encoder_blocks,
                "latents": self.latents, "max_hard": self.max_hard}  # fmt: skip


def read_hard_jets(
    files: list[str], *, max_jets: int | None = None, entry_start: int = 0, entry_stop: int | None = None
) -> tuple[HardJets, np.ndarray]:
    """Hard-scatter jets (``hepgen generate jets`` files, hard constituents only) and their truth masses ``[J]``.

    ``entry_start``/``entry_stop`` select jets by their global index over the chained files (as a TChain);
    ``max_jets`` caps the total read from the start.
    """
    if max_jets is not None:
        entry_stop = max_jets if entry_stop is None else min(entry_stop, max_jets)
    parts, masses = [], []
    offset = 0
    for path in expand_files(files):
        tree = open_tree(path, "Jets")
        try:
            n = int(tree.num_entries)
            start = max(entry_start - offset, 0)
            stop = n if entry_stop is None else min(max(entry_stop - offset, 0), n)
            if start < stop:
                jets = tree.arrays(entry_start=start, entry_stop=stop)
            else:
                jets = None
        finally:
            tree.file.close()
        offset += n
        if jets is not None:
            hard = ~jets.Constituent_isPileup
            parts.append((jets.HardJet_eta, jets.HardJet_phi,
                          ak.zip({k: jets[f"Constituent_{k}"][hard] for k in ("pt", "eta", "phi", "mass", "charge")})))  # fmt: skip
            masses.append(ak.to_numpy(jets.HardJet_mass))
        if entry_stop is not None and offset >= entry_stop:
            break
    if not parts:
        raise HepgenInputError(f"no jets in {files} (entries {entry_start} to {entry_stop})")
    eta = np.concatenate([ak.to_numpy(p[0]) for p in parts])
    phi = np.concatenate([ak.to_numpy(p[1]) for p in parts])
    constituents = ak.concatenate([p[2] for p in parts]) if len(parts) > 1 else parts[0][2]
    return HardJets.from_columns(eta, phi, constituents), np.concatenate(masses)


def count_jets(files: list[str]) -> int:
    """Number of jets over all ``files`` (tree ``Jets``); reads no data."""
    total = 0
    for path in expand_files(files):
        tree = open_tree(path, "Jets")
        try:
            total += int(tree.num_entries)
        finally:
            tree.file.close()
    return total


def _subset(hard: HardJets, index: np.ndarray) -> HardJets:
    counts = np.diff(hard.offsets)[index]
    take = np.concatenate([np.arange(hard.offsets[i], hard.offsets[i + 1]) for i in index]) if len(index) else np.zeros(0, int)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    return HardJets(hard.eta[index], hard.phi[index], hard.pt[take], hard.c_eta[take], hard.c_phi[take],
                    hard.c_mass[take], hard.c_charge[take], offsets)  # fmt: skip


def _overlay_batches(hard: HardJets, pool: PileupPool, config: PileupTrainConfig, *, shuffle: bool, seed: int) -> EpochBatches:
    """Every epoch overlays fresh pileup on all jets (from ``(seed, epoch)`` only) and yields padded batches."""

    def make(epoch: int) -> list:
        rng = np.random.default_rng([seed, epoch if shuffle else 0])
        counts = draw_pileup_counts(hard.n_jets, config.mu, rng, distribution="gaussian", sigma=config.mu_sigma)
        observed = overlay_pileup(hard, pool, mu=config.mu, seed=rng, n_interactions=counts, radius=config.radius)
        order = rng.permutation(hard.n_jets) if shuffle else np.arange(hard.n_jets)

        def build(index: np.ndarray):  # noqa: ANN202
            return jet_batch(observed, counts.astype(np.float64), hard=hard, max_hard=config.max_hard, index=index).to_torch()

        return [lambda i=np.sort(order[s : s + config.batch_size]): build(i) for s in range(0, len(order), config.batch_size)]

    return EpochBatches(make, math.ceil(hard.n_jets / config.batch_size))


def _lightning():
    import lightning

    return lightning


class PileupLightningModule(_lightning().LightningModule):
    """Lightning wrapper: EDM loss + multiplicity NLL; AdamW with cosine decay; EMA for sampling."""

    def __init__(self, model: VIPRModel, *, learning_rate: float, total_steps: int, ema_decay: float, seed: int = 0,
                 train_data: EpochBatches | None = None) -> None:  # fmt: skip
        super().__init__()
        self.model = model
        self.learning_rate, self.total_steps = learning_rate, max(total_steps, 1)
        self.ema = ExponentialMovingAverage(model, decay=ema_decay)
        self.seed, self.train_data = seed, train_data

    def on_train_epoch_start(self) -> None:
        if self.train_data is not None:
            self.train_data.set_epoch(self.current_epoch)  # the overlay and order are restored on resume

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        # σ and the noise of each step derive from (seed, step, rank): a resumed run continues identically
        generator = torch.Generator(device=batch.observed.device).manual_seed(derive_seed(self.seed, self.global_step, self.global_rank))
        diffusion, multiplicity = self.model.loss(batch, generator=generator)
        B = batch.observed.shape[0]
        self.log("train_diffusion", diffusion, prog_bar=True, batch_size=B)
        self.log("train_multiplicity", multiplicity, batch_size=B)
        return diffusion + multiplicity

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.ema.update(self.model)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        diffusion, multiplicity = self.ema.model.loss(batch, generator=torch.Generator().manual_seed(batch_idx))
        self.log("val_loss", diffusion + multiplicity, prog_bar=True, batch_size=batch.observed.shape[0], sync_dist=True)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["ema"] = self.ema.state_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if "ema" in checkpoint:
            self.ema.load_state_dict(checkpoint["ema"])

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        return dataclasses.replace(batch, **{f.name: getattr(batch, f.name).to(device) for f in dataclasses.fields(batch)
                                             if isinstance(getattr(batch, f.name), torch.Tensor)})  # fmt: skip

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.AdamW(self.model.parameters(), lr=self.learning_rate)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=self.total_steps, eta_min=self.learning_rate / 20)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def train_pileup(config: PileupTrainConfig, *, callbacks: Sequence[Any] = ()) -> Path:
    """Train VIPR; returns the run folder."""
    L = _lightning()
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    run = prepare_run_folder(config.out, resume=config.resume)
    if config.resume:
        check_resume_compatible(run, TASK, config)
    L.seed_everything(config.seed, workers=True, verbose=False)
    hard, _ = read_hard_jets(config.jets, max_jets=config.max_jets)
    pool = PileupPool.from_root(config.pileup)
    order = np.random.default_rng(config.seed).permutation(hard.n_jets)
    n_val = max(1, int(round(config.val_fraction * hard.n_jets)))
    train, val = _subset(hard, np.sort(order[n_val:])), _subset(hard, np.sort(order[:n_val]))
    model = VIPRModel(**config.model_kwargs())
    fit_rng = np.random.default_rng(config.seed)
    counts = draw_pileup_counts(train.n_jets, config.mu, fit_rng, distribution="gaussian", sigma=config.mu_sigma)
    model.fit_standardization(jet_batch(overlay_pileup(train, pool, mu=config.mu, seed=fit_rng, n_interactions=counts),
                                        counts.astype(np.float64), hard=train, max_hard=config.max_hard))  # fmt: skip
    steps_per_epoch = max(math.ceil(train.n_jets / config.batch_size) // planned_world_size(config.devices, config.num_nodes), 1)
    total = config.max_steps if config.max_steps > 0 else steps_per_epoch * config.max_epochs
    train_data = _overlay_batches(train, pool, config, shuffle=True, seed=config.seed)
    module = PileupLightningModule(model, learning_rate=config.learning_rate, total_steps=total, ema_decay=config.ema_decay,
                                   seed=config.seed, train_data=train_data)  # fmt: skip
    write_run_config(run, TASK, config)
    checkpoint = ModelCheckpoint(dirpath=run / "checkpoints", filename="best", monitor="val_loss", mode="min", save_last=True)
    trainer = L.Trainer(
        max_epochs=config.max_epochs, max_steps=config.max_steps, accelerator=config.accelerator,
        devices=config.devices, strategy=config.strategy, precision=config.precision, num_nodes=config.num_nodes,
        callbacks=[checkpoint, EarlyStopping(monitor="val_loss", mode="min", patience=config.patience), *callbacks],
        logger=CSVLogger(run, name="logs"), enable_progress_bar=config.progress, enable_model_summary=False,
        log_every_n_steps=max(1, min(50, steps_per_epoch)),
    )  # fmt: skip
    train_loader = torch.utils.data.DataLoader(train_data, batch_size=None)
    val_loader = torch.utils.data.DataLoader(_overlay_batches(val, pool, config, shuffle=False, seed=config.seed + 1), batch_size=None)
    last = run / "checkpoints" / "last.ckpt"
    trainer.fit(module, train_loader, val_loader, ckpt_path=str(last) if config.resume and last.exists() else None)
    if trainer.global_rank == 0:
        best = checkpoint.best_model_path
        if best and Path(best).exists():
            state = torch.load(best, map_location="cpu", weights_only=False)
            if "ema" in state:
                module.ema.load_state_dict(state["ema"])
        save_model_file(run / "model.pt", TASK, model.config, module.ema.model.state_dict(), mu=config.mu,
                        mu_sigma=config.mu_sigma, radius=config.radius)  # fmt: skip
    return run


def load_pileup_model(run: str | os.PathLike, *, device: str | torch.device = "cpu") -> tuple[VIPRModel, dict[str, Any]]:
    """The EMA model of a VIPR run folder and its training settings (μ, radius)."""
    payload = load_model_file(run, TASK, device=device)
    model = VIPRModel(**payload["config"])
    model.load_state_dict(payload["state_dict"])
    return model.to(device).eval(), payload


def _jet_table(hard: HardJets, observed: OverlaidJets) -> dict[str, np.ndarray | ak.Array]:
    """One row per jet: the observed constituents (with ``is_pileup``) and the truth (hard) constituents and jets."""
    counts = np.diff(hard.offsets)
    truth = ak.zip({"pt": ak.unflatten(hard.pt, counts), "eta": ak.unflatten(hard.c_eta, counts),
                    "phi": ak.unflatten(hard.c_phi, counts), "mass": ak.unflatten(hard.c_mass, counts)})  # fmt: skip
    truth_jet = dict(zip(("pt", "eta", "phi", "mass"), pt_eta_phi_mass(summed_p4(truth))))
    table: dict[str, np.ndarray | ak.Array] = {
        **{f"observed_constituent_{k}": ak.values_astype(observed.constituents[k], np.float32) for k in ("pt", "eta", "phi", "mass")},
        "observed_constituent_is_pileup": ak.values_astype(observed.constituents.is_pileup, bool),
        **{f"truth_constituent_{k}": ak.values_astype(truth[k], np.float32) for k in ("pt", "eta", "phi", "mass")},
        **{f"observed_jet_{k}": getattr(observed, f"jet_{k}").astype(np.float32) for k in ("pt", "eta", "phi", "mass")},
        **{f"truth_jet_{k}": truth_jet[k].astype(np.float32) for k in ("pt", "eta", "phi", "mass")},
        "n_pileup": observed.n_interactions.astype(np.int32),
    }
    return table


#: Jets per prediction block: the unit of ``--shard`` and of seeding (see :func:`hepgen.shards.entry_blocks`).
PREDICTION_BLOCK = 32


def predict_pileup(
    *,
    run: str | os.PathLike,
    jets: list[str],
    pileup: list[str],
    out: str | os.PathLike,
    mu: float = 60.0,
    samples: int = 16,
    steps: int = 50,
    sampler: str = "heun",
    shard: Shard | None = None,
    max_jets: int | None = None,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    overwrite: bool = False,
) -> Path:
    """Overlay pileup (Poisson μ, seeded) on the input hard jets and write ``samples`` VIPR posteriors per jet.

    The output holds two trees: ``VIPR`` with one row per (jet, sample) — the generated constituents and jet —
    and ``Jets`` with one row per jet — the observed constituents (``is_pileup`` marks the overlay) and the
    truth constituents — so ``hepgen validate pileup`` needs nothing else.

    Jets are processed in blocks of :data:`PREDICTION_BLOCK` (global jet index over the chained files);
    ``shard`` i/n takes blocks i, i + n, ...; each block's overlay and samples derive from (``seed``, block)
    only, so the shards' outputs together equal the unsharded output. With ``overwrite=False`` an existing
    output is kept and nothing is computed.
    """
    shard = shard or Shard()
    if not overwrite and Path(out).exists():
        log.warning("%s exists; nothing to do (use --overwrite to recompute)", out)
        return Path(out)
    model, _ = load_pileup_model(run, device=device)
    files = expand_files(jets)
    n_jets = count_jets(files)
    if max_jets is not None:
        n_jets = min(n_jets, max_jets)
    blocks = entry_blocks(n_jets, PREDICTION_BLOCK, shard)
    if not blocks:
        log.warning("shard %s holds no jets (%d jets in blocks of %d); writing an empty output", shard, n_jets, PREDICTION_BLOCK)
    pool = PileupPool.from_root(pileup)
    from tqdm.auto import tqdm

    bar = tqdm(total=sum(stop - start for _, start, stop in blocks), unit=" jets", disable=not progress,
               desc=f"VIPR μ={mu:g} ({samples} samples, {steps} steps) [{shard}]")  # fmt: skip
    parts, tables, entries = [], [], []
    for block, start, stop in blocks:
        hard, truth_mass = read_hard_jets(files, entry_start=start, entry_stop=stop)
        observed = overlay_pileup(hard, pool, mu=mu, seed=derive_seed(seed, block))
        generator = torch.Generator(device=device).manual_seed(derive_seed(seed, block, 1))
        batch = jet_batch(observed, observed.n_interactions.astype(np.float64))
        clouds, mask = model.sample(batch.to_torch(device), samples, steps=steps, sampler=sampler, generator=generator)
        generated = to_generated_jets(clouds, mask, batch.axis, samples)
        rows = generated.jet_index
        parts.append({
            "entry": (rows + start).astype(np.int64),
            "sample": generated.sample_index.astype(np.int32),
            "constituent_pt": generated.constituents.pt,
            "constituent_eta": generated.constituents.eta,
            "constituent_phi": generated.constituents.phi,
            **{f"jet_{k}": getattr(generated, k).astype(np.float32) for k in ("pt", "eta", "phi", "mass")},
            "observed_jet_mass": observed.jet_mass[rows].astype(np.float32),
            "observed_jet_pt": observed.jet_pt[rows].astype(np.float32),
            "truth_jet_mass": truth_mass[rows].astype(np.float32),
            "n_pileup": observed.n_interactions[rows].astype(np.int32),
        })  # fmt: skip
        tables.append(_jet_table(hard, observed))
        entries.append(np.arange(start, stop, dtype=np.int64))
        bar.update(stop - start)
    bar.close()

    def joined(pieces: list[dict[str, Any]]) -> dict[str, Any]:
        return {k: (ak.concatenate([p[k] for p in pieces]) if isinstance(pieces[0][k], ak.Array) else
                    np.concatenate([p[k] for p in pieces])) for k in pieces[0]}  # fmt: skip

    if not parts:  # an empty shard: the same branches with no rows
        hard, truth_mass = read_hard_jets(files, entry_start=0, entry_stop=1)
        empty = overlay_pileup(hard, pool, mu=mu, seed=seed)
        none = np.zeros(0, dtype=np.int64)
        jagged = ak.unflatten(np.zeros(0, np.float32), none)
        parts = [{"entry": none, "sample": none.astype(np.int32), "constituent_pt": jagged, "constituent_eta": jagged,
                  "constituent_phi": jagged, **{f"jet_{k}": np.zeros(0, np.float32) for k in ("pt", "eta", "phi", "mass")},
                  "observed_jet_mass": np.zeros(0, np.float32), "observed_jet_pt": np.zeros(0, np.float32),
                  "truth_jet_mass": np.zeros(0, np.float32), "n_pileup": none.astype(np.int32)}]  # fmt: skip
        tables = [{k: v[:0] for k, v in _jet_table(hard, empty).items()}]
        entries = [none]
    outputs = joined(parts)
    sample_entry = outputs.pop("entry")
    return write_event_outputs(
        out, outputs, event_id={"entry": sample_entry}, tree="VIPR",
        extra_trees={"Jets": (joined(tables), {"entry": np.concatenate(entries)})},
        metadata={"task": TASK, "run": str(run), "jets": files, "pileup": list(pileup), "mu": mu, "samples": samples,
                  "steps": steps, "sampler": sampler, "seed": seed, "shard": str(shard), "block_size": PREDICTION_BLOCK,
                  "hepgen_version": __version__},
    )  # fmt: skip
