"""An event as a set of typed objects (leptons, jets, MET, ...) → one context vector: the encoder of the ν tasks.

Each object type has its features standardised in the model (fitted on the training set, saved with it), its own
linear embedding and a learned type embedding; the tokens of all types go through masked self-attention blocks and
are pooled by class attention into the context. For the epistemic part of a posterior the context can pass through
dropout (MC dropout with ``dropout`` > 0, also in the attention blocks) and a variational Bayesian layer
(``bayesian``; :mod:`hepgen.nn.epistemic`), whose KL term :meth:`ObjectSetEncoder.kl_loss` returns per training event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from hepgen.nn.attention import ClassAttentionPooling
from hepgen.nn.epistemic import BayesianLinear
from hepgen.nn.set_blocks import block_options, make_set_block
from hepgen.nn.standardize import MaskedStandardizer

__all__ = ["ObjectSetEncoder"]


class ObjectSetEncoder(nn.Module):
    """Objects ``{type: [B, N_type, F_type]}`` with masks ``{type: [B, N_type]}`` → tokens ``[B, T, dim]`` and a
    context ``[B, dim]``; ``features`` maps each type to its feature names (their order is the input's); ``block``
    the kind of the attention blocks (:data:`~hepgen.nn.set_blocks.SET_BLOCKS`) with its ``block_options``."""

    def __init__(
        self,
        features: Mapping[str, Sequence[str]],
        *,
        dim: int = 64,
        heads: int = 4,
        layers: int = 3,
        dropout: float = 0.0,
        bayesian: bool = False,
        block: str = "transformer",
        **block_options: float,
    ) -> None:
        super().__init__()
        self.features = {k: tuple(v) for k, v in features.items()}
        self.standardizers = nn.ModuleDict({k: MaskedStandardizer(len(f)) for k, f in self.features.items()})
        self.embeddings = nn.ModuleDict({k: nn.Linear(len(f), dim) for k, f in self.features.items()})
        self.type_embedding = nn.ParameterDict({k: nn.Parameter(torch.zeros(dim)) for k in self.features})
        self.blocks = nn.ModuleList(
            make_set_block(block, dim, heads, dropout=dropout, **block_options) for _ in range(layers)
        )
        self.pool = ClassAttentionPooling(dim, heads)
        self.context_dropout = nn.Dropout(dropout)  # no parameters: models saved without it load unchanged
        if bayesian:
            self.bayesian = BayesianLinear(dim, dim)
            # the KL term's weight: 1 / the training events (set by fit_standardization, saved with the model)
            self.register_buffer("training_events", torch.ones(()))

    @classmethod
    def from_config(cls, features: Mapping[str, Sequence[str]], config: Mapping[str, object]) -> ObjectSetEncoder:
        """The encoder a ν model's ``config`` describes (``dim``, ``heads``, ``layers``, ``dropout``, ``bayesian``,
        ``block``, ``mod_capacity``, ``param_tokens``; models saved before a key existed get its default)."""
        block = str(config.get("block", "transformer"))
        options = block_options(block, float(config.get("mod_capacity", 0.5)), int(config.get("param_tokens", 64)))
        return cls(
            features,
            dim=int(config["dim"]),
            heads=int(config["heads"]),
            layers=int(config["layers"]),
            dropout=float(config.get("dropout", 0.0)),
            bayesian=bool(config.get("bayesian", False)),
            block=block,
            **options,
        )

    def fit_standardization(self, objects: Mapping[str, Tensor], masks: Mapping[str, Tensor]) -> None:
        """Fit every type's standardisation on training objects (real entries only); count the training events."""
        for name in self.features:
            self.standardizers[name].fit(objects[name], masks[name])
        if hasattr(self, "bayesian"):
            self.training_events.fill_(len(next(iter(masks.values()))))

    def context(self, tokens: Tensor, mask: Tensor) -> Tensor:
        """The context ``[B, dim]`` of the tokens of :meth:`tokens`: pooled, through dropout and the Bayesian layer."""
        context = self.context_dropout(self.pool(tokens, mask))
        return self.bayesian(context) if hasattr(self, "bayesian") else context

    def kl_loss(self) -> Tensor:
        """The Bayesian layer's KL(q ‖ prior) divided by the training events [nats per event] (0 without it): added to
        the mean negative log-likelihood per event, the sum is the negative ELBO per event."""
        if not hasattr(self, "bayesian"):
            return torch.zeros(())
        return self.bayesian.kl() / self.training_events

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
        return self.context(*self.tokens(objects, masks))
