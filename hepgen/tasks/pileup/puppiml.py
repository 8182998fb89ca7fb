"""A learned per-particle pileup classifier (PuppiML-like): the strongest baseline of the VIPR paper.

The whole story in one file:

* **inputs** — exactly VIPR's (:mod:`hepgen.tasks.pileup.inputs`): the observed cloud after charged-hadron
  subtraction (or every observed particle with ``input=observed``), each particle as (Δη, Δφ, log pT,
  charged-in-tracker), and the jet context (observed jet, nominal μ, reconstructed vertices); the same
  jets, the same pool overlaid on the fly with the same μ law, the same detector;
* **model** — :class:`~hepgen.models.vipr.ParticleClassifier`: VIPR's observed-jet encoder with a
  per-particle head giving p(pileup); trained with the binary cross-entropy of every input particle;
* **prediction** — tree ``PuppiML``: per jet, the pileup probability of each *observed* particle (aligned
  with the ``Jets`` tree's observed constituents; particles removed by CHS get 1), and the ``Jets`` tree;
  predicted with the same jets, pool, μ and seed as a VIPR prediction it describes the same observed jets;
* **validation** — ``hepgen validate pileup`` keeps the particles whose probability is below a threshold
  tuned on the validation jets, and scores the rebuilt jet like every other method.

A classifier can only keep or drop what was observed: it cannot bring back what the detector lost, nor
split a particle that is part pileup. That is the case the VIPR paper makes for a generative model.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np
import torch
from torch import Tensor

from hepgen.physics.pileup_mitigation import chs_keep
from hepgen.sim.pileup import OverlaidJets
from hepgen.tasks.base import Block, BlockOutput, Task, TrainingData
from hepgen.tasks.pileup.classifier import PileupClassifierModel
from hepgen.tasks.pileup.epochs import overlay_epochs, standardization_batch
from hepgen.tasks.pileup.inputs import JetBatch, jet_batch, passthrough_options
from hepgen.tasks.pileup.overlay import (
    OverlayPrediction,
    OverlayTraining,
    jet_table,
    observe_block,
    read_training_jets,
)
from hepgen.tasks.pileup.task import PileupTask, PileupValidation, VIPRPredictor
from hepgen.tasks.settings import setting

__all__ = [
    "PileupClassifierModel",
    "EncoderTraining",
    "ClassifierTraining",
    "ClassifierPrediction",
    "PuppiMLTask",
    "PUPPIML",
]


@dataclass
class EncoderTraining(OverlayTraining):
    """The observed-jet encoder's size, for the models built on it alone (the classifier, the hard fractions)."""

    dim: int = setting(64, "token width of the encoder")
    heads: int = setting(4, "attention heads")
    blocks: int = setting(3, "self-attention blocks")


@dataclass
class ClassifierTraining(EncoderTraining):
    """``hepgen train puppiml``: the per-particle classifier on VIPR's training data."""

    soft_targets: bool = setting(
        False, "train against each particle's pileup share of energy (1 − hard fraction), not the label is_pileup"
    )


@dataclass
class ClassifierPrediction(OverlayPrediction):
    """``hepgen predict puppiml``: the pileup probability of every observed particle."""


def _full_cloud_scores(observed: OverlaidJets, probability: np.ndarray, mask: np.ndarray, model_input: str) -> ak.Array:
    """Per jet, p(pileup) of every observed particle (Jets-tree order); particles CHS removed get 1."""
    counts = mask.sum(axis=1)
    scores = ak.unflatten(probability[mask].astype(np.float32), counts)
    if model_input != "chs":
        return scores
    kept = chs_keep(observed.constituents)
    flat_kept = ak.to_numpy(ak.flatten(kept))
    full = np.ones(len(flat_kept), np.float32)
    full[flat_kept] = ak.to_numpy(ak.flatten(scores))
    return ak.unflatten(full, ak.num(kept))


class PuppiMLTask(PileupTask):
    """A learned per-particle pileup classifier (PuppiML-like), VIPR's strongest baseline; VIPR's data and outputs."""

    name, output_tree, method_name = "puppiml", "PuppiML", "puppiml"
    Training, Prediction, Validation = ClassifierTraining, ClassifierPrediction, PileupValidation
    model_class = PileupClassifierModel

    # VIPR's ONNX export and runner do not apply to the classifier (not exported yet: the base Task's clear errors)
    build_model = Task.build_model  # no --init: the generic model of the settings
    export_graphs = Task.export_graphs
    load_onnx_predictor = Task.load_onnx_predictor

    def training_data(self, settings: ClassifierTraining, model: PileupClassifierModel) -> TrainingData:
        train, val, _, pool = read_training_jets(settings)
        model.fit_standardization(standardization_batch(train, pool, settings, model.context_features))

        def build(observed: OverlaidJets, index: np.ndarray, jets: ak.Array) -> JetBatch:  # the labels are in observed
            batch = jet_batch(
                observed,
                input=settings.input,
                index=index,
                context=model.context_features,
                **passthrough_options(settings),
            )
            batch.passthrough = None  # not a tensor: the classifier does not need it
            return batch.to_torch()

        return TrainingData(
            overlay_epochs(train, pool, settings, build, shuffle=True, seed=settings.seed),
            overlay_epochs(val, pool, settings, build, shuffle=False, seed=settings.seed + 1),
            f"{len(train)} training and {len(val)} validation jets, a pool of {len(pool)} events, input {settings.input}",
        )

    def loss(
        self, model: PileupClassifierModel, batch: JetBatch, *, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        return {"bce": model.loss(batch)}

    def predict_block(self, predictor: VIPRPredictor, settings: ClassifierPrediction, block: Block) -> BlockOutput:
        """Tree ``PuppiML``: per jet, p(pileup) of each observed particle; tree ``Jets`` (as VIPR's)."""
        jets, observed = observe_block(settings, predictor.pool, block)
        model_input = predictor.model.saved_with.get("input", "observed")
        batch = jet_batch(
            observed,
            input=model_input,
            context=predictor.model.context_features,
            **passthrough_options(predictor.model.saved_with),
        )
        batch.passthrough = None
        probability = predictor.model.pileup_probability(batch.to_torch(settings.device)).cpu().numpy()
        scores = _full_cloud_scores(observed, probability, np.asarray(batch.observed_mask), model_input)
        entry = np.arange(block.start, block.stop, dtype=np.int64)
        return BlockOutput(
            {
                "PuppiML": ({"pileup_probability": scores}, {"entry": entry}),
                "Jets": (jet_table(jets, observed, target=settings.target), {"entry": entry}),
            }
        )


#: The classifier task, as registered in :mod:`hepgen.tasks.registry`.
PUPPIML = PuppiMLTask()
