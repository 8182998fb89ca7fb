"""Conditional flow matching with straight paths (Lipman et al. 2023; Liu, Gong, Liu 2023 "rectified flow"), in
EDM's coordinates so that EDM's samplers (:mod:`hepgen.models.edm`) run it unchanged.

* Path: ``x_t = (1 − t) y + t n`` with data ``y``, Gaussian noise ``n`` and ``t ∈ [0, 1]`` (t = 1: pure noise);
  its velocity ``dx_t/dt = n − y``. The network regresses the velocity: ``‖F(x_t, t) − (n − y)‖²``, with ``t``
  logit-normal (Esser et al. 2024, "Scaling rectified flow transformers"): ``logit t ~ N(m, s²)``, (0, 1).
* The same path in EDM's variance-exploding coordinates: ``x_σ = y + σ n = x_t / (1 − t)`` with ``σ = t / (1 − t)``
  (so ``logit t = ln σ``). :class:`FlowMatchingPrecond` is therefore a denoiser ``D(x_σ; σ)`` like
  :class:`~hepgen.models.edm.EDMPrecond`: ``x_t = x_σ / (1 + σ)``, ``D = x_t − t F(x_t, c_noise)`` (the data
  estimate). EDM's Euler step on this denoiser is exactly the flow's Euler step in ``t`` (both recombine the
  predicted data and noise), so the samplers are shared; :func:`uniform_t_sigmas` is the flow's usual schedule
  (equal steps in ``t``).
* The network sees ``x_t`` (variance between ½ and 1 for standardised data) and ``c_noise = ¼ ln σ`` — EDM's noise
  embedding, so the VIPR network is the same module for both objectives.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from hepgen.errors import one_of
from hepgen.models.edm import broadcast_like
from hepgen.models.ot_coupling import COUPLINGS, ot_paired_noise

__all__ = ["FlowMatchingPrecond", "FlowMatchingLoss", "uniform_t_sigmas", "sigma_to_t", "t_to_sigma"]

#: ``t`` is kept in [T_EPS, 1 − T_EPS] in training (σ from 1e-5 to 1e5).
T_EPS = 1e-5


def t_to_sigma(t: Tensor) -> Tensor:
    """σ = t / (1 − t)."""
    return t / (1 - t)


def sigma_to_t(sigma: Tensor) -> Tensor:
    """t = σ / (1 + σ)."""
    return sigma / (1 + sigma)


class FlowMatchingPrecond(nn.Module):
    """A velocity network ``F(x_t, c_noise, **conditioning)`` as an EDM-style denoiser ``D(x_σ; σ)``."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def velocity(self, x_t: Tensor, t: Tensor, *, mask: Tensor | None = None, **conditioning: Any) -> Tensor:
        """The predicted velocity ``[B, ...]`` at ``x_t`` and ``t`` ``[B]``."""
        kwargs = dict(conditioning) if mask is None else {**conditioning, "mask": mask}
        v = self.network(x_t, torch.log(t_to_sigma(t)) / 4.0, **kwargs)
        return v if mask is None else v * mask[..., None]

    def forward(self, x: Tensor, sigma: Tensor | float, *, mask: Tensor | None = None, **conditioning: Any) -> Tensor:
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
        if sigma.ndim == 0:
            sigma = sigma.expand(x.shape[0])
        t = sigma_to_t(sigma)
        x_t = x / broadcast_like(1 + sigma, x)
        out = x_t - broadcast_like(t, x) * self.velocity(x_t, t, mask=mask, **conditioning)
        return out if mask is None else out * mask[..., None]


class FlowMatchingLoss:
    """``‖F(x_t, t) − (n − y)‖²`` averaged over real entries, ``logit t ~ N(m, s²)``; ``coupling`` pairs each set's
    noise with its data independently or by the exact optimal-transport assignment within the set
    (:mod:`hepgen.models.ot_coupling`)."""

    def __init__(self, *, logit_mean: float = 0.0, logit_std: float = 1.0, coupling: str = "independent") -> None:
        self.logit_mean, self.logit_std = logit_mean, logit_std
        self.coupling = one_of(COUPLINGS, coupling, "flow-matching coupling")

    def __call__(
        self,
        model: FlowMatchingPrecond,
        y: Tensor,
        *,
        mask: Tensor | None = None,
        generator: torch.Generator | None = None,
        noise: Tensor | None = None,
        **conditioning: Any,
    ) -> Tensor:
        """The loss of data ``y`` ``[B, ...]``; ``noise`` pairs each ``y`` with its own noise (rectified-flow
        distillation: ``y`` is what a teacher made from ``noise``), else fresh Gaussian noise."""
        B = y.shape[0]
        normal = torch.randn(B, device=y.device, dtype=y.dtype, generator=generator)
        t = torch.sigmoid(self.logit_mean + self.logit_std * normal).clamp(T_EPS, 1 - T_EPS)
        if noise is None:
            noise = torch.randn(y.shape, device=y.device, dtype=y.dtype, generator=generator)
            if self.coupling == "ot" and mask is not None:
                noise = ot_paired_noise(noise, y, mask)
        if mask is not None:
            noise = noise * mask[..., None]
        tb = broadcast_like(t, y)
        x_t = (1 - tb) * y + tb * noise
        squared = (model.velocity(x_t, t, mask=mask, **conditioning) - (noise - y)) ** 2
        if mask is None:
            return squared.reshape(B, -1).mean(dim=1).mean()
        per_sample = squared.sum(dim=tuple(range(1, squared.ndim))) / (mask.sum(dim=1) * y.shape[-1]).clamp_min(1)
        return per_sample.mean()


def uniform_t_sigmas(steps: int, *, sigma_max: float = 80.0, device: Any = None) -> Tensor:
    """σ of ``steps`` equal steps in t, from t_max = σ_max / (1 + σ_max) to 0: ``[steps + 1]`` (last 0), the
    schedule of a flow-matching sampler in EDM's coordinates (start from ``n · σ_max`` like EDM's samplers)."""
    if steps < 1:
        raise ValueError("steps must be >= 1")
    t_max = sigma_max / (1 + sigma_max)
    t = torch.linspace(t_max, 0.0, steps + 1, dtype=torch.float64, device=device)
    return t_to_sigma(t).to(torch.get_default_dtype())
