"""ν²-Flows: the posterior of both neutrinos of dilepton tt̄ → bℓ⁺ν b̄ℓ⁻ν̄, against the classical reconstructions.

``hepgen train|predict|validate dineutrino``: a conditional flow over both neutrinos; ``predict --method ellipse``
or ``--method weighting`` runs the analytic ellipse method or Neutrino Weighting
(:mod:`hepgen.physics.dilepton_neutrinos`) on the same events; ``validate`` compares them
(:mod:`hepgen.validation.dineutrino`). What it shares with the single-neutrino task lives in
:mod:`hepgen.tasks.events`.

* :mod:`~hepgen.tasks.dineutrino.features` — ℓ⁺ then ℓ⁻, up to ten jets, MET (schema ``hepgen-ttbar-dilepton``);
  events without exactly one lepton of each charge, or without jets, are counted and left out; the target is
  (px, py, η) of ν (the partner of ℓ⁺) and ν̄: six numbers;
* :mod:`~hepgen.tasks.dineutrino.classical` — the b-jet candidates, the ``constrained`` input set's tokens (every
  ellipse-method solution and Neutrino Weighting's best pair, both pairings) and the flow's b-jet pairing;
* :mod:`~hepgen.tasks.dineutrino.model` — :class:`DineutrinoModel`: the object-set encoder and a conditional
  neural spline flow over the six standardised targets, sampled with the context-cached sampler;
* :mod:`~hepgen.tasks.dineutrino.task` — :data:`DINEUTRINO` and the prediction file.
"""

from hepgen.tasks.dineutrino import classical, features, model, task
from hepgen.tasks.dineutrino.classical import *
from hepgen.tasks.dineutrino.features import *
from hepgen.tasks.dineutrino.model import *
from hepgen.tasks.dineutrino.task import *

__all__ = [*classical.__all__, *features.__all__, *model.__all__, *task.__all__]
