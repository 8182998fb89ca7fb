"""Independent work units (prediction shards, validation μ points) on a Dask cluster.

``scheduler`` is ``"local:N"`` for a ``LocalCluster`` of N single-threaded worker processes on this
machine, or the address of a running scheduler (``tcp://host:8786``) — e.g. one started by
``dask-jobqueue`` on a batch system. Results are gathered in the order of the units, so the output
does not depend on which worker ran what.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from hepgen.errors import HepgenInputError

__all__ = ["dask_client", "map_units", "run_units"]


@contextmanager
def dask_client(scheduler: str) -> Iterator[Any]:
    """A ``dask.distributed.Client`` for ``"local:N"`` (a LocalCluster, closed afterwards) or a scheduler address."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - the dask extra is part of `make install`
        raise HepgenInputError("--scheduler needs dask: pip install 'hepgen[dask]'") from None
    import logging

    for name in ("distributed", "distributed.scheduler", "distributed.nanny", "distributed.worker", "distributed.core"):
        logging.getLogger(name).setLevel(logging.WARNING)  # the cluster's chatter; our own progress bar says enough
    if scheduler.startswith("local"):
        import dask

        _, _, count = scheduler.partition(":")
        if count and not count.isdigit():
            raise HepgenInputError(
                f"--scheduler {scheduler!r}: use local:N (N workers) or a scheduler address tcp://host:port"
            )
        # Dask's workers start with MALLOC_TRIM_THRESHOLD_=65536, which makes glibc return every large tensor's
        # memory to the system at once: the flow's sampling then runs 1.4-1.7x slower (measured). Keep glibc's default.
        environ = {
            k: v
            for k, v in dask.config.get("distributed.nanny.pre-spawn-environ", {}).items()
            if k != "MALLOC_TRIM_THRESHOLD_"
        }
        with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
            cluster = LocalCluster(
                n_workers=int(count or 2), threads_per_worker=1, processes=True, dashboard_address=None
            )
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()
    else:
        client = Client(scheduler)
        try:
            yield client
        finally:
            client.close()


def _run_single_threaded(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    import torch

    torch.set_num_threads(1)  # one worker process per core: no oversubscription
    return fn(**kwargs)


def map_units(
    fn: Callable[..., Any], units: Sequence[dict[str, Any]], scheduler: str, *, progress: bool = True
) -> list[Any]:
    """``[fn(**unit) for unit in units]`` on the cluster; results in the order of ``units``."""
    from dask.distributed import as_completed

    with dask_client(scheduler) as client:
        futures = [client.submit(_run_single_threaded, fn, unit, pure=False) for unit in units]
        from tqdm.auto import tqdm

        with tqdm(total=len(futures), desc=f"dask ({scheduler})", unit=" tasks", disable=not progress) as bar:
            for _ in as_completed(futures):
                bar.update(1)
        return client.gather(futures)


def run_units(
    fn: Callable[..., Any],
    units: Sequence[dict[str, Any]],
    *,
    scheduler: str | None = None,
    progress: bool = True,
    description: str = "units",
) -> list[Any]:
    """``[fn(**unit) for unit in units]``: here, one after the other (a progress bar over ``description``), or on the
    cluster of ``scheduler`` (:func:`map_units`); the results are the same either way, in the order of ``units``."""
    if scheduler:
        return map_units(fn, units, scheduler, progress=progress)
    from tqdm.auto import tqdm

    return [fn(**unit) for unit in tqdm(units, desc=description, disable=not progress)]
