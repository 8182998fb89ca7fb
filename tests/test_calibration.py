"""Calibration: the truth quantiles of the true posterior are uniform, of an over-confident one U-shaped, of an
under-confident one humped, of a biased one skewed — and the summary tells them apart."""

import numpy as np
import pytest

from hepgen.validation import DEFAULT_LEVELS, bias_resolution, calibration_summary, coverage, pulls, truth_quantiles


def posterior_samples(kind: str, n: int = 4000, s: int = 200, seed: int = 0):
    rng = np.random.default_rng(seed)
    mean = rng.normal(0, 3, n)  # a per-event posterior N(mean, 1); truth drawn from it
    truth = mean + rng.normal(size=n)
    width = {"calibrated": 1.0, "over-confident": 0.5, "under-confident": 2.0, "biased": 1.0}[kind]
    shift = 1.0 if kind == "biased" else 0.0
    return mean[:, None] + shift + width * rng.normal(size=(n, s)), truth


@pytest.mark.parametrize("kind", ["calibrated", "over-confident", "under-confident", "biased"])
def test_summary_tells_the_cases_apart(kind):
    samples, truth = posterior_samples(kind)
    summary = calibration_summary(samples, truth)
    assert summary.verdict(len(truth)) == kind, summary
    q = truth_quantiles(samples, truth)
    hist = np.histogram(q, np.linspace(0, 1, 11))[0] / len(q) * 10
    if kind == "calibrated":
        assert np.all(np.abs(hist - 1) < 0.15) and summary.ks < 0.03
        np.testing.assert_allclose(coverage(samples, truth), DEFAULT_LEVELS, atol=0.03)
        assert abs(summary.pull_std - 1) < 0.05
    if kind == "over-confident":
        assert hist[0] > 1.5 and hist[-1] > 1.5 and hist[5] < 0.7  # U-shaped
        assert summary.pull_std > 1.5
    if kind == "under-confident":
        assert hist[0] < 0.5 and hist[-1] < 0.5 and hist[5] > 1.3  # humped
    if kind == "biased":
        assert hist[0] > 2 * hist[-1]  # skewed: the truth sits low in the posterior
        assert summary.median_quantile < 0.4


def test_point_mass_posteriors_get_uniform_random_ties():
    truth = np.zeros(5000)
    q = truth_quantiles(np.zeros((5000, 10)), truth)
    assert 0.45 < q.mean() < 0.55 and q.min() >= 0 and q.max() <= 1


def test_pulls_and_bias_resolution_by_hand():
    samples = np.array([[1.0, 3.0], [0.0, 4.0]])
    np.testing.assert_allclose(pulls(samples, np.array([4.0, 0.0])), [2.0, -1.0])
    bias, resolution = bias_resolution(np.array([-2.0, -1.0, 0.0, 1.0, 2.0, np.nan]))
    assert bias == 0.0 and resolution == pytest.approx(2.0 / 1.349)
