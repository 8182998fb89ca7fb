"""The minimum-bias pool: final-state particles of ``SoftQCD:inelastic`` events, overlaid later as pileup.

Visible final-state particles (neutrinos dropped) with pT > 0.5 GeV and
|η| < 4.5 are stored per event as ``Particle_*`` (read by the
``hepgen-minbias`` schema, or as the overlay's pool by :func:`~hepgen.sim.pileup.read_pileup_pool`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hepgen.physics.kinematics import pt_eta_phi_mass
from hepgen.sim.boosted_jets import CONSTITUENT_PT_MIN, PARTICLE_ETA_MAX
from hepgen.sim.output import ColumnBuffer
from hepgen.sim.pythia import NEUTRINOS, charges, make_pythia, next_batch

__all__ = ["MINBIAS_SETTINGS", "minbias_columns", "generate_minbias_block", "MinbiasBlockResult"]

MINBIAS_SETTINGS: tuple[str, ...] = ("SoftQCD:inelastic = on",)


def minbias_columns() -> ColumnBuffer:
    f4 = np.float32
    return ColumnBuffer(
        {"Particle": {"pt": f4, "eta": f4, "phi": f4, "mass": f4, "charge": f4, "pdgId": np.int32}},
        {"event": np.int64},
    )


@dataclass
class MinbiasBlockResult:
    columns: dict[str, Any]
    generated: int


def generate_minbias_block(
    n_events: int,
    *,
    pythia_seed: int,
    block_index: int = 0,
    pt_min: float = CONSTITUENT_PT_MIN,
    eta_max: float = PARTICLE_ETA_MAX,
    batch_size: int = 100,
    progress: Any = None,
) -> MinbiasBlockResult:
    """Generate ``n_events`` inelastic events and keep their visible particles in the acceptance."""
    pythia = make_pythia(MINBIAS_SETTINGS, pythia_seed)
    buffer = minbias_columns()
    generated = 0
    while len(buffer) < n_events:
        n = min(batch_size, n_events - len(buffer))
        records = next_batch(pythia, n)
        generated += n
        pt, eta, phi, mass = pt_eta_phi_mass(records.p4)
        keep = records.final & ~np.isin(np.abs(records.id), NEUTRINOS) & (pt > pt_min) & (np.abs(eta) < eta_max)
        charge = charges(pythia, records.id)
        for event in range(records.n_events):
            lo, hi = records.offsets[event], records.offsets[event + 1]
            k = np.flatnonzero(keep[lo:hi]) + lo
            buffer.append(
                {
                    "Particle": {
                        "pt": pt[k],
                        "eta": eta[k],
                        "phi": phi[k],
                        "mass": mass[k],
                        "charge": charge[k],
                        "pdgId": records.id[k],
                    }
                },
                {"event": block_index * 100_000_000 + generated - n + event + 1},
            )
        if progress is not None:
            progress.update(records.n_events)
    return MinbiasBlockResult(columns=buffer.columns(), generated=generated)
