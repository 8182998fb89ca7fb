"""An event as a set of typed objects (leptons, jets, MET, ...) → one context vector: the encoder of the ν tasks.

Each object type has its features standardised in the model (fitted on the training set, saved with it), its own
linear embedding and a learned type embedding; the tokens of all types go through masked self-attention blocks and
are pooled by class attention.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from hepgen.nn.attention import ClassAttentionPooling, TransformerBlock
from hepgen.nn.standardize import MaskedStandardizer

__all__ = ["ObjectSetEncoder"]


class ObjectSetEncoder(nn.Module):
    """Objects ``{type: [B, N_type, F_type]}`` with masks ``{type: [B, N_type]}`` → tokens ``[B, T, dim]`` and a
    context ``[B, dim]``; ``features`` maps each type to its feature names (their order is the input's)."""

    def __init__(
        self,
        features: Mapping[str, Sequence[str]],
        *,
        dim: int = 64,
        heads: int = 4,
        layers: int = 3,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.features = {k: tuple(v) for k, v in features.items()}
        self.standardizers = nn.ModuleDict({k: MaskedStandardizer(len(f)) for k, f in self.features.items()})
        self.embeddings = nn.ModuleDict({k: nn.Linear(len(f), dim) for k, f in self.features.items()})
        self.type_embedding = nn.ParameterDict({k: nn.Parameter(torch.zeros(dim)) for k in self.features})
        self.blocks = nn.ModuleList(TransformerBlock(dim, heads, dropout=dropout) for _ in range(layers))
        self.pool = ClassAttentionPooling(dim, heads)

    def fit_standardization(self, objects: Mapping[str, Tensor], masks: Mapping[str, Tensor]) -> None:
        """Fit every type's standardisation on training objects (real entries only)."""
        for name in self.features:
            self.standardizers[name].fit(objects[name], masks[name])

    def tokens(self, objects: Mapping[str, Tensor], masks: Mapping[str, Tensor]) -> tuple[Tensor, Tensor]:
        """Every object's token after the attention blocks ``[B, T, dim]`` and the token mask ``[B, T]`` (types in
        the order of ``features``)."""
        tokens, token_masks = [], []
        for name in self.features:
            mask = masks[name]
            x = self.standardizers[name](objects[name], mask)
            tokens.append((self.embeddings[name](x) + self.type_embedding[name]) * mask[..., None])
            token_masks.append(mask)
        x, mask = torch.cat(tokens, dim=1), torch.cat(token_masks, dim=1)
        for block in self.blocks:
            x = block(x, mask)
        return x, mask

    def forward(self, objects: Mapping[str, Tensor], masks: Mapping[str, Tensor]) -> Tensor:
        """The context vector of each event ``[B, dim]``."""
        return self.pool(*self.tokens(objects, masks))
