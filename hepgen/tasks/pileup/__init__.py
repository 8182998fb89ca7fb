"""VIPR: sample the pileup-free constituents of a jet given the observed, pileup-contaminated jet, and the
per-particle classifier it is compared with.

* :mod:`~hepgen.tasks.pileup.inputs` — what a model sees (the observed cloud, ``chs`` or ``observed`` input, the jet
  context with the nominal μ and N_PV, never the true pileup count) and what it generates (:func:`jet_batch`);
* :mod:`~hepgen.tasks.pileup.overlay` — pileup overlaid on the fly (the training μ law, fresh every epoch), the
  observed jets of a prediction block and their truth table; shared with the classifier;
* :mod:`~hepgen.tasks.pileup.model` — :class:`VIPRModel`: EDM preconditioning around the VIPR denoiser and a
  multiplicity model;
* :mod:`~hepgen.tasks.pileup.sampling` — schedules, :func:`sample_clouds` on any :class:`VIPRNetworks` (the
  PyTorch model or its ONNX runner), the distillation targets, samples back to jets (charged-pion masses);
* :mod:`~hepgen.tasks.pileup.export` — the ONNX graphs and :class:`OnnxVIPR`;
* :mod:`~hepgen.tasks.pileup.task` — :data:`PILEUP`, ``hepgen train|predict|validate pileup``;
* :mod:`~hepgen.tasks.pileup.puppiml` — :data:`PUPPIML`, the learned per-particle classifier.
"""

from hepgen.tasks.pileup.export import OnnxVIPR, vipr_export_graphs
from hepgen.tasks.pileup.inputs import (
    CONSTITUENT_FEATURES,
    CONTEXT_FEATURES,
    INPUTS,
    OBSERVED_FEATURES,
    PASSTHROUGH_PT,
    JetBatch,
    input_cloud,
    jet_batch,
    passed_through,
)
from hepgen.tasks.pileup.model import OBJECTIVES, VIPRModel
from hepgen.tasks.pileup.overlay import (
    OverlayPrediction,
    OverlayTraining,
    check_prediction_input,
    draw_training_mu,
    jet_table,
    observe_block,
    overlay_epochs,
    read_training_jets,
    training_overlay,
)
from hepgen.tasks.pileup.sampling import (
    DEFAULT_SAMPLER,
    DEFAULT_SCHEDULE,
    DEFAULT_STEPS,
    SCHEDULES,
    STUDENT_SAMPLING,
    GeneratedJets,
    VIPRNetworks,
    network_evaluations,
    sample_clouds,
    sampling_defaults,
    steps_for,
    to_generated_jets,
    with_teacher_targets,
)
from hepgen.tasks.pileup.task import (
    PILEUP,
    PileupPrediction,
    PileupTask,
    PileupTraining,
    PileupValidation,
    VIPRPredictor,
)

__all__ = [
    "CONSTITUENT_FEATURES",
    "OBSERVED_FEATURES",
    "CONTEXT_FEATURES",
    "INPUTS",
    "PASSTHROUGH_PT",
    "OBJECTIVES",
    "SCHEDULES",
    "DEFAULT_SCHEDULE",
    "DEFAULT_SAMPLER",
    "DEFAULT_STEPS",
    "STUDENT_SAMPLING",
    "network_evaluations",
    "steps_for",
    "sampling_defaults",
    "VIPRNetworks",
    "sample_clouds",
    "OnnxVIPR",
    "vipr_export_graphs",
    "with_teacher_targets",
    "JetBatch",
    "input_cloud",
    "passed_through",
    "jet_batch",
    "draw_training_mu",
    "overlay_epochs",
    "training_overlay",
    "read_training_jets",
    "observe_block",
    "jet_table",
    "check_prediction_input",
    "VIPRModel",
    "GeneratedJets",
    "to_generated_jets",
    "OverlayTraining",
    "OverlayPrediction",
    "PileupTraining",
    "PileupPrediction",
    "PileupValidation",
    "VIPRPredictor",
    "PileupTask",
    "PILEUP",
]
