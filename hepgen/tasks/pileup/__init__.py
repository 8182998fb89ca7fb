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
* :mod:`~hepgen.tasks.pileup.puppiml` — :data:`PUPPIML`, the learned per-particle classifier (its network:
  :mod:`~hepgen.tasks.pileup.classifier`);
* :mod:`~hepgen.tasks.pileup.latent`, :mod:`~hepgen.tasks.pileup.scored` — VIPR in a set autoencoder's latent space
  (``--autoencoder``), and VIPR reading a trained classifier's scores (``--classifier-scores``).
* :mod:`~hepgen.tasks.pileup.fractions` — :data:`PILEUP_FRACTIONS`, the hard-fraction posterior: the share of
  each observed particle's energy from the hard scatter, sampled jointly for the jet (``hepgen train pileup_fractions``).
"""

from hepgen.tasks.pileup import export, inputs, model, overlay, sampling, task
from hepgen.tasks.pileup.export import *
from hepgen.tasks.pileup.inputs import *
from hepgen.tasks.pileup.model import *
from hepgen.tasks.pileup.overlay import *
from hepgen.tasks.pileup.sampling import *
from hepgen.tasks.pileup.task import *

__all__ = [*inputs.__all__, *overlay.__all__, *model.__all__, *sampling.__all__, *export.__all__, *task.__all__]
