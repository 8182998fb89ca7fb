"""Distributions of an observable per method against the truth, with a ratio panel."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from hepgen.plotting.style import color_of

__all__ = ["plot_distributions"]


def plot_distributions(
    values: Mapping[str, np.ndarray],
    *,
    reference: str,
    bins: np.ndarray,
    xlabel: str,
    ax=None,  # noqa: ANN001
    ratio_ax=None,  # noqa: ANN001
):  # noqa: ANN201
    """Normalised histograms of ``values`` (name → array); the ratio panel divides by ``values[reference]``.

    Returns ``(ax, ratio_ax)``; both are created (stacked) when not given.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, (ax, ratio_ax) = plt.subplots(2, 1, figsize=(6, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1], "hspace": 0.05})
    ref_counts, _ = np.histogram(values[reference], bins, density=True)
    for name, v in values.items():
        v = np.asarray(v)[np.isfinite(v)]
        counts, _ = np.histogram(v, bins, density=True)
        style = {"color": "black", "lw": 1.2, "ls": "--"} if name == reference else {"lw": 1.8, "color": color_of(name, ax)}
        ax.stairs(counts, bins, label=name, **style)
        if ratio_ax is not None and name != reference:
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio_ax.stairs(np.where(ref_counts > 0, counts / ref_counts, np.nan), bins, lw=1.5, color=style["color"])
    ax.set_ylabel("normalised")
    ax.legend(fontsize="x-small")
    if ratio_ax is not None:
        ratio_ax.axhline(1.0, color="black", lw=0.8, ls="--")
        ratio_ax.set_ylim(0.0, 2.0)
        ratio_ax.set_yticks([0.5, 1.0, 1.5])
        ratio_ax.set_ylabel(f"/ {reference}")
        ratio_ax.set_xlabel(xlabel)
    else:
        ax.set_xlabel(xlabel)
    return ax, ratio_ax
