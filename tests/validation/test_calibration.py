"""Calibration: the estimators are exact at any number of samples — a calibrated toy posterior gives nominal coverage
and unit pulls at S = 4, 8 and 256 and the verdict "calibrated" — and over-confident, under-confident and biased
posteriors are told apart."""

import numpy as np
import pytest
from scipy import stats

from hepgen.validation import DEFAULT_LEVELS, bias_resolution, calibration_summary, coverage, pulls, truth_quantiles
from hepgen.validation.calibration import coverage_error


def posterior_samples(kind: str, n: int = 4000, s: int = 200, seed: int = 0):
    """A per-event posterior N(mean, 1) with the truth drawn from it; the samples drawn from a (mis)calibrated one."""
    rng = np.random.default_rng(seed)
    mean = rng.normal(0, 3, n)
    truth = mean + rng.normal(size=n)
    width = {"calibrated": 1.0, "over-confident": 0.5, "under-confident": 2.0, "biased": 1.0}[kind]
    shift = 1.0 if kind == "biased" else 0.0
    return mean[:, None] + shift + width * rng.normal(size=(n, s)), truth


@pytest.mark.parametrize("s", [4, 8, 256])
def test_a_calibrated_posterior_is_calibrated_at_any_number_of_samples(s):
    n = 20000
    samples, truth = posterior_samples("calibrated", n=n, s=s, seed=s)
    empirical = coverage(samples, truth)
    # binomial errors; 4σ so that the ten levels pass together (each within 4σ with probability 0.99994)
    assert np.all(np.abs(empirical - DEFAULT_LEVELS) < 4 * coverage_error(DEFAULT_LEVELS, n)), empirical
    summary = calibration_summary(samples, truth)
    assert summary.verdict() == "calibrated", summary
    assert abs(summary.coverage_68 - 0.683) < 4 * summary.coverage_68_error
    assert abs(summary.coverage_95 - 0.95) < 4 * summary.coverage_95_error
    p = pulls(samples, truth)
    assert abs(np.mean(p)) < 4 / np.sqrt(n) and abs(np.std(p) - 1) < 4 / np.sqrt(2 * n)  # exactly N(0, 1)
    assert stats.kstest(truth_quantiles(samples, truth), "uniform").pvalue > 1e-4


@pytest.mark.parametrize("s", [4, 8])
def test_the_interpolated_quantile_estimator_this_replaces_is_biased_at_few_samples(s):
    """What the exact estimator fixes: interval ends interpolated between S samples cover far less than nominal."""
    samples, truth = posterior_samples("calibrated", n=20000, s=s, seed=1)
    lo, hi = np.quantile(samples, 0.025, axis=1), np.quantile(samples, 0.975, axis=1)
    naive = np.mean((truth >= lo) & (truth <= hi))
    assert naive < 0.85  # nominal 0.95 (0.58 at S = 4, 0.75 at S = 8)
    assert abs(coverage(samples, truth, np.array([0.95]))[0] - 0.95) < 0.01


@pytest.mark.parametrize("s", [8, 200])
@pytest.mark.parametrize("kind", ["over-confident", "under-confident", "biased"])
def test_a_miscalibrated_posterior_is_caught(kind, s):
    samples, truth = posterior_samples(kind, s=s)
    summary = calibration_summary(samples, truth)
    assert summary.verdict(len(truth)) == kind, summary
    q = truth_quantiles(samples, truth)
    hist = np.histogram(q, np.linspace(0, 1, 11))[0] / len(q) * 10
    if kind == "over-confident":
        assert hist[0] > 1.5 and hist[-1] > 1.5 and hist[5] < 0.7  # U-shaped
        assert summary.pull_std > 1.3 and summary.coverage_68 < 0.5
    if kind == "under-confident":
        assert hist[0] < 0.5 and hist[-1] < 0.5 and hist[5] > 1.3  # humped
        assert summary.coverage_68 > 0.85
    if kind == "biased":
        assert hist[0] > 2 * hist[-1]  # skewed: the truth sits low in the posterior
        assert summary.median_quantile < 0.4


def test_point_mass_posteriors_get_uniform_random_ties():
    truth = np.zeros(5000)
    q = truth_quantiles(np.zeros((5000, 10)), truth)
    assert 0.45 < q.mean() < 0.55 and q.min() >= 0 and q.max() <= 1


def test_quantiles_coverage_and_pulls_by_hand():
    samples = np.array([[1.0, 3.0, 5.0], [0.0, 4.0, 8.0]])
    q = truth_quantiles(samples, np.array([4.0, -1.0]), rng=np.random.default_rng(0))
    u = np.random.default_rng(0).uniform(size=2)
    np.testing.assert_allclose(q, [(2 + u[0]) / 4, (0 + u[1]) / 4])  # 2 and 0 samples below the truths, S + 1 = 4
    np.testing.assert_allclose(pulls(samples, np.array([4.0, -1.0]), quantiles=q), stats.norm.ppf(q))
    np.testing.assert_allclose(
        coverage(samples, None, np.array([0.5, 1.0]), quantiles=np.array([0.3, 0.8])), [0.5, 1.0]
    )
    bias, resolution = bias_resolution(np.array([-2.0, -1.0, 0.0, 1.0, 2.0, np.nan]))
    assert bias == 0.0 and resolution == pytest.approx(2.0 / 1.349)


def test_the_paired_accuracy_difference_by_hand():
    """Five events: A right on 1, 2, 3; B right on 2, 3, 4, 5 → difference (3 − 4)/5, discordant events 1, 4, 5 → √3/5;
    and McNemar's error is the spread of the difference over resampled events."""
    from hepgen.validation.metrics import paired_accuracy_difference

    a = np.array([1, 1, 1, 0, 0], bool)
    b = np.array([0, 1, 1, 1, 1], bool)
    difference, error = paired_accuracy_difference(a, b)
    assert difference == pytest.approx(-0.2) and error == pytest.approx(np.sqrt(3) / 5)
    rng = np.random.default_rng(0)
    a, b = rng.random(4000) < 0.75, rng.random(4000) < 0.73
    same = rng.random(4000) < 0.8  # correlated methods: mostly right and wrong on the same events
    b = np.where(same, a, b)
    rows = rng.integers(0, 4000, (2000, 4000))
    spread = np.std([a[r].mean() - b[r].mean() for r in rows])
    assert paired_accuracy_difference(a, b)[1] == pytest.approx(spread, rel=0.1)  # 2000 resamples: ±1.6 % on the std


def test_the_paired_resolution_difference_by_hand():
    """A residual scaled by 1.2 has 1.2 × its IQR/1.349: the difference is −0.2 × that, its error 0.2 × the bootstrap
    error of the resolution (the same resampled events); for correlated methods the paired error is well below the two
    errors combined in quadrature; mismatched shapes are refused."""
    from hepgen.validation.metrics import bootstrap_bias_resolution, paired_resolution_difference

    r = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, np.nan])
    same = paired_resolution_difference(r, r)
    assert same["difference"] == 0.0 and same["error"] == 0.0 and same["events"] == 5
    rng = np.random.default_rng(1)
    r = rng.normal(size=4000)
    scaled = paired_resolution_difference(r, 1.2 * r, resamples=300)
    alone = bootstrap_bias_resolution(r, resamples=300)
    assert scaled["difference"] == pytest.approx(-0.2 * alone["resolution"])
    assert scaled["error"] == pytest.approx(0.2 * alone["resolution_err"])  # the same seed: the same resampled events
    noisy = r + 0.15 * rng.normal(size=4000)  # a second method mostly wrong where the first is
    paired = paired_resolution_difference(noisy, r)["error"]
    unpaired = np.hypot(
        bootstrap_bias_resolution(noisy)["resolution_err"], bootstrap_bias_resolution(r)["resolution_err"]
    )
    assert paired < 0.5 * unpaired
    with pytest.raises(ValueError, match="same events"):
        paired_resolution_difference(r, r[:10])


def test_the_paired_resolution_table_pairs_each_learned_method_with_every_other():
    """The table holds, per learned method, every other method's paired difference and its significance: the scaled
    residual of the test above is 0.2 × its resolution behind, at −0.2 σ_res / (0.2 × its error) = −(σ/err)."""
    from hepgen.validation.metrics import bootstrap_bias_resolution, paired_resolution_table

    r = np.random.default_rng(1).normal(size=4000)
    table = paired_resolution_table({"flow": r, "wide": 1.2 * r, "analytic": 2.0 * r}, ["flow"], resamples=300)
    assert list(table) == ["flow"] and list(table["flow"]) == ["wide", "analytic"]
    alone = bootstrap_bias_resolution(r, resamples=300)
    assert table["flow"]["analytic"]["difference"] == pytest.approx(-1.0 * alone["resolution"])
    assert table["flow"]["wide"]["significance"] == pytest.approx(-alone["resolution"] / alone["resolution_err"])


def test_coverage_errors_are_never_zero_and_few_events_get_no_verdict():
    from hepgen.validation.calibration import MIN_EVENTS_FOR_VERDICT, TOO_FEW, calibration_summary

    # Wilson's half-width: 1/(2n) / (1 + 1/n) at c = 1 (73 events: 0.0068, not the binomial 0), the binomial error
    # to 1e-4 relative at 10 000 events
    assert coverage_error(np.array([1.0]), 73)[0] == pytest.approx(1 / 146 / (1 + 1 / 73), rel=1e-12)
    binomial = np.sqrt(0.68 * 0.32 / 10_000)
    assert coverage_error(np.array([0.68]), 10_000)[0] == pytest.approx(binomial, rel=1e-4)
    rng = np.random.default_rng(0)
    few = MIN_EVENTS_FOR_VERDICT - 1
    summary = calibration_summary(rng.normal(size=(few, 64)), rng.normal(size=few))
    assert summary.verdict() == TOO_FEW and summary.verdict(few + 1) != TOO_FEW
