"""Input standardisation that lives inside the model (saved in its state dict, no training data needed later)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["MaskedStandardizer"]


class MaskedStandardizer(nn.Module):
    """``(x − mean) / std`` per feature, with statistics over real (masked-in) entries only.

    Args:
        features: number of features ``F``.
        min_std: floor on the standard deviation (constant features stay finite).
    """

    def __init__(self, features: int, *, min_std: float = 1e-3) -> None:
        super().__init__()
        self.min_std = min_std
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("std", torch.ones(features))
        self.register_buffer("fitted", torch.tensor(False))

    @torch.no_grad()
    def fit(self, values: Tensor, mask: Tensor | None = None) -> MaskedStandardizer:
        """Fit on ``values`` ``[..., F]`` using entries where ``mask`` ``[...]`` is True."""
        flat = values.reshape(-1, values.shape[-1]).double()
        if mask is not None:
            flat = flat[mask.reshape(-1)]
        if len(flat) < 2:
            raise ValueError("cannot fit a standardizer on fewer than two real entries")
        self.mean.copy_(flat.mean(0).to(self.mean.dtype))
        self.std.copy_(flat.std(0).clamp_min(self.min_std).to(self.std.dtype))
        self.fitted.fill_(True)
        return self

    def forward(self, values: Tensor, mask: Tensor | None = None) -> Tensor:
        out = (values - self.mean) / self.std
        return out if mask is None else out * mask[..., None]

    def inverse(self, values: Tensor) -> Tensor:
        return values * self.std + self.mean
