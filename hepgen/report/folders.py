"""The validations of a results folder: which there are, of what kind, and what each is missing.

``hepgen report RESULTS_DIR`` works on any folder of ``hepgen validate`` outputs: the folder itself or any folder below
it (three levels deep) that holds a validation's files. A validation writes ``histograms.root``, its figures, then
``metrics.json`` and ``summary.md`` last (:func:`hepgen.validation.report.publish`), so a folder with some of them
and not the others is a validation that did not finish, and is reported as such.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hepgen.errors import HepgenInputError
from hepgen.validation.headline import validation_kind
from hepgen.validation.histograms import HISTOGRAMS_FILE

__all__ = ["KEY_FIGURES", "ValidationFolder", "find_validations"]

#: Per kind, the figures a physicist looks at first (file stems; a stem ending in ``*`` matches several files).
KEY_FIGURES = {
    "neutrino": ("residual_pz", "coverage", "truth_quantiles", "m_lnu"),
    "dineutrino": ("m_ttbar", "coverage*"),  # coverage.png for one posterior, coverage_<method>.png for several
    "pileup": ("resolution_vs_mu", "bias_vs_mu", "coverage", "distributions_mu*"),
}
#: The files whose presence marks a folder as (the start of) a validation.
_MARKERS = ("metrics.json", "summary.md", HISTOGRAMS_FILE)
_DEPTH = 3


@dataclass
class ValidationFolder:
    """One validation folder: its kind (None: unknown), metrics (None: none readable), key figures found (PNG paths)
    and what is missing (file names, each with why)."""

    path: Path
    kind: str | None = None
    metrics: dict[str, Any] | None = None
    figures: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """metrics and summary written, every key figure there."""
        return self.metrics is not None and not self.missing


def _figures(path: Path, kind: str) -> tuple[list[Path], list[str]]:
    found, missing = [], []
    for stem in KEY_FIGURES.get(kind, ()):
        matches = sorted(path.glob(f"{stem}.png"))
        found += matches
        if not matches:
            missing.append(f"{stem.rstrip('*')}.png (figure not drawn)")
    return found, missing


def _read(path: Path) -> ValidationFolder:
    folder = ValidationFolder(path)
    metrics_file = path / "metrics.json"
    if not metrics_file.exists():
        folder.missing.append("metrics.json (the validation did not finish; run hepgen validate again)")
    else:
        try:
            folder.metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            folder.missing.append(f"metrics.json (unreadable: {error})")
    if not (path / "summary.md").exists():
        folder.missing.append("summary.md (the validation did not finish)")
    if folder.metrics is not None:
        folder.kind = validation_kind(folder.metrics)
        if folder.kind is not None:
            folder.figures, missing = _figures(path, folder.kind)
            folder.missing += missing
    return folder


def _is_other_report(path: Path) -> bool:
    """A folder with a ``metrics.json`` that is no validation (e.g. the quickstart's, whose parts are below it)."""
    try:
        metrics = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return validation_kind(metrics) is None


def find_validations(root: str | os.PathLike) -> list[ValidationFolder]:
    """Every validation folder in ``root`` (itself and three levels below), sorted by path. Raises a
    :class:`~hepgen.errors.HepgenInputError` when ``root`` is not a folder or holds no validation."""
    root = Path(root)
    if not root.is_dir():
        raise HepgenInputError(f"{str(root)!r} is not a folder; give the folder of hepgen validate outputs")
    found = []
    for path in sorted([root, *(p for p in root.rglob("*") if p.is_dir())]):
        if len(path.relative_to(root).parts) > _DEPTH or not any((path / m).exists() for m in _MARKERS):
            continue
        if (path / "metrics.json").exists() and _is_other_report(path):
            continue
        found.append(_read(path))
    if not found:
        raise HepgenInputError(
            f"{str(root)!r} holds no validation (no metrics.json, summary.md or {HISTOGRAMS_FILE} in it or "
            f"{_DEPTH} levels below); run hepgen validate TASK --pred ... --out FOLDER first"
        )
    return found
