"""Masked attention blocks over padded sets, on ``torch.nn.functional.scaled_dot_product_attention``.

Every block takes a boolean mask ``[B, N]`` (True = a real element). Padded
keys never receive attention and padded outputs are set to zero, so padding
can never change a result. On GPU the fused flash/efficient kernels are used;
on CPU the plain math kernel.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "MultiheadAttention",
    "TransformerBlock",
    "CrossAttentionBlock",
    "ClassAttentionPooling",
    "FeedForward",
    "LatentSetEncoder",
]


class MultiheadAttention(nn.Module):
    """Multi-head attention of queries ``[B, Nq, D]`` over keys/values ``[B, Nk, D]`` with a key mask ``[B, Nk]``."""

    def __init__(self, dim: int, heads: int, *, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} must be divisible by heads {heads}")
        self.heads = heads
        self.dropout = dropout
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, queries: Tensor, keys: Tensor, key_mask: Tensor) -> Tensor:
        B, Nq, D = queries.shape
        Nk = keys.shape[1]
        h = self.heads
        q = self.q(queries).view(B, Nq, h, D // h).transpose(1, 2)
        k, v = self.kv(keys).view(B, Nk, 2, h, D // h).permute(2, 0, 3, 1, 4)
        # an event without any real key would give NaN: let it attend to its first (padded) slot, output zeroed below
        empty = ~key_mask.any(dim=1)
        if empty.any():
            key_mask = key_mask.clone()
            key_mask[empty, 0] = True
        attended = F.scaled_dot_product_attention(
            q, k, v, attn_mask=key_mask[:, None, None, :], dropout_p=self.dropout if self.training else 0.0
        )
        out = self.out(attended.transpose(1, 2).reshape(B, Nq, D))
        if empty.any():
            out = out.masked_fill(empty[:, None, None], 0.0)
        return out


class FeedForward(nn.Sequential):
    """Linear → GELU → Linear with an expansion factor."""

    def __init__(self, dim: int, expansion: int = 2, dropout: float = 0.0) -> None:
        super().__init__(
            nn.Linear(dim, expansion * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(expansion * dim, dim)
        )


class TransformerBlock(nn.Module):
    """Pre-norm self-attention + feed-forward over a masked set ``[B, N, D]``; padded outputs are zero."""

    def __init__(self, dim: int, heads: int, *, expansion: int = 2, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attention = MultiheadAttention(dim, heads, dropout=dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = FeedForward(dim, expansion, dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        h = self.norm1(x)
        x = x + self.attention(h, h, mask)
        x = x + self.mlp(self.norm2(x))
        return x * mask[..., None]


class CrossAttentionBlock(nn.Module):
    """Queries ``[B, Nq, D]`` attend to a context set ``[B, Nc, D]`` (masked), then a feed-forward."""

    def __init__(self, dim: int, heads: int, *, expansion: int = 2, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm_q = nn.LayerNorm(dim)
        self.norm_c = nn.LayerNorm(dim)
        self.attention = MultiheadAttention(dim, heads, dropout=dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = FeedForward(dim, expansion, dropout)

    def forward(self, x: Tensor, context: Tensor, context_mask: Tensor, x_mask: Tensor | None = None) -> Tensor:
        x = x + self.attention(self.norm_q(x), self.norm_c(context), context_mask)
        x = x + self.mlp(self.norm2(x))
        return x if x_mask is None else x * x_mask[..., None]


class ClassAttentionPooling(nn.Module):
    """Pool a masked set ``[B, N, D]`` into ``[B, D]``: a learned class token attends to the set (CaiT-style)."""

    def __init__(self, dim: int, heads: int, *, blocks: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.normal_(self.token, std=0.02)
        self.blocks = nn.ModuleList(CrossAttentionBlock(dim, heads, dropout=dropout) for _ in range(blocks))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        token = self.token.expand(x.shape[0], -1, -1)
        for block in self.blocks:
            token = block(token, x, mask)
        return self.norm(token[:, 0])


class LatentSetEncoder(nn.Module):
    """Perceiver-style encoder: ``latents`` learnable vectors cross-attend to a large masked set ``[B, N, D]``.

    The cost grows as N × latents instead of N² for full self-attention over the set,
    which matters for observed jets with pileup (hundreds to thousands of particles).
    Returns the latent set ``[B, latents, D]`` (all real: its mask is all True).
    """

    def __init__(self, dim: int, heads: int, *, latents: int = 32, self_blocks: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.latents = nn.Parameter(torch.randn(1, latents, dim) * 0.02)
        self.cross = CrossAttentionBlock(dim, heads, dropout=dropout)
        self.blocks = nn.ModuleList(TransformerBlock(dim, heads, dropout=dropout) for _ in range(self_blocks))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        z = self.cross(self.latents.expand(x.shape[0], -1, -1), x, mask)
        full = torch.ones(z.shape[:2], dtype=torch.bool, device=z.device)
        for block in self.blocks:
            z = block(z, full)
        return z
