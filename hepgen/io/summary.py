"""Human-readable summaries of what was read: multiplicities, feature ranges, losses."""

from __future__ import annotations

import numpy as np

from hepgen.io.events import Events
from hepgen.io.pointcloud import PointCloud

__all__ = ["describe_cloud", "describe_events", "placeholder_features", "placeholder_warning", "PLACEHOLDER_BELOW"]

#: A feature that holds one value at or below this in every real object of a read is a placeholder — a file's way of
#: saying "not stored" (the CMS Open Data NanoAOD file's b-tag is −3000 in every jet): it carries no information.
#: Negative sentinels only: a constant physical value (a muon's mass) is not one.
PLACEHOLDER_BELOW = -99.0


def placeholder_features(events: Events) -> dict[str, float]:
    """``cloud.feature`` (inputs and truth) → its value, for the features whose every real object holds the same
    value ≤ :data:`PLACEHOLDER_BELOW` (at least two objects): placeholders, not measurements."""
    found = {}
    for name, cloud in [*events.items(), *events.truth.items()]:
        real = cloud.values[cloud.mask]
        if len(real) < 2:
            continue
        for j, feature in enumerate(cloud.features):
            col = real[:, j]
            if col[0] <= PLACEHOLDER_BELOW and np.all(col == col[0]):
                found[f"{name}.{feature}"] = float(col[0])
    return found


def placeholder_warning(events: Events) -> str | None:
    """One line naming the placeholder features of ``events`` (None when there are none)."""
    found = placeholder_features(events)
    if not found:
        return None
    shown = ", ".join(f"{name} = {value:g}" for name, value in found.items())
    return (
        f"placeholder features (one value ≤ {PLACEHOLDER_BELOW:g} in every object: not stored in this file, they carry "
        f"no information): {shown}"
    )


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
    lines = [events.info.summary()]
    warning = placeholder_warning(events)
    if warning:
        lines.append(f"warning: {warning}")
    lines.append(f"{events.n_events} events; inputs:")
    for name, cloud in events.items():
        lines += describe_cloud(name, cloud)
    if events.truth:
        lines.append("truth:")
        for name, cloud in events.truth.items():
            lines += describe_cloud(name, cloud)
    return "\n".join(lines)
