"""Realistic samples with Pythia 8: tt̄ → ℓ+jets behind a parametrised detector, boosted jets, minimum bias, pileup.

* :func:`produce` — blocks, worker processes, shards, atomic NanoAOD-style ROOT output
  (the ``hepgen generate`` command);
* :mod:`hepgen.sim.ttbar`, :mod:`hepgen.sim.ttbar_dilepton`, :mod:`hepgen.sim.boosted_jets`, :mod:`hepgen.sim.minbias` —
  one block of each sample; :mod:`hepgen.sim.ttbar_objects` — the leptons and jets both tt̄ samples share;
* :mod:`hepgen.sim.detector` — every detector parameter in one place;
* :func:`overlay_pileup` — minimum-bias interactions added to jets on the fly.
"""

from hepgen.sim.boosted_jets import JetSampleConfig
from hepgen.sim.detector import DetectorResponse
from hepgen.sim.pileup import OverlaidJets, overlay_pileup, read_hard_jets, read_pileup_pool
from hepgen.sim.production import SAMPLES, PileupOptions, ProductionRequest, ProductionSummary, produce
from hepgen.sim.ttbar import TTbarSelection

__all__ = [
    "SAMPLES",
    "ProductionRequest",
    "ProductionSummary",
    "PileupOptions",
    "produce",
    "DetectorResponse",
    "TTbarSelection",
    "JetSampleConfig",
    "read_hard_jets",
    "read_pileup_pool",
    "OverlaidJets",
    "overlay_pileup",
]
