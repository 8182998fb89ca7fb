"""Which jet is which b: a per-jet softmax over the encoder's jet tokens, trained beside the flow with an uncertainty
weight, and sampled so that a posterior marginalises over the b-jet choice.

One head gives ``outputs`` logits per jet (ℓ+jets: the leptonic b; dilepton: the top's b and the antitop's b̄). Its
cross-entropy joins the flow's negative log-likelihood as e^{−s}·CE + ½s with a learned s = log σ² (Kendall, Gal,
Cipolla 2018), so neither loss needs a hand-set weight.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = [
    "assignment_mlp",
    "masked_jet_logits",
    "known_cross_entropy",
    "uncertainty_weighted",
    "sample_distinct_jets",
]


def assignment_mlp(dim: int, outputs: int = 1) -> nn.Sequential:
    """The head on each jet token ``[..., dim]`` → ``[..., outputs]`` logits."""
    return nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, outputs))


def masked_jet_logits(head: nn.Module, jet_tokens: Tensor, jet_mask: Tensor) -> Tensor:
    """The head's logits ``[B, N, outputs]`` of the jet tokens ``[B, N, dim]``, −inf for padding ``[B, N]``."""
    return head(jet_tokens).masked_fill(~jet_mask[..., None], float("-inf"))


def known_cross_entropy(logits: Tensor, labels: Tensor) -> Tensor:
    """Mean cross-entropy of the jet ``labels`` ``[B]`` (−1: not known, e.g. the b quark matched no jet, excluded)
    under ``logits`` ``[B, N]``; 0 (with a gradient path) when none is known."""
    known = labels >= 0
    if not known.any():
        return logits.nan_to_num(0.0, neginf=0.0).sum() * 0.0
    return nn.functional.cross_entropy(logits[known], labels[known], reduction="sum") / known.sum()


def uncertainty_weighted(nll: Tensor, cross_entropy: Tensor, log_variance: Tensor) -> Tensor:
    """nll + e^{−s}·CE + ½s: a classification's homoscedastic uncertainty weight."""
    return nll + torch.exp(-log_variance) * cross_entropy + 0.5 * log_variance


def sample_distinct_jets(probabilities: Tensor, n: int, generator: torch.Generator | None = None) -> Tensor:
    """``n`` draws per event of one jet per output, all different ``[B, n, K]`` from per-output probabilities
    ``[B, N, K]``: output 0 from its own, each next from its own renormalised over the jets not yet drawn (an event
    with fewer than K jets with probability gets −1 where none is left)."""
    batch, jets, outputs = probabilities.shape
    p = probabilities.permute(0, 2, 1)[:, None].expand(batch, n, outputs, jets).reshape(batch * n, outputs, jets)
    taken = torch.zeros(batch * n, jets, dtype=torch.bool, device=probabilities.device)
    draws = []
    for k in range(outputs):
        weights = p[:, k].masked_fill(taken, 0.0)
        empty = weights.sum(-1) <= 0
        choice = torch.multinomial(weights.masked_fill(empty[:, None], 1.0), 1, generator=generator).squeeze(-1)
        choice = choice.masked_fill(empty, -1)
        taken |= nn.functional.one_hot(choice.clamp_min(0), jets).bool() & ~empty[:, None]
        draws.append(choice)
    return torch.stack(draws, -1).reshape(batch, n, outputs)
