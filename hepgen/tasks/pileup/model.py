"""The VIPR model: EDM (or flow-matching) preconditioning around the VIPR denoiser — self-attention over the noisy
cloud, cross-attention to the observed cloud — and a categorical multiplicity model sampled first; the clouds and the
context are standardised inside the model."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from hepgen.errors import HepgenInputError, one_of
from hepgen.models.configured import ConfiguredModel
from hepgen.models.edm import EDMLoss, EDMPrecond
from hepgen.models.flow_matching import FlowMatchingLoss, FlowMatchingPrecond
from hepgen.models.vipr import MultiplicityModel, ObservedJetEncoder, VIPRDenoiser
from hepgen.nn import MaskedStandardizer
from hepgen.nn.set_blocks import block_options
from hepgen.tasks.pileup.inputs import CONSTITUENT_FEATURES, OBSERVED_FEATURES, JetBatch, context_features
from hepgen.tasks.pileup.sampling import integrate, sample_clouds, sampling_defaults

__all__ = ["OBJECTIVES", "VIPRModel"]

#: Training objectives of the denoiser: EDM diffusion, or conditional flow matching on straight paths (the same
#: network; both sample with EDM's samplers, see :mod:`hepgen.models.flow_matching`).
OBJECTIVES = ("edm", "flow_matching")


class VIPRModel(ConfiguredModel):
    """EDM denoiser + multiplicity model with in-model standardisation of clouds and context."""

    def __init__(
        self,
        *,
        objective: str = "edm",
        dim: int = 64,
        heads: int = 4,
        blocks: int = 3,
        encoder_blocks: int = 2,
        latents: int = 0,
        block: str = "transformer",
        mod_capacity: float = 0.5,
        param_tokens: int = 64,
        coupling: str = "independent",
        max_hard: int = 128,
        detector: str = "none",
        track_losses: list[float] | None = None,
        saved_with: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(locals())
        self.objective = one_of(OBJECTIVES, objective, "VIPR objective")
        self.context_features = context_features(detector, track_losses)
        n_f, n_o, n_c = len(CONSTITUENT_FEATURES), len(OBSERVED_FEATURES), len(self.context_features)
        self.observed_standardizer = MaskedStandardizer(n_o)
        self.hard_standardizer = MaskedStandardizer(n_f)
        self.context_standardizer = MaskedStandardizer(n_c)
        encoder = {"dim": dim, "heads": heads, "blocks": encoder_blocks, "latents": latents, "block": block}
        encoder |= block_options(block, mod_capacity, param_tokens)
        network = VIPRDenoiser(ObservedJetEncoder(n_o, n_c, **encoder), features=n_f, blocks=blocks)
        self.denoiser = EDMPrecond(network, sigma_data=1.0) if objective == "edm" else FlowMatchingPrecond(network)
        self.multiplicity = MultiplicityModel(ObservedJetEncoder(n_o, n_c, **encoder), max_count=max_hard)
        if coupling != "independent" and objective != "flow_matching":
            raise HepgenInputError(
                f"--coupling {coupling} pairs noise and data of flow matching: use --objective flow_matching"
            )
        self.denoiser_loss = EDMLoss(sigma_data=1.0) if objective == "edm" else FlowMatchingLoss(coupling=coupling)

    def fit_standardization(self, batch: JetBatch) -> None:
        t = batch.to_torch()
        self.observed_standardizer.fit(t.observed, t.observed_mask)
        self.hard_standardizer.fit(t.hard, t.hard_mask)
        self.context_standardizer.fit(t.context)

    def conditioning(self, batch: JetBatch) -> tuple[Tensor, Tensor, Tensor]:
        """The standardised (observed ``[B, M, 5]``, observed mask ``[B, M]``, context ``[B, C]``) of a batch."""
        obs = self.observed_standardizer(batch.observed, batch.observed_mask)
        return obs, batch.observed_mask, self.context_standardizer(batch.context)

    def loss(self, batch: JetBatch, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """(denoising loss — EDM's or flow matching's —, multiplicity negative log-likelihood) of a training batch."""
        obs, obs_mask, ctx = self.conditioning(batch)
        hard = self.hard_standardizer(batch.hard, batch.hard_mask)
        paired = {} if batch.noise is None else {"noise": batch.noise}  # distillation: the teacher's noise
        diffusion = self.denoiser_loss(
            self.denoiser,
            hard,
            mask=batch.hard_mask,
            generator=generator,
            observed=obs,
            observed_mask=obs_mask,
            context=ctx,
            **paired,
        )
        counts = batch.hard_mask.sum(dim=1).clamp(0, self.multiplicity.max_count)
        nll = -self.multiplicity(obs, obs_mask, ctx).log_prob(counts).mean()
        return diffusion, nll

    # -- the parts :func:`sample_clouds` samples with (also provided by :class:`OnnxVIPR`) --------------------------
    def count_probabilities(self, conditioning: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        """p(n constituents to generate) ``[B, max_hard + 1]``."""
        return self.multiplicity(*conditioning).probs

    def encode(self, conditioning: tuple[Tensor, Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        """The denoiser's encoding of the observed jet ``[B, K, dim]`` and its mask ``[B, K]`` (once per jet)."""
        return self.denoiser.network.encoder(*conditioning)

    def destandardize(self, x: Tensor) -> Tensor:
        """Standardised generated constituents → (Δη, Δφ, log pT)."""
        return self.hard_standardizer.inverse(x)

    @torch.no_grad()
    def sample(self, batch: JetBatch, samples: int, **options: Any) -> tuple[Tensor, Tensor]:
        """``samples`` generated clouds per jet: (Δη, Δφ, log pT) ``[B·K, N, 3]`` and masks ``[B·K, N]`` (jet-major);
        ``options`` (steps, sampler, schedule, churn, generator) as :func:`~hepgen.tasks.pileup.sampling.
        sample_clouds`, the model's defaults (:meth:`sampling_defaults`) where not given."""
        return sample_clouds(self, batch, samples, **options)

    def sampling_defaults(self) -> tuple[str, str, int]:
        """(sampler, schedule, steps) this model samples with unless told otherwise: a distilled student's
        (:data:`STUDENT_SAMPLING`), else its objective's."""
        return sampling_defaults(self.objective, self.saved_with)

    @torch.no_grad()
    def solve(
        self,
        conditioning: tuple[Tensor, Tensor, Tensor],
        noise: Tensor,
        mask: Tensor,
        *,
        encoded: tuple[Tensor, Tensor] | None = None,
        **sampling: Any,
    ) -> Tensor:
        """The standardised clouds ``[B, N, 3]`` the sampler reaches from unit ``noise`` ``[B, N, 3]`` for the
        standardised ``conditioning`` and ``mask`` (``encoded``: its encoding, if already computed); ``sampling``:
        steps, sampler, schedule (and churn, generator) as :func:`~hepgen.tasks.pileup.sampling.integrate`."""
        encoded = self.encode(conditioning) if encoded is None else encoded
        return integrate(self.denoiser, noise, mask, conditioning, encoded, **sampling)
