"""``hepgen train|predict|validate neutrino``: the settings, the loss and the prediction file of ν-Flows.

The prediction file (tree ``Neutrino``, one row per usable event) holds the point estimate ``[B, 3]``, the posterior
samples ``[B, S, 3]``, the lepton and, when known, the truth, which :mod:`hepgen.validation.neutrino` compares with
the analytic solution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hepgen.errors import HepgenInputError
from hepgen.io.events import Events
from hepgen.models.regressors import HEADS
from hepgen.tasks.base import Block, BlockOutput
from hepgen.tasks.events import (
    EventPrediction,
    EventTask,
    EventTraining,
    EventValidation,
    classical_method,
    targets_to_momentum,
)
from hepgen.tasks.neutrino.export import OnnxNeutrinoSampler, neutrino_export_graphs
from hepgen.tasks.neutrino.features import INPUT_SETS, NeutrinoArrays, neutrino_arrays
from hepgen.tasks.neutrino.model import NeutrinoModel
from hepgen.tasks.neutrino.sampling import posterior_outputs
from hepgen.tasks.settings import setting, values_of

__all__ = ["NeutrinoTraining", "NeutrinoPrediction", "NeutrinoTask", "NEUTRINO"]

#: The methods ``predict --method`` runs without training.
CLASSICAL_METHODS = ("analytic",)


@dataclass
class NeutrinoTraining(EventTraining):
    """``hepgen train neutrino``: a density head over (px, py, η) on a transformer encoding of the event."""

    head: str = setting("flow", "the density head", choices=tuple(HEADS), formerly=("model",))
    mdn_components: int = setting(5, "mixture components (mdn head)")
    assignment: bool = setting(
        False, "also learn which jet is the leptonic b, jointly, with learned uncertainty weights"
    )
    inputs: str = setting(
        "constrained",
        "the input set: basic, or constrained (adds m(ℓνj) with each W-mass root)",
        choices=tuple(INPUT_SETS),
    )


@dataclass
class NeutrinoPrediction(EventPrediction):
    """``hepgen predict neutrino``: posterior samples of the neutrino for every usable input event."""

    method: str | None = classical_method(CLASSICAL_METHODS)


class NeutrinoTask(EventTask):
    """The neutrino of tt̄ → ℓ+jets: flow, mixture, Gaussian and MSE heads against the W-mass solution."""

    name, output_tree = "neutrino", "Neutrino"
    Training, Prediction, Validation = NeutrinoTraining, NeutrinoPrediction, EventValidation
    model_class, validator = NeutrinoModel, "hepgen.validation.neutrino:validate_neutrino"

    def training_batch(self, part: NeutrinoArrays) -> tuple[dict[str, Tensor], dict[str, Tensor], Tensor, Tensor]:
        """(objects, masks, target, the leptonic-b jet)."""
        objects, masks = part.tensors()
        return objects, masks, torch.as_tensor(part.target), torch.as_tensor(part.b_lep_jet)

    def arrays(self, events: Events, *, require_truth: bool, inputs: str) -> NeutrinoArrays:
        return neutrino_arrays(events, require_truth=require_truth, inputs=inputs)

    def loss(self, model: NeutrinoModel, batch: Any, *, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        objects, masks, target, b_jet = batch
        terms = model.losses(objects, masks, target, b_jet)
        if "weighted" in terms:  # the uncertainty-weighted sum is minimised; the NLL and CE are logged
            return {"total": terms.pop("weighted"), **terms}
        return terms

    def load_predictor(self, settings: NeutrinoPrediction) -> NeutrinoModel | OnnxNeutrinoSampler | None:
        """The trained model of ``--run`` (or its ONNX export, ``--onnx``), or None for ``--method analytic``."""
        if sum(x is not None for x in (settings.run, settings.method, settings.onnx)) != 1:
            raise HepgenInputError("give either a trained --run, an exported --onnx DIR or --method analytic")
        return None if settings.method == "analytic" else super().load_predictor(settings)

    def load_onnx_predictor(self, settings: NeutrinoPrediction) -> OnnxNeutrinoSampler:
        return OnnxNeutrinoSampler(settings.onnx)

    def export_graphs(self, model: NeutrinoModel) -> tuple[list[Any], dict[str, Any]]:
        return neutrino_export_graphs(model)

    def prediction_metadata(self, predictor: NeutrinoModel | None, settings: NeutrinoPrediction) -> dict[str, Any]:
        return {"method": "analytic" if predictor is None else predictor.head_kind}

    def predict_block(self, predictor: NeutrinoModel | None, settings: NeutrinoPrediction, block: Block) -> BlockOutput:
        """Point estimates and samples for one block; the events without a lepton or jets are counted, not kept.

        Outputs: ``point`` (px, py, pz) ``[B, 3]`` (the posterior median per component); for probabilistic models
        ``samples`` ``[B, S, 3]`` and ``mode`` ``[B, 3]`` (the most likely sample); ``assignment_probability``
        ``[B, N_jets]`` with the jet-assignment head; ``lepton_p4``; for the χ² reconstruction ``jets_p4``,
        ``jets_btag``, ``jets_mask`` and ``analytic_roots``; and when known ``truth`` with ``has_truth``,
        ``b_lep_p4``, ``parton_jets`` (the jet of b_lep, b_had, q1, q2; −1 if unmatched) and ``truth_m_ttbar``.
        """
        events = self.read_block(settings, block)
        arrays = neutrino_arrays(events, inputs="basic" if predictor is None else predictor.config["inputs"])
        outputs: dict[str, np.ndarray] = {}
        if predictor is None:
            met = arrays.objects["met"][:, 0]
            outputs["point"] = np.stack([met[:, 0], met[:, 1], arrays.analytic_pz], axis=-1).astype(np.float32)
        else:
            options = values_of(settings, "samples", "batch_size", "device")
            outputs |= posterior_outputs(predictor, arrays, seed=block.seed, **options)
        if arrays.target is not None:
            has_truth = np.isfinite(arrays.target).all(axis=1)
            truth = targets_to_momentum(np.where(has_truth[:, None], arrays.target, 0.0))
            outputs["truth"] = truth.astype(np.float32)  # zero where the event has no truth neutrino
            outputs["has_truth"] = has_truth
        outputs["lepton_p4"] = arrays.lepton_p4.astype(np.float32)
        if arrays.b_lep_p4 is not None:
            outputs["b_lep_p4"] = arrays.b_lep_p4.astype(np.float32)
        # what the χ² reconstruction of the validation needs: the jets, their tags, both W-mass roots, the truth
        outputs["jets_p4"] = arrays.jets_p4.astype(np.float32)
        outputs["jets_btag"] = arrays.objects["jets"][..., 4].astype(np.float32)
        outputs["jets_mask"] = arrays.masks["jets"]
        outputs["analytic_roots"] = arrays.analytic_roots.astype(np.float32)
        if arrays.parton_jets is not None:
            outputs["parton_jets"] = arrays.parton_jets.astype(np.int32)
        if arrays.truth_m_ttbar is not None:
            outputs["truth_m_ttbar"] = arrays.truth_m_ttbar.astype(np.float32)
        event_id = {k: v[arrays.event_index] for k, v in events.event_id.items()}
        return BlockOutput({"Neutrino": (outputs, event_id)}, counts=dict(arrays.skipped))


#: The neutrino task, as registered in :mod:`hepgen.tasks.registry`.
NEUTRINO = NeutrinoTask()
