"""VIPR networks: padding changes nothing, the multiplicity stays in [0, max], the classifier scores every particle,
the latent encoder is linear in M."""

import pytest
import torch

from hepgen.models.edm import EDMPrecond
from hepgen.models.vipr import MultiplicityModel, ObservedJetEncoder, VIPRDenoiser


def batch(B=3, N=7, M=11, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, N, 3, generator=g)
    mask = torch.arange(N)[None, :] < torch.tensor([7, 4, 1])[:, None]
    obs = torch.randn(B, M, 3, generator=g)
    obs_mask = torch.arange(M)[None, :] < torch.tensor([11, 6, 3])[:, None]
    return x * mask[..., None], mask, obs * obs_mask[..., None], obs_mask, torch.randn(B, 5, generator=g)


def pad(t, extra, value=0.0):
    shape = list(t.shape)
    shape[1] = extra
    return torch.cat([t, torch.full(shape, value, dtype=t.dtype)], dim=1)


@pytest.mark.parametrize("latents", [0, 8])
def test_padded_constituents_change_nothing(latents):
    torch.manual_seed(0)
    encoder = ObservedJetEncoder(3, 5, dim=32, heads=4, blocks=1, latents=latents)
    denoiser = EDMPrecond(VIPRDenoiser(encoder, blocks=2)).eval()
    x, mask, obs, obs_mask, ctx = batch()
    sigma = torch.tensor([0.1, 1.0, 10.0])
    with torch.no_grad():
        ref = denoiser(x, sigma, mask=mask, observed=obs, observed_mask=obs_mask, context=ctx)
        # more padding, filled with garbage, in both the noisy cloud and the observed cloud
        wide = denoiser(
            pad(x, 5, 7.0),
            sigma,
            mask=pad(mask, 5, False),
            observed=pad(obs, 9, -3.0),
            observed_mask=pad(obs_mask, 9, False),
            context=ctx,
        )
    torch.testing.assert_close(wide[:, :7], ref, rtol=1e-5, atol=1e-5)
    assert not wide[:, 7:].any() and not ref[~mask].any()
    encoder = ObservedJetEncoder(3, 5, dim=32, heads=4, blocks=1, latents=latents)
    multiplicity = MultiplicityModel(encoder, max_count=20).eval()
    with torch.no_grad():
        a = multiplicity(obs, obs_mask, ctx).logits
        b = multiplicity(pad(obs, 9, 5.0), pad(obs_mask, 9, False), ctx).logits
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_multiplicity_is_always_within_range():
    torch.manual_seed(1)
    model = MultiplicityModel(ObservedJetEncoder(3, 5, dim=16, heads=2, blocks=1), max_count=12)
    _, _, obs, obs_mask, ctx = batch()
    with torch.no_grad():
        counts = model(obs, obs_mask, ctx).sample((2000,))
    assert counts.min() >= 0 and counts.max() <= 12 and len(counts.unique()) > 5  # 0 … 12: a jet may need none
    d = model(obs, obs_mask, ctx)
    assert torch.isfinite(d.log_prob(torch.tensor([0, 6, 12]))).all()
    seeded = [d.sample_with(torch.Generator().manual_seed(3)) for _ in range(2)]
    torch.testing.assert_close(seeded[0], seeded[1])  # the same generator seed, the same counts


def test_particle_classifier_scores_every_particle_and_ignores_padding():
    from hepgen.models.vipr import ParticleClassifier

    torch.manual_seed(2)
    model = ParticleClassifier(ObservedJetEncoder(3, 5, dim=16, heads=2, blocks=1)).eval()
    _, _, obs, obs_mask, ctx = batch()
    with torch.no_grad():
        logits = model(obs, obs_mask, ctx)
        wide = model(
            torch.cat([obs, torch.full((obs.shape[0], 4, obs.shape[2]), 9.0)], 1),
            torch.cat([obs_mask, torch.zeros(obs.shape[0], 4, dtype=torch.bool)], 1),
            ctx,
        )
    assert logits.shape == obs_mask.shape and not logits[~obs_mask].any()
    torch.testing.assert_close(wide[:, : obs.shape[1]], logits, rtol=1e-5, atol=1e-5)
