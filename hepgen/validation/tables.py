"""Markdown for every validation: one value ± error cell and one calibration table.

Every figure of merit in ``metrics.json`` is stored as ``{key: value, key_err: error}`` (the bootstrap or binomial
error beside the value); :func:`cell` writes it, :func:`calibration_table` writes the calibration of posteriors
(:func:`~hepgen.validation.calibration.calibration_entry`) the same way for every task; :func:`target_row` and
:func:`calibration_target_row` are the rows of the analyses' target tables (a posterior is "calibrated" when its
verdict is: judged against the statistical error of its events, never a fixed tolerance).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = ["value_with_error", "cell", "calibration_table", "target_row", "calibration_target_row"]


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
    coverage ± their Wilson errors, the KS distance of the truth quantiles from uniform, the largest decile
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


def target_row(target: str, value: str, met: bool | None) -> str:
    """``| target | value | met / **not met** / — |`` (— for a number without a target)."""
    return f"| {target} | {value} | {'—' if met is None else ('met' if met else '**not met**')} |"


def calibration_target_row(name: str, c: Mapping[str, Any]) -> str:
    """The target "``name``: posterior calibrated", met when the calibration entry's verdict is "calibrated": the KS
    distance of its truth quantiles within 1.36/√n (the 5 % critical value) and no systematic coverage deviation."""
    critical = 1.36 / np.sqrt(c["events"])
    return target_row(
        f"{name}: posterior calibrated (KS ≤ 1.36/√n)",
        f"68 % coverage {c['coverage_68']:.3f} ± {c['coverage_68_error']:.3f}; KS {c['ks']:.3f} vs {critical:.3f}: "
        f"{c['verdict']}",
        c["verdict"] == "calibrated",
    )
