"""The unfolded-precision figure: precision per bin, purity and stability, and every method's response matrix."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from hepgen.plotting.style import color_of, label_figure, save_figure, use_style

__all__ = ["plot_unfolded_precision"]


def plot_unfolded_precision(methods: Mapping[str, Mapping], label: str, out: str | Path) -> None:
    """Save ``out``.{pdf,png} for one observable: ``methods`` is method → the entry of
    :func:`~hepgen.validation.unfolding_study.compare_unfolded_precision`; ``label`` the observable's axis label."""
    use_style()
    names = list(methods)
    columns = max(3, len(names))
    fig = plt.figure(figsize=(4.2 * columns, 8.4))
    grid = fig.add_gridspec(2, columns)
    precision_ax, purity_ax = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
    edges = np.array(methods[names[0]]["edges"])
    centres = 0.5 * (edges[1:] + edges[:-1])
    for name, entry in methods.items():
        color = color_of(name, precision_ax)
        precision_ax.errorbar(
            centres, entry["precision"], yerr=entry["precision_err"], marker="o", label=name, color=color
        )
        purity_ax.plot(centres, entry["purity"], marker="o", color=color, label=f"{name} purity")
        purity_ax.plot(centres, entry["stability"], marker="s", ls="--", color=color)
    poisson = methods[names[0]]["poisson"]
    precision_ax.step(edges, [*poisson, poisson[-1]], where="post", color="grey", ls=":", label="Poisson (perfect)")
    precision_ax.set_ylabel("precision of the unfolded bin", fontsize=13)
    purity_ax.set_ylabel("purity (solid), stability (dashed)", fontsize=13)
    for ax in (precision_ax, purity_ax):
        ax.set_xlabel(label, fontsize=13)
        ax.tick_params(labelsize=11)
    precision_ax.legend(fontsize=9)
    for i, (name, entry) in enumerate(methods.items()):
        ax = fig.add_subplot(grid[1, i])
        ax.pcolormesh(edges, edges, np.array(entry["response"]), vmin=0, vmax=1, cmap="Blues")
        ax.set_title(f"{name}: P(reco | truth)", fontsize=11)
        ax.set_xlabel(f"true {label}", fontsize=11)
        ax.set_ylabel(f"reconstructed {label}", fontsize=11)
        ax.tick_params(labelsize=10)
    fig.tight_layout()
    label_figure(fig)
    save_figure(fig, Path(out))
    plt.close(fig)
