"""`Events`: the named point clouds of a batch of events, with their truth and provenance."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from hepgen.io.pointcloud import PointCloud, concatenate_clouds

__all__ = ["Truncation", "ReadInfo", "Events", "concatenate_events"]


@dataclass(frozen=True)
class Truncation:
    """Objects lost to a collection's ``max_length``.

    Attributes:
        max_length: the padded length.
        events: events that had more objects than ``max_length`` (after the cut).
        objects: objects dropped in total.
    """

    max_length: int
    events: int = 0
    objects: int = 0

    def __add__(self, other: Truncation) -> Truncation:
        return Truncation(self.max_length, self.events + other.events, self.objects + other.objects)


@dataclass(frozen=True)
class ReadInfo:
    """Where a batch of events came from and what was lost on the way.

    Attributes:
        files: the source files, in reading order.
        tree: the tree read.
        schema: the schema's name.
        entry_ranges: ``(file index, first entry, stop entry)`` per chunk read.
        events_read: events read from the files (before any dropping).
        truncation: per collection, the objects lost to ``max_length``.
        dropped_nonfinite: per branch, events dropped because of NaN/inf values
            (only with ``nonfinite="drop"``).
    """

    files: tuple[str, ...]
    tree: str
    schema: str
    entry_ranges: tuple[tuple[int, int, int], ...] = ()
    events_read: int = 0
    truncation: Mapping[str, Truncation] = field(default_factory=dict)
    dropped_nonfinite: Mapping[str, int] = field(default_factory=dict)
    events_dropped: int = 0

    @property
    def truncated_objects(self) -> int:
        """Objects lost to ``max_length`` over all collections."""
        return sum(t.objects for t in self.truncation.values())

    def summary(self) -> str:
        """One human-readable line of what was read and lost."""
        lost = [
            f"{name}: {t.objects} objects in {t.events} events beyond max_length={t.max_length}"
            for name, t in self.truncation.items()
            if t.objects
        ]
        text = (
            f"read {self.events_read} events from {len(self.files)} file(s), tree {self.tree!r}, schema {self.schema!r}"
        )
        if self.events_dropped:
            text += f"; dropped {self.events_dropped} events with NaN/inf ({dict(self.dropped_nonfinite)})"
        text += "; truncated " + ("; ".join(lost) if lost else "nothing")
        return text


def _merge_info(infos: Sequence[ReadInfo]) -> ReadInfo:
    first = infos[0]
    files: list[str] = []
    for info in infos:
        files += [f for f in info.files if f not in files]
    truncation: dict[str, Truncation] = {}
    dropped: dict[str, int] = {}
    ranges: list[tuple[int, int, int]] = []
    for info in infos:
        for name, t in info.truncation.items():
            truncation[name] = truncation[name] + t if name in truncation else t
        for branch, n in info.dropped_nonfinite.items():
            dropped[branch] = dropped.get(branch, 0) + n
        ranges += [(files.index(info.files[i]), a, b) for i, a, b in info.entry_ranges]
    return ReadInfo(
        files=tuple(files),
        tree=first.tree,
        schema=first.schema,
        entry_ranges=tuple(ranges),
        events_read=sum(i.events_read for i in infos),
        truncation=truncation,
        dropped_nonfinite=dropped,
        events_dropped=sum(i.events_dropped for i in infos),
    )


class Events(Mapping[str, PointCloud]):
    """A batch of ``B`` events: input point clouds by name, truth clouds and event identifiers.

    ``events["jets"]`` is a :class:`PointCloud`; iterating gives the input
    collection names. Truth collections live apart in ``events.truth`` so a
    model never reads them by accident.

    Attributes:
        truth: truth point clouds by name.
        event_id: identifier arrays ``[B]`` by name; always ``entry`` (the entry
            number in the chained input files), plus the schema's ones
            (``run``, ``luminosityBlock``, ``event`` for NanoAOD).
        info: provenance and losses, see :class:`ReadInfo`.
    """

    def __init__(
        self,
        collections: Mapping[str, PointCloud],
        *,
        truth: Mapping[str, PointCloud] | None = None,
        event_id: Mapping[str, np.ndarray],
        info: ReadInfo,
    ) -> None:
        self._collections = dict(collections)
        self.truth: dict[str, PointCloud] = dict(truth or {})
        self.event_id: dict[str, np.ndarray] = {k: np.asarray(v) for k, v in event_id.items()}
        self.info = info
        if "entry" not in self.event_id:
            raise ValueError("Events need an 'entry' identifier")
        n = len(self.event_id["entry"])
        for name, cloud in {**self._collections, **self.truth}.items():
            if cloud.n_events != n:
                raise ValueError(f"collection {name!r} has {cloud.n_events} events, expected {n}")
        for name, ids in self.event_id.items():
            if len(ids) != n:
                raise ValueError(f"event_id {name!r} has {len(ids)} entries, expected {n}")

    @property
    def n_events(self) -> int:
        """Number of events ``B``."""
        return len(self.event_id["entry"])

    def __getitem__(self, name: str) -> PointCloud:
        try:
            return self._collections[name]
        except KeyError:
            where = " (it is a truth collection: use events.truth[...])" if name in self.truth else ""
            raise KeyError(f"no collection {name!r}{where}; collections are {sorted(self._collections)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._collections)

    def __len__(self) -> int:
        return len(self._collections)

    def __repr__(self) -> str:
        parts = [f"{k}={v.max_length}x{v.n_features}" for k, v in self._collections.items()]
        truth = [f"{k}={v.max_length}x{v.n_features}" for k, v in self.truth.items()]
        return f"Events(n_events={self.n_events}, collections=[{', '.join(parts)}], truth=[{', '.join(truth)}])"

    def select(self, index: int | slice | Sequence[int] | np.ndarray) -> Events:
        """The events chosen by an integer (kept as a batch of one), a slice, indices or a boolean mask ``[B]``."""
        if isinstance(index, (int, np.integer)):
            if not -self.n_events <= index < self.n_events:
                raise IndexError(f"event index {index} out of range for {self.n_events} events")
            index = slice(int(index) % self.n_events, int(index) % self.n_events + 1)
        if not isinstance(index, slice):
            index = np.asarray(index)
        return Events(
            {k: v.select(index) for k, v in self._collections.items()},
            truth={k: v.select(index) for k, v in self.truth.items()},
            event_id={k: v[index] for k, v in self.event_id.items()},
            info=self.info,
        )


def concatenate_events(batches: Sequence[Events]) -> Events:
    """Concatenate batches of events read with the same schema, merging their :class:`ReadInfo`."""
    if not batches:
        raise ValueError("concatenate_events needs at least one batch")
    if len(batches) == 1:
        return batches[0]
    first = batches[0]
    return Events(
        {k: concatenate_clouds([b[k] for b in batches]) for k in first},
        truth={k: concatenate_clouds([b.truth[k] for b in batches]) for k in first.truth},
        event_id={k: np.concatenate([b.event_id[k] for b in batches]) for k in first.event_id},
        info=_merge_info([b.info for b in batches]),
    )
