"""The total predictive distribution of an event model: posterior samples drawn from several draws of the network.

A network draw is one member of a deep ensemble (``predict --run A --ensemble B C``: models of the same task trained
with different seeds) and, for a model trained with dropout or a Bayesian layer, one stochastic pass
(``--mc-dropout N``: N dropout masks or weight draws, :func:`hepgen.nn.epistemic.stochastic_pass`). Every draw
contributes ``samples / draws`` posterior samples, so the samples are those of the equal-weight mixture over draws:
aleatoric (each draw's posterior) and epistemic (the spread between draws) together. By the law of total variance,
Var = E_draw[Var] + Var_draw[E]: :func:`epistemic_share` is the second term's share per component.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hepgen.errors import HepgenInputError
from hepgen.nn.epistemic import is_stochastic, stochastic_pass

__all__ = ["EpistemicSampler", "epistemic_share"]


class EpistemicSampler:
    """Samples ``members`` (trained models of one task) × ``passes`` stochastic passes each, as one predictor with the
    model's sampling interface (``sample``, ``assignment_probability``, ``config``, ``has_assignment``)."""

    def __init__(self, members: Sequence[Any], passes: int = 1) -> None:
        if passes < 1:
            raise HepgenInputError(f"--mc-dropout must be at least 1, not {passes}")
        if passes > 1:
            plain = [i for i, m in enumerate(members) if not is_stochastic(m)]
            if plain:
                raise HepgenInputError(
                    f"--mc-dropout {passes}: model(s) {plain} have neither dropout nor a Bayesian layer, so every pass "
                    "would be the same; train with --dropout P or --bayesian"
                )
        first = members[0]
        for key in ("inputs", "head"):
            values = {m.config.get(key) for m in members}
            if len(values) > 1:
                raise HepgenInputError(f"the ensemble's models differ in {key}: {sorted(map(str, values))}")
        self.members, self.passes = list(members), passes
        self.config = first.config
        self.has_assignment = all(getattr(m, "has_assignment", False) for m in members)
        # several draws of a point regressor (an MSE ensemble) are a distribution: the spread between the members
        self.point_estimate = False
        self.head_kind = getattr(first, "head_kind", "flow")

    @property
    def draws(self) -> int:
        """Network draws per event: members × passes."""
        return len(self.members) * self.passes

    def _each_draw(self):
        for member in self.members:
            for _ in range(self.passes):
                with stochastic_pass(member) if self.passes > 1 else nullcontext():
                    yield member

    @torch.no_grad()
    def sample(
        self, objects: dict[str, Tensor], masks: dict[str, Tensor], n: int, *, with_log_prob: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """``n`` samples per event ``[B, n, D]`` in blocks of ``n / draws``, one block per network draw (members in
        order, then passes); with ``with_log_prob`` each sample's log density under the draw that made it."""
        if n % self.draws:
            raise HepgenInputError(
                f"--samples {n} is not a multiple of the network draws ({len(self.members)} models × {self.passes} "
                "passes): every draw gives the same number of samples"
            )
        parts = [
            member.sample(objects, masks, n // self.draws, with_log_prob=with_log_prob) for member in self._each_draw()
        ]
        if not with_log_prob:
            return torch.cat(parts, dim=1)
        return torch.cat([p[0] for p in parts], dim=1), torch.cat([p[1] for p in parts], dim=1)

    @torch.no_grad()
    def assignment_probability(self, objects: dict[str, Tensor], masks: dict[str, Tensor]) -> Tensor:
        """The jet-assignment probabilities averaged over the network draws."""
        probabilities = [member.assignment_probability(objects, masks) for member in self._each_draw()]
        return torch.stack(probabilities).mean(dim=0)


def epistemic_share(samples: np.ndarray, draws: int) -> np.ndarray:
    """Var_draw[E] / Var of each component ``[B, ...]`` from samples ``[B, S, ...]`` drawn in ``draws`` equal blocks
    (:meth:`EpistemicSampler.sample`): 0 when every draw has the same mean, → 1 when the draws are sharp and apart."""
    B, S = samples.shape[:2]
    grouped = samples.reshape(B, draws, S // draws, *samples.shape[2:]).astype(np.float64)
    between = grouped.mean(axis=2).var(axis=1)
    total = samples.astype(np.float64).var(axis=1)
    return np.divide(between, total, out=np.zeros_like(total), where=total > 0)
