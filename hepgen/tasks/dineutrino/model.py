"""The dilepton model: the object-set encoder and a conditional flow over both neutrinos' (px, py, η)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from hepgen.errors import HepgenInputError, one_of
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
        saved_with: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(locals())
        self.target_standardizer = MaskedStandardizer(len(TARGETS))
        features = one_of(INPUT_SETS, inputs, "dilepton input set")
        self.encoder = ObjectSetEncoder(features, dim=dim, heads=heads, layers=layers)
        self.head = FlowHead(dim, len(TARGETS), hidden=head_hidden, transforms=flow_transforms)

    def fit_standardization(self, arrays: DineutrinoArrays) -> None:
        """Fit the input and target standardisations on training arrays."""
        if arrays.target is None:
            raise HepgenInputError("fitting the target standardisation needs truth targets")
        self.encoder.fit_standardization(*arrays.tensors())
        self.target_standardizer.fit(torch.as_tensor(arrays.target))

    def loss(self, objects: dict[str, Tensor], masks: dict[str, Tensor], target: Tensor) -> Tensor:
        """Mean negative log-likelihood of the standardised targets."""
        return -self.head(self.encoder(objects, masks)).log_prob(self.target_standardizer(target)).mean()

    @torch.no_grad()
    def sample(
        self, objects: dict[str, Tensor], masks: dict[str, Tensor], n: int, *, with_log_prob: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """``n`` posterior samples of the six targets per event ``[B, n, 6]`` (physical units; with ``with_log_prob``
        also their log density ``[B, n]`` in the standardised space, which ranks an event's samples)."""
        draws, log_prob = self.head.sample(self.encoder(objects, masks), n, with_log_prob=with_log_prob)
        draws = self.target_standardizer.inverse(draws).transpose(0, 1)
        return (draws, log_prob.transpose(0, 1)) if with_log_prob else draws
