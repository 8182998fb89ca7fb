"""Write per-event outputs (samples ``[B, S, D]``, point estimates ``[B, D]``, jagged lists) to ROOT.

Outputs are aligned with the input events: row ``i`` of every output belongs
to the event identified by ``event_id[...][i]`` (at least ``entry``, plus
``run``/``luminosityBlock``/``event`` when the input had them). Files are
written atomically: to a temporary file in the same folder, then renamed, so
a killed job never leaves a half-written output under the final name.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from hepgen.errors import HepgenError, HepgenInputError, HepgenTransientError, NonFiniteInputError
from hepgen.io.files import open_tree

__all__ = ["EVENT_ID_PREFIX", "atomic_path", "check_output_path", "read_event_outputs", "write_event_outputs"]

#: Event-identifier branches are written as ``event_id_<name>``.
EVENT_ID_PREFIX = "event_id_"


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on error delete it.

    The temporary name starts with ``.`` and contains ``.tmp-``, so a crashed
    job's leftovers are easy to recognise and never mistaken for outputs.
    """
    final = Path(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.tmp-", dir=final.parent)
    except (PermissionError, NotADirectoryError, FileExistsError) as error:  # the user's path: a retry cannot help
        raise HepgenInputError(f"cannot write {str(final)!r}: {error.strerror or error}") from None
    except OSError as error:
        raise HepgenTransientError(f"cannot write {str(final)!r} ({error}); a retry may succeed") from error
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp makes 0600 files; outputs get the usual permissions
        with open(tmp, "rb") as fh:  # make the bytes durable before the rename makes them visible
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException as error:
        tmp.unlink(missing_ok=True)
        if isinstance(error, OSError) and not isinstance(error, HepgenError):  # a full disk, a lost mount
            raise HepgenTransientError(
                f"writing {str(final)!r} failed ({error}); nothing was left under that name, a retry may succeed"
            ) from error
        raise


def check_output_path(path: str | os.PathLike) -> None:
    """HepgenInputError, before any work, if ``--out`` cannot be written: its folder cannot be made (a file stands in
    the way) or is not writable, or the path is a folder."""
    from hepgen.errors import HepgenInputError

    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    blocking = next((p for p in (parent, *parent.parents) if p.exists()), None)
    if blocking is not None and not blocking.is_dir():
        raise HepgenInputError(f"--out {str(path)!r}: {str(blocking)!r} is a file, not a folder")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise HepgenInputError(f"cannot create the output folder {str(parent)!r}: {err.strerror}") from None
    if not os.access(parent, os.W_OK):
        raise HepgenInputError(f"the output folder {str(parent)!r} is not writable")
    if path.is_dir():
        raise HepgenInputError(f"--out {str(path)!r} is a folder; give a file name such as {str(path / 'out.root')!r}")


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _branch_type(value: np.ndarray | ak.Array) -> Any:
    if isinstance(value, ak.Array):
        return value.type.content
    return (value.dtype, value.shape[1:]) if value.ndim > 1 else value.dtype


def write_event_outputs(
    path: str | os.PathLike,
    outputs: Mapping[str, np.ndarray | ak.Array],
    *,
    event_id: Mapping[str, np.ndarray],
    tree: str = "Outputs",
    metadata: Mapping[str, Any] | None = None,
    allow_nonfinite: bool = False,
    extra_trees: Mapping[str, tuple[Mapping[str, np.ndarray | ak.Array], Mapping[str, np.ndarray]]] | None = None,
) -> Path:
    """Write per-event arrays to ``tree`` in a new ROOT file at ``path``, atomically.

    Args:
        path: the output file (replaced if it exists, only once fully written).
        outputs: name → array with the events on axis 0: numpy ``[B]``,
            ``[B, D]``, ``[B, S, D]`` (fixed-size branches such as ``float[256][3]``)
            or a jagged awkward array (written NanoAOD style, ``n<name>`` + ``<name>``).
        event_id: identifier arrays ``[B]`` (``events.event_id``); written as
            ``event_id_<name>`` so outputs can be matched to inputs.
        tree: the output tree's name.
        metadata: JSON-serialisable provenance (schema, source files, model),
            stored as the string object ``metadata`` beside the tree.
        allow_nonfinite: refuse NaN/inf in float outputs unless True.
        extra_trees: more trees for the same file, name → ``(outputs, event_id)``
            (e.g. one row per jet beside one row per posterior sample).

    Returns:
        The final path.
    """
    import uproot

    trees = {tree: _columns(path, outputs, event_id, allow_nonfinite)}
    for name, (extra_outputs, extra_id) in (extra_trees or {}).items():
        if name in trees or name == "metadata":
            raise ValueError(f"tree name {name!r} is used twice")
        trees[name] = _columns(path, extra_outputs, extra_id, allow_nonfinite)
    with atomic_path(path) as tmp, uproot.recreate(tmp) as file:
        for name, columns in trees.items():
            _write_tree(file, name, columns)
        file["metadata"] = json.dumps(dict(metadata or {}), sort_keys=True, default=str)
    return Path(path)


def _columns(
    path: str | os.PathLike,
    outputs: Mapping[str, np.ndarray | ak.Array],
    event_id: Mapping[str, np.ndarray],
    allow_nonfinite: bool,
) -> dict[str, np.ndarray | ak.Array]:
    """Validated branch columns: event identifiers first, all outputs aligned with them and finite."""
    if not event_id or "entry" not in event_id:
        raise ValueError("event_id must contain at least 'entry' (use events.event_id)")
    n = len(event_id["entry"])
    columns: dict[str, np.ndarray | ak.Array] = {}
    for name, ids in event_id.items():
        ids = np.asarray(ids)
        if len(ids) != n:
            raise ValueError(f"event_id {name!r} has {len(ids)} entries; 'entry' has {n}")
        columns[EVENT_ID_PREFIX + name] = ids
    for name, value in outputs.items():
        if name.startswith(EVENT_ID_PREFIX):
            raise ValueError(f"output name {name!r} is reserved for event identifiers")
        if not isinstance(value, ak.Array):
            value = np.ascontiguousarray(value)
        if len(value) != n:
            raise ValueError(f"output {name!r} has {len(value)} events but the inputs have {n}; outputs must align")
        if not allow_nonfinite:
            flat = ak.to_numpy(ak.flatten(value, axis=None)) if isinstance(value, ak.Array) else value
            if flat.dtype.kind == "f" and not np.isfinite(flat).all():
                raise NonFiniteInputError(
                    f"output {name!r} holds {int((~np.isfinite(flat)).sum())} NaN/inf value(s); refusing to write {path}"
                )
        columns[name] = value
    return columns


def _write_tree(file: Any, tree: str, columns: Mapping[str, np.ndarray | ak.Array]) -> None:
    jagged = {k for k, v in columns.items() if isinstance(v, ak.Array) and v.ndim > 1}
    file.mktree(
        tree,
        {k: _branch_type(v) for k, v in columns.items()},
        counter_name=lambda counted: "n" + counted,
        field_name=lambda outer, inner: f"{outer}_{inner}",
    )
    if len(next(iter(columns.values()))):
        file[tree].extend(
            {k: (v if k in jagged or not isinstance(v, ak.Array) else ak.to_numpy(v)) for k, v in columns.items()}
        )


def read_event_outputs(
    path: str | os.PathLike, *, tree: str = "Outputs"
) -> tuple[dict[str, np.ndarray | ak.Array], dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by :func:`write_event_outputs`.

    Returns:
        ``(outputs, event_id, metadata)``: fixed-size outputs as numpy arrays
        with their shapes restored, jagged ones as awkward arrays.
    """
    t = open_tree(os.fspath(path), tree)
    arrays = t.arrays(library="ak", how=dict)
    outputs: dict[str, np.ndarray | ak.Array] = {}
    event_id: dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        if name.startswith("n") and name[1:] in arrays:  # counter of a jagged output
            continue
        if value.ndim > 1 and not _is_regular(value):
            outputs[name] = value
            continue
        data = ak.to_numpy(value)
        if name.startswith(EVENT_ID_PREFIX):
            event_id[name[len(EVENT_ID_PREFIX) :]] = data
        else:
            outputs[name] = data
    import uproot

    with uproot.open(os.fspath(path)) as file:
        metadata = json.loads(str(file["metadata"])) if "metadata" in file else {}
    return outputs, event_id, metadata


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON metadata of a file written by :func:`write_event_outputs` (``{}`` if it has none); reads no events."""
    import uproot

    try:
        with uproot.open(os.fspath(path)) as file:
            return json.loads(str(file["metadata"])) if "metadata" in file else {}
    except FileNotFoundError:
        from hepgen.errors import MissingFileError

        raise MissingFileError(f"no such file: {os.fspath(path)!r}") from None


def _is_regular(value: ak.Array) -> bool:
    return "var" not in str(value.type.content)


def _tree_names(path: str | os.PathLike) -> list[str]:
    import uproot

    with uproot.open(os.fspath(path)) as file:
        return sorted({name.split(";")[0] for name, cls in file.classnames().items() if cls == "TTree"})


def merge_event_outputs(
    parts: list[str | os.PathLike], out: str | os.PathLike, *, metadata: Mapping[str, Any] | None = None
) -> Path:
    """Concatenate the files of several shards (same trees and branches) into ``out``, atomically.

    Rows are ordered by ``event_id_entry`` (stably, so samples keep their order), which makes the merge
    of the shards of a job equal to the unsharded output. Parts without rows are skipped. The metadata is
    the first non-empty part's, updated with ``metadata`` and ``merged_from`` (the number of parts).
    """
    if not parts:
        raise ValueError("nothing to merge")
    trees = _tree_names(parts[0])
    tables: dict[str, list[tuple[dict[str, Any], dict[str, np.ndarray]]]] = {t: [] for t in trees}
    merged_metadata: dict[str, Any] | None = None
    for part in parts:
        if _tree_names(part) != trees:
            raise ValueError(
                f"{part} holds the trees {_tree_names(part)}, {parts[0]} holds {trees}: not shards of one job"
            )
        for tree in trees:
            outputs, event_id, part_metadata = read_event_outputs(part, tree=tree)
            if len(event_id["entry"]):
                tables[tree].append((outputs, event_id))
                merged_metadata = merged_metadata if merged_metadata is not None else part_metadata
    if merged_metadata is None:  # every part empty: the first one is the merge
        merged_metadata = read_event_outputs(parts[0], tree=trees[0])[2]
    columns = {}
    for tree in trees:
        pieces = tables[tree] or [read_event_outputs(parts[0], tree=tree)[:2]]
        event_id = {k: np.concatenate([p[1][k] for p in pieces]) for k in pieces[0][1]}
        order = np.argsort(event_id["entry"], kind="stable")
        outputs = {}
        for key in pieces[0][0]:
            values = [p[0][key] for p in pieces]
            joined = ak.concatenate(values) if isinstance(values[0], ak.Array) else np.concatenate(values)
            outputs[key] = joined[order]
        columns[tree] = (outputs, {k: v[order] for k, v in event_id.items()})
    first, *others = trees
    return write_event_outputs(
        out,
        columns[first][0],
        event_id=columns[first][1],
        tree=first,
        extra_trees={t: columns[t] for t in others},
        metadata={**merged_metadata, **dict(metadata or {}), "merged_from": len(parts)},
    )
