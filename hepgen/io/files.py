"""Finding input files and opening their trees, with errors that say what exists instead."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Union

from hepgen.errors import CorruptFileError, MissingFileError, MissingTreeError

__all__ = ["FileInput", "expand_files", "open_tree", "is_remote"]

#: A path, a glob pattern, a remote URL (``root://...``), or a list of them.
FileInput = Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]]

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
        nearby = sorted(p.name for p in parent.glob("*.root"))[:8]
        if nearby:
            message += f"; ROOT files in {str(parent)!r}: {nearby}"
    elif str(parent) not in ("", "."):
        message += f" (the folder {str(parent)!r} does not exist)"
    return message


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
        raise CorruptFileError(f"cannot read {path!r} as a ROOT file ({type(err).__name__}: {err})") from err
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
        raise CorruptFileError(f"cannot read tree {tree!r} of {path!r} ({type(err).__name__}: {err})") from err
