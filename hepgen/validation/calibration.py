"""Calibration of posteriors from samples: truth quantiles (PIT), coverage of central intervals, pulls.

For a calibrated posterior the truth's quantile within the samples is uniform
on [0, 1]; an over-confident (too narrow) posterior puts the truth in the tails
(a U-shaped histogram), an under-confident one in the middle (a hump), a biased
one to one side (a slope). The same module serves every task.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["truth_quantiles", "coverage", "pulls", "CalibrationSummary", "calibration_summary", "DEFAULT_LEVELS"]

#: Nominal central-interval probabilities for coverage curves.
DEFAULT_LEVELS = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.683, 0.8, 0.9, 0.95])


def truth_quantiles(samples: np.ndarray, truth: np.ndarray, *, rng: np.random.Generator | None = None) -> np.ndarray:
    """Fraction of posterior samples below the truth, per event: ``samples`` ``[B, S]``, ``truth`` ``[B]`` → ``[B]``.

    Ties (e.g. a point-mass posterior) are broken uniformly at random, so the
    result is exactly uniform for a calibrated posterior even with few samples.
    """
    samples = np.asarray(samples, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)[:, None]
    below = (samples < truth).sum(axis=1)
    equal = (samples == truth).sum(axis=1)
    rng = rng or np.random.default_rng(0)
    return (below + rng.uniform(size=len(below)) * (equal + 1)) / (samples.shape[1] + 1)


def coverage(samples: np.ndarray, truth: np.ndarray, levels: np.ndarray = DEFAULT_LEVELS) -> np.ndarray:
    """Empirical coverage of central intervals at each nominal ``level``: ``[len(levels)]``."""
    samples = np.asarray(samples, dtype=np.float64)
    levels = np.asarray(levels, dtype=np.float64)
    lo = np.quantile(samples, 0.5 - levels / 2, axis=1)  # [L, B]
    hi = np.quantile(samples, 0.5 + levels / 2, axis=1)
    t = np.asarray(truth, dtype=np.float64)[None, :]
    return ((t >= lo) & (t <= hi)).mean(axis=1)


def pulls(samples: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(truth − posterior mean) / posterior standard deviation, per event ``[B]``."""
    samples = np.asarray(samples, dtype=np.float64)
    std = samples.std(axis=1)
    return (np.asarray(truth, dtype=np.float64) - samples.mean(axis=1)) / np.where(std > 0, std, np.nan)


@dataclass(frozen=True)
class CalibrationSummary:
    """Scalar calibration figures of one posterior component.

    Attributes:
        ks: Kolmogorov–Smirnov distance of the truth quantiles from uniform.
        max_coverage_deviation: largest |empirical − nominal| coverage over the levels.
        mean_coverage_deviation: mean of (empirical − nominal) over the levels: negative for
            intervals that are too narrow (over-confident), positive for too wide ones.
        tail_fraction: fraction of truth quantiles in the outer 10 % (0.1 if calibrated;
            larger: over-confident; smaller: under-confident).
        median_quantile: median truth quantile (0.5 if unbiased).
        pull_mean, pull_std: of the pulls (0 and 1 for a calibrated Gaussian-like posterior).
    """

    ks: float
    max_coverage_deviation: float
    mean_coverage_deviation: float
    tail_fraction: float
    median_quantile: float
    pull_mean: float
    pull_std: float

    def verdict(self, n_events: int) -> str:
        """'calibrated', 'over-confident', 'under-confident' or 'biased', judged against the statistical noise."""
        noise = 1.36 / np.sqrt(max(n_events, 1))  # KS 95 % critical value
        if self.ks <= noise:
            return "calibrated"
        if abs(self.median_quantile - 0.5) > 2 * noise and abs(self.median_quantile - 0.5) > abs(self.mean_coverage_deviation):
            return "biased"
        return "over-confident" if self.mean_coverage_deviation < 0 else "under-confident"


def calibration_summary(samples: np.ndarray, truth: np.ndarray) -> CalibrationSummary:
    """The scalar figures of :class:`CalibrationSummary` for ``samples`` ``[B, S]`` and ``truth`` ``[B]``."""
    q = np.sort(truth_quantiles(samples, truth))
    n = len(q)
    grid = np.arange(1, n + 1) / n
    ks = float(np.max(np.maximum(grid - q, q - (grid - 1 / n)))) if n else float("nan")
    cov = coverage(samples, truth)
    p = pulls(samples, truth)
    p = p[np.isfinite(p)]
    return CalibrationSummary(
        ks=ks,
        max_coverage_deviation=float(np.max(np.abs(cov - DEFAULT_LEVELS))),
        mean_coverage_deviation=float(np.mean(cov - DEFAULT_LEVELS)),
        tail_fraction=float(np.mean((q < 0.05) | (q > 0.95))),
        median_quantile=float(np.median(q)),
        pull_mean=float(np.mean(p)) if len(p) else float("nan"),
        pull_std=float(np.std(p)) if len(p) else float("nan"),
    )
