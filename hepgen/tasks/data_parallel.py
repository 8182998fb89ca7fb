"""Training data under data parallelism and resumption: which batches a DDP rank sees, in which order.

Lightning's DDP starts one process per device; each must see a disjoint share of every epoch and the
same number of optimizer steps (or the gradient all-reduce waits forever). And a resumed run must see
the same batches as an uninterrupted one. :class:`EpochBatches` gives both: the order of epoch ``e``
depends on ``(seed, e)`` only, the epoch is set from the trainer (restored from the checkpoint on
resume), and rank ``r`` of ``w`` takes batches ``r, r + w, ...`` of the first ``w·⌊n/w⌋`` (with fewer batches than
ranks, each rank takes one, so every rank logs its validation loss).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

__all__ = ["rank_and_world_size", "planned_world_size", "EpochBatches", "event_batches", "split_events"]


def rank_and_world_size() -> tuple[int, int]:
    """This process's rank and the number of processes (0, 1 without torch.distributed)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def planned_world_size(devices: Any, num_nodes: int = 1) -> int:
    """Processes a Trainer with ``devices`` × ``num_nodes`` will start (``"auto"`` counts as 1), for LR schedules."""
    n = devices if isinstance(devices, int) else (len(devices) if isinstance(devices, (list, tuple)) else 1)
    return max(n, 1) * max(num_nodes, 1)


class EpochBatches(torch.utils.data.IterableDataset):
    """Batches of one epoch from ``make_batches(epoch) -> list of batch factories``, this rank's share.

    Args:
        make_batches: returns, for an epoch, a list of zero-argument callables that build each batch
            (cheap to list, built lazily, so a rank builds only its own batches).
        n_batches: the number of batches per epoch on one process (for ``len``).
        chunk: consecutive batches that share a preparation; a data worker takes whole chunks.
    """

    def __init__(
        self, make_batches: Callable[[int], list[Callable[[], Any]]], n_batches: int, *, chunk: int = 1
    ) -> None:
        self.make_batches, self.n_batches, self.chunk = make_batches, n_batches, max(int(chunk), 1)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Called by the LightningModule at each epoch start with ``trainer.current_epoch``."""
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[Any]:
        rank, world = rank_and_world_size()
        batches = self.make_batches(self.epoch)
        if 0 < len(batches) < world:  # fewer batches than ranks (a small validation set): every rank takes one
            yield batches[rank % len(batches)]()
            return
        usable = len(batches) // world * world
        mine = batches[rank:usable:world]
        for build in self._this_workers(mine):
            yield build()

    def _this_workers(self, mine: list[Callable[[], Any]]) -> list[Callable[[], Any]]:
        """This data worker's share of the rank's batches: chunks of ``chunk`` consecutive batches (which share a
        preparation, e.g. one overlay group) in turn, so each chunk is prepared by one worker only. The loader takes
        one batch from each worker in turn: with one worker, or ``chunk`` 1, the order of the training process."""
        worker = torch.utils.data.get_worker_info()
        if worker is None:
            return mine
        chunks = [mine[start : start + self.chunk] for start in range(0, len(mine), self.chunk)]
        return [build for chunk in chunks[worker.id :: worker.num_workers] for build in chunk]

    def __len__(self) -> int:
        _, world = rank_and_world_size()
        return max(self.n_batches // world, 1) if world > 1 else self.n_batches


def split_events(arrays: Any, val_fraction: float, seed: int) -> tuple[Any, Any]:
    """The early-stopping split of a task's event arrays (anything with ``len`` and ``select(index)``): a seeded
    permutation holds out ``max(1, round(val_fraction · n))`` events; each part keeps the file order."""
    order = np.random.default_rng(seed).permutation(len(arrays))
    n_val = max(1, int(round(val_fraction * len(arrays))))
    return arrays.select(np.sort(order[n_val:])), arrays.select(np.sort(order[:n_val]))


def event_batches(
    arrays: Any, batch_size: int, build: Callable[[Any], Any], *, shuffle: bool, seed: int
) -> EpochBatches:
    """Batches ``build(arrays.select(index))`` of a task's event arrays; with ``shuffle`` the order of epoch ``e``
    derives from ``(seed, e)`` only (the same batches after a resume, on any number of ranks)."""

    def make(epoch: int) -> list[Callable[[], Any]]:
        order = np.random.default_rng([seed, epoch]).permutation(len(arrays)) if shuffle else np.arange(len(arrays))
        return [lambda i=order[s : s + batch_size]: build(arrays.select(i)) for s in range(0, len(arrays), batch_size)]

    return EpochBatches(make, -(-len(arrays) // batch_size))
