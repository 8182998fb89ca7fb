"""Plotting functions draw on a given axis, return it, and save PDF and PNG (Agg backend)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from hepgen.plotting import (  # noqa: E402
    color_of,
    label,
    label_figure,
    plot_coverage,
    plot_grid_scores,
    plot_distributions,
    plot_pulls,
    plot_scan,
    plot_truth_quantiles,
    save_figure,
)
from hepgen.validation import DEFAULT_LEVELS  # noqa: E402


def test_every_plot_draws_on_the_given_axis_and_saves(tmp_path):
    rng = np.random.default_rng(0)
    fig, axes = plt.subplots(3, 3)
    assert plot_truth_quantiles({"flow": rng.uniform(size=500)}, ax=axes[0, 0]) is axes[0, 0]
    assert plot_coverage({"flow": DEFAULT_LEVELS}, ax=axes[0, 1]) is axes[0, 1]
    assert plot_pulls({"flow": rng.normal(size=500)}, ax=axes[0, 2]) is axes[0, 2]
    ax, ratio = plot_distributions(
        {"truth": rng.normal(80, 5, 500), "flow": rng.normal(80, 8, 500)}, reference="truth",
        bins=np.linspace(50, 110, 31), xlabel="m [GeV]", ax=axes[1, 0], ratio_ax=axes[1, 1],
    )  # fmt: skip
    assert ax is axes[1, 0] and ratio is axes[1, 1]
    scan = {"observed": [0.2, 0.7, 1.9], "vipr median": [0.0, -0.02, -0.1], "vipr samples": [0.0, -0.03, -0.12]}
    assert plot_scan([20, 60, 200], scan, xlabel="μ", ylabel="bias", reference=0.0, ax=axes[1, 2]) is axes[1, 2]
    assert len(axes[1, 2].lines) == 4
    assert plot_grid_scores(rng.uniform(size=(4, 4)), [0.05, 0.1, 0.15, 0.2], [0, 0.5, 1, 2], row_label="z_cut",
                            column_label="beta", chosen=(1, 2), ax=axes[2, 0]) is axes[2, 0]  # fmt: skip
    assert axes[2, 0].images and axes[2, 0].patches
    label_figure(fig, "Simulation", title="all plots")
    assert axes[0, 0].patches or axes[0, 0].lines or axes[0, 0].collections
    label(axes[0, 0])
    written = save_figure(fig, tmp_path / "figure")
    assert [p.suffix for p in written] == [".pdf", ".png"] and all(p.stat().st_size > 1000 for p in written)
    plt.close(fig)


def test_methods_keep_their_colour():
    assert color_of("flow") == color_of("flow (run2)") != color_of("analytic")
    assert color_of("something new") is None
