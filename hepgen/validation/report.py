"""The report of a validation (and of the quickstart): ``metrics.json`` and ``summary.md``, written atomically.

Every validation writes the same pair: the machine-readable numbers (stable keys, sorted, floats as JSON
numbers; NaN written as ``NaN`` as Python's json does) and the tables a physicist reads first.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hepgen.io.writer import atomic_path

__all__ = ["ValidationOptions", "write_report", "publish", "read_metrics"]


@dataclass(frozen=True)
class ValidationOptions:
    """How every validation runs and what it writes (the keyword options of ``validate_neutrino``,
    ``validate_dineutrino`` and ``validate_pileup``).

    Attributes:
        label_text: the text beside the experiment label of the figures; experiment: e.g. ``"CMS"`` (None: none).
        figures: draw the figures (PDF and PNG; off for quick checks and validation shards).
        bootstrap: resamples of every statistical error.
        scheduler: evaluate the independent units on a Dask cluster (``local:N`` or a scheduler address); the
            outputs are those of the serial run.
        progress: a progress bar over the units.
    """

    label_text: str = "Simulation"
    experiment: str | None = None
    figures: bool = True
    bootstrap: int = 200
    scheduler: str | None = None
    progress: bool = False


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as JSON types."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def write_report(out: str | os.PathLike, metrics: dict[str, Any], summary: str) -> tuple[Path, Path]:
    """Write ``out/metrics.json`` and ``out/summary.md`` (each atomically); returns both paths."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / "metrics.json", folder / "summary.md"
    with atomic_path(paths[0]) as tmp:
        tmp.write_text(json.dumps(metrics, indent=2, sort_keys=True, default=_plain), encoding="utf-8")
    with atomic_path(paths[1]) as tmp:
        tmp.write_text(summary if summary.endswith("\n") else summary + "\n", encoding="utf-8")
    return paths


def publish(
    out: Path, metrics: dict[str, Any], summary: str, histograms: dict[str, Any], figures: Callable[[], None] | None
) -> dict[str, Any]:
    """What every validation writes, in order: ``histograms.root``, the figures (``figures()``, None: none), then
    ``metrics.json`` and ``summary.md`` (last: a report on disk means a finished validation). Returns ``metrics``."""
    from hepgen.validation.histograms import HISTOGRAMS_FILE, write_histograms

    write_histograms(out / HISTOGRAMS_FILE, histograms)
    if figures is not None:
        figures()
    write_report(out, metrics, summary)
    return metrics


def read_metrics(out: str | os.PathLike) -> dict[str, Any]:
    """The ``metrics.json`` of a report folder."""
    return json.loads((Path(out) / "metrics.json").read_text(encoding="utf-8"))
