"""Embeddings of scalars such as the diffusion noise level."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["FourierEmbedding"]


class FourierEmbedding(nn.Module):
    """Random Fourier features of a scalar ``[B]`` → ``[B, dim]`` (as EDM's ``FourierEmbedding``), then an MLP."""

    def __init__(self, dim: int, *, scale: float = 16.0) -> None:
        super().__init__()
        if dim % 2:
            raise ValueError("dim must be even")
        self.register_buffer("frequencies", torch.randn(dim // 2) * scale)
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, x: Tensor) -> Tensor:
        angles = 2 * math.pi * x[:, None] * self.frequencies[None, :]
        return self.mlp(torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1))
