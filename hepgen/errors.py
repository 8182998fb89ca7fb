"""Exceptions raised for bad input, each naming what is wrong and what would be accepted."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "HepgenInputError",
    "MissingFileError",
    "MissingTreeError",
    "MissingBranchError",
    "NonFiniteInputError",
    "CorruptFileError",
    "SchemaError",
    "closest_names",
]


class HepgenInputError(Exception):
    """Base class for every error caused by the user's input (files, options, configs)."""


class MissingFileError(HepgenInputError, FileNotFoundError):
    """A named file does not exist, or a glob pattern matched nothing."""


class MissingTreeError(HepgenInputError, KeyError):
    """The requested tree is not in the file; the message lists the trees that are."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class MissingBranchError(HepgenInputError, KeyError):
    """A branch the schema needs is absent; the message names the closest existing branches."""

    def __str__(self) -> str:
        return str(self.args[0])


class NonFiniteInputError(HepgenInputError, ValueError):
    """NaN or infinite values were found in an input branch (the message gives the count)."""


class CorruptFileError(HepgenInputError, OSError):
    """A file exists but cannot be read as ROOT (truncated, not ROOT, damaged baskets)."""


class SchemaError(HepgenInputError, ValueError):
    """A schema, collection or cut expression is inconsistent or refers to unknown names."""


def closest_names(name: str, candidates: Iterable[str], n: int = 5) -> list[str]:
    """Return up to ``n`` names from ``candidates`` that look most like ``name``."""
    candidates = list(candidates)
    close = difflib.get_close_matches(name, candidates, n=n, cutoff=0.5)
    if len(close) < n:
        lowered = name.lower()
        extra = [c for c in candidates if lowered in c.lower() and c not in close]
        close += extra[: n - len(close)]
    return close
