"""``hepgen train|predict|validate pileup``: the settings, the loss and the prediction file of VIPR.

The prediction file holds tree ``VIPR`` with one row per (jet, sample) — the generated constituents (and the
passed-through ones) and the jet they sum to — and tree ``Jets`` with the observed and truth constituents of each
jet (:func:`~hepgen.tasks.pileup.overlay.jet_table`), which :mod:`hepgen.validation.pileup` compares with the
classical baselines.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np
import torch
from torch import Tensor

from hepgen.errors import HepgenInputError
from hepgen.models.edm import SAMPLERS
from hepgen.models.ot_coupling import COUPLINGS
from hepgen.shards import derive_seed
from hepgen.sim.pileup import OverlaidJets, count_jets, read_pileup_pool
from hepgen.tasks.base import (
    Block,
    BlockOutput,
    PredictSettings,
    SetBlockSettings,
    Task,
    TrainingData,
    TrainSettings,
    ValidateSettings,
)
from hepgen.tasks.pileup.epochs import overlay_epochs, standardization_batch
from hepgen.tasks.pileup.export import OnnxVIPR, vipr_export_graphs
from hepgen.tasks.pileup.inputs import TARGETS, JetBatch, jet_batch, passthrough_options
from hepgen.tasks.pileup.latent import latent_model, wants_latent_model
from hepgen.tasks.pileup.model import OBJECTIVES, VIPRModel
from hepgen.tasks.pileup.overlay import (
    OverlayPrediction,
    OverlayTraining,
    check_prediction_input,
    observe_block,
    posterior_block_output,
    read_training_jets,
    truth_description,
)
from hepgen.tasks.pileup.sampling import (
    SCHEDULES,
    network_evaluations,
    refuse_diverged,
    to_generated_jets,
    with_teacher_targets,
)
from hepgen.tasks.pileup.scored import classifier_scores_setting, with_classifier_scores
from hepgen.tasks.settings import redefault, setting

__all__ = [
    "PileupTraining",
    "PileupPrediction",
    "PileupValidation",
    "VIPRPredictor",
    "PileupTask",
    "PILEUP",
]


@dataclass
class PileupTraining(OverlayTraining, SetBlockSettings):
    """``hepgen train pileup``: VIPR with pileup overlaid on the fly."""

    dim: int = setting(64, "token width of the networks")
    heads: int = setting(4, "attention heads")
    blocks: int = setting(3, "denoiser blocks (self-attention + cross-attention to the observed jet)")
    encoder_blocks: int = setting(2, "observed-jet encoder blocks")
    latents: int = setting(0, "Perceiver latents for large observed clouds (0: full self-attention)")
    coupling: str = setting(
        "independent",
        "flow matching's noise–data pairing: independent, or ot (the exact assignment within each jet)",
        choices=COUPLINGS,
    )
    objective: str = setting(
        "edm",
        "denoiser objective: edm (diffusion) or flow_matching (straight paths); autoencoder trains the set "
        "autoencoder that latent diffusion then learns in",
        choices=OBJECTIVES,
    )
    max_hard: int = setting(128, "particles generated at most per jet (the hardest are kept)")
    target: str = setting(
        "detector",
        "behind a detector, what is generated: detector (the hard scatter through the same detector) or particle "
        "(the particle-level jet: pileup removal and unfolding together)",
        choices=TARGETS,
    )
    init: str = setting(
        "",
        "start from the weights of this run's model (same network; e.g. a flow-matching run before distillation)",
        metavar="RUN",
    )
    teacher: str = setting(
        "",
        "distil this run's model (rectified-flow distillation, --objective flow_matching): "
        "the targets are the teacher's samples, each paired with its noise",
        metavar="RUN",
    )
    teacher_steps: int = setting(25, "sampler steps of the teacher (its own sampler and schedule)")
    autoencoder: str = setting(
        "",
        "latent diffusion: the denoiser learns in the latent space of this run's set autoencoder (trained with "
        "the objective autoencoder), frozen",
        metavar="RUN",
    )
    autoencoder_tokens: int = setting(16, "the set autoencoder's latent tokens per jet", minimum=1)
    autoencoder_latent_dim: int = setting(8, "the width of each of the set autoencoder's latent tokens", minimum=1)
    classifier_scores: str = classifier_scores_setting()
    ema_decay: float = redefault(TrainSettings, "ema_decay", 0.999)


@dataclass
class PileupPrediction(OverlayPrediction):
    """``hepgen predict pileup``: overlay pileup on hard jets and sample VIPR's posterior for each."""

    samples: int = redefault(PredictSettings, "samples", 16)
    steps: int = setting(
        0,
        "sampler steps (Heun: 2·steps − 1 network evaluations, Euler: steps); 0: the model's "
        "default (EDM 50 Heun steps, flow matching 8 heun_t steps, a distilled student 4 Euler steps)",
    )
    sampler: str = setting(
        "",
        "sampler: heun (EDM's, in σ), euler, heun_t (Heun in the flow's time t); default: the "
        "model's objective's (EDM heun, flow matching heun_t)",
        choices=("", *SAMPLERS),
    )
    schedule: str = setting(
        "",
        "noise schedule: karras or uniform_t (default: the model's objective's: EDM karras, flow matching uniform_t)",
        choices=("", *SCHEDULES),
    )
    ensemble: list[str] = setting(
        [],
        "more run folders (other seeds): sample the mixture of --run and these, samples / models each",
        metavar="RUN",
    )


@dataclass
class PileupValidation(ValidateSettings):
    """``hepgen validate pileup``: VIPR, the learned classifier and the classical baselines against the truth, per μ."""

    validation_fraction: float = setting(0.3, "share of jets used only to tune the baselines' parameters")
    tune_pred: list[str] = setting(
        [],
        "predictions of the same methods and points on other, validation jets: every choice is made on them and "
        "every jet of --pred is a test jet",
        metavar="FILE",
    )
    tuning_cache: str | None = setting(
        None,
        "folder that keeps the baselines' grid scores on the tuning jets: a validation on the same jets (another "
        "--pred, one more method) reads them instead of computing them; keyed by the files' bytes and the code",
        metavar="DIR",
        runtime=True,
    )


@dataclass
class VIPRPredictor:
    """A trained pileup model and the pool it overlays."""

    model: Any
    pool: ak.Array


class PileupTask(Task):
    """VIPR: the pileup-free constituents of a jet, sampled by conditional diffusion."""

    name = "pileup"
    Training, Prediction, Validation = PileupTraining, PileupPrediction, PileupValidation
    model_class, output_tree, block_size = VIPRModel, "VIPR", 32
    group_name = "point (μ, inefficiency, track loss)"
    validator = "hepgen.validation.pileup:validate_pileup"
    #: The method's name in prediction files and the validation.
    method_name = "vipr"

    def build_model(self, settings: PileupTraining) -> VIPRModel:
        model = latent_model(self, settings) if wants_latent_model(settings) else super().build_model(settings)
        if settings.classifier_scores:
            model = with_classifier_scores(model, settings.classifier_scores, settings)
        if settings.init:
            from hepgen.tasks.run_folder import load_model

            start = load_model(self, settings.init)
            if {k: v for k, v in start.config.items() if k != "objective"} != {
                k: v for k, v in model.config.items() if k != "objective"
            }:
                raise HepgenInputError(
                    f"--init {settings.init}: its network {start.config} differs from this one {model.config}"
                )
            model.load_state_dict(start.state_dict())
        return model

    def training_data(self, settings: PileupTraining, model: VIPRModel) -> TrainingData:
        train, val, _, pool = read_training_jets(settings)
        if not settings.init:  # a model started from another run keeps that run's standardisation
            generated = {"max_hard": settings.max_hard, "target": settings.target}
            model.fit_standardization(
                standardization_batch(train, pool, settings, model.context_features, generated=generated)
            )
        teacher = self._teacher(settings, model)

        def build(observed: OverlaidJets, index: np.ndarray, jets: ak.Array) -> JetBatch:
            batch = jet_batch(
                observed,
                input=settings.input,
                **passthrough_options(settings),
                hard=jets,
                max_hard=settings.max_hard,
                index=index,
                target=settings.target,
                context=model.context_features,
            ).to_torch()
            if teacher is None:
                return batch
            generator = torch.Generator().manual_seed(
                derive_seed(settings.seed, int(observed.n_interactions[index].sum()), int(index[0]))
            )
            return with_teacher_targets(teacher, batch, steps=settings.teacher_steps, generator=generator)

        return TrainingData(
            overlay_epochs(train, pool, settings, build, shuffle=True, seed=settings.seed),
            overlay_epochs(val, pool, settings, build, shuffle=False, seed=settings.seed + 1),
            f"{len(train)} training and {len(val)} validation jets, a pool of {len(pool)} events, input {settings.input}, "
            f"μ uniform in [{settings.mu_min:g}, {settings.mu_max:g}] with {settings.mu_core_fraction:.0%} from "
            f"|N({settings.mu:g}, {settings.mu_sigma:g})|",
        )

    def _teacher(self, settings: PileupTraining, student: VIPRModel) -> VIPRModel | None:
        """The teacher of a distillation (checked: flow-matching student, the same input and standardisation)."""
        if not settings.teacher:
            return None
        from hepgen.tasks.run_folder import load_model

        if settings.objective != "flow_matching":
            raise HepgenInputError("--teacher distils into straight paths: use it with --objective flow_matching")
        teacher = load_model(self, settings.teacher)
        if teacher.saved_with.get("input") != settings.input:
            raise HepgenInputError(
                f"--teacher {settings.teacher} was trained on input {teacher.saved_with.get('input')!r}, "
                f"this run uses {settings.input!r}"
            )
        for name in ("observed_standardizer", "hard_standardizer", "context_standardizer"):
            mine, theirs = getattr(student, name).state_dict(), getattr(teacher, name).state_dict()
            if any(not torch.allclose(mine[k], theirs[k], rtol=1e-4, atol=1e-6) for k in mine):
                raise HepgenInputError(
                    f"--teacher {settings.teacher}: its {name} differs from this run's; train the "
                    "student on the teacher's jets and seed (or --init from a run that was)"
                )
        return teacher

    def loss(self, model: VIPRModel, batch: JetBatch, *, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        diffusion, multiplicity = model.loss(batch, generator=generator)
        return {"diffusion": diffusion, "multiplicity": multiplicity}

    def model_file_extras(self, settings: PileupTraining) -> dict[str, Any]:
        keys = (
            "input",
            "passthrough_pt",
            "tower_passthrough_pt",
            "mu_min",
            "mu_max",
            "mu",
            "mu_sigma",
            "mu_core_fraction",
            "vertex_efficiency",
            "inefficiencies",
            "track_losses",
            "detector",
            "recluster",
            "radius",
            "target",
            "init",
            "teacher",
            "teacher_steps",
        )
        return {k: getattr(settings, k) for k in keys if hasattr(settings, k)}  # the classifier: no teacher, target

    def load_predictor(self, settings: OverlayPrediction) -> VIPRPredictor:
        model = super().load_predictor(settings)
        if getattr(settings, "ensemble", []):  # a deep ensemble of VIPR seeds (hepgen/tasks/pileup/ensemble.py)
            if settings.onnx:
                raise HepgenInputError("--ensemble samples PyTorch models (--run), not an ONNX export")
            from hepgen.tasks.pileup.ensemble import VIPREnsemble
            from hepgen.tasks.run_folder import load_model

            model = VIPREnsemble([model, *(load_model(self, run, device=settings.device) for run in settings.ensemble)])
        check_prediction_input(model.saved_with, settings)
        generates = model.saved_with.get("target", settings.target)  # the classifier generates nothing
        if settings.target != generates:
            raise HepgenInputError(
                f"--target {settings.target}: the model generates the {generates} level (trained with --target "
                f"{generates}); predict with it"
            )
        return VIPRPredictor(model, read_pileup_pool(settings.pileup))

    def load_onnx_predictor(self, settings: OverlayPrediction) -> OnnxVIPR:
        return OnnxVIPR(settings.onnx)

    def export_graphs(self, model: VIPRModel) -> tuple[list[Any], dict[str, Any]]:
        return vipr_export_graphs(model)

    def count_entries(self, settings: OverlayPrediction) -> int:
        return count_jets(settings.jets)

    def input_files(self, settings: OverlayPrediction) -> list[str]:
        from hepgen.io.files import expand_files

        return expand_files(settings.jets)

    def prediction_metadata(self, predictor: VIPRPredictor, settings: OverlayPrediction) -> dict[str, Any]:
        """The method's name in the validation (``vipr`` on CHS input, ``vipr_observed`` on all particles; the same
        for ``puppiml``) and what the model trained on."""
        model_input = predictor.model.saved_with.get("input", "observed")
        name = self.method_name if model_input == "chs" else f"{self.method_name}_{model_input}"
        if settings.name:
            if not settings.name.startswith(self.method_name) or settings.name.endswith("_samples"):
                raise HepgenInputError(
                    f"--name {settings.name}: a {self.method_name} run's name starts with {self.method_name!r} (the "
                    "validation knows the method by it) and does not end with _samples"
                )
            name = settings.name
        out = {
            "method": name,
            "input": model_input,
            "trained_with": {k: v for k, v in predictor.model.saved_with.items() if k != "task"},
            "truth": truth_description(settings),
        }
        if hasattr(predictor.model, "sampling_defaults"):  # the sampling actually used (settings or the model's)
            sampler, schedule, steps = predictor.model.sampling_defaults()
            sampler, schedule, steps = (
                settings.sampler or sampler,
                settings.schedule or schedule,
                settings.steps or steps,
            )
            out["sampling"] = {
                "sampler": sampler,
                "schedule": schedule,
                "steps": steps,
                "network_evaluations": network_evaluations(steps, sampler),
            }
        return out

    def predict_block(self, predictor: VIPRPredictor, settings: PileupPrediction, block: Block) -> BlockOutput:
        """Overlay Poisson(μ) pileup on the block's hard jets, sample ``samples`` posteriors per jet.

        Tree ``VIPR``: one row per (jet, sample), the generated constituents (and the passed-through ones) and the
        jet; tree ``Jets``: one row per jet (:func:`jet_table`).
        """
        jets, observed = observe_block(settings, predictor.pool, block)
        model_input = predictor.model.saved_with.get("input", "observed")
        generator = torch.Generator(device=settings.device).manual_seed(derive_seed(settings.seed, block.index, 1))
        batch = jet_batch(
            observed,
            input=model_input,
            context=predictor.model.context_features,
            **passthrough_options(predictor.model.saved_with),
        )
        clouds, mask = predictor.model.sample(
            batch.to_torch(settings.device),
            settings.samples,
            steps=settings.steps or None,
            sampler=settings.sampler or None,
            schedule=settings.schedule or None,
            generator=generator,
        )
        refuse_diverged(
            clouds, mask, f"--sampler {settings.sampler or '(its default)'} --steps {settings.steps or '(its default)'}"
        )
        generated = to_generated_jets(clouds, mask, batch.axis, settings.samples, batch.passthrough)
        return posterior_block_output(generated, jets, observed, block, settings.target)

    def validation_groups(self, files: list[str]) -> dict[Any, list[str]]:
        """Prediction files grouped by point (μ, inefficiency, track loss): the points are independent."""
        from hepgen.io.writer import read_metadata

        groups: dict[tuple[float, float, float], list[str]] = {}
        for path in files:
            metadata = read_metadata(path)  # the point as hepgen.validation.pileup.load.point_of reads it
            point = tuple(float(metadata.get(k, d)) for k, d in (("mu", "nan"), ("inefficiency", 0), ("track_loss", 0)))
            groups.setdefault(point, []).append(os.fspath(path))
        return groups

    def validation_options(self, settings: PileupValidation) -> dict[str, Any]:
        return super().validation_options(settings) | {
            "validation_fraction": settings.validation_fraction,
            "tuning_files": settings.tune_pred,
            "tuning_cache": settings.tuning_cache,
        }

    def validation_headline(self, metrics: dict[str, Any]) -> str:
        return f"validated the pileup methods at μ = {', '.join(f'{m:g}' for m in metrics['mu'])}"


#: The VIPR task, as registered in :mod:`hepgen.tasks.registry`.
PILEUP = PileupTask()
