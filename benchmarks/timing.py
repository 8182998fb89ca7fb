"""Timing shared by the benchmark scripts (run as ``python benchmarks/bench_*.py``, so this folder is on the path)."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(fn: Callable[[], object], repeat: int = 3, *, warm_up: bool = False) -> float:
    """The fastest of ``repeat`` calls of ``fn`` [s], after one untimed call if ``warm_up``."""
    if warm_up:
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
