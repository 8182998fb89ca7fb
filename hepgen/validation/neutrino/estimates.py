"""The point estimates of a neutrino posterior: the median, the mode and the pz window mode."""

from __future__ import annotations

from typing import Any

import numpy as np

from hepgen.physics.kinematics import pseudorapidity
from hepgen.validation.point_estimates import window_mode

__all__ = ["PZ_WINDOW_HALF_WIDTH", "with_eta", "point_estimates"]

#: Half-width [GeV] of the window of the pz window mode: of the order of the pz resolution it is meant to improve,
#: chosen among 10–80 GeV on the early-stopping validation events of the training set (analyses/neutrino/README.md).
PZ_WINDOW_HALF_WIDTH = 30.0


def with_eta(p3: np.ndarray) -> np.ndarray:
    """(px, py, pz) ``[..., 3]`` → (px, py, pz, η) ``[..., 4]``."""
    return np.concatenate([p3, pseudorapidity(p3)[..., None]], axis=-1)


def point_estimates(name: str, outputs: dict[str, Any]) -> dict[str, np.ndarray]:
    """The point estimates (px, py, pz) ``[B, 3]`` of a method's file: the median, and with samples the mode and the
    window mode of pz."""
    points = {name: outputs["point"]}
    if "mode" in outputs:
        points[f"{name}_mode"] = outputs["mode"]
    if "samples" in outputs:
        window = outputs["point"].copy()
        window[:, 2] = window_mode(outputs["samples"][..., 2], PZ_WINDOW_HALF_WIDTH)
        points[f"{name}_window"] = window
    return points
