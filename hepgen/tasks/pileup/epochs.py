"""The epochs of a pileup task: fresh pileup on every training jet each epoch, in batches of jets of similar size.

Two ways, the same law: :func:`overlay_epochs` overlays the whole epoch at its start (``overlay_group`` 0, as the
shipped models trained), or, with ``overlay_group`` N, N jets at a time when their batches are due — the memory
stays that of N jets (the whole epoch of 45 000 jets behind the detector peaks at ≈ 11 GB) and, with data workers
(``--data-workers``), the overlay runs in worker processes beside the model, each overlaying whole groups (with more
than one worker and more than one batch per group, the loader takes the batches in another order: the same batches,
the same pileup). The random draws differ between the two ways (each group has its own stream), so a model trained
one way is reproduced by the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import awkward as ak
import numpy as np

from hepgen.sim.pileup import OverlaidJets
from hepgen.tasks.data_parallel import EpochBatches
from hepgen.tasks.pileup.inputs import JetBatch, jet_batch, passthrough_options
from hepgen.tasks.pileup.overlay import OverlayTraining, training_overlay

__all__ = ["BUCKET", "STANDARDIZATION_JETS", "overlay_epochs", "standardization_jets", "standardization_batch"]

#: Batches per bucket: within a bucket, jets of similar size share a batch (less padding).
BUCKET = 16

#: With ``overlay_group`` > 0, the in-model standardisation is fitted on the overlay of the first this many training
#: jets (their statistics are those of the whole set to a fraction of a percent; the whole set would not fit the memory
#: the groups are there to bound).
STANDARDIZATION_JETS = 4096

#: ``build(observed, index, jets)``: a batch of the jets ``index`` of an overlay of the hard ``jets``.
Build = Callable[[OverlaidJets, np.ndarray, ak.Array], Any]


def _bucketed(order: np.ndarray, sizes: np.ndarray, size: int) -> list[np.ndarray]:
    """Batches of ``size`` jets from ``order``: within groups of :data:`BUCKET` batches, sorted by ``sizes``."""
    batches = []
    for start in range(0, len(order), BUCKET * size):
        group = order[start : start + BUCKET * size]
        group = group[np.argsort(sizes[group], kind="stable")]
        batches += [np.sort(group[s : s + size]) for s in range(0, len(group), size)]
    return batches


def standardization_jets(train: ak.Array, settings: OverlayTraining) -> ak.Array:
    """The training jets whose overlay fits a model's standardisation: all of them with ``overlay_group`` 0 (as the
    shipped models trained), else the first :data:`STANDARDIZATION_JETS`."""
    return train if settings.overlay_group == 0 else train[:STANDARDIZATION_JETS]


def standardization_batch(
    train: ak.Array,
    pool: ak.Array,
    settings: OverlayTraining,
    context: Sequence[str],
    *,
    generated: dict[str, Any] | None = None,
) -> JetBatch:
    """The batch a model's standardisation is fitted on: the overlay (seeded by ``settings.seed``) of
    :func:`standardization_jets` with the model's ``context`` features, with what is generated when ``generated``
    holds :func:`jet_batch`'s target options (``max_hard``, ``target``)."""
    fitted = standardization_jets(train, settings)
    observed = training_overlay(fitted, pool, settings, np.random.default_rng(settings.seed))
    targets = {} if generated is None else {"hard": fitted, **generated}
    return jet_batch(observed, input=settings.input, context=context, **passthrough_options(settings), **targets)


def overlay_epochs(
    jets: ak.Array, pool: ak.Array, settings: OverlayTraining, build: Build, *, shuffle: bool, seed: int
) -> EpochBatches:
    """Every epoch overlays fresh pileup on all jets (from ``(seed, epoch)`` only; the validation, ``shuffle``
    False, the same pileup every epoch); ``build(observed, index, jets)`` makes each batch. The nominal μ of each jet
    is drawn from the training law, its interactions from Poisson(μ)."""
    n, size, group = len(jets), settings.batch_size, settings.overlay_group
    if group < 0:
        from hepgen.errors import HepgenInputError

        raise HepgenInputError(f"--overlay-group must be >= 0 jets; got {group}")

    def whole(epoch: int) -> list:
        rng = np.random.default_rng([seed, epoch if shuffle else 0])
        observed = training_overlay(jets, pool, settings, rng)
        if not shuffle:
            return [partial(build, observed, np.arange(s, min(s + size, n)), jets) for s in range(0, n, size)]
        batches = _bucketed(rng.permutation(n), ak.to_numpy(ak.num(observed.constituents)), size)
        return [partial(build, observed, batches[b], jets) for b in rng.permutation(len(batches))]

    cache: dict[tuple[int, ...], Any] = {}  # the group being consumed (one at a time)

    def grouped(epoch: int) -> list:
        stream = [seed, epoch if shuffle else 0]
        order = np.random.default_rng(stream).permutation(n) if shuffle else np.arange(n)
        factories = []
        for g, start in enumerate(range(0, n, group)):
            members = np.sort(order[start : start + group])
            lazy = _GroupOverlay(jets, pool, settings, members, (*stream, g), shuffle, cache)
            factories += [partial(lazy.batch, b, build) for b in range(lazy.n_batches)]
        return factories

    if group == 0:
        return EpochBatches(whole, math.ceil(n / size))
    n_batches = sum(math.ceil(min(group, n - s) / size) for s in range(0, n, group))
    return EpochBatches(grouped, n_batches, chunk=math.ceil(min(group, n) / size))  # a worker overlays whole groups


class _GroupOverlay:
    """The overlay of one group of jets (its random stream ``key``), made when its first batch is due and kept in
    ``cache`` until another group's is made."""

    def __init__(
        self,
        jets: ak.Array,
        pool: ak.Array,
        settings: OverlayTraining,
        members: np.ndarray,
        key: tuple[int, ...],
        shuffle: bool,
        cache: dict[tuple[int, ...], Any],
    ) -> None:
        self.jets, self.pool, self.settings, self.members = jets, pool, settings, members
        self.key, self.shuffle, self.cache = key, shuffle, cache
        self.n_batches = math.ceil(len(members) / settings.batch_size)

    def _made(self) -> tuple[OverlaidJets, ak.Array, list[np.ndarray]]:
        if self.key not in self.cache:
            rng = np.random.default_rng(list(self.key))
            hard = self.jets[self.members]
            observed = training_overlay(hard, self.pool, self.settings, rng)
            size, n = self.settings.batch_size, len(self.members)
            if self.shuffle:
                batches = _bucketed(rng.permutation(n), ak.to_numpy(ak.num(observed.constituents)), size)
                batches = [batches[b] for b in rng.permutation(len(batches))]
            else:
                batches = [np.arange(s, min(s + size, n)) for s in range(0, n, size)]
            self.cache.clear()
            self.cache[self.key] = (observed, hard, batches)
        return self.cache[self.key]

    def batch(self, b: int, build: Build) -> Any:
        observed, hard, batches = self._made()
        return build(observed, batches[b], hard)
