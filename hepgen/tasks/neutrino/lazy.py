"""Lazy neutrino inference on dask-awkward collections (NanoAOD read with ``uproot.dask`` or coffea)."""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any

import numpy as np

from hepgen.errors import HepgenInputError
from hepgen.io import check_available, events_from_arrays, flatten_collections, needed_branches, resolve_schema
from hepgen.shards import derive_seed
from hepgen.tasks.neutrino.features import neutrino_arrays
from hepgen.tasks.neutrino.model import NeutrinoModel
from hepgen.tasks.neutrino.sampling import posterior_outputs

__all__ = ["posterior_samples_dask"]

_SAMPLING_LOCK = threading.Lock()


@functools.lru_cache(maxsize=4)
def _cached_model(run: str, modified: float) -> NeutrinoModel:
    """A run's model, loaded once per process (per worker) and kept while its file is unchanged."""
    from hepgen.tasks.run_folder import load_model

    return load_model("neutrino", run)


def _partition_posterior(
    partition: Any, run: str, samples: int, seed: int, schema: str, batch_size: int, partition_info: dict | None = None
) -> Any:
    """One partition's posterior, one record per input event (None where the event has no lepton or jets)."""
    import awkward as ak

    if ak.backend(partition) == "typetracer":  # dask-awkward's column optimisation: say which branches are read
        flat = flatten_collections(partition)
        for branch in needed_branches(resolve_schema(schema)):
            if branch in flat:
                ak.typetracer.touch_data(flat[branch])
        return _posterior_records(None, samples, length=None)
    index = (partition_info or {}).get("number", 0)
    model_path = _model_file(run)
    model = _cached_model(str(model_path), model_path.stat().st_mtime)
    events = events_from_arrays(partition, schema, source=f"partition {index}")
    arrays = neutrino_arrays(events, inputs=model.config["inputs"])
    with _SAMPLING_LOCK:  # torch's global stream is seeded per partition: one partition at a time per process
        outputs = posterior_outputs(
            model, arrays, samples=samples, seed=derive_seed(seed, index), batch_size=batch_size
        )
    return _posterior_records(outputs, samples, length=len(partition), rows=arrays.event_index)


def _model_file(run: str) -> Path:
    path = Path(run)
    return path / "model.pt" if path.is_dir() else path


def _posterior_records(
    outputs: dict[str, np.ndarray] | None, samples: int, *, length: int | None, rows: np.ndarray | None = None
) -> Any:
    """Per input event a record {point [3], mode [3], samples [S][3]} (px, py, pz in GeV), None for events the
    neutrino needs but lacks (no lepton or no jets); a typetracer of that form for ``length=None``."""
    import awkward as ak

    n = 0 if outputs is None else len(outputs["point"])
    point = np.zeros((n, 3), np.float32) if outputs is None else outputs["point"]
    mode = outputs.get("mode", point) if outputs is not None else point
    drawn = np.zeros((n, samples, 3), np.float32) if outputs is None else outputs.get("samples", point[:, None, :])
    content = ak.zip(
        {"point": ak.from_numpy(point), "mode": ak.from_numpy(mode), "samples": ak.from_numpy(drawn)}, depth_limit=1
    )
    if length is None:
        index = np.zeros(0, np.int64)
        records = ak.Array(ak.contents.IndexedOptionArray(ak.index.Index64(index), content.layout))
        return ak.Array(records.layout.to_typetracer(forget_length=True))
    index = np.full(length, -1, np.int64)
    index[rows] = np.arange(len(rows))
    return ak.Array(ak.contents.IndexedOptionArray(ak.index.Index64(index), content.layout))


def posterior_samples_dask(
    events: Any, run: str, *, samples: int = 256, seed: int = 0, schema: str = "nanoaod", batch_size: int = 512
) -> Any:
    """The neutrino posterior of a dask-awkward event collection, lazily, partition by partition.

    ``events``: NanoAOD events as a dask-awkward array — ``uproot.dask(files)`` (flat ``Jet_pt``, ``MET_pt``, ...),
    ``dask_awkward.from_awkward(...)``, or coffea's ``NanoEventsFactory.from_root(..., mode="dask").events()``
    (nested ``Jet.pt``). Returns a dask-awkward array with one record per input event — ``point`` (the posterior
    median) and ``mode`` ``[3]``, ``samples`` ``[S][3]``, all (px, py, pz) in GeV — or None for an event without a
    lepton or jets. Nothing runs until ``.compute()``; each worker loads the model of ``run`` once.

    Partition ``i`` samples with the stream ``derive_seed(seed, i)``, as ``hepgen predict neutrino`` samples its block
    ``i``: when each partition is one prediction block (``NEUTRINO.block_size`` events, e.g.
    ``uproot.dask(files, step_size=1024)``) the numbers are those of ``hepgen predict`` with the same ``--seed``. ::

        import uproot
        from hepgen.tasks.neutrino import posterior_samples_dask

        events = uproot.dask({"nano.root": "Events"}, step_size=1024)
        nu = posterior_samples_dask(events, "analyses/neutrino/model", samples=64, seed=1)
        pz_median = nu.point[:, 2].compute()
    """
    try:
        import dask_awkward as dak
    except ImportError:
        raise HepgenInputError("dask-awkward is not installed: `pip install 'hepgen[dask]'`") from None
    resolve_schema(schema)  # an unknown schema fails now, not inside a worker
    model_path = _model_file(run)
    if not model_path.exists():
        raise HepgenInputError(
            f"no trained model at {str(model_path)!r}; train one with `hepgen train neutrino --out RUN`"
        )
    _check_dask_branches(events, schema)
    meta = _posterior_records(None, samples, length=None)
    return dak.map_partitions(
        _partition_posterior,
        events,
        run=str(run),
        samples=samples,
        seed=seed,
        schema=schema,
        batch_size=batch_size,
        meta=meta,
        label="hepgen-neutrino-posterior",
    )


def _check_dask_branches(events: Any, schema: str) -> None:
    """Refuse, before any work, a collection that lacks a branch the schema needs (named, with the closest ones)."""
    flat = flatten_collections(events._meta)
    check_available(set(flat), "the dask-awkward collection", "it lacks", resolve_schema(schema))
