"""VIPR networks: the conditional denoiser of the hard-scatter cloud, and the multiplicity model.

* :class:`ObservedJetEncoder` encodes the observed (pileup-contaminated) cloud,
  either with full self-attention or, for large clouds, with a learnable latent
  set (Perceiver-style cross-attention, cost N × latents), plus the jet-level context.
* :class:`VIPRDenoiser` is the raw network ``F(x_in, c_noise; observed)`` that
  :class:`~hepgen.models.edm.EDMPrecond` wraps: self-attention over the noisy
  hard cloud, cross-attention to the observed encoding, σ through a Fourier embedding.
* :class:`MultiplicityModel` is a categorical distribution over the number of
  constituents to generate, 0 … ``max_count``, given the observed jet.
* :class:`ParticleClassifier` scores every observed particle as pileup or not (the learned
  per-particle baseline), on the same encoder.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.distributions import Categorical

from hepgen.nn import ClassAttentionPooling, CrossAttentionBlock, FourierEmbedding, LatentSetEncoder
from hepgen.nn.set_blocks import make_set_block

__all__ = ["ObservedJetEncoder", "VIPRDenoiser", "MultiplicityModel", "CountDistribution", "ParticleClassifier"]


class ObservedJetEncoder(nn.Module):
    """Observed constituents ``[B, M, F]`` (mask ``[B, M]``) and jet context ``[B, C]`` → a set ``[B, K, D]`` + mask.

    Args:
        latents: 0 for self-attention blocks over the observed cloud (K = M + 1), or
            the number of learnable latent vectors (K = latents + 1, cost linear in M).
        block: the kind of those blocks (:data:`~hepgen.nn.set_blocks.SET_BLOCKS`), ``block_options`` theirs
            (``capacity`` of Mixture-of-Depths, ``tokens`` of TokenFormer).
    """

    def __init__(
        self,
        features: int,
        context: int,
        *,
        dim: int,
        heads: int,
        blocks: int,
        latents: int = 0,
        block: str = "transformer",
        **block_options: float,
    ) -> None:
        super().__init__()
        self.dim, self.heads = dim, heads
        self.block_kind, self.block_options = block, block_options
        self.embed = nn.Linear(features, dim)
        self.context = nn.Sequential(nn.Linear(context, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.latent = LatentSetEncoder(dim, heads, latents=latents, self_blocks=blocks) if latents else None
        self.blocks = (
            nn.ModuleList(make_set_block(block, dim, heads, **block_options) for _ in range(blocks))
            if not latents
            else None
        )

    def forward(self, observed: Tensor, mask: Tensor, context: Tensor) -> tuple[Tensor, Tensor]:
        x = self.embed(observed) * mask[..., None]
        c = self.context(context)[:, None, :]
        if self.latent is not None:
            z = self.latent(x + c * mask[..., None], mask)
            z_mask = torch.ones(z.shape[:2], dtype=torch.bool, device=z.device)
        else:
            z, z_mask = x + c * mask[..., None], mask
            for block in self.blocks:  # type: ignore[union-attr]
                z = block(z, z_mask)
        ones = torch.ones(z.shape[0], 1, dtype=torch.bool, device=z.device)
        return torch.cat([c, z], dim=1), torch.cat([ones, z_mask], dim=1)


class VIPRDenoiser(nn.Module):
    """Raw denoiser network ``F(x_in [B, N, D_x], c_noise [B]; mask, observed, observed_mask, context)`` on the
    observed jet's ``encoder``, with ``blocks`` self- and cross-attention blocks of the encoder's width (the
    self-attention blocks of the encoder's kind)."""

    def __init__(self, encoder: ObservedJetEncoder, *, features: int = 3, blocks: int = 3) -> None:
        super().__init__()
        self.encoder = encoder
        dim, heads = encoder.dim, encoder.heads
        self.embed = nn.Linear(features, dim)
        self.sigma = FourierEmbedding(dim)
        kind, options = encoder.block_kind, encoder.block_options
        self.self_blocks = nn.ModuleList(make_set_block(kind, dim, heads, **options) for _ in range(blocks))
        self.cross_blocks = nn.ModuleList(CrossAttentionBlock(dim, heads) for _ in range(blocks))
        self.out = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, features))

    def forward(
        self,
        x: Tensor,
        c_noise: Tensor,
        *,
        mask: Tensor,
        observed: Tensor,
        observed_mask: Tensor,
        context: Tensor,
        encoded: tuple[Tensor, Tensor] | None = None,
    ) -> Tensor:
        memory, memory_mask = encoded if encoded is not None else self.encoder(observed, observed_mask, context)
        h = (self.embed(x) + self.sigma(c_noise)[:, None, :]) * mask[..., None]
        for attend, cross in zip(self.self_blocks, self.cross_blocks):
            h = attend(h, mask)
            h = cross(h, memory, memory_mask, mask)
        return self.out(h) * mask[..., None]


class CountDistribution(Categorical):
    """A categorical over the counts 0 … K (the class index is the count), with seeded sampling."""

    def sample_with(self, generator: torch.Generator | None) -> Tensor:
        """One count per distribution, drawn from ``generator`` (reproducible per batch); shape ``batch_shape``."""
        if generator is None:
            return self.sample()
        flat = self.probs.reshape(-1, self.probs.shape[-1])
        return torch.multinomial(flat, 1, generator=generator).reshape(self.batch_shape)


class MultiplicityModel(nn.Module):
    """p(n | observed jet): a categorical over the counts 0 … ``max_count`` from the pooled observed encoding."""

    def __init__(self, encoder: ObservedJetEncoder, *, max_count: int = 128) -> None:
        super().__init__()
        self.max_count = max_count
        self.encoder = encoder
        dim, heads = encoder.dim, encoder.heads
        self.pool = ClassAttentionPooling(dim, heads)
        self.head = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, max_count + 1))

    def forward(self, observed: Tensor, observed_mask: Tensor, context: Tensor) -> CountDistribution:
        z, z_mask = self.encoder(observed, observed_mask, context)
        return CountDistribution(logits=self.head(self.pool(z, z_mask)))


class ParticleClassifier(nn.Module):
    """p(pileup | particle, observed jet) for every particle of the observed cloud: logits ``[B, M]``.

    The same observed-jet encoder as VIPR (self-attention over the cloud with the jet context), then a
    per-particle head (the learned per-particle classifier of the VIPR paper's strongest baseline, PuppiML-like).
    """

    def __init__(self, encoder: ObservedJetEncoder) -> None:
        super().__init__()
        self.encoder = encoder
        dim = encoder.dim
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, 1))

    def forward(self, observed: Tensor, observed_mask: Tensor, context: Tensor) -> Tensor:
        z, _ = self.encoder(observed, observed_mask, context)
        return self.head(z[:, 1:]).squeeze(-1).masked_fill(~observed_mask, 0.0)  # drop the context token
