"""EDM: preconditioning equals the paper's formulas; Heun with the exact denoiser of a Gaussian reproduces it,
better with more steps; the loss respects masks; the EMA warms up."""

import math

import pytest
import torch

from hepgen.models.edm import (
    EDMLoss,
    EDMPrecond,
    ExponentialMovingAverage,
    edm_coefficients,
    euler_sampler,
    heun_sampler,
    karras_sigmas,
)


@pytest.mark.parametrize("sigma", [0.002, 0.5, 3.0, 80.0])
def test_coefficients_equal_the_formulas(sigma):
    sd = 0.5
    c_skip, c_out, c_in, c_noise = edm_coefficients(torch.tensor(sigma, dtype=torch.float64), sd)
    assert c_skip.item() == pytest.approx(sd**2 / (sigma**2 + sd**2))
    assert c_out.item() == pytest.approx(sigma * sd / math.sqrt(sigma**2 + sd**2))
    assert c_in.item() == pytest.approx(1 / math.sqrt(sigma**2 + sd**2))
    assert c_noise.item() == pytest.approx(math.log(sigma) / 4)


def test_coefficients_batched_match_scalar():
    sigmas = torch.tensor([0.01, 0.3, 7.0, 60.0], dtype=torch.float64)
    batched = edm_coefficients(sigmas, 1.0)
    for i, s in enumerate(sigmas):
        for b, one in zip(batched, edm_coefficients(s, 1.0)):
            assert b[i].item() == pytest.approx(one.item())


def test_precond_wraps_the_network_as_in_the_paper():
    class Raw(torch.nn.Module):
        def forward(self, x_in, c_noise):
            return x_in * 2 + c_noise[:, None, None]

    x = torch.randn(3, 5, 2, dtype=torch.float64)
    sigma = torch.tensor([0.1, 1.0, 10.0], dtype=torch.float64)
    out = EDMPrecond(Raw(), sigma_data=0.7)(x, sigma)
    c_skip, c_out, c_in, c_noise = edm_coefficients(sigma, 0.7)
    expected = c_skip[:, None, None] * x + c_out[:, None, None] * (2 * c_in[:, None, None] * x + c_noise[:, None, None])
    torch.testing.assert_close(out, expected)


def gaussian_denoiser(mu: float, s: float):
    """The exact denoiser E[y | y + σ n] for data y ~ N(mu, s²) per dimension."""

    def denoise(x, sigma, **_):
        sigma = torch.as_tensor(sigma, dtype=x.dtype)
        return (s**2 * x + sigma**2 * mu) / (s**2 + sigma**2)

    return denoise


def test_heun_reproduces_a_gaussian_and_converges_with_steps():
    mu, s = 1.5, 0.4
    torch.manual_seed(0)
    noise = torch.randn(20000, 1, dtype=torch.float64)
    errors = {}
    for steps in (4, 8, 32, 64):
        sigmas = karras_sigmas(steps).double()
        # start from the exact marginal at σ_max, N(mu, s² + σ_max²); the probability-flow ODE then maps
        # x_T = mu + sqrt(s² + σ_max²) n to exactly mu + s n
        x_T = mu + math.sqrt(s**2 + sigmas[0].item() ** 2) * noise
        x = heun_sampler(gaussian_denoiser(mu, s), x_T, sigmas)
        exact = mu + s * noise
        errors[steps] = (x - exact).abs().max().item()
        if steps == 64:  # the sample moments are those of N(mu, s²) up to the statistical noise of 20k draws
            assert abs(x.mean().item() - mu) < 4 * s / math.sqrt(len(x)) + 1e-3
            assert abs(x.std().item() - s) < 4 * s / math.sqrt(2 * len(x)) + 1e-3
    assert errors[64] < errors[32] < errors[8] < errors[4]
    assert errors[64] < 1e-2


def test_euler_and_churn_share_the_signature_and_converge():
    mu, s = -0.5, 0.8
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(20000, 2, generator=g, dtype=torch.float64)
    sigmas = karras_sigmas(64).double()
    x_T = mu + math.sqrt(s**2 + sigmas[0].item() ** 2) * noise
    x = euler_sampler(gaussian_denoiser(mu, s), x_T, sigmas)
    assert abs(x.mean().item() - mu) < 0.03 and abs(x.std().item() - s) < 0.04  # first order: coarser
    x = heun_sampler(gaussian_denoiser(mu, s), x_T, sigmas, churn=10.0, generator=g)
    assert abs(x.mean().item() - mu) < 0.03 and abs(x.std().item() - s) < 0.03


def test_schedule_endpoints():
    sigmas = karras_sigmas(18, sigma_min=0.002, sigma_max=80.0, rho=7.0)
    assert len(sigmas) == 19 and sigmas[0].item() == pytest.approx(80.0) and sigmas[-2].item() == pytest.approx(0.002)
    assert sigmas[-1].item() == 0 and torch.all(sigmas[:-1] > sigmas[1:])


def test_loss_weight_and_mask():
    loss = EDMLoss(sigma_data=0.5)
    sigma = torch.tensor([0.1, 2.0])
    torch.testing.assert_close(loss.weight(sigma), (sigma**2 + 0.25) / (sigma * 0.5) ** 2)
    y = torch.randn(4, 6, 2)
    mask = torch.ones(4, 6, dtype=torch.bool)
    mask[:, 4:] = False
    y = y * mask[..., None]

    def perfect(x, sigma, mask=None):  # returns the clean data: zero loss whatever the padding holds
        return y

    assert loss(perfect, y, mask=mask).item() == 0.0
    seen = {}

    def spy(x, sigma, mask=None):
        seen["padded"] = x[:, 4:].abs().max().item()
        return torch.zeros_like(x)

    loss(spy, y, mask=mask)
    assert seen["padded"] == 0.0  # no noise is added to padded entries


def test_ema_warms_up_then_follows_slowly():
    model = torch.nn.Linear(2, 2)
    ema = ExponentialMovingAverage(model, decay=0.999)
    assert ema.current_decay() == pytest.approx(0.1)  # (1 + 0) / (10 + 0)
    with torch.no_grad():
        model.weight.fill_(1.0)
    before = ema.model.weight.clone()
    ema.update(model)  # decay 0.1 at the first update: 90 % of the way to the model
    torch.testing.assert_close(ema.model.weight, 0.1 * before + 0.9 * model.weight)
    for _ in range(50):
        ema.update(model)
    assert (ema.model.weight - model.weight).abs().max() < 0.05  # warm-up: close after ~50 updates
    for _ in range(20000):
        ema.updates += 1
    assert ema.current_decay() == 0.999
