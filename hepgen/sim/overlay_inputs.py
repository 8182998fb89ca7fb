"""The overlay's inputs, read through :mod:`hepgen.io` with the readers' checks: the hard-scatter jets of
``hepgen generate jets`` (``hepgen-jets`` schema: each jet's axis, true mass, constituents and, where the files hold
them, the hard event around it) and the minimum-bias pool of ``hepgen generate minbias`` (``hepgen-minbias``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import awkward as ak
import numpy as np

from hepgen.errors import HepgenInputError

__all__ = ["PARTICLE_FIELDS", "read_hard_jets", "count_jets", "read_pileup_pool", "hard_jets_from_columns"]

#: The fields of a constituent or pool particle record.
PARTICLE_FIELDS = ("pt", "eta", "phi", "mass", "charge")

Files = str | os.PathLike | Sequence[str | os.PathLike]


def _hard_jet_schema(surroundings: bool = False):
    from dataclasses import replace

    from hepgen.io.known_schemas import JET_SURROUNDINGS, get_schema

    schema = get_schema("hepgen-jets").without("jet", "constituents")  # only the truth: the hard jet and its event
    return replace(schema, truth={**schema.truth, "surroundings": JET_SURROUNDINGS}) if surroundings else schema


def _hold_surroundings(files: Files) -> bool:
    """Whether the jet files hold the hard event around each jet (``Surrounding_*``): all of them, or none."""
    from hepgen.io.files import expand_files, open_tree

    paths = expand_files(files)
    held = {path: "nSurrounding" in open_tree(path, "Jets").keys() for path in paths}
    if len(set(held.values())) > 1:
        raise HepgenInputError(
            "some jet files hold the hard event around the jets (Surrounding_*) and some do not: "
            f"without {sorted(p for p, h in held.items() if not h)}; regenerate them with `hepgen generate jets`"
        )
    return bool(paths) and all(held.values())


def hard_jets_from_columns(
    eta: np.ndarray,
    phi: np.ndarray,
    constituents: ak.Array,
    mass: np.ndarray | None = None,
    surroundings: ak.Array | None = None,
) -> ak.Array:
    """Hard-jet records from jet axes ``[J]`` and jagged constituent records (fields :data:`PARTICLE_FIELDS`),
    with the rest of the event around each jet if given (jagged records, the same fields)."""
    fields = {
        "eta": np.asarray(eta),
        "phi": np.asarray(phi),
        "mass": np.full(len(eta), np.nan) if mass is None else np.asarray(mass),
        "constituents": ak.zip({k: constituents[k] for k in PARTICLE_FIELDS}),
    }
    if surroundings is not None:
        fields["surroundings"] = ak.zip({k: surroundings[k] for k in PARTICLE_FIELDS})
    return ak.zip(fields, depth_limit=1)


def read_hard_jets(files: Files, *, entry_start: int | None = None, entry_stop: int | None = None) -> ak.Array:
    """The hard-scatter jets of ``hepgen generate jets`` files (their hard constituents only, stored order).

    ``entry_start``/``entry_stop`` select jets by their global index over the chained files (as a TChain).
    Returns hard-jet records (see the module docstring); the jet ``mass`` is the true (no-pileup) jet mass;
    ``surroundings`` where every file holds them.
    """
    from hepgen.io import read

    surroundings = _hold_surroundings(files)
    events = read(files, _hard_jet_schema(surroundings), entry_start=entry_start, entry_stop=entry_stop)
    jet = events.truth["hard_jet"]
    return hard_jets_from_columns(
        jet["eta"][:, 0],
        jet["phi"][:, 0],
        events.truth["hard_constituents"].to_awkward(),
        jet["mass"][:, 0],
        events.truth["surroundings"].to_awkward() if surroundings else None,
    )


def count_jets(files: Files) -> int:
    """Number of jets over all ``files`` (tree ``Jets``); reads no data."""
    from hepgen.io import count_entries

    return count_entries(files, _hard_jet_schema())


def read_pileup_pool(files: Files, *, step_size: int = 5000) -> ak.Array:
    """The minimum-bias pool of ``hepgen generate minbias`` files: one list of particle records per event.

    Read ``step_size`` events at a time; a pool event with more particles than the schema's maximum is refused
    (its particles would be lost from every overlay).
    """
    from hepgen.io import iterate

    parts = []
    for events in iterate(files, "hepgen-minbias", step_size=step_size):
        if events.info.truncated_objects:
            raise HepgenInputError(
                f"the pileup pool {files} has events beyond the schema's maximum of particles "
                f"({events.info.summary()}); raise max_length of 'hepgen-minbias'"
            )
        parts.append(events["particles"].to_awkward())
    pool = ak.concatenate(parts) if len(parts) > 1 else (parts[0] if parts else ak.Array([]))
    if len(pool) == 0:
        raise HepgenInputError(f"the pileup pool {files} holds no events; make one with `hepgen generate minbias`")
    return pool
