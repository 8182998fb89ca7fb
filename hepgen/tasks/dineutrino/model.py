"""The dilepton model: the object-set encoder, a conditional flow over both neutrinos' (px, py, η) and an optional
jet-assignment head (which jet is the top's b, which the antitop's b̄)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from hepgen.errors import HepgenInputError, one_of
from hepgen.models.assignment import assignment_mlp, known_cross_entropy, masked_jet_logits, uncertainty_weighted
from hepgen.models.configured import ConfiguredModel
from hepgen.models.regressors import FlowHead
from hepgen.nn import MaskedStandardizer, ObjectSetEncoder
from hepgen.tasks.dineutrino.features import INPUT_SETS, TARGETS, DineutrinoArrays

__all__ = ["DineutrinoModel"]


class DineutrinoModel(ConfiguredModel):
    """The object-set encoder and a conditional flow over the six targets (:data:`TARGETS`)."""

    def __init__(
        self,
        *,
        dim: int = 64,
        heads: int = 4,
        layers: int = 3,
        inputs: str = "basic",
        head_hidden: int = 128,
        flow_transforms: int = 4,
        assignment: bool = False,
        dropout: float = 0.0,
        bayesian: bool = False,
        block: str = "transformer",
        mod_capacity: float = 0.5,
        param_tokens: int = 64,
        saved_with: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(locals())
        self.target_standardizer = MaskedStandardizer(len(TARGETS))
        features = one_of(INPUT_SETS, inputs, "dilepton input set")
        self.encoder = ObjectSetEncoder.from_config(features, self.config)
        self.head = FlowHead(dim, len(TARGETS), hidden=head_hidden, transforms=flow_transforms)
        if assignment:  # which jet is the top's b and which the antitop's b̄ (models/assignment.py)
            self.assignment_head = assignment_mlp(dim, outputs=2)
            self.log_variance = nn.Parameter(torch.zeros(()))

    @property
    def has_assignment(self) -> bool:
        return hasattr(self, "assignment_head")

    def _assignment_logits(self, tokens: Tensor, masks: dict[str, Tensor]) -> Tensor:
        """``[B, N_jets, 2]``: the jet tokens follow the two leptons' (the encoder's token order)."""
        n_jets = masks["jets"].shape[1]
        return masked_jet_logits(self.assignment_head, tokens[:, 2 : 2 + n_jets], masks["jets"])

    def losses(
        self, objects: dict[str, Tensor], masks: dict[str, Tensor], target: Tensor, b_jets: Tensor | None = None
    ) -> dict[str, Tensor]:
        """The negative log-likelihood of the standardised targets; with the assignment head also the cross-entropy of
        the b and b̄ jets ``b_jets`` ``[B, 2]`` (−1: unmatched, excluded) and the uncertainty-weighted ``total``."""
        tokens, mask = self.encoder.tokens(objects, masks)
        nll = -self.head(self.encoder.context(tokens, mask)).log_prob(self.target_standardizer(target)).mean()
        kl = {"kl": self.encoder.kl_loss()} if self.config.get("bayesian") else {}
        if not self.has_assignment:
            return {"nll": nll, **kl}
        if b_jets is None:
            raise HepgenInputError("the jet-assignment head trains on the b jets of the truth (GenB jetIdx)")
        logits = self._assignment_logits(tokens, masks)
        ce = sum(known_cross_entropy(logits[..., k], b_jets[:, k]) for k in (0, 1)) / 2
        total = uncertainty_weighted(nll, ce, self.log_variance) + sum(kl.values())
        return {
            "nll": nll,
            **kl,
            "assignment": ce,
            "assignment_log_variance": self.log_variance.detach(),
            "total": total,
        }

    @torch.no_grad()
    def assignment_probability(self, objects: dict[str, Tensor], masks: dict[str, Tensor]) -> Tensor:
        """p(jet j is the top's b), p(jet j is the antitop's b̄) ``[B, N_jets, 2]`` (zero for padding)."""
        tokens, _ = self.encoder.tokens(objects, masks)
        return torch.softmax(self._assignment_logits(tokens, masks), dim=1).nan_to_num(0.0)

    def fit_standardization(self, arrays: DineutrinoArrays) -> None:
        """Fit the input and target standardisations on training arrays."""
        if arrays.target is None:
            raise HepgenInputError("fitting the target standardisation needs truth targets")
        self.encoder.fit_standardization(*arrays.tensors())
        self.target_standardizer.fit(torch.as_tensor(arrays.target))

    def loss(self, objects: dict[str, Tensor], masks: dict[str, Tensor], target: Tensor) -> Tensor:
        """Mean negative log-likelihood of the standardised targets (+ the KL term per event of a Bayesian layer)."""
        nll = -self.head(self.encoder(objects, masks)).log_prob(self.target_standardizer(target)).mean()
        return nll + self.encoder.kl_loss()

    @torch.no_grad()
    def sample(
        self, objects: dict[str, Tensor], masks: dict[str, Tensor], n: int, *, with_log_prob: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """``n`` posterior samples of the six targets per event ``[B, n, 6]`` (physical units; with ``with_log_prob``
        also their log density ``[B, n]`` in the standardised space, which ranks an event's samples)."""
        draws, log_prob = self.head.sample(self.encoder(objects, masks), n, with_log_prob=with_log_prob)
        draws = self.target_standardizer.inverse(draws).transpose(0, 1)
        return (draws, log_prob.transpose(0, 1)) if with_log_prob else draws
