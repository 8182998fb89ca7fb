"""The VIPR model: EDM (or flow-matching) preconditioning around the VIPR denoiser — self-attention over the noisy
cloud, cross-attention to the observed cloud — and a categorical multiplicity model sampled first; the clouds and the
context are standardised inside the model.

**Latent diffusion** (``latent_tokens > 0``): a set autoencoder (:class:`~hepgen.models.set_autoencoder.
SetAutoencoder`, trained first with ``objective="autoencoder"`` and then frozen) compresses each hard jet into
``latent_tokens`` vectors of ``latent_dim``; the denoiser diffuses in that fixed-size space (its cost no longer grows
with the jet's constituents), and the sampled latents are decoded into as many constituents as the multiplicity
model draws.

**Classifier scores** (``scorer``: a per-particle classifier's configuration): the frozen classifier's p(pileup) of
each observed particle is one more feature of the observed cloud, a learned summary of the observation that the
generative model starts from (its weights are part of this model's, so a model file stays self-contained)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from hepgen.errors import HepgenInputError, one_of
from hepgen.models.configured import ConfiguredModel
from hepgen.models.edm import EDMLoss, EDMPrecond
from hepgen.models.flow_matching import FlowMatchingLoss, FlowMatchingPrecond
from hepgen.models.set_autoencoder import SetAutoencoder
from hepgen.models.vipr import MultiplicityModel, ObservedJetEncoder, VIPRDenoiser
from hepgen.nn import MaskedStandardizer
from hepgen.nn.set_blocks import block_options
from hepgen.tasks.pileup.classifier import ReadsClassifierScores
from hepgen.tasks.pileup.inputs import CONSTITUENT_FEATURES, JetBatch
from hepgen.tasks.pileup.sampling import integrate, sample_clouds, sampling_defaults

__all__ = ["OBJECTIVES", "VIPRModel"]

#: Training objectives: EDM diffusion, or conditional flow matching on straight paths (the same network; both sample
#: with EDM's samplers, see :mod:`hepgen.models.flow_matching`); or the set autoencoder of latent diffusion alone.
OBJECTIVES = ("edm", "flow_matching", "autoencoder")


class VIPRModel(ReadsClassifierScores, ConfiguredModel):
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
        latent_tokens: int = 0,
        latent_dim: int = 8,
        autoencoder_dim: int = 64,
        autoencoder_blocks: int = 2,
        detector: str = "none",
        track_losses: list[float] | None = None,
        scorer: dict[str, Any] | None = None,
        saved_with: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(locals())
        self.objective = one_of(OBJECTIVES, objective, "VIPR objective")
        n_f = len(CONSTITUENT_FEATURES)
        n_o, n_c = self.build_inputs(detector, track_losses)
        n_o += self.build_scorer(scorer)  # frozen: its weights come from a trained classifier (adopt_scorer)
        self.hard_standardizer = MaskedStandardizer(n_f)
        encoder = {"dim": dim, "heads": heads, "blocks": encoder_blocks, "latents": latents, "block": block}
        encoder |= block_options(block, mod_capacity, param_tokens)
        self.latent_tokens = latent_tokens
        if objective == "autoencoder" and not latent_tokens:
            raise HepgenInputError("--objective autoencoder needs latent tokens (--autoencoder-tokens > 0)")
        if latent_tokens:
            self.autoencoder = SetAutoencoder(
                n_f,
                tokens=latent_tokens,
                latent_dim=latent_dim,
                dim=autoencoder_dim,
                heads=heads,
                blocks=autoencoder_blocks,
                max_size=max_hard,
            )
            self.latent_standardizer = MaskedStandardizer(latent_dim)
        if objective != "autoencoder":
            features = latent_dim if latent_tokens else n_f
            network = VIPRDenoiser(ObservedJetEncoder(n_o, n_c, **encoder), features=features, blocks=blocks)
            self.denoiser = EDMPrecond(network, sigma_data=1.0) if objective == "edm" else FlowMatchingPrecond(network)
        self.multiplicity = MultiplicityModel(ObservedJetEncoder(n_o, n_c, **encoder), max_count=max_hard)
        if coupling != "independent" and objective != "flow_matching":
            raise HepgenInputError(
                f"--coupling {coupling} pairs noise and data of flow matching: use --objective flow_matching"
            )
        self.denoiser_loss = EDMLoss(sigma_data=1.0) if objective == "edm" else FlowMatchingLoss(coupling=coupling)

    @property
    def latent(self) -> bool:
        """Whether the denoiser diffuses in the autoencoder's latent space."""
        return self.latent_tokens > 0 and self.objective != "autoencoder"

    def adopt_autoencoder(self, trained: VIPRModel) -> None:
        """Take the set autoencoder of a run trained with ``objective="autoencoder"`` (and the standardisation of
        the constituents it was trained on), frozen: latent diffusion learns in its space."""
        self.autoencoder.load_state_dict(trained.autoencoder.state_dict())
        self.hard_standardizer.load_state_dict(trained.hard_standardizer.state_dict())
        self.autoencoder.requires_grad_(False)

    def _latents(self, hard: Tensor, mask: Tensor) -> Tensor:
        """The frozen autoencoder's standardised latents ``[B, tokens, latent_dim]`` of standardised hard clouds."""
        with torch.no_grad():
            z = self.autoencoder.encode(hard, mask)
        return self.latent_standardizer(z)

    def fit_standardization(self, batch: JetBatch) -> None:
        super().fit_standardization(batch)
        t = batch.to_torch()
        if self.latent:  # the constituents keep the autoencoder's standardisation; its latents get their own
            with torch.no_grad():
                self.latent_standardizer.fit(
                    self.autoencoder.encode(self.hard_standardizer(t.hard, t.hard_mask), t.hard_mask)
                )
        else:
            self.hard_standardizer.fit(t.hard, t.hard_mask)

    def conditioning(self, batch: JetBatch) -> tuple[Tensor, Tensor, Tensor]:
        """The standardised (observed ``[B, M, 5]`` — 6 with the classifier's p(pileup) last —, observed mask
        ``[B, M]``, context ``[B, C]``) of a batch."""
        obs = self.with_scores(self.observed_standardizer(batch.observed, batch.observed_mask), batch)
        return obs, batch.observed_mask, self.context_standardizer(batch.context)

    def loss(self, batch: JetBatch, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """(denoising loss — EDM's or flow matching's —, multiplicity negative log-likelihood) of a training batch."""
        obs, obs_mask, ctx = self.conditioning(batch)
        hard = self.hard_standardizer(batch.hard, batch.hard_mask)
        counts = batch.hard_mask.sum(dim=1).clamp(0, self.multiplicity.max_count)
        nll = -self.multiplicity(obs, obs_mask, ctx).log_prob(counts).mean()
        if self.objective == "autoencoder":
            return self.autoencoder.reconstruction_loss(hard, batch.hard_mask), nll
        mask = batch.hard_mask
        if self.latent:
            hard = self._latents(hard, mask)
            mask = torch.ones(hard.shape[:2], dtype=torch.bool, device=hard.device)
        paired = {} if batch.noise is None else {"noise": batch.noise}  # distillation: the teacher's noise
        diffusion = self.denoiser_loss(
            self.denoiser,
            hard,
            mask=mask,
            generator=generator,
            observed=obs,
            observed_mask=obs_mask,
            context=ctx,
            **paired,
        )
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

    @property
    def latent_shape(self) -> tuple[int, int] | None:
        """(tokens, width) of the space the denoiser samples in, for latent diffusion; None: the constituents'."""
        return (self.latent_tokens, self.config["latent_dim"]) if self.latent else None

    def decode(self, z: Tensor, mask: Tensor) -> Tensor:
        """Sampled standardised latents ``[B, tokens, latent_dim]`` → standardised constituents ``[B, N, 3]`` for
        the counts of ``mask`` ``[B, N]``."""
        return self.autoencoder.decode(self.latent_standardizer.inverse(z), mask)

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
