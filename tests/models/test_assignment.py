"""The jet-assignment pieces (hepgen.models.assignment): distinct draws with the probabilities they should have, the
cross-entropy of known labels only, and the uncertainty weight."""

from __future__ import annotations

import math

import torch

from hepgen.models.assignment import known_cross_entropy, sample_distinct_jets, uncertainty_weighted


def test_distinct_draws_follow_the_renormalised_probabilities():
    # one event, three jets: output 0 (the b) is jet 0 with 0.6, jet 1 with 0.4; output 1 (the b̄) 0.5 / 0.3 / 0.2
    p = torch.tensor([[[0.6, 0.5], [0.4, 0.3], [0.0, 0.2]]])
    n = 40_000
    draws = sample_distinct_jets(p, n, torch.Generator().manual_seed(3))[0]
    assert (draws[:, 0] != draws[:, 1]).all() and (draws[:, 0] != 2).all()
    # hand computation: P(b̄ = 2) = 0.6 · 0.2/0.5 + 0.4 · 0.2/0.7 = 0.3543; P(b̄ = 1 | b = 0) = 0.3/0.5 = 0.6
    frequency = (draws[:, 1] == 2).float().mean().item()
    assert abs(frequency - 0.3543) < 5 * math.sqrt(0.3543 * 0.6457 / n)
    given = draws[draws[:, 0] == 0]
    share = (given[:, 1] == 1).float().mean().item()
    assert abs(share - 0.6) < 5 * math.sqrt(0.24 / len(given))
    # an event with a single jet: the second output has none left
    single = sample_distinct_jets(torch.tensor([[[1.0, 1.0]]]), 5)[0]
    assert (single[:, 0] == 0).all() and (single[:, 1] == -1).all()


def test_unknown_labels_do_not_count_and_the_weight_is_kendalls():
    logits = torch.tensor([[2.0, 0.0, float("-inf")], [0.0, 1.0, 0.0]])
    # only the first event's label is known: −log softmax(2, 0)[0] = log(1 + e⁻²) = 0.1269
    ce = known_cross_entropy(logits, torch.tensor([0, -1]))
    assert abs(ce.item() - math.log1p(math.exp(-2))) < 1e-6
    assert known_cross_entropy(logits, torch.tensor([-1, -1])).item() == 0.0
    s = torch.tensor(math.log(4.0))  # σ² = 4: nll + CE/4 + ½ ln 4
    assert (
        abs(uncertainty_weighted(torch.tensor(1.0), torch.tensor(2.0), s).item() - (1 + 0.5 + 0.5 * math.log(4))) < 1e-6
    )
