"""The generalized normal distribution (Subbotin; ``scipy.stats.gennorm``) as a torch distribution.

    p(y) = β / (2 α Γ(1/β)) · exp(−|(y − μ) / α|^β)

β = 2 is a Normal with σ = α/√2, β = 1 a Laplace with scale α; β < 2 has heavier tails than a Normal, β > 2 lighter
(β → ∞: uniform on [μ − α, μ + α]). Sampling is reparameterised: |y − μ| / α = G^{1/β} with G ~ Gamma(1/β, 1) and a
random sign (Nardon & Pianca 2009), so the loss can flow through samples too.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.distributions import Distribution, Gamma, constraints
from torch.distributions.utils import broadcast_all

__all__ = ["GeneralizedNormal"]


class GeneralizedNormal(Distribution):
    """Location ``loc`` μ, scale ``scale`` α > 0 and shape ``beta`` β > 0 (all broadcast to the batch shape)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "beta": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Tensor, scale: Tensor, beta: Tensor, validate_args: bool | None = None) -> None:
        self.loc, self.scale, self.beta = broadcast_all(loc, scale, beta)
        super().__init__(self.loc.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        """α² Γ(3/β) / Γ(1/β)."""
        return self.scale**2 * torch.exp(torch.lgamma(3 / self.beta) - torch.lgamma(1 / self.beta))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc).abs() / self.scale
        return torch.log(self.beta) - torch.log(2 * self.scale) - torch.lgamma(1 / self.beta) - z**self.beta

    def cdf(self, value: Tensor) -> Tensor:
        """½ + ½ sign(y − μ) P(1/β, |z|^β), with P the regularised lower incomplete gamma function."""
        z = (value - self.loc) / self.scale
        return 0.5 + 0.5 * torch.sign(z) * torch.special.gammainc(1 / self.beta, z.abs() ** self.beta)

    def rsample(self, sample_shape: torch.Size = torch.Size()) -> Tensor:  # noqa: B008 - torch's signature
        shape = self._extended_shape(sample_shape)
        magnitude = Gamma(1 / self.beta, torch.ones_like(self.beta)).rsample(sample_shape) ** (1 / self.beta)
        sign = torch.where(torch.rand(shape, device=self.loc.device) < 0.5, -1.0, 1.0)
        return self.loc + self.scale * sign * magnitude

    def entropy(self) -> Tensor:
        """1/β − log β + log(2α) + log Γ(1/β)."""
        return 1 / self.beta - torch.log(self.beta) + torch.log(2 * self.scale) + torch.lgamma(1 / self.beta)
