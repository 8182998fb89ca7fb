"""Mixture-of-Depths and TokenFormer blocks (issue 30): shapes and masks, permutation equivariance, gradients that
reach every parameter; MoD at capacity 1 is the plain block and routes exactly its share otherwise; Pattention
against a hand computation; a grown TokenFormer gives the small one's output and its new tokens learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hepgen.nn.attention import TransformerBlock
from hepgen.nn.mixture_of_depths import MixtureOfDepths, routed_tokens
from hepgen.nn.tokenformer import Pattention, TokenFormerBlock


def _sets(seed: int = 0, B: int = 4, N: int = 9, D: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, N, D, generator=g)
    lengths = torch.tensor([9, 5, 1, 7])[:B]
    mask = torch.arange(N)[None, :] < lengths[:, None]
    return x * mask[..., None], mask


def test_routed_tokens_are_the_top_share_of_the_real_ones():
    scores = torch.tensor([[0.1, 0.9, 0.5, 0.7, 5.0], [3.0, 1.0, 2.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, True, True, False], [True, True, True, False, False]])
    routed = routed_tokens(scores, mask, 0.5)  # ⌈0.5 × 4⌉ = 2 and ⌈0.5 × 3⌉ = 2; the padded 5.0 never
    assert routed.tolist() == [[False, True, False, True, False], [True, False, True, False, False]]
    assert routed_tokens(scores, torch.zeros_like(mask), 0.5).sum() == 0  # an empty set routes nothing


def test_mixture_of_depths_at_capacity_one_is_the_plain_block():
    torch.manual_seed(0)
    block = TransformerBlock(16, 4).eval()
    x, mask = _sets()
    mod = MixtureOfDepths(block, 16, capacity=1.0).eval()
    # x + (block(x) − x) rounds at float32: 1e-6 of values of order 1
    torch.testing.assert_close(mod(x, mask), block(x, mask), rtol=0, atol=1e-5)


def test_mixture_of_depths_updates_exactly_its_share_and_is_permutation_equivariant():
    torch.manual_seed(1)
    mod = MixtureOfDepths(TransformerBlock(16, 4), 16, capacity=0.4).eval()
    x, mask = _sets(seed=2)
    out = mod(x, mask)
    changed = (out != x).any(dim=-1)
    expected = torch.clamp(torch.ceil(mask.sum(dim=1) * 0.4), min=1).long()
    assert changed.sum(dim=1).tolist() == expected.tolist() and not changed[~mask].any()
    assert not out[~mask].any()  # padded outputs are zero
    perm = torch.tensor([4, 0, 8, 2, 6, 1, 7, 3, 5])  # set 0 has nine real tokens (_sets): permute them all
    torch.testing.assert_close(mod(x[:1, perm], mask[:1, perm]), out[:1, perm], rtol=0, atol=1e-5)


@pytest.mark.parametrize("make", ["mod", "tokenformer"])
def test_gradients_reach_every_parameter(make):
    torch.manual_seed(3)
    layer = MixtureOfDepths(TransformerBlock(16, 4), 16, capacity=0.5) if make == "mod" else TokenFormerBlock(16, 4)
    x, mask = _sets(seed=4)
    (layer(x, mask) ** 2).sum().backward()
    missing = [n for n, p in layer.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert not missing, missing


def test_pattention_is_the_reference_computation():
    torch.manual_seed(5)
    layer = Pattention(6, 3, tokens=5)
    x = torch.randn(4, 6, dtype=torch.float64)
    keys, values = layer.keys.detach().double().numpy(), layer.values.detach().double().numpy()
    scores = x.numpy() @ keys.T
    scaled = scores / np.linalg.norm(scores, axis=1, keepdims=True) * math.sqrt(5)
    gelu = 0.5 * scaled * (1 + np.vectorize(math.erf)(scaled / math.sqrt(2)))  # GELU by its definition
    expected = gelu @ values
    np.testing.assert_allclose(layer.double()(x).detach().numpy(), expected, rtol=1e-10, atol=1e-12)


def test_the_tokenformer_block_masks_its_padding_and_is_permutation_equivariant():
    torch.manual_seed(6)
    block = TokenFormerBlock(16, 4, tokens=8).eval()
    x, mask = _sets(seed=7)
    out = block(x, mask)
    assert out.shape == x.shape and not out[~mask].any()
    garbage = x.clone()
    garbage[~mask] = 100.0  # padded slots are never read
    torch.testing.assert_close(block(garbage, mask), out)
    perm = torch.tensor([3, 1, 0, 2, 4])  # set 1 has five real tokens
    torch.testing.assert_close(block(x[1:2, perm], mask[1:2, perm]), out[1:2, perm], rtol=1e-5, atol=1e-6)


def test_a_grown_tokenformer_starts_from_the_small_ones_output_and_its_new_tokens_learn():
    torch.manual_seed(8)
    block = TokenFormerBlock(16, 4, tokens=8)
    x, mask = _sets(seed=9)
    target = torch.randn_like(x) * mask[..., None]
    small_loss = ((block(x, mask) - target) ** 2).mean()
    before = block(x, mask).detach()
    block.grow(4)
    assert block.query.tokens == 12 and block.feed_forward.tokens == 24
    # the small model's output: the new tokens add exact zeros, but a longer reduction may be summed in another order
    # on another CPU (seen on AMD EPYC: 7e-7 absolute on outputs of order 1), so float32 rounding, not exact equality
    torch.testing.assert_close(block(x, mask), before, rtol=1e-5, atol=1e-5)
    loss = ((block(x, mask) - target) ** 2).mean()
    assert loss.item() == pytest.approx(small_loss.item(), rel=1e-5)  # training continues from the small model's loss
    loss.backward()
    new_keys = block.query.keys.grad[8:]
    assert torch.any(new_keys != 0)  # the new tokens are not stuck at a stationary point
    optimizer = torch.optim.SGD(block.parameters(), lr=0.05)
    optimizer.step()
    assert ((block(x, mask) - target) ** 2).mean().item() < loss.item()
