"""The neutrino posterior of a block of events: samples, their median and mode, the b-jet assignment."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor

from hepgen.tasks.epistemic import epistemic_share
from hepgen.tasks.events import targets_to_momentum
from hepgen.tasks.neutrino.features import NeutrinoArrays

__all__ = ["NeutrinoSampler", "posterior_outputs"]


class NeutrinoSampler(Protocol):
    """What :func:`posterior_outputs` samples from: a :class:`~hepgen.tasks.neutrino.model.NeutrinoModel` or its
    ONNX runner (:class:`~hepgen.tasks.neutrino.export.OnnxNeutrinoSampler`)."""

    point_estimate: bool
    has_assignment: bool

    def sample(
        self, objects: dict[str, Tensor], masks: dict[str, Tensor], n: int, *, with_log_prob: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]: ...

    def assignment_probability(self, objects: dict[str, Tensor], masks: dict[str, Tensor]) -> Tensor: ...


def posterior_outputs(
    predictor: Any, arrays: NeutrinoArrays, *, samples: int, seed: int, batch_size: int = 512, device: str = "cpu"
) -> dict[str, np.ndarray]:
    """The posterior of the events of ``arrays`` from a trained model (or its ONNX runner), the random stream seeded
    by ``seed``: ``point`` (the median, px, py, pz [GeV]) ``[B, 3]``, ``samples`` ``[B, S, 3]`` and ``mode`` (the most
    likely sample, ν-Flows' estimate) ``[B, 3]`` for probabilistic models, ``assignment_probability`` ``[B, N_jets]``
    with the jet-assignment head; with several network draws (:class:`~hepgen.tasks.epistemic.EpistemicSampler`)
    ``epistemic_share`` ``[B, 3]``, the share of each component's variance between the draws."""
    torch.manual_seed(seed)
    draws, modes, assignment = [], [], []
    n = 1 if predictor.point_estimate else samples
    for part in arrays.batches(batch_size):
        objects, masks = part.tensors(device)
        drawn, log_prob = predictor.sample(objects, masks, n, with_log_prob=True)
        momentum = targets_to_momentum(drawn)
        draws.append(momentum.cpu().numpy())
        best = log_prob.argmax(dim=1)  # the most likely of the samples (ν-Flows' mode estimate)
        modes.append(momentum[torch.arange(len(best), device=best.device), best].cpu().numpy())
        if predictor.has_assignment:
            assignment.append(predictor.assignment_probability(objects, masks).cpu().numpy())
    sample_array = np.concatenate(draws) if draws else np.zeros((0, n, 3), np.float32)
    outputs = {"point": np.median(sample_array, axis=1).astype(np.float32)}
    if not predictor.point_estimate:
        outputs["samples"] = sample_array.astype(np.float32)
        if getattr(predictor, "draws", 1) > 1:  # an ensemble or stochastic passes: the epistemic share of the variance
            outputs["epistemic_share"] = epistemic_share(sample_array, predictor.draws).astype(np.float32)
        outputs["mode"] = (np.concatenate(modes) if modes else np.zeros((0, 3))).astype(np.float32)
    if predictor.has_assignment:
        width = arrays.masks["jets"].shape[1]
        outputs["assignment_probability"] = (np.concatenate(assignment) if assignment else np.zeros((0, width))).astype(
            np.float32
        )
    return outputs
