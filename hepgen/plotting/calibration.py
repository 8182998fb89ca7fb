"""Calibration figures, drawn from the ``hist.Hist`` objects they are given (a validation's, e.g. those of
:mod:`hepgen.validation.histograms`): truth-quantile histograms with the uniform band, coverage curves with binomial
errors, pulls against N(0, 1)."""

from __future__ import annotations

from collections.abc import Mapping

import hist
import mplhep
import numpy as np
from scipy import stats

from hepgen.plotting.distributions import density
from hepgen.plotting.style import color_of

__all__ = ["plot_truth_quantiles", "plot_coverage", "plot_pulls"]


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 4))
    return ax


def plot_truth_quantiles(quantiles: Mapping[str, hist.Hist], *, ax=None, xlabel: str | None = None):
    """Truth-quantile histograms over [0, 1] (counts, e.g. :func:`~hepgen.validation.histograms.quantile_histogram`)
    per method, as density over uniform, with the ±1σ/±2σ band expected for a uniform distribution of the largest
    sample."""
    ax = _axes(ax)
    first = next(iter(quantiles.values()))
    bins = first.axes[0].size
    n = max(h.values().sum() for h in quantiles.values())
    expected = n / bins
    for k, alpha in ((2, 0.15), (1, 0.3)):
        lo, hi = stats.binom.interval(stats.norm.cdf(k) - stats.norm.cdf(-k), n, 1 / bins)
        ax.fill_between(
            [0, 1],
            lo / expected,
            hi / expected,
            color="grey",
            alpha=alpha,
            lw=0,
            label=f"uniform ±{k}σ" if k == 1 else None,
        )
    for name, h in quantiles.items():
        total = h.values().sum()
        mplhep.histplot(
            h.values() / max(total / bins, 1e-300), h.axes[0].edges, ax=ax, label=name, lw=1.8, color=color_of(name, ax)
        )
    ax.axhline(1.0, color="black", lw=0.8, ls="--")
    ax.set_xlim(0, 1)
    ax.set_xlabel(xlabel or first.axes[0].label)
    ax.set_ylabel("density / uniform")
    ax.legend(fontsize="x-small")
    return ax


def plot_coverage(
    coverage: Mapping[str, hist.Hist | np.ndarray],
    *,
    levels: np.ndarray | None = None,
    ax=None,
    colors: Mapping[str, str] | None = None,
    xlabel: str | None = None,
):
    """Empirical against nominal coverage per method: profiles (mean storage, one bin centred on each nominal level,
    e.g. :func:`~hepgen.validation.histograms.coverage_histogram`) with binomial errors, or arrays of the empirical
    coverage at the nominal ``levels`` (required for arrays); the diagonal is perfect calibration. ``colors``
    overrides the methods' colours (e.g. for the components of one method)."""
    ax = _axes(ax)
    ax.plot([0, 1], [0, 1], color="black", lw=0.8, ls="--", label="calibrated")
    for name, h in coverage.items():
        color = (colors or {}).get(name) or color_of(name, ax)
        if not isinstance(h, hist.Hist):
            if levels is None:
                raise ValueError(f"coverage of {name!r} is an array: give its nominal levels")
            ax.plot(levels, h, marker="o", ms=3, label=name, color=color)
            continue
        view = h.view()
        # Mean storage as built; WeightedMean when read back from a ROOT TProfile (unit weights: the same counts)
        count = view.count if hasattr(view, "count") else view.sum_of_weights
        filled = count > 0
        nominal = np.asarray(h.axes[0].centers)[filled]  # each bin is centred on its nominal level
        value, error = view.value[filled], np.sqrt(view.variance[filled] / np.maximum(count[filled], 1))
        ax.errorbar(nominal, value, yerr=error, marker="o", ms=3, lw=1.2, label=name, color=color)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    first = next(iter(coverage.values()))
    ax.set_xlabel(xlabel or (first.axes[0].label if isinstance(first, hist.Hist) else "nominal coverage"))
    ax.set_ylabel("empirical coverage")
    ax.legend(fontsize="x-small")
    return ax


def plot_pulls(pulls: Mapping[str, hist.Hist], *, ax=None, xlabel: str | None = None):
    """Pull histograms (counts, e.g. :func:`~hepgen.validation.histograms.pull_histogram`) per method as densities,
    with their width (the standard deviation of the histogram's bin centres, weighted by the counts) and the unit
    Gaussian."""
    ax = _axes(ax)
    first = next(iter(pulls.values()))
    for name, h in pulls.items():
        values, _ = density(h)
        centers, counts = h.axes[0].centers, h.values()
        mean = np.average(centers, weights=counts) if counts.sum() else 0.0
        width = np.sqrt(np.average((centers - mean) ** 2, weights=counts)) if counts.sum() else np.nan
        mplhep.histplot(
            values, h.axes[0].edges, ax=ax, lw=1.8, label=f"{name} (σ={width:.2f})", color=color_of(name, ax)
        )
    x = np.linspace(first.axes[0].edges[0], first.axes[0].edges[-1], 200)
    ax.plot(x, stats.norm.pdf(x), color="black", lw=0.8, ls="--", label="N(0, 1)")
    ax.set_xlabel(xlabel or first.axes[0].label)
    ax.set_ylabel("density")
    ax.legend(fontsize="x-small")
    return ax
