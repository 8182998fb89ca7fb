"""Read ROOT files into :class:`~hepgen.io.events.Events` of padded point clouds, chunk by chunk.

``read`` returns all requested events at once; ``iterate`` yields them per
chunk (never straddling files) so arbitrarily large inputs stream through a
bounded amount of memory. Entry ranges are global over the chained input
files, as in a ROOT ``TChain``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

import awkward as ak
import numpy as np

from hepgen.io.branches import check_available, flatten_collections, needed_branches, resolve_schema
from hepgen.io.chunk import Chunk, NonFinitePolicy, events_from_branches, read_chunk
from hepgen.io.events import Events, ReadInfo, Truncation, concatenate_events
from hepgen.io.files import FileInput, expand_files, open_tree, read_failure
from hepgen.io.pointcloud import PointCloud
from hepgen.io.schema import Schema
from hepgen.io.summary import placeholder_warning

__all__ = ["read", "iterate", "count_entries", "events_from_arrays", "NonFinitePolicy"]

log = logging.getLogger("hepgen.io")


def _entries_per_step(tree: Any, step_size: int | str, names: list[str]) -> int:
    if isinstance(step_size, (int, np.integer)):
        if step_size < 1:
            raise ValueError(f"step_size must be >= 1 entries or a size such as '100 MB'; got {step_size}")
        return int(step_size)
    wanted = set(names)
    try:
        return max(1, int(tree.num_entries_for(step_size, filter_name=lambda n: n in wanted)))
    except Exception as err:  # the basket headers live in the file's body: a truncated file fails here first
        raise read_failure(tree.file.file_path, err, "the basket index") from err


def count_entries(files: FileInput, schema: Schema | str) -> int:
    """Number of entries of the schema's tree over all ``files`` (chained like a TChain); reads no data."""
    tree = resolve_schema(schema).tree
    return sum(_num_entries(p, tree) for p in expand_files(files))


def _num_entries(path: str, tree: str | None) -> int:
    t = open_tree(path, tree)
    try:
        return int(t.num_entries)
    finally:
        t.file.close()


def iterate(
    files: FileInput,
    schema: Schema | str,
    *,
    tree: str | None = None,
    entry_start: int | None = None,
    entry_stop: int | None = None,
    step_size: int | str = "100 MB",
    nonfinite: NonFinitePolicy = "raise",
    log_losses: bool = True,
) -> Iterator[Events]:
    """Yield :class:`Events` chunk by chunk over one or many ROOT files.

    Args:
        files: a path, a glob pattern, a remote URL, or a list of them (chained in order).
        schema: a :class:`Schema` or a built-in name (``"nanoaod"``, ``"hep-tutorial"``, ...).
        tree: the tree to read (default: the schema's, else the file's only tree).
        entry_start, entry_stop: a global entry range over the chained files
            (Python slice semantics; negative values count from the end).
        step_size: entries per chunk, or a memory size such as ``"100 MB"``.
        nonfinite: ``"raise"`` (default) on NaN/inf in a read branch, or
            ``"drop"`` to drop those events and count them in ``info``.

    Chunks never straddle files. Each chunk's ``info`` reports its entry
    range, truncations and drops; truncations are also logged once per chunk (unless ``log_losses`` is false).
    """
    schema = resolve_schema(schema)
    if nonfinite not in ("raise", "drop"):
        raise ValueError(f"nonfinite must be 'raise' or 'drop'; got {nonfinite!r}")
    paths = expand_files(files)
    tree_name = tree if tree is not None else schema.tree
    names = needed_branches(schema)

    needs_total = (entry_start is not None and entry_start < 0) or (entry_stop is not None and entry_stop < 0)
    if needs_total:
        total = sum(_num_entries(p, tree_name) for p in paths)
        entry_start, entry_stop, _ = slice(entry_start, entry_stop).indices(total)
    start = entry_start or 0
    stop = entry_stop

    offset = 0
    for path in paths:
        if stop is not None and offset >= stop:
            break
        t = open_tree(path, tree_name)
        try:
            n = t.num_entries
            lo, hi = max(start - offset, 0), n if stop is None else min(stop - offset, n)
            if lo < hi:
                check_available(set(t.keys()), f"{path!r}, tree {t.name!r}", "the tree lacks", schema)
                step = _entries_per_step(t, step_size, names)
                for a in range(lo, hi, step):
                    chunk = Chunk(path, t.name, a, min(a + step, hi), offset)
                    events = read_chunk(t, chunk, schema, nonfinite)
                    if log_losses:
                        _log_losses(events.info)
                    yield events
        finally:
            t.file.close()  # a grid job may stream thousands of files: never keep them open
        offset += n


def _log_losses(info: ReadInfo) -> None:
    lost = {name: t for name, t in info.truncation.items() if t.objects}
    if lost or info.events_dropped:
        log.warning("%s", info.summary())


def read(files: FileInput, schema: Schema | str, **options: Any) -> Events:
    """Read events from ROOT files into padded point clouds (all chunks concatenated).

    ``options``: those of :func:`iterate` (``tree``, ``entry_start``, ``entry_stop``, ``step_size``,
    ``nonfinite``). Returns :class:`Events` whose ``info``
    covers every chunk: source files, entry ranges, truncation counts and
    dropped events. An empty selection returns zero events with the schema's
    shapes.

    Example::

        events = hepgen.io.read("nano.root", "nanoaod")
        jets = events["jets"]            # PointCloud [B, 10, F]
        pt = jets["pt"][jets.mask]        # real jets only
    """
    schema = resolve_schema(schema)
    chunks = list(iterate(files, schema, log_losses=False, **options))
    if not chunks:
        return _empty_events(schema, files, options.get("tree"))
    events = concatenate_events(chunks)
    _log_losses(events.info)
    warning = placeholder_warning(events)
    if warning:
        log.warning("%s", warning)
    return events


def events_from_arrays(
    arrays: Mapping[str, ak.Array] | ak.Array,
    schema: Schema | str,
    *,
    source: str = "in-memory arrays",
    entry_offset: int = 0,
    nonfinite: NonFinitePolicy = "raise",
) -> Events:
    """Events from branches already in memory — what :func:`read` makes of a chunk of a file, for arrays that come
    from elsewhere: a dask-awkward partition (``uproot.dask``), an ``uproot`` ``arrays()`` call, coffea NanoEvents.

    ``arrays``: branch name → one value or list per event (NanoAOD's flat ``Jet_pt``, ``nJet``, ``MET_pt`` ...), or an
    awkward record array with those fields, or one with nested collections (``events.Jet.pt``, as coffea's
    NanoEvents), which is flattened to ``Jet_pt`` etc. A branch the schema needs and the arrays lack is named with
    the closest existing ones; ``entry_offset`` numbers the events (``event_id["entry"]``).
    """
    schema = resolve_schema(schema)
    branches = flatten_collections(arrays)
    check_available(set(branches), source, "the arrays lack", schema)
    n = len(next(iter(branches.values()))) if branches else 0
    events = events_from_branches(branches, Chunk(source, "(in memory)", 0, n, entry_offset), schema, nonfinite)
    _log_losses(events.info)
    return events


def _empty_events(schema: Schema, files: FileInput, tree: str | None) -> Events:
    paths = expand_files(files)
    tree_name = tree if tree is not None else schema.tree
    if tree_name is None:
        t = open_tree(paths[0], None)
        tree_name = t.name
        t.file.close()
    clouds = {
        name: PointCloud(
            np.zeros((0, c.max_length, len(c.features)), np.float32), np.zeros((0, c.max_length), bool), c.features
        )
        for name, c in schema.all_collections().items()
    }
    event_id = {"entry": np.zeros(0, np.int64), **{b: np.zeros(0, np.int64) for b in schema.event_id}}
    info = ReadInfo(
        files=tuple(paths),
        tree=tree_name,
        schema=schema.name,
        truncation={name: Truncation(c.max_length) for name, c in schema.all_collections().items()},
    )
    return Events(
        {k: v for k, v in clouds.items() if k in schema.collections},
        truth={k: v for k, v in clouds.items() if k in schema.truth},
        event_id=event_id,
        info=info,
    )
