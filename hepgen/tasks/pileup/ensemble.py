"""A deep ensemble of VIPR models (``hepgen predict pileup --run A --ensemble B C``): each jet's posterior samples are
drawn from the members in equal shares, so they are samples of the equal-weight mixture — each member's posterior
(aleatoric) and the spread between the members (epistemic) together. The members must be trained for the same
input, target, context features and tower pass-through (the seeds of one training setup)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from hepgen.errors import HepgenInputError
from hepgen.tasks.pileup.inputs import JetBatch

__all__ = ["VIPREnsemble", "MUST_AGREE"]

#: What every member must have been trained with (``saved_with``): what the prediction feeds them and what they give.
MUST_AGREE = (
    "input",
    "target",
    "detector",
    "recluster",
    "radius",
    "passthrough_pt",
    "tower_passthrough_pt",
    "inefficiencies",
    "track_losses",
)


class VIPREnsemble:
    """Trained VIPR models sampled as one: the interface of :class:`~hepgen.tasks.pileup.model.VIPRModel` that
    prediction uses (``saved_with``, ``context_features``, ``sampling_defaults``, ``sample``)."""

    def __init__(self, members: Sequence[Any]) -> None:
        first = members[0]
        for key in MUST_AGREE:
            values = {repr(m.saved_with.get(key)) for m in members}
            if len(values) > 1:
                raise HepgenInputError(f"the ensemble's models were trained with different {key}: {sorted(values)}")
        if any(not hasattr(m, "sample") or m.saved_with.get("task") != first.saved_with.get("task") for m in members):
            raise HepgenInputError("an ensemble needs generative pileup models (VIPR) of one task")
        self.members = list(members)
        self.saved_with = first.saved_with
        self.context_features = first.context_features

    def sampling_defaults(self) -> tuple[str, str, int]:
        return self.members[0].sampling_defaults()

    def sample(self, batch: JetBatch, samples: int, **options: Any) -> tuple[Tensor, Tensor]:
        """``samples`` clouds per jet ``[B·K, N, 3]`` with masks ``[B·K, N]`` (jet-major, as a model's): the first
        ``samples / members`` of each jet from the first member, and so on (one random stream, in member order)."""
        k = len(self.members)
        if samples % k:
            raise HepgenInputError(f"--samples {samples} is not a multiple of the ensemble's {k} models")
        parts = [member.sample(batch, samples // k, **options) for member in self.members]
        width = max(cloud.shape[1] for cloud, _ in parts)
        jets = parts[0][0].shape[0] // (samples // k)

        def per_jet(tensor: Tensor) -> Tensor:  # [B·k, N, ...] → [B, k, width, ...] (zero padding)
            padded = torch.nn.functional.pad(tensor, (0, 0) * (tensor.dim() - 2) + (0, width - tensor.shape[1]))
            return padded.reshape(jets, samples // k, width, *tensor.shape[2:])

        clouds = torch.cat([per_jet(cloud) for cloud, _ in parts], dim=1)
        masks = torch.cat([per_jet(mask) for _, mask in parts], dim=1)
        return clouds.reshape(jets * samples, width, -1), masks.reshape(jets * samples, width)
