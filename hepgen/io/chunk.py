"""One chunk of entries → :class:`~hepgen.io.events.Events`: each collection's branches gathered, sorted, cut,
truncated to its maximum length and padded, with the derived features (pt from px, py, ...), the non-finite values
refused or dropped, and the chunk's :class:`~hepgen.io.events.ReadInfo` (entries, truncation, drops)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import awkward as ak
import numpy as np

from hepgen.errors import CorruptFileError, NonFiniteInputError, SchemaError
from hepgen.io.branches import collection_branches, needed_branches
from hepgen.io.events import Events, ReadInfo, Truncation
from hepgen.io.features import FeatureTable
from hepgen.io.files import read_failure
from hepgen.io.pointcloud import PointCloud, pad_flat
from hepgen.io.schema import Collection, ScalarObjects, Schema

__all__ = ["NonFinitePolicy", "Chunk", "read_chunk", "events_from_branches"]

NonFinitePolicy = Literal["raise", "drop"]


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


class ChunkContext:
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
    name: str, collection: Collection, ctx: ChunkContext
) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, list[str]]]:
    """Flat stored fields of a collection, its objects per event, and the branches they came from."""
    B = ctx.n_events
    branches = collection_branches(collection)
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


def _read_collection(name: str, collection: Collection, ctx: ChunkContext) -> tuple[PointCloud, Truncation]:
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
class Chunk:
    """Where a chunk of events comes from: entries ``[start, stop)`` of ``tree`` in ``path``, the chain's entries
    before that file (``offset``)."""

    path: str
    tree: str
    start: int
    stop: int
    offset: int


def read_chunk(tree: Any, chunk: Chunk, schema: Schema, policy: NonFinitePolicy) -> Events:
    wanted = set(needed_branches(schema))
    try:
        arrays = tree.arrays(
            filter_name=lambda n: n in wanted, entry_start=chunk.start, entry_stop=chunk.stop, library="ak", how=dict
        )
    except Exception as err:
        raise read_failure(chunk.path, err, f"entries {chunk.start}-{chunk.stop}") from err
    return events_from_branches(arrays, chunk, schema, policy)


def events_from_branches(
    arrays: Mapping[str, ak.Array], chunk: Chunk, schema: Schema, policy: NonFinitePolicy
) -> Events:
    path, tree_name, start, stop, global_offset = chunk.path, chunk.tree, chunk.start, chunk.stop, chunk.offset
    n = stop - start
    ctx = ChunkContext(path, arrays, n, policy)
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
