"""Plotting functions draw what they are given on the given axis, return it, and save PDF and PNG (Agg backend).

Every check reads the drawn artists back (step heights, line data, image values) and compares them with
the numbers computed independently here, so a plot that draws the wrong thing fails."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import StepPatch

from hepgen.plotting import (
    color_of,
    label,
    label_figure,
    plot_coverage,
    plot_distributions,
    plot_grid_scores,
    plot_pulls,
    plot_scan,
    plot_truth_quantiles,
    save_figure,
)
from hepgen.validation import DEFAULT_LEVELS
from hepgen.validation.histograms import pull_histogram, quantile_histogram


def steps_of(ax, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(heights, edges) of the step histogram labelled ``name`` on ``ax``."""
    steps = [p for p in ax.patches if isinstance(p, StepPatch)]
    (patch,) = [p for p in steps if (p.get_label() or p.get_gid() or "").startswith(name)]
    values, edges, _ = patch.get_data()
    return np.asarray(values), np.asarray(edges)


def line_of(ax, name: str):
    (line,) = [line for line in ax.lines if line.get_label() == name]
    return np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)


def test_truth_quantiles_are_histogrammed_relative_to_uniform():
    q = np.random.default_rng(0).uniform(size=500) ** 1.5  # not uniform: piles up at small quantiles
    fig, ax = plt.subplots()
    assert plot_truth_quantiles({"flow": quantile_histogram(q, bins=10)}, ax=ax) is ax
    heights, edges = steps_of(ax, "flow")
    np.testing.assert_allclose(edges, np.linspace(0, 1, 11))
    np.testing.assert_allclose(heights, np.histogram(q, edges)[0] / 50.0)  # 500 quantiles / 10 bins expected per bin
    assert heights[0] > 1.5 and heights[-1] < 1.0
    plt.close(fig)


def test_coverage_and_scan_lines_hold_the_values():
    fig, (a, b) = plt.subplots(1, 2)
    empirical = DEFAULT_LEVELS * 0.9
    assert plot_coverage({"flow": empirical}, levels=DEFAULT_LEVELS, ax=a) is a
    x, y = line_of(a, "flow")
    np.testing.assert_allclose(x, DEFAULT_LEVELS)
    np.testing.assert_allclose(y, empirical)
    np.testing.assert_allclose(line_of(a, "calibrated")[1], [0, 1])
    scan = {"observed": [0.2, 0.7, 1.9], "vipr median": [0.0, -0.02, -0.1], "vipr samples": [0.0, -0.03, -0.12]}
    assert plot_scan([20, 60, 200], scan, xlabel="μ", ylabel="bias", reference=0.0, ax=b) is b
    for name, values in scan.items():
        x, y = line_of(b, name)
        np.testing.assert_allclose(x, [20, 60, 200])
        np.testing.assert_allclose(y, values)
    assert [ln.get_linestyle() for ln in b.lines if ln.get_label() == "vipr samples"] == ["--"]  # samples dashed
    plt.close(fig)


def test_pulls_are_a_normalised_histogram_with_the_unit_gaussian():
    p = np.random.default_rng(1).normal(0.5, 2.0, 4000)
    fig, ax = plt.subplots()
    assert plot_pulls({"flow": pull_histogram(p)}, ax=ax) is ax
    heights, edges = steps_of(ax, "flow")
    np.testing.assert_allclose(heights, np.histogram(np.clip(p, -5, 5), edges, density=True)[0])
    counts = np.histogram(np.clip(p, -5, 5 - 1e-9), edges)[0]
    centres = (edges[1:] + edges[:-1]) / 2
    width = np.sqrt(np.average((centres - np.average(centres, weights=counts)) ** 2, weights=counts))
    assert abs(width - 2.0) < 0.1  # the binned width of N(0.5, 2²) pulls
    assert [p.get_label() for p in ax.patches if isinstance(p, StepPatch)] == [f"flow (σ={width:.2f})"]
    x, y = line_of(ax, "N(0, 1)")
    np.testing.assert_allclose(y, np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi))
    plt.close(fig)


def test_distributions_and_their_ratio_to_the_reference():
    rng = np.random.default_rng(2)
    truth, flow = rng.normal(80, 5, 5000), rng.normal(82, 8, 5000)
    bins = np.linspace(50, 110, 31)
    fig, (a, r) = plt.subplots(2, 1)
    ax, ratio = plot_distributions(
        {"truth": truth, "flow": flow}, reference="truth", bins=bins, xlabel="m [GeV]", ax=a, ratio_ax=r
    )
    assert ax is a and ratio is r
    ref = np.histogram(truth, bins, density=True)[0]
    mine = np.histogram(flow, bins, density=True)[0]
    np.testing.assert_allclose(steps_of(a, "truth")[0], ref)
    np.testing.assert_allclose(steps_of(a, "flow")[0], mine)
    (ratio_patch,) = [p for p in r.patches if isinstance(p, StepPatch)]
    drawn = np.asarray(ratio_patch.get_data()[0])
    expected = np.where(ref > 0, mine / np.where(ref > 0, ref, 1), np.nan)
    np.testing.assert_allclose(drawn, expected, equal_nan=True)
    # error bars: √counts / (N · width) on the histograms, both densities' relative errors in quadrature on the ratio
    counts, counts_ref = np.histogram(flow, bins)[0], np.histogram(truth, bins)[0]
    drawn_bars = [c for c in a.containers if c.lines[2] and len(c.lines[2][0].get_paths())]  # truth, then flow
    bars = drawn_bars[1]
    heights = np.array([np.ptp(path.vertices[:, 1]) / 2 for path in bars.lines[2][0].get_paths()])
    np.testing.assert_allclose(heights, np.sqrt(counts) / (counts.sum() * 2.0), rtol=1e-9)
    (ratio_bars,) = [c for c in r.containers if c.lines[2] and len(c.lines[2][0].get_paths())]
    widths = np.array([np.ptp(path.vertices[:, 1]) / 2 for path in ratio_bars.lines[2][0].get_paths()])
    ok = (counts > 0) & (counts_ref > 0)
    relative = np.hypot(1 / np.sqrt(counts[ok]), 1 / np.sqrt(counts_ref[ok]))
    expected_error = mine[ok] / ref[ok] * relative
    np.testing.assert_allclose(widths[ok], expected_error, rtol=1e-9)
    plt.close(fig)


def test_a_scan_of_one_point_draws_each_method_beside_the_others():
    fig, ax = plt.subplots()
    plot_scan([60.0], {"vipr": [0.03], "puppiml": [0.03], "chs": [0.1]}, xlabel="μ", ylabel="res", ax=ax)
    xs = [line_of(ax, m)[0][0] for m in ("vipr", "puppiml", "chs")]
    assert xs == sorted(xs) and len(set(xs)) == 3 and min(xs) >= ax.get_xlim()[0] and max(xs) <= ax.get_xlim()[1]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["60"]
    plt.close(fig)


def test_grid_scores_image_and_chosen_cell(tmp_path):
    scores = np.random.default_rng(3).uniform(size=(4, 4))
    fig, ax = plt.subplots()
    assert (
        plot_grid_scores(
            scores, [0.05, 0.1, 0.15, 0.2], [0, 0.5, 1, 2], row_label="z_cut", column_label="beta", chosen=(1, 2), ax=ax
        )
        is ax
    )
    np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), scores)
    (outline,) = [p for p in ax.patches if not isinstance(p, StepPatch)]
    assert outline.get_xy() == (1.5, 0.5)  # column 2, row 1, centred on the cell
    assert sorted(t.get_text() for t in ax.texts) == sorted(f"{v:.2f}" for v in scores.ravel())
    label_figure(fig, "Simulation", title="grid")
    label(ax)
    written = save_figure(fig, tmp_path / "figure")
    assert [p.suffix for p in written] == [".pdf", ".png"]
    assert written[0].read_bytes()[:5] == b"%PDF-" and written[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plt.close(fig)


def test_methods_keep_their_colour_and_no_two_methods_of_a_figure_share_one():
    assert color_of("flow") == color_of("flow (run2)") != color_of("analytic")
    assert color_of("something new") is None
    fig, ax = plt.subplots()
    for name in ("vipr", "puppiml", "chs", "puppi", "puppi_tuned", "puppi_softdrop", "new_a", "new_b", "new_c"):
        ax.plot([0, 1], [0, 1], color=color_of(name, ax), label=name)
    assert len({line.get_color() for line in ax.lines}) == len(ax.lines)
    plt.close(fig)
    # two runs of one method in one figure: the second run takes a spare colour, the first keeps the method's
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], color=color_of("flow", ax))
    assert color_of("flow (run2)", ax) not in (color_of("flow"), None) and color_of("flow", ax) == color_of("flow")
    plt.close(fig)


def test_histograms_draw_as_their_arrays():
    """The validation draws from hist.Hist objects: the same figure as from the arrays they were filled with."""
    from hepgen.validation.histograms import counts_histogram, pull_histogram, quantile_histogram

    rng = np.random.default_rng(4)
    q, p, m = rng.uniform(size=300) ** 1.3, rng.normal(0, 1.5, 300), rng.normal(80, 5, 300)
    fig, axes = plt.subplots(1, 3)
    plot_truth_quantiles({"flow": quantile_histogram(q, bins=10)}, ax=axes[0])
    plot_pulls({"flow": pull_histogram(p)}, ax=axes[1])
    bins = np.linspace(60, 100, 21)
    plot_distributions(
        {
            "truth": counts_histogram(m, bins, name="m", label="m [GeV]"),
            "flow": counts_histogram(m + 1, bins, name="m", label="m [GeV]"),
        },
        reference="truth",
        ax=axes[2],
    )
    np.testing.assert_allclose(steps_of(axes[0], "flow")[0], np.histogram(q, np.linspace(0, 1, 11))[0] / 30.0)
    np.testing.assert_allclose(
        steps_of(axes[1], "flow")[0], np.histogram(np.clip(p, -5, 5), np.linspace(-5, 5, 41), density=True)[0]
    )
    np.testing.assert_allclose(steps_of(axes[2], "flow")[0], np.histogram(m + 1, bins, density=True)[0])
    assert axes[2].get_xlabel() == "m [GeV]"
    plt.close(fig)
