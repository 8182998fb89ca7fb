"""``hepgen train|predict|validate dineutrino``: the settings, the loss and the prediction file of the dilepton task.

The prediction file (tree ``Dineutrino``, one row per usable event): ``point`` (ν, ν̄) (px, py, pz) ``[B, 2, 3]``
(the flow's posterior median; 0 where a classical method found no solution: the ellipse method, Neutrino
Weighting, the smeared kinematic reconstruction ``kinreco``) and ``answered`` ``[B]``; for the flow
``samples`` ``[B, S, 2, 3]`` (with ``--ensemble`` or ``--mc-dropout N`` also ``epistemic_share`` ``[B, 2, 3]``,
:mod:`hepgen.tasks.epistemic`); ``b_p4`` ``[B, 2, 4]`` the jets taken as the top's and the antitop's b (the pairing
each method prefers: the classical methods' own choice, for the flow :func:`~hepgen.tasks.dineutrino.classical.
flow_pairing`); ``leptons_p4`` (ℓ⁺, ℓ⁻); and when known ``truth`` ``[B, 2, 3]`` and the true tt̄ observables
``truth_m_ttbar``, ``truth_top_pt``, ``truth_cos_theta_plus``, ``truth_cos_theta_minus``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hepgen.errors import HepgenInputError
from hepgen.io import read
from hepgen.io.events import Events
from hepgen.physics.dilepton_kinreco import KINRECO_MAX_JETS, KINRECO_TRIALS, MLB_MAX, SmearingTemplates
from hepgen.physics.dilepton_neutrinos import NW_ETA_GRID, NW_MET_RESOLUTION, NW_TOP_MASSES, solve_with_pairings
from hepgen.tasks.base import Block, BlockOutput
from hepgen.tasks.dineutrino.classical import CLASSICAL_METHODS, b_candidates_p4, flow_pairing, sampled_b_jets
from hepgen.tasks.dineutrino.features import INPUT_SETS, DineutrinoArrays, dineutrino_arrays, targets_to_momenta
from hepgen.tasks.dineutrino.kinreco import kinreco_of_arrays, templates_from_events
from hepgen.tasks.dineutrino.model import DineutrinoModel
from hepgen.tasks.epistemic import epistemic_share
from hepgen.tasks.events import EventPrediction, EventTask, EventTraining, EventValidation, classical_method
from hepgen.tasks.settings import redefault, setting

__all__ = ["DineutrinoTraining", "DineutrinoPrediction", "DineutrinoTask", "DINEUTRINO"]


@dataclass
class DineutrinoTraining(EventTraining):
    """``hepgen train dineutrino``: a flow over both neutrinos on a transformer encoding of the event."""

    schema: str = redefault(EventTraining, "schema", "hepgen-ttbar-dilepton")
    inputs: str = setting(
        "basic",
        "the input set: basic, or constrained (adds the ellipse method's solutions and "
        "Neutrino Weighting's best pair as tokens)",
        choices=tuple(INPUT_SETS),
    )
    assignment: bool = setting(
        False,
        "also learn which jets are the b and the b̄ (a per-jet softmax each, with a learned uncertainty weight): "
        "the posterior's tt̄ observables then marginalise over the b-jet choice",
    )


@dataclass
class DineutrinoPrediction(EventPrediction):
    """``hepgen predict dineutrino``: both neutrinos for every usable event, by a trained flow or a classical method."""

    method: str | None = classical_method((*CLASSICAL_METHODS, "kinreco"))
    schema: str = redefault(EventPrediction, "schema", "hepgen-ttbar-dilepton")
    templates: list[str] = setting(
        [],
        "kinreco: training events (hepgen generate ttbar-dilepton, with the truth) its resolution, W-mass and m(ℓb) "
        "templates come from",
        metavar="FILE",
    )
    smearings: int = setting(KINRECO_TRIALS, "kinreco: smearings per (b, b̄) pair")
    weighting_met_resolution: float = setting(NW_MET_RESOLUTION, "weighting: the MET resolution σ of the weight [GeV]")
    weighting_eta_max: float = setting(2.5, "weighting: the neutrino η grid spans ±eta_max ...")
    weighting_eta_points: int = setting(len(NW_ETA_GRID), "... in this many points")
    weighting_top_masses: list[float] = setting(
        [float(m) for m in NW_TOP_MASSES], "weighting: the top masses scanned [GeV]", metavar="GEV"
    )
    kinreco_jets: int = setting(KINRECO_MAX_JETS, "kinreco: the leading jets (b-tagged first) tried as b and b̄")
    kinreco_mlb_max: float = setting(MLB_MAX, "kinreco: pairs with m(ℓb) above this [GeV] are not tried")


def weighting_options(settings: DineutrinoPrediction) -> dict[str, Any]:
    """Neutrino Weighting's keyword arguments (:func:`~hepgen.physics.dilepton_neutrinos.neutrino_weighting`) from
    the prediction settings."""
    if settings.weighting_eta_points < 2 or not settings.weighting_top_masses or settings.weighting_met_resolution <= 0:
        raise HepgenInputError("weighting needs ≥ 2 η points, ≥ 1 top mass and a positive MET resolution")
    eta = settings.weighting_eta_max
    return {
        "etas": np.linspace(-eta, eta, settings.weighting_eta_points),
        "top_masses": np.asarray(settings.weighting_top_masses, dtype=np.float64),
        "met_resolution": settings.weighting_met_resolution,
    }


class DineutrinoTask(EventTask):
    """Both neutrinos of dilepton tt̄: a flow against the ellipse method, the smeared kinematic reconstruction and
    Neutrino Weighting."""

    name, output_tree = "dineutrino", "Dineutrino"
    Training, Prediction, Validation = DineutrinoTraining, DineutrinoPrediction, EventValidation
    model_class, validator = DineutrinoModel, "hepgen.validation.dineutrino:validate_dineutrino"

    def arrays(self, events: Events, *, require_truth: bool, inputs: str) -> DineutrinoArrays:
        return dineutrino_arrays(events, require_truth=require_truth, inputs=inputs)

    def training_batch(self, part: DineutrinoArrays) -> tuple[dict[str, Tensor], dict[str, Tensor], Tensor, Tensor]:
        """(objects, masks, target, the b and b̄ jets — −1 where unknown)."""
        b_jets = part.b_jets if part.b_jets is not None else np.full((len(part), 2), -1)
        return (*part.tensors(), torch.as_tensor(part.target), torch.as_tensor(b_jets))

    def loss(
        self, model: DineutrinoModel, batch: Any, *, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        objects, masks, target, b_jets = batch
        return model.losses(objects, masks, target, b_jets)  # with the assignment head, ``total`` is minimised

    def load_predictor(self, settings: DineutrinoPrediction) -> DineutrinoModel | SmearingTemplates | str:
        """The trained model of ``--run``, the templates of ``--method kinreco`` (from ``--templates``), or the name
        of another classical method."""
        if (settings.run is None) == (settings.method is None) or settings.onnx:
            raise HepgenInputError("give either a trained --run or --method ellipse|weighting|kinreco")
        if settings.method == "kinreco":
            if not settings.templates:
                raise HepgenInputError("--method kinreco needs --templates: training events with the truth")
            return templates_from_events(read(settings.templates, settings.schema))
        return settings.method if settings.method is not None else super().load_predictor(settings)

    def prediction_metadata(self, predictor: Any, settings: DineutrinoPrediction) -> dict[str, Any]:
        if isinstance(predictor, SmearingTemplates):
            return {"method": "kinreco"}
        return {"method": predictor if isinstance(predictor, str) else "flow"}

    def predict_block(
        self, predictor: DineutrinoModel | str, settings: DineutrinoPrediction, block: Block
    ) -> BlockOutput:
        """Both neutrinos of one block's usable events (see the module docstring for the branches)."""
        events = self.read_block(settings, block)
        inputs = predictor.config["inputs"] if hasattr(predictor, "config") else "basic"  # a model or an ensemble
        arrays = dineutrino_arrays(events, inputs=inputs)
        b_pair = b_candidates_p4(arrays)
        leptons = arrays.leptons_p4.astype(np.float64)
        met = arrays.objects["met"][:, 0].astype(np.float64)
        outputs: dict[str, np.ndarray] = {}
        if isinstance(predictor, SmearingTemplates):
            options = {
                "trials": settings.smearings,
                "max_jets": settings.kinreco_jets,
                "mlb_max": settings.kinreco_mlb_max,
            }
            result = kinreco_of_arrays(arrays, predictor, seed=block.seed, **options)
            point = np.nan_to_num(np.stack([result.nu, result.nubar], axis=1))  # 0 where not answered
            outputs["answered"] = result.answered
            corrected = np.stack([result.b, result.bbar], axis=1)  # the jets' weighted smearings: b-quark energies
            ordered = np.where(result.answered[:, None, None], corrected, b_pair)
        elif isinstance(predictor, str):
            options = weighting_options(settings) if predictor == "weighting" else {}
            solutions, pairing = solve_with_pairings(
                CLASSICAL_METHODS[predictor], b_pair, leptons[:, 0], leptons[:, 1], met, **options
            )
            point = np.nan_to_num(np.stack([solutions.chosen_nu, solutions.chosen_nubar], axis=1))  # 0 where failed
            outputs["answered"] = ~solutions.failed
            ordered = np.where((pairing == 1)[:, None, None], b_pair[:, ::-1], b_pair)
        else:
            samples = self._flow_samples(predictor, arrays, settings, block)
            point = np.median(samples, axis=1)
            outputs["samples"] = samples.astype(np.float32)
            if getattr(predictor, "draws", 1) > 1:  # an ensemble or stochastic passes
                outputs["epistemic_share"] = epistemic_share(samples, predictor.draws).astype(np.float32)
            outputs["answered"] = np.isfinite(samples).all(axis=(1, 2, 3))  # a posterior whose samples are all finite
            if predictor.has_assignment:  # each sample with its own b and b̄ jets, drawn from the assignment head
                b_index, ordered = sampled_b_jets(predictor, arrays, settings, block)
                outputs["sample_b_index"], outputs["jets_p4"] = b_index, arrays.jets_p4
            else:
                ordered = flow_pairing(b_pair, leptons, samples)
        outputs["point"] = point.astype(np.float32)
        outputs["b_p4"] = ordered.astype(np.float32)
        outputs["leptons_p4"] = arrays.leptons_p4
        if arrays.target is not None:
            outputs["truth"] = targets_to_momenta(arrays.target).astype(np.float32)
        if arrays.truth_observables is not None:
            outputs |= {f"truth_{k}": v.astype(np.float32) for k, v in arrays.truth_observables.items()}
        event_id = {k: v[arrays.event_index] for k, v in events.event_id.items()}
        return BlockOutput({"Dineutrino": (outputs, event_id)}, counts=dict(arrays.skipped))

    @staticmethod
    def _flow_samples(
        model: DineutrinoModel, arrays: DineutrinoArrays, settings: DineutrinoPrediction, block: Block
    ) -> np.ndarray:
        """Posterior samples (ν, ν̄) (px, py, pz) ``[B, S, 2, 3]`` of the block's events (the stream seeded by the block)."""
        torch.manual_seed(block.seed)
        draws = [
            targets_to_momenta(model.sample(*part.tensors(settings.device), settings.samples)).cpu().numpy()
            for part in arrays.batches(settings.batch_size)
        ]
        return np.concatenate(draws) if draws else np.zeros((0, settings.samples, 2, 3), np.float32)


#: The dilepton task, as registered in :mod:`hepgen.tasks.registry`.
DINEUTRINO = DineutrinoTask()
