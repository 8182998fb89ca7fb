"""Pythia 8 set-up and fast extraction of the event record into numpy arrays.

Settings for each process live in the sample modules; this module adds the
common ones (13 TeV, quiet output, seeding) and turns a generated event into
arrays with one pass over ``event.particles()`` (far cheaper than indexing
``event[i]`` from Python).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["COMMON_SETTINGS", "make_pythia", "FinalState", "final_state", "charges", "CHARGE_CACHE", "HEAVY_HADRON_MIN_PT"]

#: Settings every hepgen Pythia instance uses.
COMMON_SETTINGS: tuple[str, ...] = (
    "Beams:eCM = 13000.",
    "Print:quiet = on",
    "Next:numberCount = 0",
    "Next:numberShowEvent = 0",
    "Next:numberShowInfo = 0",
    "Next:numberShowProcess = 0",
    "Random:setSeed = on",
)

#: b and c hadrons softer than this (GeV) are not recorded for flavour labelling.
HEAVY_HADRON_MIN_PT = 5.0

#: Charge of a PDG id, filled lazily from Pythia's particle data (units of e).
CHARGE_CACHE: dict[int, float] = {}


def make_pythia(settings: Sequence[str], seed: int) -> Any:
    """An initialised ``pythia8mc.Pythia`` with the common settings, ``settings`` and ``Random:seed = seed``."""
    try:
        import pythia8mc
    except ImportError as err:  # pragma: no cover - a dependency
        raise ImportError("hepgen.sim needs Pythia 8: pip install 'pythia8mc==8.317.2'") from err
    if not 1 <= seed <= 900_000_000:
        raise ValueError(f"Pythia seeds must lie in [1, 900000000]; got {seed}")
    pythia = pythia8mc.Pythia("", False)
    for line in (*COMMON_SETTINGS, *settings, f"Random:seed = {seed}"):
        if not pythia.readString(line):
            raise ValueError(f"Pythia refused the setting {line!r}")
    if not pythia.init():
        raise RuntimeError(f"Pythia failed to initialise with settings {list(settings)}")
    return pythia


@dataclass
class FinalState:
    """The final-state particles of one event and its heavy-flavour hadrons (GeV).

    Attributes:
        p4: ``[n, 4]`` (px, py, pz, E) of final-state particles.
        pdg_id: ``[n]`` PDG ids.
        heavy_p4: ``[h, 4]`` momenta of b and c hadrons (any stage of the decay chain).
        heavy_flavour: ``[h]`` 5 for b hadrons, 4 for c hadrons.
    """

    p4: np.ndarray
    pdg_id: np.ndarray
    heavy_p4: np.ndarray
    heavy_flavour: np.ndarray


def final_state(event: Any, *, heavy_hadrons: bool = False) -> FinalState:
    """Extract final-state particles (and, if asked, b/c hadrons) from a Pythia event in one pass."""
    finals: list[tuple[float, float, float, float, int]] = []
    heavy: list[tuple[float, float, float, float, int]] = []
    for p in event.particles():
        if p.isFinal():
            finals.append((p.px(), p.py(), p.pz(), p.e(), p.id()))
        elif heavy_hadrons:
            a = p.idAbs()
            if a > 400:
                a4 = a % 10000  # drop excited-state prefixes such as 10511
                if a4 >= 1000:  # baryons; diquarks (xy0z) have a zero third digit
                    flavour = (a4 // 1000) % 10 if (a4 // 10) % 10 else 0
                else:  # mesons
                    flavour = (a4 // 100) % 10
                if flavour in (4, 5) and p.pT() > HEAVY_HADRON_MIN_PT:
                    heavy.append((p.px(), p.py(), p.pz(), p.e(), flavour))
    f = np.asarray(finals, dtype=np.float64).reshape(-1, 5)
    h = np.asarray(heavy, dtype=np.float64).reshape(-1, 5)
    return FinalState(f[:, :4], f[:, 4].astype(np.int32), h[:, :4], h[:, 4].astype(np.int32))


def charges(pythia: Any, pdg_id: np.ndarray) -> np.ndarray:
    """Electric charges of PDG ids (units of e), cached from Pythia's particle data."""
    out = np.empty(len(pdg_id), dtype=np.float32)
    for i, pid in enumerate(pdg_id.tolist()):
        q = CHARGE_CACHE.get(pid)
        if q is None:
            q = CHARGE_CACHE[pid] = float(pythia.particleData.charge(pid))
        out[i] = q
    return out
