"""Finding input files and opening their trees, with errors that say what exists instead."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hepgen.errors import CorruptFileError, HepgenError, HepgenTransientError, MissingFileError, MissingTreeError

__all__ = ["FileInput", "expand_files", "open_tree", "is_remote", "read_failure"]

#: A path, a glob pattern, a remote URL (``root://...``), or a list of them.
FileInput = str | os.PathLike | Sequence[str | os.PathLike]

_GLOB_CHARS = set("*?[")


def is_remote(path: str) -> bool:
    """True for URLs such as ``root://eos.example//file.root`` that are opened by uproot's backends."""
    return "://" in path and not path.startswith("file://")


def expand_files(files: FileInput) -> list[str]:
    """Expand paths and glob patterns into an ordered list of files.

    Globs are sorted so every job sees the same order; explicit paths keep the
    order given. A missing path or a pattern that matches nothing raises
    :class:`MissingFileError` naming it.
    """
    if isinstance(files, (str, os.PathLike)):
        files = [files]
    out: list[str] = []
    for item in files:
        path = os.fspath(item)
        if is_remote(path):
            out.append(path)
        elif _GLOB_CHARS & set(path):
            matches = sorted(glob.glob(path))
            if not matches:
                raise MissingFileError(f"no file matches the pattern {path!r}")
            out.extend(matches)
        else:
            if path.startswith("file://"):
                path = path[len("file://") :]
            if not os.path.exists(path):
                raise MissingFileError(_missing_message(path))
            if os.path.isdir(path):
                raise MissingFileError(f"{path!r} is a directory; pass files or a pattern such as '{path}/*.root'")
            out.append(path)
    if not out:
        raise MissingFileError("no input files were given")
    return out


def _missing_message(path: str) -> str:
    parent = Path(path).parent
    message = f"input file not found: {path!r}"
    if parent.is_dir():
        import difflib

        names = sorted(p.name for p in parent.glob("*.root"))
        nearby = difflib.get_close_matches(Path(path).name, names, n=3, cutoff=0.6)
        if nearby:
            message += f"; did you mean {' or '.join(repr(str(parent / n)) for n in nearby)}?"
        elif names:
            message += f"; {len(names)} ROOT files in {str(parent)!r}, none with a similar name"
    elif str(parent) not in ("", "."):
        message += f" (the folder {str(parent)!r} does not exist)"
    return message


def _truncated_or_not_root(path: str) -> str | None:
    """Why a local file cannot be ROOT (None if its header looks whole): not ROOT, or shorter than its header says."""
    import struct

    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            header = fh.read(20)
    except OSError:
        return None  # cannot even look: say nothing about the file
    if len(header) < 4 or header[:4] != b"root":
        return "not a ROOT file" if size else "an empty (0-byte) file"
    if len(header) < 16:
        return f"truncated to {size} bytes"
    version = struct.unpack(">i", header[4:8])[0]
    end = (
        struct.unpack(">q", header[12:20])[0]
        if version >= 1000000 and len(header) >= 20
        else struct.unpack(">i", header[12:16])[0]
    )
    return f"truncated: {size} bytes of the {end} its header announces" if size < end else None


def read_failure(path: str, error: BaseException, what: str) -> HepgenError:
    """The hepgen error for ``error`` raised while reading ``what`` of ``path``.

    A damaged file — not ROOT, shorter than its header says, undecodable baskets — is a permanent
    :class:`CorruptFileError` (exit 2: do not retry). An I/O error on a file that looks whole (a remote read
    that failed, a storage hiccup) or running out of memory is a :class:`HepgenTransientError` (exit 75: retry).
    """
    if isinstance(error, MemoryError):
        return HepgenTransientError(
            f"out of memory while reading {what} of {path!r}; retry with more memory or a smaller step"
        )
    damage = None if is_remote(path) else _truncated_or_not_root(path)
    if isinstance(error, OSError) and damage is None:
        return HepgenTransientError(
            f"I/O error while reading {what} of {path!r} ({type(error).__name__}: {error}); a retry may succeed"
        )
    if damage:  # the reader's own words (chunks, sources) say nothing more to a user than the damage itself
        return CorruptFileError(f"cannot read {what} of {path!r}: the file is {damage}")
    first_line = str(error).splitlines()[0] if str(error) else ""
    return CorruptFileError(
        f"cannot read {what} of {path!r} ({type(error).__name__}: {first_line}); the file may be truncated or damaged"
    )


def _trees_in(file: Any) -> list[str]:
    return sorted(
        {key.split(";")[0] for key, cls in file.classnames().items() if cls in ("TTree", "TNtuple", "ROOT::RNTuple")}
    )


def open_tree(path: str, tree: str | None) -> Any:
    """Open ``tree`` in the ROOT file ``path`` (``None`` accepts the file's only tree).

    Raises:
        CorruptFileError: the file is not readable ROOT (truncated, damaged, not ROOT).
        MissingTreeError: no such tree; the message lists the trees present.
    """
    import uproot

    try:
        file = uproot.open(path)
        trees = _trees_in(file)
    except FileNotFoundError:
        raise MissingFileError(_missing_message(path)) from None
    except Exception as err:  # uproot raises many types for damaged files
        raise read_failure(path, err, "the file header") from err
    if tree is None:
        if len(trees) != 1:
            raise MissingTreeError(
                f"{path!r} holds {len(trees)} trees ({trees}); name the one to read with tree=..."
                if trees
                else f"{path!r} holds no tree; its keys are {sorted(file.keys())}"
            )
        tree = trees[0]
    if tree not in trees:
        raise MissingTreeError(f"tree {tree!r} not found in {path!r}; trees present: {trees or 'none'}")
    try:
        return file[tree]
    except Exception as err:
        raise read_failure(path, err, f"tree {tree!r}") from err
