"""EDM diffusion (Karras, Aittala, Aila, Laine 2022, "Elucidating the Design Space of Diffusion-Based
Generative Models"), written with the paper's symbols and independent of the network.

* Preconditioning (Table 1): ``D(x; σ) = c_skip(σ) x + c_out(σ) F(c_in(σ) x; c_noise(σ))`` with
  ``c_skip = σ_d² / (σ² + σ_d²)``, ``c_out = σ σ_d / √(σ² + σ_d²)``, ``c_in = 1 / √(σ² + σ_d²)``,
  ``c_noise = ¼ ln σ``.
* Training: ``ln σ ~ N(P_mean, P_std²)`` (−1.2, 1.2) and the loss weight
  ``λ(σ) = (σ² + σ_d²) / (σ σ_d)²`` on ``‖D(y + n; σ) − y‖²``.
* Sampling schedule (Eq. 5): ``σ_i = (σ_max^(1/ρ) + i/(N−1) (σ_min^(1/ρ) − σ_max^(1/ρ)))^ρ``,
  σ_min 0.002, σ_max 80, ρ 7, followed by σ_N = 0.
* Samplers (Algorithms 1 and 2) share one signature ``(denoiser, x, sigmas, **conditioning)``:
  deterministic 2nd-order Heun, Euler, and optional stochastic churn (S_churn, S_tmin, S_tmax, S_noise); and
  Heun in the straight-path coordinates of flow matching (``heun_t``, :mod:`hepgen.models.flow_matching`).
* An exponential moving average of the weights with warm-up, for sampling.

Masks: every function accepts ``mask`` ``[B, N]`` for padded point clouds; padded
entries are kept at zero and excluded from the loss.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "edm_sampler",
    "edm_coefficients",
    "EDMPrecond",
    "EDMLoss",
    "karras_sigmas",
    "heun_sampler",
    "euler_sampler",
    "heun_t_sampler",
    "SAMPLERS",
    "ExponentialMovingAverage",
    "broadcast_like",
]

Denoiser = Callable[..., Tensor]


def broadcast_like(sigma: Tensor | float, like: Tensor) -> Tensor:
    """σ as a tensor broadcastable against ``like`` ``[B, ...]`` (scalar or ``[B]``)."""
    sigma = torch.as_tensor(sigma, dtype=like.dtype, device=like.device)
    if sigma.ndim == 0:
        return sigma
    return sigma.reshape(sigma.shape[0], *([1] * (like.ndim - 1)))


def edm_coefficients(sigma: Tensor | float, sigma_data: float = 0.5) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(c_skip, c_out, c_in, c_noise)`` of EDM's preconditioning for σ (scalar or batched)."""
    sigma = torch.as_tensor(sigma, dtype=torch.get_default_dtype() if not torch.is_tensor(sigma) else sigma.dtype)
    sd2 = sigma_data**2
    c_skip = sd2 / (sigma**2 + sd2)
    c_out = sigma * sigma_data / torch.sqrt(sigma**2 + sd2)
    c_in = 1.0 / torch.sqrt(sigma**2 + sd2)
    c_noise = torch.log(sigma) / 4.0
    return c_skip, c_out, c_in, c_noise


class EDMPrecond(nn.Module):
    """Wraps a raw network ``F(x_in, c_noise, **conditioning)`` into the denoiser ``D(x; σ)``.

    Args:
        network: maps noisy inputs ``[B, ...]`` and ``c_noise`` ``[B]`` (plus conditioning) to ``[B, ...]``.
        sigma_data: standard deviation of the (standardised) data; 1.0 for standardised inputs.
    """

    def __init__(self, network: nn.Module, *, sigma_data: float = 1.0) -> None:
        super().__init__()
        self.network = network
        self.sigma_data = sigma_data

    def forward(self, x: Tensor, sigma: Tensor | float, *, mask: Tensor | None = None, **conditioning: Any) -> Tensor:
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
        if sigma.ndim == 0:
            sigma = sigma.expand(x.shape[0])
        c_skip, c_out, c_in, c_noise = edm_coefficients(sigma, self.sigma_data)
        kwargs = dict(conditioning)
        if mask is not None:
            kwargs["mask"] = mask
        f = self.network(broadcast_like(c_in, x) * x, c_noise, **kwargs)
        out = broadcast_like(c_skip, x) * x + broadcast_like(c_out, x) * f
        return out if mask is None else out * mask[..., None]


class EDMLoss:
    """EDM's training loss: ``λ(σ) ‖D(y + σ n; σ) − y‖²`` with ``ln σ ~ N(P_mean, P_std²)``.

    With a mask ``[B, N]`` the squared error is averaged over real entries only.
    """

    def __init__(self, *, p_mean: float = -1.2, p_std: float = 1.2, sigma_data: float = 1.0) -> None:
        self.p_mean, self.p_std, self.sigma_data = p_mean, p_std, sigma_data

    def weight(self, sigma: Tensor) -> Tensor:
        """λ(σ) = (σ² + σ_d²) / (σ σ_d)²."""
        return (sigma**2 + self.sigma_data**2) / (sigma * self.sigma_data) ** 2

    def __call__(
        self,
        denoiser: Denoiser,
        y: Tensor,
        *,
        mask: Tensor | None = None,
        generator: torch.Generator | None = None,
        **conditioning: Any,
    ) -> Tensor:
        B = y.shape[0]
        normal = torch.randn(B, device=y.device, dtype=y.dtype, generator=generator)
        sigma = torch.exp(self.p_mean + self.p_std * normal)
        noise = torch.randn(y.shape, device=y.device, dtype=y.dtype, generator=generator) * broadcast_like(sigma, y)
        if mask is not None:
            noise = noise * mask[..., None]
        kwargs = dict(conditioning) if mask is None else {**conditioning, "mask": mask}
        denoised = denoiser(y + noise, sigma, **kwargs)
        squared = (denoised - y) ** 2
        if mask is None:
            per_sample = squared.reshape(B, -1).mean(dim=1)
        else:
            per_sample = squared.sum(dim=tuple(range(1, squared.ndim))) / (mask.sum(dim=1) * y.shape[-1]).clamp_min(1)
        return (self.weight(sigma) * per_sample).mean()


def karras_sigmas(
    steps: int, *, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0, device: Any = None
) -> Tensor:
    """The noise levels σ_0 > … > σ_{N−1} of Eq. 5, followed by σ_N = 0: ``[steps + 1]``."""
    if steps < 1:
        raise ValueError("steps must be >= 1")
    i = torch.arange(steps, dtype=torch.float64, device=device)
    ramp = i / max(steps - 1, 1)
    sigmas = (sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    return torch.cat([sigmas, torch.zeros(1, dtype=torch.float64, device=device)]).to(torch.get_default_dtype())


@torch.no_grad()
def edm_sampler(
    denoiser: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    order: int = 2,
    coordinates: str = "sigma",
    churn: float = 0.0,
    s_tmin: float = 0.0,
    s_tmax: float = float("inf"),
    s_noise: float = 1.0,
    mask: Tensor | None = None,
    generator: torch.Generator | None = None,
    **conditioning: Any,
) -> Tensor:
    """EDM's samplers (Karras et al. 2022): ``order`` 2 is Heun (Algorithm 1; with ``churn > 0``, Algorithm 2;
    2N − 1 denoiser evaluations for N steps, none for the correction at σ = 0), ``order`` 1 Euler (N evaluations);
    ``coordinates="t"`` takes the same steps in the straight-path time t of flow matching (deterministic).

    ``x`` is the initial noise already scaled by ``sigmas[0]``; returns the sample at σ = 0. ``conditioning`` goes to
    every denoiser call, with ``mask`` (padding stays zero).
    """
    if coordinates == "t" and churn:
        raise ValueError("heun_t is deterministic: churn is not supported")
    second_order = order == 2
    kwargs = dict(conditioning)
    if mask is not None:
        kwargs["mask"] = mask
        x = x * mask[..., None]
    n = len(sigmas) - 1
    if coordinates == "t":
        return _sample_in_t(denoiser, x, sigmas, second_order=second_order, kwargs=kwargs)
    for i in range(n):
        sigma, sigma_next = float(sigmas[i]), float(sigmas[i + 1])
        # stochastic churn (Algorithm 2): raise the noise level to σ̂ = σ (1 + γ)
        gamma = min(churn / n, math.sqrt(2) - 1) if s_tmin <= sigma <= s_tmax else 0.0
        sigma_hat = sigma * (1 + gamma)
        if gamma > 0:
            eps = torch.randn(x.shape, device=x.device, dtype=x.dtype, generator=generator) * s_noise
            if mask is not None:
                eps = eps * mask[..., None]
            x = x + math.sqrt(sigma_hat**2 - sigma**2) * eps
        d = (x - denoiser(x, sigma_hat, **kwargs)) / sigma_hat
        x_next = x + (sigma_next - sigma_hat) * d
        if second_order and sigma_next > 0:  # Heun's correction
            d_next = (x_next - denoiser(x_next, sigma_next, **kwargs)) / sigma_next
            x_next = x + (sigma_next - sigma_hat) * (0.5 * d + 0.5 * d_next)
        x = x_next
    return x


def _sample_in_t(
    denoiser: Denoiser, x: Tensor, sigmas: Tensor, *, second_order: bool, kwargs: dict[str, Any]
) -> Tensor:
    """Euler/Heun on the ODE of the straight-path coordinates ``x_t = x_σ / (1 + σ)``, ``t = σ / (1 + σ)``, whose
    velocity is ``(x_t − D(x_σ; σ)) / t`` (flow matching's own coordinates; Euler is the same in both)."""
    t = [float(s) / (1 + float(s)) for s in sigmas]
    x_t = x / (1 + float(sigmas[0]))

    def velocity(x_t, i):
        return (x_t - denoiser(x_t * (1 + float(sigmas[i])), float(sigmas[i]), **kwargs)) / t[i]

    for i in range(len(sigmas) - 1):
        d = velocity(x_t, i)
        x_next = x_t + (t[i + 1] - t[i]) * d
        if second_order and t[i + 1] > 0:
            x_next = x_t + (t[i + 1] - t[i]) * 0.5 * (d + velocity(x_next, i + 1))
        x_t = x_next
    return x_t * (1 + float(sigmas[-1]))


#: EDM's Heun sampler (Algorithm 1; Algorithm 2 with ``churn``): 2N − 1 evaluations.
heun_sampler = partial(edm_sampler, order=2)
#: The first-order Euler sampler with the same signature: N evaluations.
euler_sampler = partial(edm_sampler, order=1)
#: Heun's method in the straight-path time t (``x_t = x_σ / (1 + σ)``): the 2nd-order sampler of flow matching.
heun_t_sampler = partial(edm_sampler, order=2, coordinates="t")

SAMPLERS: dict[str, Callable[..., Tensor]] = {"heun": heun_sampler, "euler": euler_sampler, "heun_t": heun_t_sampler}


class ExponentialMovingAverage:
    """An EMA copy of a model's weights for sampling, with warm-up.

    The decay at update t is ``min(decay, (1 + t) / (10 + t))``, so early
    updates follow the model closely: a plain 0.999 decay from step 0 would keep
    near-initial weights on short runs.
    """

    def __init__(self, model: nn.Module, *, decay: float = 0.999) -> None:
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    def current_decay(self) -> float:
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        d = self.current_decay()
        for ema, p in zip(self.model.parameters(), model.parameters()):
            ema.lerp_(p.detach(), 1.0 - d)
        for ema, b in zip(self.model.buffers(), model.buffers()):
            ema.copy_(b)
        self.updates += 1

    def state_dict(self) -> dict[str, Any]:
        return {"decay": self.decay, "updates": self.updates, "model": self.model.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.decay, self.updates = state["decay"], state["updates"]
        self.model.load_state_dict(state["model"])
