"""TokenFormer (Wang et al. 2024): a model's parameters as tokens the input attends to, so a model grows by adding
parameter tokens instead of reshaping matrices.

* :class:`Pattention` — token–parameter attention, a drop-in for ``nn.Linear(d_in, d_out)``: scores X Kᵖᵀ of the
  input against n learned key tokens, normalised as in the reference code's ``l2_norm_gelu`` (each row scaled to L2
  norm √n₀, then GELU), times n value tokens. n₀ is the token count the layer was built with and stays the scale when
  it grows (:meth:`Pattention.grow`): a new token's key starts at zero, so its score is 0 and its weight GELU(0) = 0
  — the output is exactly the smaller model's and training continues from its loss — while its value starts random,
  so the key's gradient (GELU'(0) = ½ times the value) is not zero and the new token learns. (Zero keys *and* zero
  values, as the paper describes, would be a stationary point: neither would ever move.)
* :class:`TokenFormerBlock` — a pre-norm set block whose query, key, value and output projections and feed-forward
  are Pattention layers, over a masked set ``[B, N, D]`` like :class:`~hepgen.nn.attention.TransformerBlock`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["Pattention", "TokenFormerBlock"]


class Pattention(nn.Module):
    """``in_features`` → ``out_features`` through ``tokens`` key/value parameter tokens."""

    def __init__(self, in_features: int, out_features: int, tokens: int) -> None:
        super().__init__()
        self.keys = nn.Parameter(torch.randn(tokens, in_features) / math.sqrt(in_features))
        self.values = nn.Parameter(torch.randn(tokens, out_features) / math.sqrt(tokens))
        self.register_buffer("scale_tokens", torch.tensor(float(tokens)))  # n₀, kept when the layer grows

    @property
    def tokens(self) -> int:
        return self.keys.shape[0]

    def forward(self, x: Tensor) -> Tensor:
        scores = x @ self.keys.T  # [..., n]
        norm = scores.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        weights = F.gelu(scores / norm * self.scale_tokens.sqrt())
        return weights @ self.values

    @torch.no_grad()
    def grow(self, tokens: int) -> None:
        """Append ``tokens`` parameter tokens: zero keys (the output is unchanged), random values (they can learn)."""
        fresh = torch.randn(tokens, self.values.shape[1], device=self.values.device) / math.sqrt(self.tokens + tokens)
        self.keys = nn.Parameter(torch.cat([self.keys, self.keys.new_zeros(tokens, self.keys.shape[1])]))
        self.values = nn.Parameter(torch.cat([self.values, fresh.to(self.values.dtype)]))


class TokenFormerBlock(nn.Module):
    """Pre-norm multi-head self-attention and feed-forward over a masked set ``[B, N, D]``, every projection a
    :class:`Pattention` (``tokens`` parameter tokens each; the feed-forward ``2 × tokens``); padded outputs are zero."""

    def __init__(self, dim: int, heads: int, *, tokens: int = 64) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} must be divisible by heads {heads}")
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.query, self.key, self.value, self.out = (Pattention(dim, dim, tokens) for _ in range(4))
        self.feed_forward = Pattention(dim, dim, 2 * tokens)

    def pattention_layers(self) -> list[Pattention]:
        return [self.query, self.key, self.value, self.out, self.feed_forward]

    def grow(self, tokens: int) -> None:
        """Add ``tokens`` parameter tokens to every projection (twice as many to the feed-forward); the block's output
        is unchanged (:meth:`Pattention.grow`)."""
        for layer in self.pattention_layers():
            layer.grow(2 * tokens if layer is self.feed_forward else tokens)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        B, N, D = x.shape
        h = self.norm1(x)

        def split(t: Tensor) -> Tensor:
            return t.view(B, N, self.heads, D // self.heads).transpose(1, 2)

        keys_mask = mask.clone()
        keys_mask[~mask.any(dim=1), 0] = True  # an empty set attends to its first slot (zeroed below), not to NaN
        attended = F.scaled_dot_product_attention(
            split(self.query(h)), split(self.key(h)), split(self.value(h)), attn_mask=keys_mask[:, None, None, :]
        )
        x = x + self.out(attended.transpose(1, 2).reshape(B, N, D))
        x = x + self.feed_forward(self.norm2(x))
        return x * mask[..., None]
