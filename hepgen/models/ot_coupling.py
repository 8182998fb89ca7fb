"""Optimal-transport couplings of noise and data for flow matching on point clouds (Pooladian et al. 2023; Tong et
al. 2024, "minibatch OT"), within each set.

VIPR generates a set per observed jet, so noise cannot be re-paired *across* jets (each target belongs to its own
observed jet); but the noise points *of one set* are i.i.d. and the network is permutation-equivariant, so any
permutation of them is an equally valid draw. :func:`ot_paired_noise` chooses, per set, the permutation that
minimises the summed squared distance to the data points (the exact assignment, Hungarian algorithm: scipy's
``linear_sum_assignment``): the straight paths from noise to data cross less, the velocity field the network
learns is smoother, and fewer integration steps may reach the same quality. The marginal of the noise is unchanged.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

__all__ = ["COUPLINGS", "ot_paired_noise", "assignment_cost", "assignment_order", "matched"]

#: The noise–data couplings of flow matching: independent draws, or the exact assignment within each set.
COUPLINGS = ("independent", "ot")


def assignment_cost(noise: Tensor, data: Tensor, mask: Tensor) -> Tensor:
    """Σ over each set's real points of ‖noise − data‖² ``[B]``."""
    return (((noise - data) ** 2).sum(dim=-1) * mask).sum(dim=1)


@torch.no_grad()
def assignment_order(points: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """Per set, the index ``[B, N]`` of the point assigned to each target: ``points.gather(1, order)`` lines the
    points ``[B, N, D]`` up with ``targets`` ``[B, N, D]`` at the minimum summed squared distance over each set's
    real entries (``mask`` ``[B, N]``; the exact assignment, scipy's ``linear_sum_assignment``); padded entries keep
    their own index."""
    points_np = points.detach().cpu().double().numpy()
    targets_np = targets.detach().cpu().double().numpy()
    mask_np = mask.cpu().numpy()
    order = np.tile(np.arange(points.shape[1]), (points.shape[0], 1))
    for b in range(points.shape[0]):
        real = np.flatnonzero(mask_np[b])
        if len(real) < 2:
            continue
        cost = ((points_np[b, real][:, None, :] - targets_np[b, real][None, :, :]) ** 2).sum(-1)  # [point, target]
        rows, cols = linear_sum_assignment(cost)
        order[b, real[cols]] = real[rows]  # the point assigned to each target
    return torch.as_tensor(order, device=points.device)


def matched(points: Tensor, order: Tensor) -> Tensor:
    """``points`` ``[B, N, D]`` reordered by :func:`assignment_order` (differentiable in ``points``)."""
    return points.gather(1, order[..., None].expand(-1, -1, points.shape[-1]))


@torch.no_grad()
def ot_paired_noise(noise: Tensor, data: Tensor, mask: Tensor) -> Tensor:
    """``noise`` ``[B, N, D]`` permuted within each set's real points (``mask`` ``[B, N]``) so that it is the
    minimum-cost assignment to ``data`` ``[B, N, D]``; padded entries are returned unchanged."""
    return matched(noise, assignment_order(noise, data, mask))
