"""Calibration figures: truth-quantile histograms with the uniform band, coverage curves, pulls."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import stats

from hepgen.plotting.style import color_of
from hepgen.validation.calibration import DEFAULT_LEVELS

__all__ = ["plot_truth_quantiles", "plot_coverage", "plot_pulls"]


def _axes(ax):  # noqa: ANN001, ANN202
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 4))
    return ax


def plot_truth_quantiles(quantiles: Mapping[str, np.ndarray], *, bins: int = 20, ax=None, xlabel: str = "truth quantile"):  # noqa: ANN001, ANN201
    """Histograms of truth quantiles per method, with the ±1σ/±2σ band expected for a uniform distribution."""
    ax = _axes(ax)
    edges = np.linspace(0, 1, bins + 1)
    n = max(len(q) for q in quantiles.values())
    expected = n / bins
    for k, alpha in ((2, 0.15), (1, 0.3)):
        lo, hi = stats.binom.interval(stats.norm.cdf(k) - stats.norm.cdf(-k), n, 1 / bins)
        ax.fill_between([0, 1], lo / expected, hi / expected, color="grey", alpha=alpha, lw=0,
                        label=f"uniform ±{k}σ" if k == 1 else None)  # fmt: skip
    for name, q in quantiles.items():
        counts, _ = np.histogram(q, edges)
        ax.stairs(counts / (len(q) / bins), edges, label=name, lw=1.8, color=color_of(name, ax))
    ax.axhline(1.0, color="black", lw=0.8, ls="--")
    ax.set_xlim(0, 1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density / uniform")
    ax.legend(fontsize="x-small")
    return ax


def plot_coverage(empirical: Mapping[str, np.ndarray], *, levels: np.ndarray = DEFAULT_LEVELS, ax=None):  # noqa: ANN001, ANN201
    """Empirical against nominal coverage of central intervals, per method; the diagonal is perfect calibration."""
    ax = _axes(ax)
    ax.plot([0, 1], [0, 1], color="black", lw=0.8, ls="--", label="calibrated")
    for name, values in empirical.items():
        ax.plot(levels, values, marker="o", ms=3, label=name, color=color_of(name, ax))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("nominal coverage")
    ax.set_ylabel("empirical coverage")
    ax.legend(fontsize="x-small")
    return ax


def plot_pulls(values: Mapping[str, np.ndarray], *, ax=None, bins: int = 40, xlabel: str = "pull"):  # noqa: ANN001, ANN201
    """Pull distributions per method with the unit Gaussian."""
    ax = _axes(ax)
    edges = np.linspace(-5, 5, bins + 1)
    for name, p in values.items():
        p = p[np.isfinite(p)]
        counts, _ = np.histogram(np.clip(p, -5, 5), edges, density=True)
        ax.stairs(counts, edges, lw=1.8, label=f"{name} (σ={np.std(p):.2f})", color=color_of(name, ax))
    x = np.linspace(-5, 5, 200)
    ax.plot(x, stats.norm.pdf(x), color="black", lw=0.8, ls="--", label="N(0, 1)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.legend(fontsize="x-small")
    return ax
