"""Robust bias and resolution of residuals: median and IQR/1.349 (the Gaussian σ for Gaussian residuals)."""

from __future__ import annotations

import numpy as np

__all__ = ["bias_resolution", "IQR_TO_SIGMA"]

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
