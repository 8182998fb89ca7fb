"""Validation: robust bias/resolution and the calibration of posteriors (truth quantiles, coverage, pulls)."""

from hepgen.validation.calibration import (
    DEFAULT_LEVELS,
    CalibrationSummary,
    calibration_summary,
    coverage,
    pulls,
    truth_quantiles,
)
from hepgen.validation.metrics import IQR_TO_SIGMA, bias_resolution

__all__ = [
    "truth_quantiles",
    "coverage",
    "pulls",
    "CalibrationSummary",
    "calibration_summary",
    "DEFAULT_LEVELS",
    "bias_resolution",
    "IQR_TO_SIGMA",
]
