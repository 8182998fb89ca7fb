"""The building blocks of hepgen.nn on padded sets: padding never changes a real entry's output, permuting the set
permutes the output (or leaves a pooled output unchanged), and every parameter receives a gradient.

Tolerances: float32 attention sums in another order once rows are permuted or padded (≈ 1e-7 relative per
operation, a few hundred operations): 1e-5 absolute on outputs of order one."""

from __future__ import annotations

import pytest
import torch

from hepgen.nn import (
    ClassAttentionPooling,
    CrossAttentionBlock,
    FourierEmbedding,
    LatentSetEncoder,
    MaskedStandardizer,
    ObjectSetEncoder,
    TransformerBlock,
)

TOL = {"rtol": 1e-5, "atol": 1e-5}
B, N, D = 3, 7, 16


def padded_set(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of sets ``[B, N, D]`` with 7, 4 and 1 real entries; padding filled with garbage."""
    x = torch.randn(B, N, D, generator=generator)
    mask = torch.arange(N)[None, :] < torch.tensor([7, 4, 1])[:, None]
    return x.masked_fill(~mask[..., None], 9.0), mask


def gradients_reach_every_parameter(module: torch.nn.Module, output: torch.Tensor) -> None:
    output.square().sum().backward()
    missing = [name for name, p in module.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, missing


@pytest.mark.parametrize("block", ["self", "cross", "latent"])
def test_sets_are_permutation_equivariant_and_blind_to_padding(block):
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    x, mask = padded_set(generator)
    memory, memory_mask = padded_set(generator)
    module = {
        "self": lambda: TransformerBlock(D, 4),
        "cross": lambda: CrossAttentionBlock(D, 4),
        "latent": lambda: LatentSetEncoder(D, 4, latents=5),
    }[block]().eval()

    def run(x, mask, memory, memory_mask):
        if block == "self":
            return module(x, mask)
        if block == "cross":
            return module(x, memory, memory_mask, mask)
        return module(x, mask)

    reference = run(x, mask, memory, memory_mask)
    permutation = torch.randperm(N, generator=generator)
    permuted = run(x[:, permutation], mask[:, permutation], memory[:, permutation], memory_mask[:, permutation])
    if block == "latent":  # a set → a fixed set of latents: invariant
        torch.testing.assert_close(permuted, reference, **TOL)
    else:  # equivariant on the real entries
        torch.testing.assert_close(
            permuted[mask[:, permutation]], reference[:, permutation][mask[:, permutation]], **TOL
        )
    wider = torch.cat([x, torch.full((B, 3, D), -4.0)], 1), torch.cat([mask, torch.zeros(B, 3, dtype=torch.bool)], 1)
    more = run(*wider, memory, memory_mask)
    torch.testing.assert_close(
        more if block == "latent" else more[:, :N][mask], reference if block == "latent" else reference[mask], **TOL
    )
    module.train()
    gradients_reach_every_parameter(
        module, run(x, mask, memory, memory_mask) * (mask[..., None] if block != "latent" else 1)
    )


def test_class_attention_pools_sets_invariantly():
    generator = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    x, mask = padded_set(generator)
    pool = ClassAttentionPooling(D, 4).eval()
    reference = pool(x, mask)
    assert reference.shape == (B, D)
    permutation = torch.randperm(N, generator=generator)
    torch.testing.assert_close(pool(x[:, permutation], mask[:, permutation]), reference, **TOL)
    torch.testing.assert_close(pool(x.masked_fill(~mask[..., None], -7.0), mask), reference, **TOL)
    pool.train()
    gradients_reach_every_parameter(pool, pool(x, mask))


def test_masked_standardizer_ignores_padding_and_inverts():
    values = torch.tensor([[[1.0, 10.0], [3.0, 30.0], [99.0, -99.0]]])
    mask = torch.tensor([[True, True, False]])
    std = MaskedStandardizer(2).fit(values, mask)
    torch.testing.assert_close(std.mean, torch.tensor([2.0, 20.0]))  # the real entries only
    root2 = 2.0**0.5  # the sample σ (n − 1) of (1, 3) and of (10, 30): √2 and 10√2
    torch.testing.assert_close(std.std, torch.tensor([root2, 10 * root2]))
    out = std(values, mask)
    torch.testing.assert_close(out[0, :2], torch.tensor([[-1.0, -1.0], [1.0, 1.0]]) / root2)
    assert not out[0, 2].any()  # padding stays zero
    torch.testing.assert_close(std.inverse(out)[0, :2], values[0, :2])


def test_fourier_embedding_and_object_set_encoder():
    torch.manual_seed(2)
    embedding = FourierEmbedding(8)
    e = embedding(torch.tensor([0.0, 1.0, -2.0]))
    assert e.shape == (3, 8) and torch.isfinite(e).all() and not torch.allclose(e[0], e[1])
    features = {"lepton": ("a", "b"), "jets": ("a", "b", "c")}
    encoder = ObjectSetEncoder(features, dim=D, heads=4, layers=1).eval()
    generator = torch.Generator().manual_seed(3)
    objects = {"lepton": torch.randn(B, 1, 2, generator=generator), "jets": torch.randn(B, 5, 3, generator=generator)}
    masks = {
        "lepton": torch.ones(B, 1, dtype=torch.bool),
        "jets": torch.arange(5)[None, :] < torch.tensor([5, 3, 2])[:, None],
    }
    encoder.fit_standardization(objects, masks)
    reference = encoder(objects, masks)
    permutation = torch.tensor([4, 2, 0, 1, 3])
    permuted = {"lepton": objects["lepton"], "jets": objects["jets"][:, permutation]}
    torch.testing.assert_close(
        encoder(permuted, {"lepton": masks["lepton"], "jets": masks["jets"][:, permutation]}), reference, **TOL
    )
    garbage = {"lepton": objects["lepton"], "jets": objects["jets"].masked_fill(~masks["jets"][..., None], 5.0)}
    torch.testing.assert_close(encoder(garbage, masks), reference, **TOL)
    encoder.train()
    gradients_reach_every_parameter(encoder, encoder(objects, masks))
