"""The posterior of the hard energy in every observed particle: ``hepgen train pileup_fractions``.

VIPR generates the pileup-free jet as a new set of particles; behind a detector most of the jet is measured, and what
a keep/drop method (the classifier, PUPPI) misses is the share of each tower that pileup filled. This model samples
that share instead: p(f₁ … f_M | observed jet), the hard fraction of the measured energy of each observed track and
tower (the truth ``hard_fraction``: 1 or 0 for a track, between them for a tower hard scatter and pileup share),
jointly for the jet, by flow matching. Each sample is a pileup-free jet — the observed particles with pT × f — so
the validation scores it as a VIPR posterior (method ``vipr_fractions``: median of the samples, calibration). Its
bound is the fraction-weighted truth (mass resolution 0.0009 / 0.0035 at μ = 60 / 200 on validation top jets, against
0.0040 / 0.0098 for keep/drop: analyses/pileup/validation_study/error_budget.json); it cannot bring back a particle
the detector lost — VIPR's new particles can.

* **inputs** — the classifier's and VIPR's (:mod:`hepgen.tasks.pileup.inputs`): the CHS cloud behind the detector,
  the jet context, the same overlay of the training pool on the fly;
* **model** — :class:`HardFractionModel`: the observed-jet encoder with the noisy fractions as one more feature of
  each particle and the flow time in the context, a per-particle velocity head; straight paths from N(0, 1) to
  x = 2f − 1 (rectified flow), sampled with Euler or Heun steps in t, clipped to [0, 1];
* **prediction** — tree ``VIPR`` as VIPR's: per (jet, sample) the observed particles with pT × f and their f (those
  below :data:`MIN_FRACTION` or :data:`MIN_HARD_PT` dropped), and tree ``Jets``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np
import torch
from torch import Tensor

from hepgen.models.configured import ConfiguredModel
from hepgen.models.vipr import ObservedJetEncoder, ParticleClassifier
from hepgen.nn.embedding import FourierEmbedding
from hepgen.shards import derive_seed
from hepgen.tasks.base import Block, BlockOutput, PredictSettings
from hepgen.tasks.pileup.classifier import ReadsClassifierScores
from hepgen.tasks.pileup.inputs import JetBatch, jet_batch, passthrough_options
from hepgen.tasks.pileup.overlay import OverlayPrediction, observe_block, posterior_block_output
from hepgen.tasks.pileup.puppiml import EncoderTraining, PuppiMLTask
from hepgen.tasks.pileup.sampling import to_generated_jets
from hepgen.tasks.pileup.scored import classifier_scores_setting, with_classifier_scores
from hepgen.tasks.pileup.task import VIPRPredictor
from hepgen.tasks.settings import redefault, setting

__all__ = ["HardFractionModel", "FractionsTraining", "FractionsPrediction", "HardFractionTask", "PILEUP_FRACTIONS"]

#: A sampled particle is dropped when its hard fraction is below MIN_FRACTION or its hard pT (pT × f) below
#: MIN_HARD_PT [GeV]: the flow's samples scatter around f = 0 for the many pure-pileup towers, and their small pT × f
#: adds wide-angle mass, as PUPPI's small weights would (PUPPI drops w < 0.01 and weighted neutrals below a pT).
#: The defaults are chosen on validation jets (analyses/pileup/fraction_cuts.py → validation_study/fraction_cuts.json:
#: spread_fractions_s1 on validation top jets 1000–1999 at μ = 60 and 200; every f cut from 0.05 to 0.5 scores
#: within 0.002 of the best, 0.3; a hard-pT cut only biases the mass low).
MIN_FRACTION = 0.3
MIN_HARD_PT = 0.0
#: The samplers (in the flow's time t) and the default sampling: Heun with 4 steps (7 network evaluations), checked on
#: validation jets (fraction_cuts.json "sampling", μ = 200: mass resolution 0.046–0.047 from 3 to 31 evaluations, the
#: bias −0.4 % at 7 against −2 % at 3 and 0.0 % at 31; one Euler step: −5 % / 0.052).
FRACTION_SAMPLERS = ("euler", "heun_t")
DEFAULT_SAMPLING = ("heun_t", 4)


class HardFractionModel(ReadsClassifierScores, ConfiguredModel):
    """Flow matching of the hard fractions ``[B, M]`` of an observed cloud, with its in-model standardisation (and,
    with ``scorer``, a frozen classifier's p(pileup) of each particle as one more feature)."""

    def __init__(
        self,
        *,
        dim: int = 64,
        heads: int = 4,
        blocks: int = 3,
        time_dim: int = 16,
        detector: str = "none",
        track_losses: list[float] | None = None,
        scorer: dict[str, Any] | None = None,
        saved_with: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(locals())
        n_o, n_c = self.build_inputs(detector, track_losses)
        self.time = FourierEmbedding(time_dim, scale=1.0)
        n_o += self.build_scorer(scorer)
        encoder = ObservedJetEncoder(n_o + 1, n_c + time_dim, dim=dim, heads=heads, blocks=blocks)
        self.velocity = ParticleClassifier(encoder)  # its per-particle head: the velocity of each fraction

    def forward(self, observed: Tensor, mask: Tensor, context: Tensor, x: Tensor, t: Tensor) -> Tensor:
        """The velocity ``[B, M]`` at the noisy fractions ``x`` ``[B, M]`` and time ``t`` ``[B]`` (0 noise, 1 data),
        for standardised ``observed`` ``[B, M, F]`` and ``context`` ``[B, C]``."""
        features = torch.cat([observed, (x * mask)[..., None]], dim=-1)
        return self.velocity(features, mask, torch.cat([context, self.time(t)], dim=-1))

    def _inputs(self, batch: JetBatch) -> tuple[Tensor, Tensor, Tensor]:
        mask = batch.observed_mask
        observed = self.with_scores(self.observed_standardizer(batch.observed, mask), batch)
        return observed, mask, self.context_standardizer(batch.context)

    def loss(self, batch: JetBatch, *, generator: torch.Generator | None = None) -> Tensor:
        """The flow-matching loss: mean squared velocity error over the real particles."""
        observed, mask, context = self._inputs(batch)
        target = 2 * batch.observed_hard_fraction.to(observed.dtype) - 1
        noise = torch.randn(target.shape, generator=generator, device=target.device, dtype=target.dtype)
        t = torch.rand(len(target), generator=generator, device=target.device, dtype=target.dtype)
        x = (1 - t[:, None]) * noise + t[:, None] * target
        error = (self(observed, mask, context, x, t) - (target - noise)) ** 2
        return (error * mask).sum() / mask.sum().clamp_min(1)

    def sampling_defaults(self) -> tuple[str, str, int]:
        return DEFAULT_SAMPLING[0], "uniform_t", DEFAULT_SAMPLING[1]

    @torch.no_grad()
    def sample(
        self,
        batch: JetBatch,
        samples: int,
        *,
        steps: int | None = None,
        sampler: str | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Hard fractions ``[B·samples, M]`` in [0, 1], jet-major (the samples of jet 0 first), 0 on padding."""
        sampler, steps = sampler or DEFAULT_SAMPLING[0], steps or DEFAULT_SAMPLING[1]
        if sampler not in FRACTION_SAMPLERS:
            raise ValueError(f"sampler {sampler!r}: the hard-fraction model samples with {FRACTION_SAMPLERS}")
        observed, mask, context = (v.repeat_interleave(samples, dim=0) for v in self._inputs(batch))
        x = torch.randn(mask.shape, generator=generator, device=mask.device, dtype=observed.dtype)
        times = torch.linspace(0.0, 1.0, steps + 1, device=mask.device, dtype=observed.dtype)
        for t0, t1 in zip(times[:-1], times[1:], strict=True):
            v0 = self(observed, mask, context, x, t0.expand(len(x)))
            if sampler == "euler" or t1 == 1:  # Heun's correction needs a second evaluation; none at the data end
                x = x + (t1 - t0) * v0
                continue
            guess = x + (t1 - t0) * v0
            x = x + (t1 - t0) * 0.5 * (v0 + self(observed, mask, context, guess, t1.expand(len(x))))
        return ((x + 1) / 2).clamp(0, 1) * mask


@dataclass
class FractionsTraining(EncoderTraining):
    """``hepgen train pileup_fractions``: the hard-fraction posterior on VIPR's training data."""

    classifier_scores: str = classifier_scores_setting()


@dataclass
class FractionsPrediction(OverlayPrediction):
    """``hepgen predict pileup_fractions``: samples of the pileup-free jet, the observed particles with pT × f."""

    samples: int = redefault(PredictSettings, "samples", 16)
    steps: int = setting(0, f"sampler steps; 0: the model's default ({DEFAULT_SAMPLING[1]})")
    sampler: str = setting(
        "", f"euler or heun_t (Heun in t); default {DEFAULT_SAMPLING[0]}", choices=("", *FRACTION_SAMPLERS)
    )
    schedule: str = setting("", "the flow's time steps: uniform in t (the only schedule)", choices=("", "uniform_t"))
    min_fraction: float = setting(MIN_FRACTION, "drop a particle whose sampled hard fraction is below this", minimum=0)
    min_hard_pt: float = setting(MIN_HARD_PT, "drop a particle whose hard pT (pT × f) is below this [GeV]", minimum=0)


class HardFractionTask(PuppiMLTask):
    """The posterior of the hard fraction of every observed particle; the classifier's data, VIPR's outputs."""

    name, output_tree, method_name = "pileup_fractions", "VIPR", "vipr_fractions"
    Training, Prediction = FractionsTraining, FractionsPrediction
    model_class = HardFractionModel

    def build_model(self, settings: FractionsTraining) -> HardFractionModel:
        model = super().build_model(settings)
        return (
            with_classifier_scores(model, settings.classifier_scores, settings) if settings.classifier_scores else model
        )

    def loss(
        self, model: HardFractionModel, batch: JetBatch, *, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        return {"flow": model.loss(batch, generator=generator)}

    def predict_block(self, predictor: VIPRPredictor, settings: FractionsPrediction, block: Block) -> BlockOutput:
        """Tree ``VIPR``: one row per (jet, sample), the observed particles with pT × f; tree ``Jets``."""
        jets, observed = observe_block(settings, predictor.pool, block)
        model = predictor.model
        batch = jet_batch(
            observed,
            input=model.saved_with.get("input", "observed"),
            context=model.context_features,
            **passthrough_options(model.saved_with),
        )
        generator = torch.Generator(device=settings.device).manual_seed(derive_seed(settings.seed, block.index, 1))
        fractions = model.sample(
            batch.to_torch(settings.device),
            settings.samples,
            steps=settings.steps or None,
            sampler=settings.sampler or None,
            generator=generator,
        )
        fractions = fractions.cpu().numpy().astype(np.float64)
        cloud = np.repeat(np.asarray(batch.observed[..., :3], np.float64), settings.samples, axis=0)
        kept = np.repeat(np.asarray(batch.observed_mask), settings.samples, axis=0)
        kept &= (fractions >= max(settings.min_fraction, 1e-9)) & (
            np.exp(cloud[..., 2]) * fractions >= settings.min_hard_pt
        )
        cloud[..., 2] += np.log(np.maximum(fractions, 1e-9))  # log(pT × f)
        generated = to_generated_jets(torch.as_tensor(cloud), torch.as_tensor(kept), batch.axis, settings.samples)
        hard_fraction = ak.unflatten(fractions[kept].astype(np.float32), kept.sum(axis=1))
        return posterior_block_output(
            generated, jets, observed, block, settings.target, {"constituent_hard_fraction": hard_fraction}
        )


#: The hard-fraction task, as registered in :mod:`hepgen.tasks.registry`.
PILEUP_FRACTIONS = HardFractionTask()
