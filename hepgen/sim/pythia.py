"""Pythia 8 set-up and batched access to the event record.

Events are generated with Pythia's own batch interface, ``Pythia.nextBatch(n)``
(PYTHIA's ``PythiaBatch``, which fills an Awkward array in C++), and the
records are flattened into numpy arrays. Everything downstream is vectorised
over the batch, so hepgen adds almost nothing to Pythia's own generation time
(reading particles one by one from Python costs 0.3 µs per attribute and
would double it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

__all__ = [
    "COMMON_SETTINGS",
    "make_pythia",
    "ParticleRecords",
    "next_batch",
    "hadron_flavour",
    "charges",
    "HEAVY_HADRON_MIN_PT",
    "NEUTRINOS",
]

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

#: b and c hadrons softer than this (GeV) are not used for flavour labelling.
HEAVY_HADRON_MIN_PT = 5.0

NEUTRINOS = (12, 14, 16)

_CHARGE_CACHE: dict[int, float] = {}


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
class ParticleRecords:
    """Full event records of a batch, flattened: particle ``k`` of event ``i`` sits at ``offsets[i] + k``.

    Mother and daughter indices are local (positions within their event), as in Pythia.
    Momenta in GeV.
    """

    offsets: np.ndarray
    id: np.ndarray
    status: np.ndarray
    mother1: np.ndarray
    daughter1: np.ndarray
    daughter2: np.ndarray
    p4: np.ndarray  # [n, 4] (px, py, pz, E)

    @property
    def n_events(self) -> int:
        return len(self.offsets) - 1

    @property
    def event_of(self) -> np.ndarray:
        """Event index of each particle ``[n]``."""
        return np.repeat(np.arange(self.n_events), np.diff(self.offsets))

    @property
    def final(self) -> np.ndarray:
        """True for final-state particles."""
        return self.status > 0

    def bottom_copy(self, event: int, index: int) -> int:
        """Local index of the last copy of particle ``index`` (as Pythia's ``iBotCopyId``): follow the
        daughter carrying the same identity (a recoil copy, or the radiator after an emission)."""
        o = self.offsets[event]
        pid = self.id[o + index]
        while True:
            same = [d for d in self.daughters(event, index) if self.id[o + d] == pid]
            if len(same) != 1:
                return index
            index = same[0]

    def daughters(self, event: int, index: int) -> list[int]:
        """Local indices of the daughters of particle ``index`` (Pythia's ``daughterList``)."""
        o = self.offsets[event]
        d1, d2 = int(self.daughter1[o + index]), int(self.daughter2[o + index])
        if d1 <= 0:
            return []
        if d2 == 0 or d2 == d1:
            return [d1]
        if d2 > d1:
            return list(range(d1, d2 + 1))
        return [d2, d1]


def next_batch(pythia: Any, n: int) -> ParticleRecords:
    """Generate ``n`` events with ``pythia.nextBatch`` (failed events are skipped) and flatten their records."""
    batch = pythia.nextBatch(int(n))
    prt = batch.prt
    counts = ak.to_numpy(ak.num(prt)).astype(np.int64)
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    flat = ak.flatten(prt)
    p = flat.p
    p4 = np.stack([ak.to_numpy(p.px), ak.to_numpy(p.py), ak.to_numpy(p.pz), ak.to_numpy(p.e)], axis=1)
    return ParticleRecords(
        offsets=offsets,
        id=ak.to_numpy(flat.id),
        status=ak.to_numpy(flat.status),
        mother1=ak.to_numpy(flat.mother1),
        daughter1=ak.to_numpy(flat.daughter1),
        daughter2=ak.to_numpy(flat.daughter2),
        p4=p4,
    )


def hadron_flavour(pdg_id: np.ndarray) -> np.ndarray:
    """5 for b hadrons, 4 for c hadrons, 0 otherwise, from the PDG numbering scheme (vectorised)."""
    a = np.abs(pdg_id) % 10000  # drop excited-state prefixes such as 10511
    meson = (a >= 100) & (a < 1000)
    baryon = (a >= 1000) & ((a // 10) % 10 != 0)  # diquarks (xy0z) are not hadrons
    digit = np.where(meson, (a // 100) % 10, np.where(baryon, (a // 1000) % 10, 0))
    return np.where(np.isin(digit, (4, 5)), digit, 0).astype(np.int32)


def charges(pythia: Any, pdg_id: np.ndarray) -> np.ndarray:
    """Electric charges (units of e) of PDG ids, from Pythia's particle data (cached per id)."""
    unique, inverse = np.unique(pdg_id, return_inverse=True)
    table = np.empty(len(unique), dtype=np.float32)
    for k, pid in enumerate(unique.tolist()):
        q = _CHARGE_CACHE.get(pid)
        if q is None:
            q = _CHARGE_CACHE[pid] = float(pythia.particleData.charge(pid))
        table[k] = q
    return table[inverse].reshape(np.shape(pdg_id))
