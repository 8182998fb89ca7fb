"""Robust bias and resolution of residuals — median and IQR/1.349 (the Gaussian σ for Gaussian residuals) — and
their statistical errors from a bootstrap over events."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = [
    "bias_resolution",
    "bootstrap_bias_resolution",
    "bootstrap_indices",
    "IQR_TO_SIGMA",
    "paired_accuracy_difference",
    "paired_resolution_difference",
    "paired_resolution_table",
]

#: The interquartile range of a Gaussian is 1.349 σ.
IQR_TO_SIGMA = 1.349


def bias_resolution(residual: np.ndarray) -> tuple[float, float]:
    """(median, IQR / 1.349) of finite residuals; NaN for an empty input."""
    r = np.asarray(residual, dtype=np.float64)
    r = r[np.isfinite(r)]
    if len(r) == 0:
        return float("nan"), float("nan")
    q25, q50, q75 = np.percentile(r, [25, 50, 75])
    return float(q50), float((q75 - q25) / IQR_TO_SIGMA)


def bootstrap_indices(n: int, resamples: int, *, seed: int = 0) -> np.ndarray:
    """``[resamples, n]`` event indices drawn with replacement (a fixed seed: reproducible errors)."""
    return np.random.default_rng(seed).integers(0, n, (resamples, n)) if n else np.zeros((resamples, 0), np.int64)


def bootstrap_bias_resolution(residual: np.ndarray, *, resamples: int = 200, seed: int = 0) -> dict[str, float]:
    """Bias and resolution with their bootstrap standard errors: ``{bias, bias_err, resolution, resolution_err}``.

    ``residual`` is ``[n]`` or ``[n, k]`` (k posterior samples per event): events are resampled as a whole, so
    the samples of one event stay together. Non-finite residuals are ignored.
    """
    r = np.asarray(residual, dtype=np.float64)
    r = r[:, None] if r.ndim == 1 else r
    bias, resolution = bias_resolution(r)
    out = {"bias": bias, "resolution": resolution, "bias_err": float("nan"), "resolution_err": float("nan")}
    if len(r) < 2 or resamples < 2:
        return out
    resampled = r[bootstrap_indices(len(r), resamples, seed=seed)].reshape(resamples, -1)
    resampled = np.where(np.isfinite(resampled), resampled, np.nan)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a resample without finite residuals is NaN
            q25, q50, q75 = np.nanpercentile(resampled, [25, 50, 75], axis=1)
    out["bias_err"] = float(np.nanstd(q50, ddof=1))
    out["resolution_err"] = float(np.nanstd((q75 - q25) / IQR_TO_SIGMA, ddof=1))
    return out


def paired_accuracy_difference(correct: np.ndarray, reference_correct: np.ndarray) -> tuple[float, float]:
    """Accuracy minus a reference's accuracy on the same events ``[n]`` (bools), with McNemar's error √(n₁₀ + n₀₁)/n:
    only the events where exactly one of the two is right carry the difference, so it is far smaller than the two
    binomial errors combined."""
    correct, reference_correct = np.asarray(correct, bool), np.asarray(reference_correct, bool)
    n = max(len(correct), 1)
    return float((correct.sum() - reference_correct.sum()) / n), float(
        np.sqrt((correct != reference_correct).sum()) / n
    )


def paired_resolution_difference(
    residual: np.ndarray, reference_residual: np.ndarray, *, resamples: int = 200, seed: int = 0
) -> dict[str, float]:
    """Resolution (IQR / 1.349) minus a reference's on the same events (``[n]`` each, event by event), with the
    bootstrap error of the difference: both are resampled with the same events, so what the two share (the hard and
    the easy events) cancels and the error is smaller than the two errors combined. ``{difference, error}``; events
    where either residual is not finite are left out."""
    r, ref = np.asarray(residual, dtype=np.float64), np.asarray(reference_residual, dtype=np.float64)
    if r.shape != ref.shape or r.ndim != 1:
        raise ValueError(f"paired residuals must be two [n] arrays of the same events, got {r.shape} and {ref.shape}")
    keep = np.isfinite(r) & np.isfinite(ref)
    r, ref = r[keep], ref[keep]
    out = {"difference": bias_resolution(r)[1] - bias_resolution(ref)[1], "error": float("nan"), "events": int(len(r))}
    if len(r) < 2 or resamples < 2:
        return out
    rows = bootstrap_indices(len(r), resamples, seed=seed)

    def width(x):
        return np.subtract(*np.percentile(x[rows], [75, 25], axis=1)) / IQR_TO_SIGMA

    out["error"] = float(np.std(width(r) - width(ref), ddof=1))
    return out


def paired_resolution_table(
    residuals: dict[str, np.ndarray], learned: Iterable[str], *, resamples: int = 200
) -> dict[str, dict[str, dict[str, float]]]:
    """Each learned method's resolution minus every other method's on the same events (:func:`paired_resolution_
    difference`) and its significance (difference / error): learned → other → ``{difference, error, significance,
    events}``. ``residuals``: method → ``[n]`` residuals of one quantity, event by event."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name in learned:
        for other in (m for m in residuals if m != name):
            d = paired_resolution_difference(residuals[name], residuals[other], resamples=resamples)
            d["significance"] = float(d["difference"] / d["error"]) if d["error"] > 0 else float("nan")
            out.setdefault(name, {})[other] = d
    return out
