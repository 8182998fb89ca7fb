"""Figures of a metric against a scanned parameter (e.g. bias against μ), and of a two-parameter grid."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from hepgen.plotting.style import color_of

__all__ = ["plot_scan", "plot_grid_scores"]

_LINESTYLES = {"median": "-", "samples": "--"}


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 4))
    return ax


def plot_scan(
    x: Sequence[float],
    values: Mapping[str, Sequence[float]],
    *,
    xlabel: str,
    ylabel: str,
    reference: float | None = None,
    errors: Mapping[str, Sequence[float]] | None = None,
    ax=None,
):
    """One line with markers per method (name → values at each ``x``), with error bars where ``errors`` gives them
    (name → standard errors at each ``x``); an optional horizontal reference line. Per-sample methods are dashed.
    With a single ``x`` the methods are points side by side around it (a line needs two)."""
    ax = _axes(ax)
    if reference is not None:
        ax.axhline(reference, color="black", lw=0.8, ls=":")
    x = np.asarray(x, dtype=np.float64)
    width = max(1.0, 0.2 * abs(float(x[0]))) if len(x) == 1 else 0.0
    offsets = np.linspace(-0.5, 0.5, len(values)) * width if len(values) > 1 else np.zeros(len(values))
    for offset, (name, y) in zip(offsets, values.items()):
        style = _LINESTYLES.get(name.replace("_", " ").split(" ")[-1], "-")
        color = color_of(name, ax)
        ax.plot(x + offset, y, marker="o", ms=4 if len(x) > 1 else 6, lw=1.6, ls=style, label=name, color=color)
        if errors is not None and name in errors:
            ax.errorbar(
                x + offset,
                y,
                yerr=np.asarray(errors[name], dtype=np.float64),
                fmt="none",
                ecolor=color or ax.lines[-1].get_color(),
                elinewidth=1.2,
                capsize=2,
            )
    if len(x) == 1:
        ax.set_xlim(x[0] - width, x[0] + width)
        ax.set_xticks([x[0]], [f"{x[0]:g}"])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="xx-small")
    return ax


def plot_grid_scores(
    scores: np.ndarray,
    rows: Sequence[float],
    columns: Sequence[float],
    *,
    row_label: str,
    column_label: str,
    chosen: tuple[int, int] | None = None,
    title: str | None = None,
    ax=None,
):
    """Heat map of ``scores`` ``[len(rows), len(columns)]`` with each value printed; ``chosen`` is outlined."""
    ax = _axes(ax)
    scores = np.asarray(scores, dtype=np.float64)
    image = ax.imshow(scores, origin="lower", cmap="viridis_r", aspect="auto")
    for i in range(scores.shape[0]):
        for j in range(scores.shape[1]):
            ax.text(j, i, f"{scores[i, j]:.2f}", ha="center", va="center", fontsize="xx-small", color="white")
    if chosen is not None:
        import matplotlib.patches as patches

        ax.add_patch(patches.Rectangle((chosen[1] - 0.5, chosen[0] - 0.5), 1, 1, fill=False, ec="red", lw=2))
    ax.set_xticks(range(len(columns)), [f"{c:g}" for c in columns])
    ax.set_yticks(range(len(rows)), [f"{r:g}" for r in rows])
    ax.set_xlabel(column_label)
    ax.set_ylabel(row_label)
    if title:
        ax.set_title(title, fontsize="small")
    ax.figure.colorbar(image, ax=ax, fraction=0.05)
    return ax
