"""The context-cached flow sampler does zuko's arithmetic, reordered: same noise → same samples and densities.

Tolerances: the cached sampler sums the hyper-networks' matrix products in another order (per-event part + per-sample
part), so the results agree to float32 rounding amplified by the spline inversion; measured differences are ≤ 1e-5
on these flows (weights moved off their initialisation), the bound is 1e-4 (standardised units, nats).
"""

from __future__ import annotations

import pytest
import torch
import zuko

from hepgen.models.flow_sampling import ContextCachedSampler, supports

FLOWS = {
    "nsf_coupling": lambda: zuko.flows.NSF(
        features=3, context=16, transforms=4, bins=8, hidden_features=(64, 64), passes=2
    ),
    "nsf_three_passes": lambda: zuko.flows.NSF(
        features=3, context=16, transforms=3, bins=5, hidden_features=(32, 48, 16), passes=3
    ),
    "maf": lambda: zuko.flows.MAF(features=4, context=16, transforms=2, hidden_features=(32, 32)),
    "nsf_elu": lambda: zuko.flows.NSF(
        features=2, context=16, transforms=2, hidden_features=(16, 16), activation=torch.nn.ELU
    ),
}


def moved(flow: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """The flow with every weight moved by noise (zuko initialises near the identity, which would test little)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=generator))
    return flow


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_the_cached_sampler_equals_zukos_inverse(name):
    torch.manual_seed(1)
    flow = moved(FLOWS[name]())
    assert supports(flow)
    context = torch.randn(40, 16)
    dist = flow(context)
    z = dist.base.rsample((24,))
    expected, ladj = dist.transform.inv.call_and_ladj(z)
    expected_log_prob = dist.base.log_prob(z) - ladj
    with torch.no_grad():
        x, log_prob = ContextCachedSampler(flow).transform_noise(context, z, with_log_prob=True)
        direct = dist.log_prob(x)
    assert x.shape == z.shape and log_prob.shape == z.shape[:-1]
    torch.testing.assert_close(x, expected.detach(), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(log_prob, expected_log_prob.detach(), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(log_prob, direct, rtol=1e-4, atol=1e-4)  # the density of the samples it returns


def test_the_same_seed_draws_the_same_noise_as_zuko():
    torch.manual_seed(2)
    flow = moved(FLOWS["nsf_coupling"]())
    context = torch.randn(10, 16)
    torch.manual_seed(7)
    expected = flow(context).sample((5,))
    torch.manual_seed(7)
    samples, log_prob = ContextCachedSampler(flow).sample(context, 5)
    assert log_prob is None
    torch.testing.assert_close(samples, expected, rtol=1e-4, atol=1e-4)


def test_unsupported_flows_are_refused_clearly():
    flow = zuko.flows.NSF(features=2, context=4, hidden_features=(8, 8), residual=True)
    assert not supports(flow)
    with pytest.raises(TypeError, match="not a zuko masked-autoregressive flow"):
        ContextCachedSampler(flow)
    assert not supports(zuko.flows.CNF(features=2, context=4))
