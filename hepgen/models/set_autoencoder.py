"""A permutation-invariant autoencoder of constituent sets, the space VIPR's latent diffusion runs in.

The encoder compresses a padded set ``[B, N, F]`` (mask ``[B, N]``) into ``tokens`` latent vectors ``[B, K, d]``:
self-attention over the particles, then K learned queries cross-attend to them (Perceiver-style; permutation
invariant by construction) and a linear map to ``d`` (the latent width, small: the diffusion works on K·d numbers
instead of N·F). The decoder is told how many particles to make (n, from VIPR's multiplicity model): n learned slot
queries attend to the latent tokens and to each other and give the particles. The slots have an order, the truth
has none, so the reconstruction loss is the optimal-transport one: per set the exact assignment of decoded to true
particles (:func:`~hepgen.models.ot_coupling.assignment_order`), then the squared error of the matched pairs — zero
exactly when the decoded set equals the true one, whatever the order.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hepgen.models.ot_coupling import assignment_order, matched
from hepgen.nn import CrossAttentionBlock, TransformerBlock

__all__ = ["SetAutoencoder"]


class SetAutoencoder(nn.Module):
    """Set ``[B, N, features]`` → ``tokens`` latent vectors ``[B, tokens, latent_dim]`` → set of ``n ≤ max_size``.

    Args:
        features: per-particle features (VIPR's standardised Δη, Δφ, log pT: 3).
        tokens, latent_dim: the latent set's size and width.
        dim, heads, blocks: the attention width, heads and blocks of the encoder and of the decoder.
        max_size: the most particles a set may have (the decoder's slots).
    """

    def __init__(
        self,
        features: int = 3,
        *,
        tokens: int = 16,
        latent_dim: int = 8,
        dim: int = 64,
        heads: int = 4,
        blocks: int = 2,
        max_size: int = 128,
    ) -> None:
        super().__init__()
        self.features, self.tokens, self.latent_dim, self.max_size = features, tokens, latent_dim, max_size
        self.embed = nn.Linear(features, dim)
        self.encoder_blocks = nn.ModuleList(TransformerBlock(dim, heads) for _ in range(blocks))
        self.queries = nn.Parameter(torch.randn(1, tokens, dim) * 0.02)
        self.compress = CrossAttentionBlock(dim, heads)
        self.to_latent = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, latent_dim))
        self.from_latent = nn.Linear(latent_dim, dim)
        self.slots = nn.Parameter(torch.randn(1, max_size, dim) * 0.02)
        self.decoder_cross = nn.ModuleList(CrossAttentionBlock(dim, heads) for _ in range(blocks))
        self.decoder_self = nn.ModuleList(TransformerBlock(dim, heads) for _ in range(blocks))
        self.out = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, features))

    def encode(self, x: Tensor, mask: Tensor) -> Tensor:
        """Latent tokens ``[B, tokens, latent_dim]`` of the sets ``x`` ``[B, N, features]`` (padding ignored)."""
        h = self.embed(x) * mask[..., None]
        for block in self.encoder_blocks:
            h = block(h, mask)
        return self.to_latent(self.compress(self.queries.expand(x.shape[0], -1, -1), h, mask))

    def decode(self, z: Tensor, mask: Tensor) -> Tensor:
        """Sets ``[B, N, features]`` from the latents ``z`` ``[B, tokens, latent_dim]``, the real particles those of
        ``mask`` ``[B, N]`` (its first n entries per set; N ≤ ``max_size``); padded outputs are zero."""
        if mask.shape[1] > self.max_size:
            raise ValueError(f"sets of {mask.shape[1]} particles exceed the decoder's {self.max_size} slots")
        memory = self.from_latent(z)
        full = torch.ones(memory.shape[:2], dtype=torch.bool, device=z.device)
        h = self.slots[:, : mask.shape[1]].expand(z.shape[0], -1, -1) * mask[..., None]
        for cross, attend in zip(self.decoder_cross, self.decoder_self):
            h = cross(h, memory, full, mask)
            h = attend(h, mask)
        return self.out(h) * mask[..., None]

    def reconstruction_loss(self, x: Tensor, mask: Tensor) -> Tensor:
        """The optimal-transport reconstruction error: per set the decoded particles matched to the true ones by
        the exact assignment, the squared error summed over features and averaged over real particles."""
        decoded = self.decode(self.encode(x, mask), mask)
        aligned = matched(decoded, assignment_order(decoded, x, mask))
        return (((aligned - x) ** 2).sum(-1) * mask).sum() / mask.sum().clamp(min=1)
