"""Flow matching in EDM's coordinates: the exact velocity of a Gaussian, wrapped, is the exact EDM denoiser; EDM's
Euler step on the wrapped network is the flow's Euler step in t; the loss is zero for the exact velocity of a point
and ignores padding."""

import math

import pytest
import torch

from hepgen.models.edm import euler_sampler, heun_sampler, heun_t_sampler
from hepgen.models.flow_matching import (
    FlowMatchingLoss,
    FlowMatchingPrecond,
    sigma_to_t,
    t_to_sigma,
    uniform_t_sigmas,
)


class ExactGaussianVelocity(torch.nn.Module):
    """E[n − y | x_t] for y ~ N(mu, s²), x_t = (1 − t) y + t n; called as F(x_t, c_noise = ¼ ln σ)."""

    def __init__(self, mu: float, s: float) -> None:
        super().__init__()
        self.mu, self.s = mu, s

    def forward(self, x_t, c_noise):
        t = sigma_to_t(torch.exp(4 * c_noise))[:, None]
        variance = (1 - t) ** 2 * self.s**2 + t**2
        covariance = t - (1 - t) * self.s**2
        return -self.mu + covariance / variance * (x_t - (1 - t) * self.mu)


def exact_edm_denoiser(mu, s, x, sigma):  # E[y | y + σ n = x]
    return (s**2 * x + sigma**2 * mu) / (s**2 + sigma**2)


@pytest.mark.parametrize("sigma", [0.01, 0.3, 2.0, 80.0])
def test_the_wrapped_exact_velocity_is_the_exact_denoiser(sigma):
    mu, s = 1.5, 0.4
    x = torch.linspace(-3, 5, 11, dtype=torch.float64)[:, None]
    wrapped = FlowMatchingPrecond(ExactGaussianVelocity(mu, s))
    torch.testing.assert_close(wrapped(x, sigma), exact_edm_denoiser(mu, s, x, sigma), rtol=1e-9, atol=1e-9)


def test_heun_in_t_on_the_uniform_t_schedule_reproduces_a_gaussian():
    mu, s = -0.5, 0.8
    noise = torch.randn(20000, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    wrapped = FlowMatchingPrecond(ExactGaussianVelocity(mu, s))
    errors = {}
    for steps in (2, 8, 32):
        sigmas = uniform_t_sigmas(steps).double()
        x_T = mu + math.sqrt(s**2 + sigmas[0].item() ** 2) * noise  # the exact marginal at σ_max
        x = heun_t_sampler(wrapped, x_T, sigmas)
        errors[steps] = (x - (mu + s * noise)).abs().max().item()
        if steps == 8:  # Heun in σ on the same points is far worse on this schedule (steps of σ from 80 to ~3)
            assert (heun_sampler(wrapped, x_T, sigmas) - (mu + s * noise)).abs().max().item() > 5 * errors[8]
    assert errors[32] < errors[8] < errors[2] and errors[32] < 5e-3


def test_edm_euler_is_the_flows_euler_in_t():
    """With any network: EDM's Euler on the wrapped velocity = x_t ← x_t + (t' − t) F(x_t, t), steps in t."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2)).double()

    def network(x, c):
        return net(torch.cat([x, c[:, None].expand(-1, 1)], dim=-1))

    wrapped = FlowMatchingPrecond(network)
    sigmas = uniform_t_sigmas(5).double()
    z = torch.randn(7, 2, dtype=torch.float64)
    x_edm = euler_sampler(wrapped, z * sigmas[0], sigmas)
    t = sigma_to_t(sigmas)
    x_t = z * sigmas[0] / (1 + sigmas[0])
    with torch.no_grad():
        for i in range(5):
            x_t = x_t + (t[i + 1] - t[i]) * wrapped.velocity(x_t, t[i].expand(7))
    torch.testing.assert_close(x_edm, x_t, rtol=1e-10, atol=1e-10)


def test_schedule_and_conversions():
    sigmas = uniform_t_sigmas(4, sigma_max=80.0)
    assert len(sigmas) == 5 and sigmas[-1].item() == 0 and sigmas[0].item() == pytest.approx(80.0, rel=1e-5)
    t = sigma_to_t(sigmas.double())
    torch.testing.assert_close(t[:-1] - t[1:], torch.full((4,), t[0].item() / 4, dtype=torch.float64))
    torch.testing.assert_close(t_to_sigma(t[:-1]), sigmas[:-1].double())


def test_the_loss_vanishes_for_the_exact_velocity_of_a_point_and_ignores_padding():
    y0 = torch.tensor([[0.3, -1.0], [2.0, 0.5], [9.0, 9.0]])  # the third entry is padding

    class PointVelocity(torch.nn.Module):  # data = y0: v = (x_t − y0) / t
        def forward(self, x_t, c_noise, *, mask):
            t = sigma_to_t(torch.exp(4 * c_noise))[:, None, None]
            return (x_t - y0) / t

    mask = torch.tensor([[True, True, False]]).expand(64, -1)
    y = (y0 * mask[0, :, None]).expand(64, -1, -1)
    loss = FlowMatchingLoss()(
        FlowMatchingPrecond(PointVelocity()), y, mask=mask, generator=torch.Generator().manual_seed(1)
    )
    assert loss.item() < 1e-8
    wrong = FlowMatchingLoss()(FlowMatchingPrecond(PointVelocity()), y + 0.1 * mask[..., None], mask=mask)
    assert wrong.item() > 1e-4
