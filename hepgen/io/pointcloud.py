"""`PointCloud`: a batch of variable-length sets stored padded, with an explicit mask."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import awkward as ak
    import torch

__all__ = ["PointCloud", "concatenate_clouds", "pad_flat"]


@dataclass(frozen=True, eq=False)
class PointCloud:
    """A batch of ``B`` sets of up to ``N`` objects with ``F`` features each.

    Attributes:
        values: float32 array ``[B, N, F]``; padding entries are exactly zero.
        mask: bool array ``[B, N]``; True marks a real object. The mask is the
            only source of truth for which entries are real: it is never
            inferred from zeros.
        features: the names of the ``F`` feature columns, in order.

    Indexing: ``cloud["pt"]`` gives the ``[B, N]`` column of a feature;
    ``cloud[10:20]``, ``cloud[[0, 5]]``, ``cloud[bool_array]`` or ``cloud[3]``
    select events and return a new ``PointCloud`` (an integer keeps the batch
    axis, with ``B = 1``).
    """

    values: np.ndarray
    mask: np.ndarray
    features: tuple[str, ...]

    def __post_init__(self) -> None:
        values = np.asarray(self.values)
        mask = np.asarray(self.mask)
        features = tuple(self.features)
        if values.ndim != 3:
            raise ValueError(f"PointCloud values must have shape [B, N, F]; got {values.shape}")
        if mask.shape != values.shape[:2]:
            raise ValueError(f"PointCloud mask shape {mask.shape} does not match values {values.shape[:2]}")
        if len(features) != values.shape[2]:
            raise ValueError(f"PointCloud has {values.shape[2]} feature columns but {len(features)} names: {features}")
        if len(set(features)) != len(features):
            raise ValueError(f"PointCloud feature names must be unique; got {features}")
        if values.dtype != np.float32:
            values = values.astype(np.float32)
        if mask.dtype != np.bool_:
            raise TypeError(f"PointCloud mask must be bool; got {mask.dtype}")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "mask", mask)
        object.__setattr__(self, "features", features)

    # -- shape -----------------------------------------------------------------
    @property
    def n_events(self) -> int:
        """Number of events ``B``."""
        return self.values.shape[0]

    @property
    def max_length(self) -> int:
        """Padded length ``N``."""
        return self.values.shape[1]

    @property
    def n_features(self) -> int:
        """Number of feature columns ``F``."""
        return self.values.shape[2]

    @property
    def counts(self) -> np.ndarray:
        """Number of real objects per event, int64 ``[B]``."""
        return self.mask.sum(axis=1, dtype=np.int64)

    def __len__(self) -> int:
        return self.n_events

    def __repr__(self) -> str:
        return (
            f"PointCloud(events={self.n_events}, max_length={self.max_length}, "
            f"features={list(self.features)}, objects={int(self.mask.sum())})"
        )

    # -- access ----------------------------------------------------------------
    def feature_index(self, name: str) -> int:
        """Column index of feature ``name`` (KeyError listing the features if absent)."""
        try:
            return self.features.index(name)
        except ValueError:
            raise KeyError(f"feature {name!r} not in this PointCloud; features are {list(self.features)}") from None

    def column(self, name: str) -> np.ndarray:
        """The ``[B, N]`` values of one feature (padding entries are zero)."""
        return self.values[:, :, self.feature_index(name)]

    def __getitem__(self, key: Any) -> np.ndarray | PointCloud:
        if isinstance(key, str):
            return self.column(key)
        return self.select(key)

    def select(self, index: int | slice | Sequence[int] | np.ndarray) -> PointCloud:
        """Events chosen by an integer, a slice, integer indices or a boolean mask ``[B]``."""
        if isinstance(index, (int, np.integer)):
            n = self.n_events
            if not -n <= index < n:
                raise IndexError(f"event index {index} out of range for {n} events")
            index = slice(int(index) % n, int(index) % n + 1)
        elif not isinstance(index, slice):
            index = np.asarray(index)
            if index.dtype == np.bool_ and index.shape != (self.n_events,):
                raise IndexError(f"boolean event selection has shape {index.shape}; expected ({self.n_events},)")
        return PointCloud(self.values[index], self.mask[index], self.features)

    def with_features(self, names: Sequence[str]) -> PointCloud:
        """A new cloud holding only the named feature columns, in the given order."""
        idx = [self.feature_index(n) for n in names]
        return PointCloud(self.values[:, :, idx], self.mask, tuple(names))

    def padded_to(self, max_length: int) -> PointCloud:
        """The same sets padded (with masked zeros) to a larger length ``max_length``."""
        if max_length < self.max_length:
            raise ValueError(
                f"cannot pad to {max_length} < current length {self.max_length}; padding never drops objects"
            )
        extra = max_length - self.max_length
        values = np.pad(self.values, ((0, 0), (0, extra), (0, 0)))
        mask = np.pad(self.mask, ((0, 0), (0, extra)))
        return PointCloud(values, mask, self.features)

    # -- conversion -------------------------------------------------------------
    def to_torch(self, device: str | torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(values, mask)`` as torch tensors (float32 ``[B, N, F]``, bool ``[B, N]``) on ``device``."""
        import torch

        values = torch.from_numpy(np.ascontiguousarray(self.values))
        mask = torch.from_numpy(np.ascontiguousarray(self.mask))
        if device is not None:
            values, mask = values.to(device), mask.to(device)
        return values, mask

    def to_awkward(self) -> ak.Array:
        """Jagged records (one list of objects per event), dropping the padding."""
        import awkward as ak

        counts = self.counts
        flat = self.values[self.mask]
        return ak.unflatten(ak.zip({name: flat[:, i] for i, name in enumerate(self.features)}), counts)

    def check_padding(self) -> None:
        """Raise ValueError if any padding entry is not exactly zero."""
        if np.any(self.values[~self.mask]):
            raise ValueError("PointCloud padding entries must be zero")


def concatenate_clouds(clouds: Sequence[PointCloud]) -> PointCloud:
    """Concatenate clouds along the event axis, padding all to the largest length.

    All clouds must have the same feature names in the same order.
    """
    if not clouds:
        raise ValueError("concatenate_clouds needs at least one PointCloud")
    features = clouds[0].features
    for c in clouds[1:]:
        if c.features != features:
            raise ValueError(f"cannot concatenate clouds with features {features} and {c.features}")
    n = max(c.max_length for c in clouds)
    clouds = [c if c.max_length == n else c.padded_to(n) for c in clouds]
    return PointCloud(
        np.concatenate([c.values for c in clouds], axis=0),
        np.concatenate([c.mask for c in clouds], axis=0),
        features,
    )


def pad_flat(
    columns: Sequence[np.ndarray], event: np.ndarray, counts: np.ndarray, max_length: int
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Place flat objects, grouped by event in order, into padded ``[B, N, F]`` float32 values and a mask.

    Args:
        columns: ``F`` flat arrays ``[n]``, one per feature.
        event: the event of each object ``[n]`` (non-decreasing).
        counts: objects per event ``[B]``.
        max_length: ``N``; objects beyond it are dropped and counted.

    Returns:
        ``(values, mask, truncated_events, truncated_objects)``.
    """
    counts = np.asarray(counts, dtype=np.int64)
    B, N = len(counts), int(max_length)
    starts = np.zeros(B, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    over = counts > N
    truncated_events, truncated_objects = int(over.sum()), int((counts[over] - N).sum())
    values = np.zeros((B, N, len(columns)), dtype=np.float32)
    mask = np.zeros((B, N), dtype=bool)
    if len(event):
        local = np.arange(len(event), dtype=np.int64) - starts[event]
        if truncated_objects:
            fits = local < N
            event, local = event[fits], local[fits]
            columns = [c[fits] for c in columns]
        flat_index = event * N + local
        flat_values = values.reshape(B * N, len(columns))
        for j, column in enumerate(columns):
            flat_values[flat_index, j] = column
        mask.reshape(-1)[flat_index] = True
    return values, mask, truncated_events, truncated_objects
