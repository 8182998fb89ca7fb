"""ν-Flows: the posterior p(ν | event) of the W-decay neutrino in tt̄ → ℓ+jets.

* :mod:`~hepgen.tasks.neutrino.features` — the input sets (the lepton, up to ten jets, MET, the analytic W-mass
  roots; ``constrained`` adds m(ℓνj) per jet with each root) and :func:`neutrino_arrays`; the target is the
  neutrino's (px, py, η), pz = pT sinh η;
* :mod:`~hepgen.tasks.neutrino.model` — :class:`NeutrinoModel`: one token per object, masked self-attention,
  class-attention pooling (:class:`~hepgen.nn.ObjectSetEncoder`), and an ``mse``, ``gauss``, ``mdn`` or ``flow``
  head (:mod:`hepgen.models.regressors`), all trained by −log p(y | event); standardisation inside the model;
* :mod:`~hepgen.tasks.neutrino.sampling` — :func:`posterior_outputs` (samples, median, mode, b-jet assignment);
* :mod:`~hepgen.tasks.neutrino.export` — the ONNX sampling graph and its onnxruntime runner;
* :mod:`~hepgen.tasks.neutrino.lazy` — :func:`posterior_samples_dask` on dask-awkward collections;
* :mod:`~hepgen.tasks.neutrino.task` — :data:`NEUTRINO`, ``hepgen train|predict|validate neutrino``.
"""

from hepgen.tasks.events import BTAG_THRESHOLD, btag_flags, targets_to_momentum
from hepgen.tasks.neutrino import export, features, lazy, model, sampling, task
from hepgen.tasks.neutrino.export import *
from hepgen.tasks.neutrino.features import *
from hepgen.tasks.neutrino.lazy import *
from hepgen.tasks.neutrino.model import *
from hepgen.tasks.neutrino.sampling import *
from hepgen.tasks.neutrino.task import *

__all__ = [
    "BTAG_THRESHOLD",
    "btag_flags",
    "targets_to_momentum",
    *features.__all__,
    *model.__all__,
    *sampling.__all__,
    *export.__all__,
    *lazy.__all__,
    *task.__all__,
]
