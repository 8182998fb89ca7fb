"""The per-particle pileup classifier's network (PuppiML-like; :mod:`hepgen.tasks.pileup.puppiml` trains and runs it
as a baseline, and a VIPR model can read its scores as one more feature of each observed particle)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from hepgen.models.configured import ConfiguredModel
from hepgen.models.vipr import ObservedJetEncoder, ParticleClassifier
from hepgen.nn import MaskedStandardizer
from hepgen.tasks.pileup.inputs import OBSERVED_FEATURES, JetBatch, context_features

__all__ = ["PileupClassifierModel", "ReadsClassifierScores", "StandardisesObservedJet"]


class StandardisesObservedJet:
    """A mix-in for a model of the observed jet: the context features of its detector and the in-model
    standardisation of the observed cloud and of the context (listed before the ``nn.Module`` base)."""

    def build_inputs(self, detector: str, track_losses: list[float] | None) -> tuple[int, int]:
        """The context features of ``detector`` and the two standardisers; the numbers of observed and context
        features."""
        self.context_features = context_features(detector, track_losses)
        self.observed_standardizer = MaskedStandardizer(len(OBSERVED_FEATURES))
        self.context_standardizer = MaskedStandardizer(len(self.context_features))
        return len(OBSERVED_FEATURES), len(self.context_features)

    def fit_standardization(self, batch: JetBatch) -> None:
        t = batch.to_torch()
        self.observed_standardizer.fit(t.observed, t.observed_mask)
        self.context_standardizer.fit(t.context)


class PileupClassifierModel(StandardisesObservedJet, ConfiguredModel):
    """The per-particle classifier with its in-model standardisation of the cloud and the context."""

    def __init__(
        self,
        *,
        dim: int = 64,
        heads: int = 4,
        blocks: int = 3,
        detector: str = "none",
        track_losses: list[float] | None = None,
        soft_targets: bool = False,
        saved_with: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(locals())
        self.soft_targets = soft_targets
        n_o, n_c = self.build_inputs(detector, track_losses)
        encoder = ObservedJetEncoder(n_o, n_c, dim=dim, heads=heads, blocks=blocks)
        self.classifier = ParticleClassifier(encoder)

    def forward(self, batch: JetBatch) -> Tensor:
        """Logits of p(pileup) ``[B, M]`` for every input particle (0 on padding)."""
        obs = self.observed_standardizer(batch.observed, batch.observed_mask)
        return self.classifier(obs, batch.observed_mask, self.context_standardizer(batch.context))

    def loss(self, batch: JetBatch) -> Tensor:
        """Binary cross-entropy of every real input particle: against the label ``is_pileup``, or with
        ``soft_targets`` against the share of its energy from pileup (1 − hard fraction: the classifier then estimates
        that share, which a tower shared by the hard scatter and pileup has between 0 and 1)."""
        logits = self(batch)
        target = 1 - batch.observed_hard_fraction if self.soft_targets else batch.observed_is_pileup
        target = target.to(logits.dtype)
        per_particle = nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
        return (per_particle * batch.observed_mask).sum() / batch.observed_mask.sum().clamp_min(1)

    @torch.no_grad()
    def pileup_probability(self, batch: JetBatch) -> Tensor:
        return torch.sigmoid(self(batch))


class ReadsClassifierScores(StandardisesObservedJet):
    """A mix-in for a model that may read a frozen per-particle classifier's p(pileup) of each observed particle as one
    more feature (``scorer``: the classifier's configuration; its weights come from a trained run, ``adopt_scorer``).
    Listed before the ``nn.Module`` base, so that :meth:`train` keeps the classifier in evaluation mode."""

    scorer: PileupClassifierModel | None

    def build_scorer(self, scorer: dict[str, Any] | None) -> int:
        """The frozen classifier of configuration ``scorer`` (None: no scores); the observed features it adds."""
        self.scorer = None if scorer is None else PileupClassifierModel(**scorer).requires_grad_(False)
        return int(scorer is not None)

    def adopt_scorer(self, trained: PileupClassifierModel) -> None:
        """Take a trained per-particle classifier's weights (its architecture must be this model's ``scorer``)."""
        self.scorer.load_state_dict(trained.state_dict())
        self.scorer.requires_grad_(False)

    def train(self, mode: bool = True):
        """As ``nn.Module.train``, the frozen classifier (if any) always in evaluation mode: its scores in training
        are the ones prediction sees."""
        super().train(mode)
        if self.scorer is not None:
            self.scorer.eval()
        return self

    def with_scores(self, observed: Tensor, batch: JetBatch) -> Tensor:
        """The standardised observed cloud ``[B, M, F]`` with the classifier's p(pileup) appended (``[B, M, F + 1]``;
        0 on padding), or as it is without a classifier."""
        if self.scorer is None:
            return observed
        with torch.no_grad():
            score = self.scorer.pileup_probability(batch) * batch.observed_mask
        return torch.cat([observed, score[..., None].to(observed.dtype)], dim=-1)
