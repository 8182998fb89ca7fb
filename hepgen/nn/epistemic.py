"""What a network does not know: a variational (Bayesian) linear layer and stochastic prediction passes.

* :class:`BayesianLinear` — Bayes-by-backprop (Blundell et al. 2015): each weight w ~ N(μ, σ²) with σ = softplus(ρ),
  a Gaussian prior N(0, σ_p²) with σ_p = 1/√fan_in (the scale of the usual initialisation, so the prior says "weights
  of a trained layer's size"); trained with the local reparameterisation trick (Kingma, Salimans, Welling 2015: the
  pre-activations are sampled, one weight draw per example); :meth:`BayesianLinear.kl` is KL(q ‖ prior) in closed
  form, which the loss adds divided by the number of training events.
* :func:`stochastic_pass` — a context in which dropout stays on (MC dropout, Gal & Ghahramani 2016) and every
  Bayesian layer uses one fixed weight draw: each pass is one sample of the network, the spread between passes the
  epistemic part of the predictive distribution.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hepgen.nn.attention import MultiheadAttention

__all__ = ["BayesianLinear", "stochastic_pass", "is_stochastic", "kl_divergence"]

#: σ of every weight at initialisation: small, so training starts from a nearly deterministic layer.
_INITIAL_STD = 1e-3


class BayesianLinear(nn.Module):
    """``in_features`` → ``out_features`` with Gaussian weights and biases; deterministic (the means) in eval mode
    outside :func:`stochastic_pass`."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.prior_std = 1.0 / math.sqrt(in_features)
        bound = self.prior_std
        self.weight_mean = nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))
        self.bias_mean = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))
        rho = math.log(math.expm1(_INITIAL_STD))  # softplus⁻¹(σ₀)
        self.weight_rho = nn.Parameter(torch.full((out_features, in_features), rho))
        self.bias_rho = nn.Parameter(torch.full((out_features,), rho))
        self._draw: tuple[Tensor, Tensor] | None = None

    def stds(self) -> tuple[Tensor, Tensor]:
        """σ of the weights ``[out, in]`` and the biases ``[out]``."""
        return F.softplus(self.weight_rho), F.softplus(self.bias_rho)

    def draw(self) -> None:
        """Fix one draw of the weights (used until :meth:`release`)."""
        w_std, b_std = self.stds()
        self._draw = (
            self.weight_mean + w_std * torch.randn_like(w_std),
            self.bias_mean + b_std * torch.randn_like(b_std),
        )

    def release(self) -> None:
        self._draw = None

    def forward(self, x: Tensor) -> Tensor:
        if self._draw is not None:
            return F.linear(x, *self._draw)
        mean = F.linear(x, self.weight_mean, self.bias_mean)
        if not self.training:
            return mean
        w_std, b_std = self.stds()
        variance = F.linear(x**2, w_std**2, b_std**2)
        return mean + variance.clamp_min(1e-16).sqrt() * torch.randn_like(mean)

    def kl(self) -> Tensor:
        """KL(q(w) ‖ N(0, σ_p²)) summed over the weights and biases [nats]."""
        w_std, b_std = self.stds()
        return kl_divergence(self.weight_mean, w_std, self.prior_std) + kl_divergence(
            self.bias_mean, b_std, self.prior_std
        )


def kl_divergence(mean: Tensor, std: Tensor, prior_std: float) -> Tensor:
    """Σ KL(N(mean, std²) ‖ N(0, prior_std²)) = Σ log(σ_p/σ) + (σ² + μ²) / (2σ_p²) − ½."""
    return (math.log(prior_std) - torch.log(std) + (std**2 + mean**2) / (2 * prior_std**2) - 0.5).sum()


def is_stochastic(module: nn.Module) -> bool:
    """Whether passes of ``module`` differ: it has dropout > 0 or a Bayesian layer."""
    for m in module.modules():
        if isinstance(m, BayesianLinear):
            return True
        if isinstance(m, nn.Dropout) and m.p > 0 or isinstance(m, MultiheadAttention) and m.dropout > 0:
            return True
    return False


@contextmanager
def stochastic_pass(module: nn.Module) -> Iterator[None]:
    """Within the context, ``module``'s dropout is on and each Bayesian layer uses one weight draw (call again for
    the next pass); the modes are restored afterwards."""
    switched = [m for m in module.modules() if isinstance(m, nn.Dropout | MultiheadAttention) and not m.training]
    bayesian = [m for m in module.modules() if isinstance(m, BayesianLinear)]
    try:
        for m in switched:
            m.train()
        for m in bayesian:
            m.draw()
        yield
    finally:
        for m in switched:
            m.eval()
        for m in bayesian:
            m.release()
