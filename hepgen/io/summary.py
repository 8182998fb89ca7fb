"""Human-readable summaries of what was read: multiplicities, feature ranges, losses."""

from __future__ import annotations

import numpy as np

from hepgen.io.events import Events
from hepgen.io.pointcloud import PointCloud

__all__ = ["describe_cloud", "describe_events"]


def describe_cloud(name: str, cloud: PointCloud) -> list[str]:
    """Lines describing one cloud: multiplicity and each feature's range over real objects."""
    counts = cloud.counts
    lines = [
        f"  {name}: [{cloud.n_events}, {cloud.max_length}, {cloud.n_features}]  objects/event "
        f"mean {counts.mean() if len(counts) else 0:.2f}, max {counts.max() if len(counts) else 0}, "
        f"events with none {int((counts == 0).sum())}"
    ]
    real = cloud.values[cloud.mask]
    for j, feature in enumerate(cloud.features):
        if len(real):
            col = real[:, j]
            lines.append(
                f"      {feature:>10}: mean {np.mean(col):10.3f}  min {np.min(col):10.3f}  max {np.max(col):10.3f}"
            )
    return lines


def describe_events(events: Events) -> str:
    """A multi-line summary of a batch of events, truth collections included."""
    lines = [events.info.summary(), f"{events.n_events} events; inputs:"]
    for name, cloud in events.items():
        lines += describe_cloud(name, cloud)
    if events.truth:
        lines.append("truth:")
        for name, cloud in events.truth.items():
            lines += describe_cloud(name, cloud)
    return "\n".join(lines)
