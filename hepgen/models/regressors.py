"""Conditional density heads: context ``[B, C]`` → a distribution over targets ``[B, D]``.

All heads return a ``torch.distributions.Distribution`` with event shape
``[D]``, so one training loss serves them all: ``−dist.log_prob(y).mean()``.

* :class:`PointHead` (``mse``): a unit-variance Normal around the prediction;
  its negative log-likelihood is ½‖f − y‖² + const, i.e. the MSE loss.
* :class:`GaussianHead` (``gauss``): mean and u = log σ² per target; the loss
  per target is ½((f − y)²/eᵘ + u) + const.
* :class:`MixtureHead` (``mdn``): K diagonal Gaussians with learned weights.
* :class:`GeneralizedNormalHead` (``gennorm``): location, scale and shape β per target
  (:class:`~hepgen.models.generalized_normal.GeneralizedNormal`): tails heavier (β < 2) or lighter (β > 2) than
  a Gaussian's, learned per event.
* :class:`FlowHead` (``flow``): a conditional rational-quadratic neural spline
  flow from zuko in coupling form (``passes=2``), so sampling is one pass.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.distributions import Categorical, Distribution, Independent, MixtureSameFamily, Normal

from hepgen.models.generalized_normal import GeneralizedNormal

__all__ = ["PointHead", "GaussianHead", "GeneralizedNormalHead", "MixtureHead", "FlowHead", "HEADS", "make_head"]

#: The range of the generalized normal's learned shape β: from tails far heavier than a Laplace's (β = 1) to nearly
#: flat-topped (β = 2 is a Gaussian); the bounds keep Γ(1/β) and |z|^β finite in float32.
BETA_RANGE = (0.3, 10.0)


def _mlp(inputs: int, outputs: int, hidden: int, layers: int = 2) -> nn.Sequential:
    modules: list[nn.Module] = []
    width = inputs
    for _ in range(layers):
        modules += [nn.Linear(width, hidden), nn.GELU()]
        width = hidden
    modules.append(nn.Linear(width, outputs))
    return nn.Sequential(*modules)


class PointHead(nn.Module):
    """Point regression (MSE) as a unit-variance Normal; ``sample`` returns the point itself repeated."""

    point_estimate = True

    def __init__(self, context: int, targets: int, *, hidden: int = 128) -> None:
        super().__init__()
        self.net = _mlp(context, targets, hidden)

    def forward(self, context: Tensor) -> Distribution:
        return _PointNormal(self.net(context))


class _PointNormal(Independent):
    def __init__(self, mean: Tensor) -> None:
        super().__init__(Normal(mean, torch.ones_like(mean)), 1)

    def sample(self, sample_shape: torch.Size = torch.Size()) -> Tensor:  # noqa: B008 - torch's signature
        return self.base_dist.loc.expand(torch.Size(sample_shape) + self.base_dist.loc.shape)

    rsample = sample


class GaussianHead(nn.Module):
    """Heteroscedastic Gaussian: mean and u = log σ² per target."""

    point_estimate = False

    def __init__(self, context: int, targets: int, *, hidden: int = 128) -> None:
        super().__init__()
        self.net = _mlp(context, 2 * targets, hidden)

    def forward(self, context: Tensor) -> Distribution:
        mean, log_var = self.net(context).chunk(2, dim=-1)
        return Independent(Normal(mean, torch.exp(0.5 * log_var.clamp(-15.0, 15.0))), 1)


class GeneralizedNormalHead(nn.Module):
    """Generalized normal per target: location, u = log α and the shape β ∈ :data:`BETA_RANGE` (a sigmoid of the
    network's output, β = 2 — a Gaussian — at zero output)."""

    point_estimate = False

    def __init__(self, context: int, targets: int, *, hidden: int = 128) -> None:
        super().__init__()
        self.net = _mlp(context, 3 * targets, hidden)
        low, high = (torch.log(torch.tensor(b)) for b in BETA_RANGE)
        self.register_buffer("_log_beta_range", torch.stack([low, high]), persistent=False)
        # the sigmoid's offset that puts β = 2 at zero output
        self._offset = float(torch.logit((torch.log(torch.tensor(2.0)) - low) / (high - low)))

    def forward(self, context: Tensor) -> Distribution:
        loc, log_scale, shape = self.net(context).chunk(3, dim=-1)
        low, high = self._log_beta_range
        beta = torch.exp(low + (high - low) * torch.sigmoid(shape + self._offset))
        return Independent(GeneralizedNormal(loc, torch.exp(log_scale.clamp(-15.0, 15.0)), beta), 1)


class MixtureHead(nn.Module):
    """Mixture density network: ``components`` diagonal Gaussians."""

    point_estimate = False

    def __init__(self, context: int, targets: int, *, hidden: int = 128, components: int = 5) -> None:
        super().__init__()
        self.targets, self.components = targets, components
        self.net = _mlp(context, components * (1 + 2 * targets), hidden)

    def forward(self, context: Tensor) -> Distribution:
        out = self.net(context)
        K, D = self.components, self.targets
        logits = out[..., :K]
        mean, log_var = out[..., K:].reshape(*out.shape[:-1], K, 2 * D).chunk(2, dim=-1)
        scale = torch.exp(0.5 * log_var.clamp(-15.0, 15.0))
        return MixtureSameFamily(Categorical(logits=logits), Independent(Normal(mean, scale), 1))


class FlowHead(nn.Module):
    """Conditional neural spline flow (zuko ``NSF``) in coupling form: density and one-pass sampling."""

    point_estimate = False

    def __init__(self, context: int, targets: int, *, hidden: int = 128, transforms: int = 4, bins: int = 8) -> None:
        super().__init__()
        import zuko

        self.flow = zuko.flows.NSF(
            features=targets,
            context=context,
            transforms=transforms,
            bins=bins,
            hidden_features=(hidden, hidden),
            passes=2,
        )

    def forward(self, context: Tensor) -> Distribution:
        return self.flow(context)

    @torch.no_grad()
    def sample(self, context: Tensor, n: int, *, with_log_prob: bool = False) -> tuple[Tensor, Tensor | None]:
        """``n`` samples per context row ``[n, B, D]`` (and their log density ``[n, B]``): zuko's flow, with the
        per-event part of the hyper-networks computed once per event (:mod:`hepgen.models.flow_sampling`)."""
        from hepgen.models.flow_sampling import ContextCachedSampler

        return ContextCachedSampler(self.flow).sample(context, n, with_log_prob=with_log_prob)


HEADS: dict[str, type[nn.Module]] = {
    "mse": PointHead,
    "gauss": GaussianHead,
    "gennorm": GeneralizedNormalHead,
    "mdn": MixtureHead,
    "flow": FlowHead,
}


def make_head(kind: str, context: int, targets: int, **options: int) -> nn.Module:
    """The head called ``kind`` (mse, gauss, gennorm, mdn, flow)."""
    try:
        cls = HEADS[kind]
    except KeyError:
        raise ValueError(f"unknown head {kind!r}; choose from {sorted(HEADS)}") from None
    return cls(context, targets, **options)
