"""The neutrino model: the object-set encoder, a density head over (px, py, η) and an optional jet-assignment head."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.distributions import AffineTransform, Distribution, TransformedDistribution

from hepgen.errors import HepgenInputError, one_of
from hepgen.models.assignment import assignment_mlp, known_cross_entropy, masked_jet_logits, uncertainty_weighted
from hepgen.models.configured import ConfiguredModel
from hepgen.models.regressors import FlowHead, make_head
from hepgen.nn import MaskedStandardizer, ObjectSetEncoder
from hepgen.tasks.neutrino.features import INPUT_SETS, TARGETS, NeutrinoArrays

__all__ = ["NeutrinoModel"]

#: The encoder's parameters, saved at the top level of the model before it became an ObjectSetEncoder.
_ENCODER_PARTS = ("standardizers.", "embeddings.", "type_embedding.", "blocks.", "pool.")


def _encoder_keys(module: nn.Module, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
    """Load models saved with the encoder's parameters at the top level (``blocks.0…`` → ``encoder.blocks.0…``)."""
    for key in [k for k in state_dict if k.startswith(prefix) and k[len(prefix) :].startswith(_ENCODER_PARTS)]:
        state_dict[f"{prefix}encoder.{key[len(prefix) :]}"] = state_dict.pop(key)


class NeutrinoModel(ConfiguredModel):
    """Transformer encoder over the event's objects + a density head over (px, py, η) (+ a jet-assignment head).

    Args:
        head: ``mse``, ``gauss``, ``mdn`` or ``flow``.
        dim: token width; heads: attention heads; layers: self-attention blocks.
        head_hidden: hidden width of the head's networks.
        flow_transforms: spline coupling transforms (flow head).
        mdn_components: mixture components (mdn head).
        max_jets: jets read per event.
        inputs: the input set (:data:`INPUT_SETS`); models saved before it existed read ``basic``.
        assignment: also predict which jet is the leptonic b (a per-jet softmax over the jet tokens), trained
            jointly, the assignment's loss weighted by a learned homoscedastic uncertainty (Kendall, Gal, Cipolla
            2018: e^{−s} CE + ½ s). The density's loss keeps weight 1: it is already a normalised negative
            log-likelihood (a learned temperature e^{−s} NLL + ½ s has no minimum once the NLL is negative, which a
            flow reaches on standardised targets), in the same units as the classification's cross-entropy.
        dropout: dropout in the encoder's blocks and on the context (MC dropout at prediction: ``--mc-dropout N``).
        bayesian: a variational Bayesian last layer of the encoder (:mod:`hepgen.nn.epistemic`); its KL term per
            training event joins the loss (``kl``).
    """

    def __init__(
        self,
        *,
        max_jets: int = 10,
        inputs: str = "basic",
        dim: int = 64,
        heads: int = 4,
        layers: int = 3,
        dropout: float = 0.0,
        bayesian: bool = False,
        block: str = "transformer",
        mod_capacity: float = 0.5,
        param_tokens: int = 64,
        head: str = "flow",
        head_hidden: int = 128,
        assignment: bool = False,
        flow_transforms: int = 4,
        mdn_components: int = 5,
        saved_with: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(locals())
        self.head_kind = head
        features = one_of(INPUT_SETS, inputs, "neutrino input set")
        self.encoder = ObjectSetEncoder.from_config(features, self.config)
        self.target_standardizer = MaskedStandardizer(len(TARGETS))
        self.register_load_state_dict_pre_hook(_encoder_keys)
        options: dict[str, int] = {"hidden": head_hidden}
        if head == "flow":
            options["transforms"] = flow_transforms
        if head == "mdn":
            options["components"] = mdn_components
        self.head = make_head(head, dim, len(TARGETS), **options)
        if assignment:
            self.assignment_head = assignment_mlp(dim)
            # log σ² of the assignment's loss (Kendall et al. 2018)
            self.log_variance = nn.Parameter(torch.zeros(()))

    @property
    def point_estimate(self) -> bool:
        """True for the MSE head (no spread: its samples are its point)."""
        return bool(getattr(self.head, "point_estimate", False))

    @property
    def has_assignment(self) -> bool:
        return hasattr(self, "assignment_head")

    def fit_standardization(self, arrays: NeutrinoArrays) -> None:
        """Fit every input and target standardizer on training arrays."""
        self.encoder.fit_standardization(
            {k: torch.as_tensor(v) for k, v in arrays.objects.items()},
            {k: torch.as_tensor(v) for k, v in arrays.masks.items()},
        )
        if arrays.target is None:
            raise HepgenInputError("fitting the target standardisation needs truth targets")
        self.target_standardizer.fit(torch.as_tensor(arrays.target))

    def encode(self, objects: dict[str, Tensor], masks: dict[str, Tensor]) -> Tensor:
        """Context vector ``[B, dim]`` of each event."""
        return self.encoder(objects, masks)

    def forward(self, objects: dict[str, Tensor], masks: dict[str, Tensor]) -> Distribution:
        """The posterior over the *standardised* targets (what the loss uses)."""
        return self.head(self.encode(objects, masks))

    def _assignment_logits(self, tokens: Tensor, masks: dict[str, Tensor]) -> Tensor:
        n_jets = masks["jets"].shape[1]  # the jet tokens follow the lepton's
        return masked_jet_logits(self.assignment_head, tokens[:, 1 : 1 + n_jets], masks["jets"]).squeeze(-1)

    def losses(
        self, objects: dict[str, Tensor], masks: dict[str, Tensor], target: Tensor, b_jet: Tensor | None = None
    ) -> dict[str, Tensor]:
        """The negative log-likelihood of the standardised targets (with a Bayesian layer also its KL term per training
        event, ``kl``); with the assignment head also the cross-entropy of the leptonic-b jet (events without a
        matched jet excluded) and the uncertainty-weighted total."""
        tokens, mask = self.encoder.tokens(objects, masks)
        nll = -self.head(self.encoder.context(tokens, mask)).log_prob(self.target_standardizer(target)).mean()
        kl = {"kl": self.encoder.kl_loss()} if self.config.get("bayesian") else {}
        if not self.has_assignment:
            return {"nll": nll, **kl}
        ce = known_cross_entropy(self._assignment_logits(tokens, masks), b_jet)
        s = self.log_variance
        weighted = uncertainty_weighted(nll, ce, s) + sum(kl.values())
        return {"nll": nll, **kl, "assignment": ce, "assignment_log_variance": s.detach(), "weighted": weighted}

    def loss(self, objects: dict[str, Tensor], masks: dict[str, Tensor], target: Tensor) -> Tensor:
        """Mean negative log-likelihood of the standardised targets (+ the KL term per event of a Bayesian layer)."""
        nll = -self.head(self.encoder(objects, masks)).log_prob(self.target_standardizer(target)).mean()
        return nll + self.encoder.kl_loss()

    @torch.no_grad()
    def assignment_probability(self, objects: dict[str, Tensor], masks: dict[str, Tensor]) -> Tensor:
        """p(jet j is the leptonic b) ``[B, N_jets]`` (zero for padding)."""
        tokens, _ = self.encoder.tokens(objects, masks)
        return torch.softmax(self._assignment_logits(tokens, masks), dim=-1).nan_to_num(0.0)

    def posterior(self, objects: dict[str, Tensor], masks: dict[str, Tensor]) -> Distribution:
        """The posterior over physical (px [GeV], py [GeV], η)."""
        std = self.target_standardizer
        return TransformedDistribution(self(objects, masks), [AffineTransform(std.mean, std.std, event_dim=1)])

    @torch.no_grad()
    def sample(
        self, objects: dict[str, Tensor], masks: dict[str, Tensor], n: int, *, with_log_prob: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """``n`` posterior samples of (px, py, η) per event ``[B, n, 3]``; with ``with_log_prob`` also the log
        density of each ``[B, n]`` (up to a constant per event: in the standardised space, which ranks the samples of
        an event exactly as the physical one — what the mode estimate needs). The flow gives both in one pass."""
        std = self.target_standardizer
        if isinstance(self.head, FlowHead):  # one encoder pass, per-event flow work once per event
            draws, log_prob = self.head.sample(self.encode(objects, masks), n, with_log_prob=with_log_prob)
            draws = std.inverse(draws).transpose(0, 1)
            return (draws, log_prob.transpose(0, 1)) if with_log_prob else draws
        dist = self(objects, masks)
        if not with_log_prob:
            return std.inverse(dist.sample((n,))).transpose(0, 1)  # [n, B, 3] → [B, n, 3]
        if hasattr(dist, "rsample_and_log_prob"):
            draws, log_prob = dist.rsample_and_log_prob((n,))
        else:
            draws = dist.sample((n,))
            log_prob = dist.log_prob(draws)
        return std.inverse(draws).transpose(0, 1), log_prob.transpose(0, 1)
