"""Exceptions of hepgen, each with a clear message and the exit code that tells a batch system what to do.

* :class:`HepgenInputError` (exit 2, :data:`EXIT_INPUT`): the input is wrong — a missing, corrupt or
  invalid file, option or checkpoint. Retrying cannot help: a grid job should be held.
* :class:`HepgenTransientError` (exit 75, :data:`EXIT_TEMPFAIL`, sysexits' EX_TEMPFAIL): an I/O error
  while reading or writing, or running out of memory. The same job may succeed on a retry.

The command line prints either as one line (never a traceback) and exits with its code; 0 means done.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "EXIT_OK",
    "EXIT_INPUT",
    "EXIT_TEMPFAIL",
    "HepgenError",
    "HepgenInputError",
    "HepgenTransientError",
    "MissingFileError",
    "MissingTreeError",
    "MissingBranchError",
    "NonFiniteInputError",
    "CorruptFileError",
    "SchemaError",
    "closest_names",
    "one_of",
]

#: Exit codes of the command line (see the README's table).
EXIT_OK, EXIT_INPUT, EXIT_TEMPFAIL = 0, 2, 75


class HepgenError(Exception):
    """Base class of every error hepgen reports to its user; ``exit_code`` says whether a retry can help."""

    exit_code = 1


class HepgenTransientError(HepgenError):
    """A failure that may not recur: an I/O error while reading or writing, or no memory left (exit 75: retry)."""

    exit_code = EXIT_TEMPFAIL


class HepgenInputError(HepgenError):
    """Base class for every error caused by the user's input (files, options, configs): exit 2, do not retry."""

    exit_code = EXIT_INPUT


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


def one_of(choices: Iterable[Any] | Mapping[str, Any], value: Any, what: str) -> Any:
    """``choices[value]`` of a mapping (``value`` itself of other choices) if ``value`` is one of ``choices``; else
    HepgenInputError ``"unknown {what} {value!r}; choose one of [...]"``."""
    if value not in choices:
        raise HepgenInputError(f"unknown {what} {value!r}; choose one of {list(choices)}")
    return choices[value] if isinstance(choices, Mapping) else value
