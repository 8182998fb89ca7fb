"""Collecting generated events into NanoAOD-style columns and writing them to ROOT atomically.

A generator appends one event (or one jet) at a time: jagged collections as
``{"Jet": {"pt": array, ...}}`` and scalars as ``{"MET_pt": value}``. The
result is written with ``nJet`` / ``Jet_pt`` names, so the readers' schemas
read hepgen's files like CMS NanoAOD.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from hepgen.io.writer import atomic_path

__all__ = ["ColumnBuffer", "concatenate_columns", "write_nanoaod_tree"]


class ColumnBuffer:
    """Accumulates events as per-collection flat arrays plus counts, and per-event scalars.

    Args:
        collections: collection name → {field: numpy dtype}.
        scalars: scalar branch name → numpy dtype.
    """

    def __init__(self, collections: Mapping[str, Mapping[str, Any]], scalars: Mapping[str, Any]) -> None:
        self.collection_dtypes = {c: dict(f) for c, f in collections.items()}
        self.scalar_dtypes = dict(scalars)
        self._flat: dict[str, dict[str, list[np.ndarray]]] = {c: {f: [] for f in fs} for c, fs in collections.items()}
        self._counts: dict[str, list[int]] = {c: [] for c in collections}
        self._scalars: dict[str, list[Any]] = {s: [] for s in scalars}

    def __len__(self) -> int:
        return len(next(iter(self._scalars.values()))) if self._scalars else 0

    def append(self, collections: Mapping[str, Mapping[str, np.ndarray]], scalars: Mapping[str, Any]) -> None:
        """Add one entry; every declared collection and scalar must be given."""
        if set(collections) != set(self._flat) or set(scalars) != set(self._scalars):
            raise ValueError(
                f"entry has collections {sorted(collections)} and scalars {sorted(scalars)}; "
                f"expected {sorted(self._flat)} and {sorted(self._scalars)}"
            )
        for name, fields in collections.items():
            n = None
            for field_name, values in fields.items():
                values = np.atleast_1d(np.asarray(values))
                n = len(values) if n is None else n
                if len(values) != n:
                    raise ValueError(
                        f"collection {name!r}: field {field_name!r} has {len(values)} entries, expected {n}"
                    )
                self._flat[name][field_name].append(values)
            self._counts[name].append(int(n or 0))
        for name, value in scalars.items():
            self._scalars[name].append(value)

    def columns(self) -> dict[str, ak.Array | np.ndarray]:
        """The accumulated entries: jagged records per collection, numpy arrays per scalar."""
        out: dict[str, ak.Array | np.ndarray] = {}
        for name, fields in self._flat.items():
            counts = np.asarray(self._counts[name], dtype=np.int64)
            record = {}
            for field_name, dtype in self.collection_dtypes[name].items():
                parts = fields[field_name]
                flat = np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)
                record[field_name] = flat
            out[name] = ak.unflatten(ak.zip(record), counts)
        for name, dtype in self.scalar_dtypes.items():
            out[name] = np.asarray(self._scalars[name], dtype=dtype)
        return out


def concatenate_columns(parts: Sequence[Mapping[str, ak.Array | np.ndarray]]) -> dict[str, ak.Array | np.ndarray]:
    """Concatenate column dicts (blocks of events) along the event axis."""
    if not parts:
        raise ValueError("nothing to concatenate")
    out: dict[str, ak.Array | np.ndarray] = {}
    for key, first in parts[0].items():
        if isinstance(first, ak.Array):
            out[key] = ak.concatenate([p[key] for p in parts])
        else:
            out[key] = np.concatenate([np.asarray(p[key]) for p in parts])
    return out


def write_nanoaod_tree(
    path: str | os.PathLike, tree: str, columns: Mapping[str, ak.Array | np.ndarray], metadata: Mapping[str, Any]
) -> Path:
    """Write columns as a NanoAOD-style TTree (``nX``, ``X_field``) plus a JSON ``metadata`` string, atomically."""
    import uproot

    types = {k: (v.type.content if isinstance(v, ak.Array) else v.dtype) for k, v in columns.items()}
    with atomic_path(path) as tmp:
        with uproot.recreate(tmp) as file:
            file.mktree(
                tree,
                types,
                field_name=lambda outer, inner: f"{outer}_{inner}",
                counter_name=lambda counted: "n" + counted,
            )
            n = len(next(iter(columns.values()))) if columns else 0
            if n:
                file[tree].extend(dict(columns))
            file["metadata"] = json.dumps(dict(metadata), sort_keys=True, default=str)
    return Path(path)
