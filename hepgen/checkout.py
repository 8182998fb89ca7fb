"""Where the hepgen checkout is — its shipped samples (``data/``) and models (``analyses/``) — from any working
directory: notebooks, the quickstart and scripts find them without relative paths that hold only in one folder."""

from __future__ import annotations

import os
from pathlib import Path

from hepgen.errors import MissingFileError

__all__ = ["repository_root", "in_checkout"]

#: What marks the checkout: the shipped samples and the analyses with their models.
_MARKERS = ("data", "analyses")


def _is_checkout(folder: Path) -> bool:
    return all((folder / m).is_dir() for m in _MARKERS)


def repository_root(start: str | os.PathLike | None = None) -> Path:
    """The hepgen checkout: the first folder holding ``data/`` and ``analyses/`` from ``start`` (default: the
    working directory) upwards, else the one above the installed package (an editable install of the checkout).
    Raises :class:`~hepgen.errors.MissingFileError` when neither is one."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents, Path(__file__).resolve().parents[1]):
        if _is_checkout(folder):
            return folder
    raise MissingFileError(
        f"no hepgen checkout (a folder with {' and '.join(f'{m}/' for m in _MARKERS)}) above {str(here)!r} nor "
        "beside the installed package; run from the checkout or install it with pip install -e"
    )


def in_checkout(path: str | os.PathLike) -> Path:
    """``path`` as given where it exists (relative to the working directory or absolute), else relative to the
    checkout (:func:`repository_root`)."""
    path = Path(path)
    if path.exists() or path.is_absolute():
        return path
    return repository_root() / path
