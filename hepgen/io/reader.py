"""Read ROOT files into :class:`~hepgen.io.events.Events` of padded point clouds, chunk by chunk.

``read`` returns all requested events at once; ``iterate`` yields them per
chunk (never straddling files) so arbitrarily large inputs stream through a
bounded amount of memory. Entry ranges are global over the chained input
files, as in a ROOT ``TChain``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import awkward as ak
import numpy as np

from hepgen.errors import CorruptFileError, MissingBranchError, NonFiniteInputError, SchemaError, closest_names
from hepgen.io.events import Events, ReadInfo, Truncation, concatenate_events
from hepgen.io.features import FeatureTable
from hepgen.io.files import FileInput, expand_files, open_tree, read_failure
from hepgen.io.pointcloud import PointCloud, pad_flat
from hepgen.io.schema import Collection, ScalarObjects, Schema

__all__ = [
    "read",
    "iterate",
    "count_entries",
    "events_from_arrays",
    "NonFinitePolicy",
    "resolve_schema",
    "needed_branches",
    "check_available",
    "flatten_collections",
]

log = logging.getLogger("hepgen.io")

NonFinitePolicy = Literal["raise", "drop"]


def resolve_schema(schema: Schema | str) -> Schema:
    """A :class:`Schema` from itself or from a built-in name (``"nanoaod"``)."""
    if isinstance(schema, Schema):
        return schema
    from hepgen.io.known_schemas import get_schema

    return get_schema(schema)


# -- planning: which branches a schema needs ------------------------------------------------------


def _collection_branches(collection: Collection) -> dict[str, list[str]]:
    """Stored field → the branch(es) holding it."""
    source = collection.source
    out: dict[str, list[str]] = {}
    for f in collection.stored_fields():
        if isinstance(source, ScalarObjects):
            out[f] = source.branches_of(f)
        else:
            out[f] = [source.branch(f)]
    return out


def needed_branches(schema: Schema) -> list[str]:
    """Every branch ``schema`` reads (event identifiers first), each once."""
    names: list[str] = list(schema.event_id)
    for collection in schema.all_collections().values():
        for branches in _collection_branches(collection).values():
            names += branches
    return list(dict.fromkeys(names))


def _check_branches(tree: Any, path: str, schema: Schema) -> None:
    check_available(set(tree.keys()), f"{path!r}, tree {tree.name!r}", "the tree lacks", schema)


def check_available(available: set[str], where_text: str, lacks: str, schema: Schema) -> None:
    """HepgenInputError naming every branch of ``schema`` missing from ``available`` (with the closest names there);
    ``where_text`` names the source and ``lacks`` starts the message (``"the tree lacks"``)."""
    for where, collection in [("event_id", None), *schema.all_collections().items()]:
        if collection is None:
            wanted = list(schema.event_id)
            source_text = "event identifiers"
        else:
            wanted = [b for bs in _collection_branches(collection).values() for b in bs]
            source_text = f"collection {where!r} ({collection.source.describe()})"
        missing = [b for b in wanted if b not in available]
        if missing:
            hints = {b: closest_names(b, available) for b in missing}
            hint_text = "; ".join(
                f"{b!r}: closest existing {h}" if h else f"{b!r}: nothing similar" for b, h in hints.items()
            )
            raise MissingBranchError(
                f"{where_text}: schema {schema.name!r} needs branch(es) {missing} for {source_text}, which {lacks} "
                f"({hint_text})"
            )


# -- reading one chunk ------------------------------------------------------------------------------


def _flat(array: ak.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """Flat numpy content and per-event counts (None for a scalar branch)."""
    layout = ak.to_layout(array)
    if isinstance(layout, ak.contents.NumpyArray):
        return np.asarray(layout.data), None
    if isinstance(layout, (ak.contents.ListOffsetArray, ak.contents.ListArray)):
        if isinstance(layout, ak.contents.ListArray):
            layout = layout.to_ListOffsetArray64(True)
        offsets = np.asarray(layout.offsets)
        content = layout.content
        if not isinstance(content, ak.contents.NumpyArray):
            raise SchemaError(f"branch type {array.type} is nested more than one level; hepgen reads T[] branches")
        data = np.asarray(content.data)[offsets[0] : offsets[-1]]
        return data, np.diff(offsets)
    raise SchemaError(f"cannot read branch of type {array.type} as a flat list of numbers")


def _nonfinite_count(values: np.ndarray) -> np.ndarray | None:
    """Boolean mask of non-finite entries, or None if all are finite (fast path)."""
    if values.dtype.kind != "f":
        return None
    bad = ~np.isfinite(values)
    return bad if bad.any() else None


class _ChunkContext:
    def __init__(self, path: str, arrays: Mapping[str, ak.Array], n_events: int, policy: NonFinitePolicy) -> None:
        self.path = path
        self.arrays = arrays
        self.n_events = n_events
        self.policy = policy
        self.bad_events = np.zeros(n_events, dtype=bool)
        self.dropped: dict[str, int] = {}

    def note_nonfinite(self, branch: str, bad_entries: np.ndarray, event_of_entry: np.ndarray | None) -> None:
        bad_events = np.zeros(self.n_events, dtype=bool)
        if event_of_entry is None:
            bad_events |= bad_entries
        else:
            bad_events[event_of_entry[bad_entries]] = True
        n_values = int(bad_entries.sum())
        if self.policy == "raise":
            raise NonFiniteInputError(
                f"{self.path!r}: branch {branch!r} holds {n_values} NaN/inf value(s) in {int(bad_events.sum())} "
                "event(s); pass nonfinite='drop' to drop those events (they are counted)"
            )
        self.dropped[branch] = self.dropped.get(branch, 0) + int(bad_events.sum())
        self.bad_events |= bad_events


def _descending_within_events(event: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Stable order of flat entries: by event (ascending), then ``key`` descending; ties keep stored order.

    For 32-bit keys (the usual float32 pt) the pair is packed into one uint64
    whose unsigned order is the wanted order, which sorts ~8x faster than
    ``np.lexsort``; other keys fall back to ``np.lexsort``.
    """
    if key.dtype.itemsize <= 4 and key.dtype.kind in "fiub" and (len(event) == 0 or event[-1] < 2**32):
        if key.dtype.kind == "f":
            bits = (key.astype(np.float32) + np.float32(0.0)).view(np.uint32)  # + 0.0 turns -0.0 into 0.0
            ascending = np.where(bits & np.uint32(0x80000000), ~bits, bits | np.uint32(0x80000000))
        elif key.dtype.kind == "i":
            ascending = key.astype(np.int32).view(np.uint32) ^ np.uint32(0x80000000)
        else:
            ascending = key.astype(np.uint32)
        packed = (event.astype(np.uint64) << np.uint64(32)) | (~ascending).astype(np.uint64)
        return np.argsort(packed, kind="stable")
    return np.lexsort((-key, event))


def _gather_stored(
    name: str, collection: Collection, ctx: _ChunkContext
) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, list[str]]]:
    """Flat stored fields of a collection, its objects per event, and the branches they came from."""
    B = ctx.n_events
    branches = _collection_branches(collection)
    stored: dict[str, np.ndarray] = {}
    counts: np.ndarray | None = None
    count_branch = ""
    for field_name, field_branches in branches.items():
        if isinstance(collection.source, ScalarObjects):
            columns = []
            for b in field_branches:
                data, c = _flat(ctx.arrays[b])
                if c is not None:
                    raise SchemaError(f"{ctx.path!r}: branch {b!r} of {name!r} is jagged; ScalarObjects needs scalars")
                columns.append(data)
            data = np.stack(columns, axis=1).reshape(-1)
            c = np.full(B, len(columns), dtype=np.int64)
        else:
            data, c = _flat(ctx.arrays[field_branches[0]])
            if c is None:
                if collection.source.jagged:
                    raise SchemaError(
                        f"{ctx.path!r}: branch {field_branches[0]!r} of {name!r} is a scalar but the source is "
                        "jagged; use Prefix(..., counter=None) or Branches(..., jagged=False)"
                    )
                c = np.ones(B, dtype=np.int64)
            elif not collection.source.jagged:
                raise SchemaError(
                    f"{ctx.path!r}: branch {field_branches[0]!r} of {name!r} is jagged but the source is declared "
                    "one-per-event"
                )
        if counts is None:
            counts, count_branch = c, field_branches[0]
        elif not np.array_equal(counts, c):
            raise CorruptFileError(
                f"{ctx.path!r}: branches {count_branch!r} and {field_branches[0]!r} of {name!r} have different "
                "numbers of objects per event"
            )
        stored[field_name] = data
    assert counts is not None
    return stored, counts.astype(np.int64, copy=False), branches


def _scatter_padded(
    columns: list[np.ndarray], event: np.ndarray, counts: np.ndarray, max_length: int
) -> tuple[np.ndarray, np.ndarray, Truncation]:
    """Place flat, event-ordered objects into ``[B, max_length, F]`` values and a ``[B, max_length]`` mask."""
    values, mask, events, objects = pad_flat(columns, event, counts, max_length)
    return values, mask, Truncation(max_length, events, objects)


def _read_collection(name: str, collection: Collection, ctx: _ChunkContext) -> tuple[PointCloud, Truncation]:
    B = ctx.n_events
    stored, counts, branches = _gather_stored(name, collection, ctx)
    starts = np.zeros(B, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    n_flat = int(counts.sum())
    event_of_entry: np.ndarray | None = None

    def events_of_entries() -> np.ndarray:
        nonlocal event_of_entry
        if event_of_entry is None:
            event_of_entry = np.repeat(np.arange(B), counts)
        return event_of_entry

    for field_name, data in stored.items():
        bad = _nonfinite_count(data)
        if bad is not None:
            if isinstance(collection.source, ScalarObjects):
                per_object = bad.reshape(B, -1)
                for j, b in enumerate(branches[field_name]):
                    if per_object[:, j].any():
                        ctx.note_nonfinite(b, per_object[:, j], None)
            else:
                ctx.note_nonfinite(branches[field_name][0], bad, events_of_entries())

    table = FeatureTable(stored, collection.kinematics, collection.source, starts, counts)
    keep: np.ndarray | None = None
    if collection.cut is not None:
        keep = collection.cut.evaluate(table)  # type: ignore[union-attr]
        if keep.shape != (n_flat,):
            keep = np.broadcast_to(keep, (n_flat,)).copy()

    columns = [table(f) for f in collection.features]
    key = table(collection.sort_by) if collection.sort_by is not None else None

    if keep is not None and not keep.all():
        ev = events_of_entries()[keep]
        columns = [c[keep] for c in columns]
        key = key[keep] if key is not None else None
        counts_after = np.bincount(ev, minlength=B).astype(np.int64)
    else:
        ev = None
        counts_after = counts

    if key is not None and len(key) > 1:
        if ev is None:
            ev = events_of_entries()
        same_event = ev[1:] == ev[:-1]
        if np.any((key[1:] > key[:-1]) & same_event):
            order = _descending_within_events(ev, key)
            columns = [c[order] for c in columns]
            ev = ev[order]

    if ev is None:
        ev = events_of_entries()
    values, mask, truncation = _scatter_padded(columns, ev, counts_after, collection.max_length)
    return PointCloud(values, mask, collection.features), truncation


def _check_derived_finite(path: str, name: str, cloud: PointCloud, bad_events: np.ndarray) -> None:
    """Refuse NaN/inf created by a derived feature (stored-branch NaN/inf were handled already)."""
    bad_values = ~np.isfinite(cloud.values)
    bad_values[bad_events] = False  # counted by the stored-branch check, and dropped
    if bad_values.any():
        per_feature = bad_values.sum(axis=(0, 1))
        detail = {f: int(n) for f, n in zip(cloud.features, per_feature) if n}
        raise NonFiniteInputError(
            f"{path!r}: derived features of {name!r} are NaN/inf ({detail}), e.g. log of a zero pt or energy; "
            "add a cut such as 'pt > 0' to the collection"
        )


@dataclass(frozen=True)
class _Chunk:
    """Where a chunk of events comes from: entries ``[start, stop)`` of ``tree`` in ``path``, the chain's entries
    before that file (``offset``)."""

    path: str
    tree: str
    start: int
    stop: int
    offset: int


def _read_chunk(tree: Any, chunk: _Chunk, schema: Schema, policy: NonFinitePolicy) -> Events:
    wanted = set(needed_branches(schema))
    try:
        arrays = tree.arrays(
            filter_name=lambda n: n in wanted, entry_start=chunk.start, entry_stop=chunk.stop, library="ak", how=dict
        )
    except Exception as err:
        raise read_failure(chunk.path, err, f"entries {chunk.start}-{chunk.stop}") from err
    return _events_from_branches(arrays, chunk, schema, policy)


def _events_from_branches(
    arrays: Mapping[str, ak.Array], chunk: _Chunk, schema: Schema, policy: NonFinitePolicy
) -> Events:
    path, tree_name, start, stop, global_offset = chunk.path, chunk.tree, chunk.start, chunk.stop, chunk.offset
    n = stop - start
    ctx = _ChunkContext(path, arrays, n, policy)
    clouds: dict[str, PointCloud] = {}
    truth: dict[str, PointCloud] = {}
    truncation: dict[str, Truncation] = {}
    for name, collection in schema.all_collections().items():
        cloud, truncation[name] = _read_collection(name, collection, ctx)
        (truth if name in schema.truth else clouds)[name] = cloud
    for name, cloud in {**clouds, **truth}.items():
        _check_derived_finite(path, name, cloud, ctx.bad_events)
    event_id = {"entry": np.arange(global_offset + start, global_offset + stop, dtype=np.int64)}
    for b in schema.event_id:
        data, counts = _flat(arrays[b])
        if counts is not None:
            raise SchemaError(f"{path!r}: event identifier branch {b!r} must be a scalar per event")
        event_id[b] = data
    info = ReadInfo(
        files=(path,),
        tree=tree_name,
        schema=schema.name,
        entry_ranges=((0, start, stop),),
        events_read=n,
        truncation=truncation,
        dropped_nonfinite=ctx.dropped,
        events_dropped=int(ctx.bad_events.sum()),
    )
    events = Events(clouds, truth=truth, event_id=event_id, info=info)
    if ctx.bad_events.any():
        events = events.select(~ctx.bad_events)
    return events


# -- public API ---------------------------------------------------------------------------------------


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
                _check_branches(t, path, schema)
                step = _entries_per_step(t, step_size, names)
                for a in range(lo, hi, step):
                    chunk = _Chunk(path, t.name, a, min(a + step, hi), offset)
                    events = _read_chunk(t, chunk, schema, nonfinite)
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
    events = _events_from_branches(branches, _Chunk(source, "(in memory)", 0, n, entry_offset), schema, nonfinite)
    _log_losses(events.info)
    return events


def flatten_collections(arrays: Mapping[str, ak.Array] | ak.Array) -> dict[str, ak.Array]:
    """Flat NanoAOD branches from a mapping or record array; nested collections (``Jet.pt``) become ``Jet_pt`` and
    their counters ``nJet``, records (``MET.pt``) ``MET_pt``."""
    if isinstance(arrays, ak.Array):
        arrays = {field: arrays[field] for field in arrays.fields}
    flat: dict[str, ak.Array] = {}
    for name, value in arrays.items():
        value = value if isinstance(value, ak.Array) else ak.Array(value)
        fields = value.fields
        if not fields:
            flat[name] = value
            continue
        if value.ndim > 1:  # a jagged collection of records
            flat.setdefault(f"n{name}", ak.num(value, axis=1))
        for field in fields:
            if not value[field].fields:
                flat.setdefault(f"{name}_{field}", value[field])
    return flat


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
