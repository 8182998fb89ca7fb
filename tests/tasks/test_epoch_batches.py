"""EpochBatches: which batches a DDP rank trains on. For every world size the ranks' shares of an epoch are
disjoint, equally long and cover the first w·⌊n/w⌋ batches; the order depends on the epoch only."""

from functools import partial

import numpy as np
import pytest

import hepgen.tasks.data_parallel as data_parallel
from hepgen.tasks.data_parallel import EpochBatches


def numbered_batches(n_batches: int) -> EpochBatches:
    """Batch ``i`` of epoch ``e`` is the pair (e, order_e[i]), with a per-epoch permutation."""

    def make(epoch: int) -> list:
        order = np.random.default_rng([7, epoch]).permutation(n_batches)
        return [lambda b=int(b): (epoch, b) for b in order]

    return EpochBatches(make, n_batches)


def share(data: EpochBatches, rank: int, world: int, monkeypatch) -> list:
    monkeypatch.setattr(data_parallel, "rank_and_world_size", lambda: (rank, world))
    return list(data)


@pytest.mark.parametrize("n_batches", [1, 2, 7, 8, 9])
@pytest.mark.parametrize("world", [1, 2, 3, 4])
def test_ranks_share_an_epoch_without_overlap(n_batches, world, monkeypatch):
    data = numbered_batches(n_batches)
    data.set_epoch(3)
    shares = [share(data, r, world, monkeypatch) for r in range(world)]
    everything = [b for s in shares for b in s]
    assert all(epoch == 3 for epoch, _ in everything)
    if n_batches >= world:
        usable = n_batches // world * world
        assert len({len(s) for s in shares}) == 1  # every rank takes the same number of optimizer steps
        assert len(everything) == len(set(everything)) == usable  # disjoint
        assert set(everything) == set(share(data, 0, 1, monkeypatch)[:usable])  # the first usable batches
        monkeypatch.setattr(data_parallel, "rank_and_world_size", lambda: (0, world))
        assert len(data) == usable // world
    else:  # fewer batches than ranks: each rank takes one, so every rank can log a validation loss
        assert [len(s) for s in shares] == [1] * world
        assert set(everything) == set(share(data, 0, 1, monkeypatch))


def test_the_order_depends_on_the_epoch_only(monkeypatch):
    data = numbered_batches(9)
    data.set_epoch(0)
    first = [b for _, b in share(data, 0, 1, monkeypatch)]
    data.set_epoch(1)
    second = [b for _, b in share(data, 0, 1, monkeypatch)]
    data.set_epoch(0)
    again = [b for _, b in share(data, 0, 1, monkeypatch)]
    assert first == again != second and sorted(first) == sorted(second) == list(range(9))


def test_batches_are_built_lazily_by_their_own_rank(monkeypatch):
    built = []

    def make(epoch):
        return [lambda b=b: built.append(b) or b for b in range(8)]

    data = EpochBatches(make, 8)
    assert share(data, 1, 2, monkeypatch) == [1, 3, 5, 7] and built == [1, 3, 5, 7]


def _made_by(index: int) -> tuple[int, int]:
    """A batch that records which data worker made it (its index, the worker's id; -1 in the training process)."""
    import torch

    worker = torch.utils.data.get_worker_info()
    return index, -1 if worker is None else worker.id


@pytest.mark.parametrize(("n_batches", "chunk", "workers"), [(10, 3, 2), (16, 4, 3), (7, 1, 2), (5, 8, 2)])
def test_data_workers_take_whole_chunks(n_batches, chunk, workers):
    """Several data workers: every batch once, each chunk of ``chunk`` consecutive batches (one overlay group) made
    by a single worker, so no preparation is repeated; with one worker, the training process's order."""
    import torch

    def make(epoch):
        return [partial(_made_by, b) for b in range(n_batches)]

    data = EpochBatches(make, n_batches, chunk=chunk)
    batches = list(torch.utils.data.DataLoader(data, batch_size=None, num_workers=workers))
    assert sorted(index for index, _ in batches) == list(range(n_batches))
    makers = {}
    for index, worker in batches:
        makers.setdefault(index // chunk, set()).add(worker)
    assert all(len(m) == 1 for m in makers.values())  # one worker per chunk
    assert len({w for m in makers.values() for w in m}) == min(workers, len(makers))  # every worker has work
    alone = list(torch.utils.data.DataLoader(data, batch_size=None, num_workers=1))
    assert [index for index, _ in alone] == list(range(n_batches))
