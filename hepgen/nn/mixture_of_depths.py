"""Mixture-of-Depths (Raposo et al. 2024): a router sends only a share of each set's tokens through a block; the others
skip it along the residual stream, so a block's cost follows the tokens it routes, not the set's size.

Per set, the ``capacity`` share of the real tokens (at least one) with the highest router scores is gathered into a
smaller padded set, run through the wrapped block (they attend among themselves), and scattered back; every other
token leaves unchanged. The router learns through a straight-through gate: a routed token's update is multiplied by
σ(r) / sg(σ(r)) — exactly 1 in the forward pass, so with capacity 1 the layer *is* the wrapped block, while the
gradient of log σ(r) tells the router which tokens the loss wants updated.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["MixtureOfDepths", "routed_tokens"]


def routed_tokens(scores: Tensor, mask: Tensor, capacity: float) -> Tensor:
    """Which tokens a set routes ``[B, N]`` (bool): the ⌈capacity × real tokens⌉ (≥ 1 for a non-empty set) with the
    highest ``scores`` ``[B, N]`` among the real ones (``mask`` ``[B, N]``)."""
    real = mask.sum(dim=1)
    k = torch.clamp(torch.ceil(real.to(scores.dtype) * capacity).long(), min=1) * (real > 0)
    order = torch.argsort(scores.masked_fill(~mask, -math.inf), dim=1, descending=True, stable=True)
    rank = torch.empty_like(order).scatter_(
        1, order, torch.arange(order.shape[1], device=order.device).expand_as(order)
    )
    return (rank < k[:, None]) & mask


class MixtureOfDepths(nn.Module):
    """Wraps a set block ``block(x [B, N, D], mask [B, N]) → [B, N, D]`` with a router over the tokens; ``capacity``
    is the share of each set's real tokens that goes through it (1: all, the plain block)."""

    def __init__(self, block: nn.Module, dim: int, *, capacity: float = 0.5) -> None:
        super().__init__()
        if not 0 < capacity <= 1:
            raise ValueError(f"capacity must lie in (0, 1], got {capacity}")
        self.block, self.capacity = block, capacity
        self.router = nn.Linear(dim, 1)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        scores = self.router(x).squeeze(-1)  # [B, N]
        routed = routed_tokens(scores.detach(), mask, self.capacity)
        width = max(int(routed.sum(dim=1).max()), 1)
        # gather the routed tokens of each set to the front, in their original order
        order = torch.argsort((~routed).to(torch.int8), dim=1, stable=True)[:, :width]  # [B, width]
        picked = torch.gather(routed, 1, order)
        subset = torch.gather(x, 1, order[..., None].expand(-1, -1, x.shape[-1])) * picked[..., None]
        update = self.block(subset, picked) - subset  # the block's residual update of each routed token
        gate = torch.sigmoid(torch.gather(scores, 1, order))
        update = update * (gate / gate.detach())[..., None] * picked[..., None]
        out = x.scatter_add(1, order[..., None].expand(-1, -1, x.shape[-1]), update)
        return out * mask[..., None]
