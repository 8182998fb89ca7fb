"""The validation histograms: hist.Hist built as a hand computation says, written to ROOT and read back unchanged,
and the neutrino validation's histograms.root holding exactly the numbers of its predictions and metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import hepgen.io as hio
from hepgen.cli import main
from hepgen.plotting.distributions import density
from hepgen.validation.calibration import DEFAULT_LEVELS, coverage, truth_quantiles
from hepgen.validation.histograms import (
    counts_histogram,
    coverage_histogram,
    pull_histogram,
    quantile_histogram,
    read_histograms,
    write_histograms,
)

REPO = Path(__file__).resolve().parents[2]


def test_histograms_equal_a_hand_computation():
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(size=1000), [np.nan, np.inf, -20.0, 20.0]])
    edges = np.linspace(-3, 3, 13)
    h = counts_histogram(values, edges, name="x", label="x [GeV]")
    expected, _ = np.histogram(values[np.isfinite(values)], edges)
    np.testing.assert_array_equal(h.values(), expected)
    assert h.values(flow=True)[0] == (values[np.isfinite(values)] < -3).sum() and h.axes[0].label == "x [GeV]"
    np.testing.assert_array_equal(h.variances(), expected)  # unit weights: variance = count
    d, err = density(h)
    assert (d * h.axes[0].widths).sum() == pytest.approx(1.0) and np.all(err >= 0)
    q = rng.uniform(size=500)
    np.testing.assert_array_equal(quantile_histogram(q, bins=10).values(), np.histogram(q, np.linspace(0, 1, 11))[0])
    p = pull_histogram(np.array([-7.0, 0.1, 7.0, np.nan]))
    assert p.values().sum() == 3 and p.values()[0] == 1 and p.values()[-1] == 1  # tails in the edge bins


def test_the_coverage_profile_is_the_coverage():
    rng = np.random.default_rng(2)
    samples, truth = rng.normal(size=(400, 16)), rng.normal(size=400) * 1.3  # an over-confident posterior
    q = truth_quantiles(samples, truth)
    h = coverage_histogram(q)
    np.testing.assert_allclose(h.axes[0].centers, DEFAULT_LEVELS)
    np.testing.assert_allclose(h.view().value, coverage(samples, truth, quantiles=q))
    np.testing.assert_array_equal(h.view().count, 400)


def test_histograms_survive_root(tmp_path):
    rng = np.random.default_rng(3)
    hists = {
        "a/residual/flow": counts_histogram(rng.normal(size=300), np.linspace(-2, 2, 9), name="r", label="Δ [GeV]"),
        "a/coverage/flow": coverage_histogram(rng.uniform(size=300)),
        "pulls": pull_histogram(rng.normal(size=50)),
    }
    path = write_histograms(tmp_path / "histograms.root", hists)
    back = read_histograms(path)
    assert set(back) == set(hists)
    for key, h in hists.items():
        r = back[key]
        assert r.axes[0].label == h.axes[0].label
        np.testing.assert_allclose(r.axes[0].edges, h.axes[0].edges)
        if key.endswith("coverage/flow"):
            np.testing.assert_allclose(r.view().value, h.view().value)
            np.testing.assert_allclose(r.view().sum_of_weights, h.view().count)
        else:
            np.testing.assert_array_equal(r.values(flow=True), h.values(flow=True))
            np.testing.assert_array_equal(r.variances(), h.variances())
    # the coverage profile read back draws the same points with the same errors as the one built
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hepgen.plotting import plot_coverage

    fig, (built, read_back) = plt.subplots(1, 2)
    plot_coverage({"flow": hists["a/coverage/flow"]}, ax=built)
    plot_coverage({"flow": back["a/coverage/flow"]}, ax=read_back)
    bars = [axis.containers[0].lines[2][0].get_paths() for axis in (built, read_back)]
    assert len(bars[0]) == len(bars[1]) == len(DEFAULT_LEVELS)  # one error bar per nominal level, on both
    for a, b in zip(*bars):
        np.testing.assert_allclose(a.vertices, b.vertices)
    np.testing.assert_allclose(built.lines[0].get_ydata(), read_back.lines[0].get_ydata())
    plt.close(fig)
    other = pull_histogram(rng.normal(size=70))  # another shard's: histograms read back merge by adding them
    merged = back["pulls"] + read_histograms(write_histograms(tmp_path / "other.root", {"pulls": other}))["pulls"]
    np.testing.assert_array_equal(merged.values(), hists["pulls"].values() + other.values())


def test_validate_neutrino_writes_the_histograms_of_its_figures(tmp_path):
    data = str(REPO / "data" / "ttbar_ljets_test.root")
    flow, analytic = tmp_path / "flow.root", tmp_path / "analytic.root"
    assert (
        main(
            [
                "predict",
                "neutrino",
                "--run",
                str(REPO / "analyses" / "neutrino" / "model"),
                "--data",
                data,
                "--samples",
                "16",
                "--max-events",
                "300",
                "--no-progress",
                "--out",
                str(flow),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "predict",
                "neutrino",
                "--method",
                "analytic",
                "--data",
                data,
                "--max-events",
                "300",
                "--no-progress",
                "--out",
                str(analytic),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "validate",
                "neutrino",
                "--pred",
                str(flow),
                str(analytic),
                "--out",
                str(tmp_path / "val"),
                "--no-figures",
                "--no-progress",
            ]
        )
        == 0
    )
    import json

    metrics = json.loads((tmp_path / "val" / "metrics.json").read_text())
    histograms = read_histograms(tmp_path / "val" / "histograms.root")
    outputs, _, _ = hio.read_event_outputs(analytic, tree="Neutrino")
    residual = outputs["point"][:, 2].astype(np.float64) - outputs["truth"][:, 2]
    h = histograms["residual_pz/analytic"]
    np.testing.assert_array_equal(h.values(flow=True)[1:-1], np.histogram(residual, h.axes[0].edges)[0])
    assert h.values(flow=True).sum() == metrics["events"]
    for c in ("px", "pz"):
        calibration = metrics["methods"]["flow"][c]["calibration"]
        quantiles = histograms[f"truth_quantiles/{c}/flow"]
        assert quantiles.values().sum() == metrics["events"]
        profile = histograms[f"coverage/{c}/flow"]
        level = list(profile.axes[0].centers).index(pytest.approx(0.683))
        assert profile.view().value[level] == pytest.approx(calibration["coverage_68"])
    assert {"m_lnu/truth", "m_lnu/flow", "m_lnu_samples/flow samples", "pulls/eta/flow"} <= set(histograms)


def test_the_bins_follow_the_number_of_entries():
    """Rice's rule by hand: ⌈2 n^(1/3)⌉ bins — 11 for the 150 test jets of a pileup point, 35 for 5 000 events,
    44 for 10 000 — never fewer than 8, never more than asked."""
    from hepgen.validation.histograms import bins_for

    assert [len(bins_for(n, 0.0, 1.0)) - 1 for n in (150, 5000, 10000, 10)] == [11, 35, 44, 8]
    assert len(bins_for(10**6, -400.0, 400.0, at_most=80)) - 1 == 80
    edges = bins_for(5000, -400.0, 400.0)
    assert edges[0] == -400.0 and edges[-1] == 400.0 and np.allclose(np.diff(edges), 800.0 / 35)
