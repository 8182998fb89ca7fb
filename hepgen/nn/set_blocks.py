"""The set blocks a network can be built of, by name (the ``--block`` setting of VIPR and the ν encoders).

* ``transformer`` — :class:`~hepgen.nn.attention.TransformerBlock` (full self-attention; the default);
* ``mod`` — that block behind a Mixture-of-Depths router (:class:`~hepgen.nn.mixture_of_depths.MixtureOfDepths`,
  ``capacity`` the share of each set's tokens it processes);
* ``tokenformer`` — :class:`~hepgen.nn.tokenformer.TokenFormerBlock` (``tokens`` parameter tokens per projection).
"""

from __future__ import annotations

from torch import nn

from hepgen.errors import one_of
from hepgen.nn.attention import TransformerBlock
from hepgen.nn.mixture_of_depths import MixtureOfDepths
from hepgen.nn.tokenformer import TokenFormerBlock

__all__ = ["SET_BLOCKS", "make_set_block", "block_options"]

#: The set blocks :func:`make_set_block` builds.
SET_BLOCKS = ("transformer", "mod", "tokenformer")


def make_set_block(
    kind: str, dim: int, heads: int, *, capacity: float = 0.5, tokens: int = 64, dropout: float = 0.0
) -> nn.Module:
    """A block ``(x [B, N, dim], mask [B, N]) → [B, N, dim]`` of the kind ``kind`` (:data:`SET_BLOCKS`)."""
    one_of(SET_BLOCKS, kind, "set block")
    if kind == "tokenformer":
        return TokenFormerBlock(dim, heads, tokens=tokens)
    block = TransformerBlock(dim, heads, dropout=dropout)
    return MixtureOfDepths(block, dim, capacity=capacity) if kind == "mod" else block


def block_options(block: str, mod_capacity: float = 0.5, param_tokens: int = 64) -> dict[str, float]:
    """The options :func:`make_set_block` takes for ``block`` from a model's settings (``--mod-capacity``,
    ``--param-tokens``): only those of its kind."""
    return {"capacity": mod_capacity} if block == "mod" else {"tokens": param_tokens} if block == "tokenformer" else {}
