"""The optimal-transport coupling of flow matching within each set: the exact minimum against a brute force over
every permutation, padding untouched, the noise's marginal unchanged (a permutation of the same points), and a
flow-matching loss that trains with it; EDM refuses it."""

from __future__ import annotations

import itertools

import pytest
import torch

from hepgen.models.flow_matching import FlowMatchingLoss, FlowMatchingPrecond
from hepgen.models.ot_coupling import assignment_cost, ot_paired_noise


def test_the_pairing_is_the_minimum_over_every_permutation_and_leaves_padding():
    g = torch.Generator().manual_seed(0)
    noise, data = torch.randn(3, 6, 2, generator=g), torch.randn(3, 6, 2, generator=g)
    mask = torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0]], dtype=torch.bool)
    paired = ot_paired_noise(noise, data, mask)
    for b in range(3):
        real = mask[b].nonzero().squeeze(1)
        best = min(
            ((noise[b, real[list(p)]] - data[b, real]) ** 2).sum().item()
            for p in itertools.permutations(range(len(real)))
        )
        assert assignment_cost(paired[b : b + 1], data[b : b + 1], mask[b : b + 1]).item() == pytest.approx(
            best, rel=1e-6
        )
        # the same noise points, only reordered among the real ones; padding as it was
        got = sorted(map(tuple, paired[b, real].tolist()))
        assert got == sorted(map(tuple, noise[b, real].tolist()))
        assert torch.equal(paired[b, ~mask[b]], noise[b, ~mask[b]])
    assert (assignment_cost(paired, data, mask) <= assignment_cost(noise, data, mask) + 1e-9).all()


class _Velocity(torch.nn.Module):
    """A per-point velocity network (permutation-equivariant)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(3, 32), torch.nn.GELU(), torch.nn.Linear(32, 2))

    def forward(self, x, c_noise, *, mask):
        return self.net(torch.cat([x, c_noise[:, None, None].expand(-1, x.shape[1], 1)], dim=-1))


def test_flow_matching_trains_with_the_ot_coupling_and_edm_refuses_it():
    from hepgen.errors import HepgenInputError
    from hepgen.tasks.pileup import VIPRModel

    torch.manual_seed(1)
    model = FlowMatchingPrecond(_Velocity())
    y = torch.randn(16, 8, 2) * 0.3 + torch.tensor([1.0, -1.0])
    mask = torch.ones(16, 8, dtype=torch.bool)
    mask[:, 6:] = False
    loss_fn = FlowMatchingLoss(coupling="ot")
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for step in range(60):
        opt.zero_grad()
        loss = loss_fn(model, y, mask=mask, generator=torch.Generator().manual_seed(step))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) < sum(losses[:10])  # it learns
    with pytest.raises(HepgenInputError, match="flow_matching"):
        VIPRModel(dim=16, heads=2, blocks=1, encoder_blocks=1, coupling="ot")  # EDM's σ-noise has no pairing here
    vipr = VIPRModel(dim=16, heads=2, blocks=1, encoder_blocks=1, objective="flow_matching", coupling="ot")
    assert vipr.denoiser_loss.coupling == "ot" and vipr.config["coupling"] == "ot"  # saved with the model
