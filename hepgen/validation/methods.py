"""One loader of prediction files for every event task: method name → its outputs, all on the same events.

A prediction file (``hepgen predict TASK``) holds one method's outputs in one tree (``Neutrino``, ``Dineutrino``);
validating compares methods event by event, so every file must hold the same events (the ``entry`` of each row) and,
for simulated events, their truth.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hepgen.errors import HepgenInputError
from hepgen.io.writer import read_event_outputs

__all__ = ["load_methods", "keep_events"]


def load_methods(
    files: Sequence[str | os.PathLike], tree: str, *, truth: Sequence[str] = ("truth",)
) -> dict[str, dict[str, Any]]:
    """Method name → outputs of the tree ``tree`` of each of ``files`` (with ``entry``, ``metadata`` and ``path``).

    The name is the file's ``method`` metadata (its stem if it has none); a second file of the same method is named
    ``method (stem)``. HepgenInputError when no file is given, when a file lacks one of the branches ``truth``
    (validation needs simulated events), or when two files hold different events.
    """
    if not files:
        raise HepgenInputError("no prediction files given")
    methods: dict[str, dict[str, Any]] = {}
    reference: tuple[str, np.ndarray] | None = None
    for path in files:
        outputs, event_id, metadata = read_event_outputs(path, tree=tree)
        name = metadata.get("method", Path(path).stem)
        if name in methods:
            name = f"{name} ({Path(path).stem})"
        missing = [branch for branch in truth if branch not in outputs]
        if missing:
            raise HepgenInputError(
                f"{path}: no {', '.join(missing)} in the prediction file; validation needs simulated events"
            )
        entries = event_id["entry"]
        if reference is None:
            reference = (str(path), entries)
        elif len(entries) != len(reference[1]) or not np.array_equal(entries, reference[1]):
            raise HepgenInputError(
                f"{path} holds {len(entries)} events and {reference[0]} holds {len(reference[1])} (or other events): "
                "compare predictions made on the same input events"
            )
        methods[name] = {**outputs, "entry": entries, "metadata": metadata, "path": str(path)}
    return methods


def keep_events(methods: dict[str, dict[str, Any]], keep: np.ndarray) -> None:
    """Keep only the events ``keep`` ``[B]`` (bool) in every method's per-event outputs, in place."""
    for outputs in methods.values():
        for key, value in list(outputs.items()):
            if isinstance(value, np.ndarray) and len(value) == len(keep):
                outputs[key] = value[keep]
