"""Markdown for every validation: one value ± error cell and one calibration table.

Every figure of merit in ``metrics.json`` is stored as ``{key: value, key_err: error}`` (the bootstrap or binomial
error beside the value); :func:`cell` writes it, :func:`calibration_table` writes the calibration of posteriors
(:func:`~hepgen.validation.calibration.calibration_entry`) the same way for every task.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = ["value_with_error", "cell", "calibration_table"]


def value_with_error(value: float, error: float = float("nan"), *, digits: str = ".3f", signed: bool = False) -> str:
    """``"0.123 ± 0.004"`` (``digits`` for both; ``signed`` writes the sign of the value); the value alone when
    the error is not finite."""
    text = f"{value:+{digits}}" if signed else f"{value:{digits}}"
    return text + (f" ± {error:{digits}}" if np.isfinite(error) else "")


def cell(entry: Mapping[str, Any], key: str, *, digits: str = ".3f", signed: bool = False) -> str:
    """``entry[key] ± entry[key + "_err"]`` (see :func:`value_with_error`)."""
    return value_with_error(entry[key], entry.get(f"{key}_err", float("nan")), digits=digits, signed=signed)


def calibration_table(rows: Iterable[tuple[str, str, Mapping[str, Any]]], *, quantity: str = "quantity") -> list[str]:
    """Markdown rows of the calibration of posteriors: per (method, quantity, calibration entry) the 68 % and 95 %
    coverage ± their binomial errors, the KS distance of the truth quantiles from uniform, the largest decile
    deviation from 0.1 (where the entry has ``deciles``), the pulls' σ and the verdict."""
    lines = [
        f"| method | {quantity} | 68 % coverage | 95 % coverage | KS | max decile deviation | pull σ | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for method, name, c in rows:
        deviation = f"{max(abs(d - 0.1) for d in c['deciles']):.3f}" if c.get("deciles") else "–"
        coverage_68 = value_with_error(c["coverage_68"], c["coverage_68_error"])
        coverage_95 = value_with_error(c["coverage_95"], c["coverage_95_error"])
        lines.append(
            f"| {method} | {name} | {coverage_68} | {coverage_95} | {c['ks']:.3f} | {deviation} | "
            f"{c['pull_std']:.2f} | {c['verdict']} |"
        )
    return lines
