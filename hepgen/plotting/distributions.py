"""Distributions of an observable per method against the truth, with a ratio panel, drawn from ``hist.Hist``."""

from __future__ import annotations

from collections.abc import Mapping

import hist
import mplhep
import numpy as np

from hepgen.plotting.style import color_of

__all__ = ["plot_distributions", "density"]


def density(h: hist.Hist) -> tuple[np.ndarray, np.ndarray]:
    """(density per unit of the axis, its standard error) of a counts histogram: counts / (in-range total × width)."""
    counts, variances = h.values(), h.variances()
    total = counts.sum()
    widths = h.axes[0].widths
    if total <= 0:
        return np.zeros_like(counts), np.zeros_like(counts)
    return counts / (total * widths), np.sqrt(variances) / (total * widths)


def _counts(values: np.ndarray, edges: np.ndarray, label: str) -> hist.Hist:
    """The finite ``values`` counted in ``edges``."""
    values = np.asarray(values, dtype=np.float64).ravel()
    axis = hist.axis.Variable(np.asarray(edges, dtype=np.float64), name="x", label=label)
    return hist.Hist(axis, storage=hist.storage.Weight()).fill(values[np.isfinite(values)])


def plot_distributions(
    histograms: Mapping[str, hist.Hist | np.ndarray],
    *,
    reference: str,
    bins: np.ndarray | None = None,
    xlabel: str | None = None,
    ax=None,
    ratio_ax=None,
):
    """Normalised histograms (name → counts ``hist.Hist`` on the same axis, or arrays histogrammed in ``bins``); the
    ratio panel divides by ``histograms[reference]``. Returns ``(ax, ratio_ax)``; both are created (stacked) when
    not given."""
    if any(not isinstance(h, hist.Hist) for h in histograms.values()):
        if bins is None:
            raise ValueError("give bins to histogram arrays")
        histograms = {
            k: h if isinstance(h, hist.Hist) else _counts(h, bins, xlabel or "") for k, h in histograms.items()
        }
    if ax is None:
        import matplotlib.pyplot as plt

        _, (ax, ratio_ax) = plt.subplots(
            2, 1, figsize=(6, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1], "hspace": 0.05}
        )
    ref_density, ref_error = density(histograms[reference])
    edges = histograms[reference].axes[0].edges
    centers = 0.5 * (edges[1:] + edges[:-1])
    for name, h in histograms.items():
        values, errors = density(h)
        style = (
            {"color": "black", "lw": 1.2, "ls": "--"} if name == reference else {"lw": 1.8, "color": color_of(name, ax)}
        )
        (drawn,) = mplhep.histplot(values, edges, yerr=errors, ax=ax, label=name, **style)
        drawn.stairs.set_gid(name)  # the legend entry is the error-bar container's; the step keeps the name too
        if ratio_ax is not None and name != reference:
            with np.errstate(divide="ignore", invalid="ignore"):  # both densities' errors, independent samples
                ratio = np.where(ref_density > 0, values / ref_density, np.nan)
                error = ratio * np.hypot(errors / values, ref_error / ref_density)
            ratio_ax.stairs(ratio, edges, lw=1.5, color=style["color"])
            ratio_ax.errorbar(centers, ratio, yerr=error, fmt="none", ecolor=style["color"], elinewidth=1.0)
    xlabel = xlabel or histograms[reference].axes[0].label
    ax.set_ylabel("normalised")
    ax.legend(fontsize="x-small")
    mplhep.yscale_legend(ax)  # the y axis grows until the legend covers no data
    if ratio_ax is not None:
        ratio_ax.axhline(1.0, color="black", lw=0.8, ls="--")
        ratio_ax.set_ylim(0.0, 2.0)
        ratio_ax.set_yticks([0.5, 1.0, 1.5])
        ratio_ax.set_ylabel(f"/ {reference}")
        ratio_ax.set_xlabel(xlabel)
    else:
        ax.set_xlabel(xlabel)
    return ax, ratio_ax
