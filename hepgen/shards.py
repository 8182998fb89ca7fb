"""`--shard i/n`: a deterministic split of work units (files, event blocks) between batch jobs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from hepgen.errors import HepgenInputError

__all__ = ["Shard", "parse_shard", "derive_seed", "entry_blocks"]

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0-based): job ``index`` takes units ``index, index + count, ...``."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise HepgenInputError(
                f"invalid shard {self.index}/{self.count}: use i/n with n >= 1 and 0 <= i < n (e.g. 0/4 ... 3/4)"
            )

    def take(self, units: Sequence[T]) -> list[T]:
        """This shard's share of ``units`` (round-robin, so shards stay balanced)."""
        return list(units[self.index :: self.count])

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str | None) -> Shard:
    """Parse ``"i/n"`` (``None`` means the whole job, ``0/1``)."""
    if text is None:
        return Shard()
    try:
        i, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise HepgenInputError(f"invalid shard {text!r}: use i/n with 0 <= i < n, e.g. --shard 3/10") from None
    return Shard(i, n)


def derive_seed(seed: int, *keys: int, high: int = 900_000_000) -> int:
    """A seed in ``[1, high]`` derived from a base seed and integer keys (block index, ...).

    Uses numpy's ``SeedSequence`` so nearby keys give unrelated streams. The
    default range fits Pythia's ``Random:seed`` (at most 900 000 000).
    """
    if seed < 0:
        raise HepgenInputError(f"seed must be >= 0; got {seed}")
    state = np.random.SeedSequence(seed, spawn_key=tuple(int(k) for k in keys)).generate_state(1, dtype=np.uint64)[0]
    return int(state % np.uint64(high)) + 1


def entry_blocks(n_entries: int, block_size: int, shard: Shard = Shard()) -> list[tuple[int, int, int]]:
    """This shard's ``(block, entry_start, entry_stop)`` of ``n_entries`` cut in blocks of ``block_size``.

    Blocks are the unit of both sharding (round-robin) and seeding (a block's random
    stream derives from the run seed and the block index only), so the union of the
    shards' outputs equals the unsharded output, event by event.
    """
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1; got {block_size}")
    n_blocks = -(-max(n_entries, 0) // block_size)
    return [(b, b * block_size, min((b + 1) * block_size, n_entries)) for b in shard.take(range(n_blocks))]
