"""Per-object features: stored fields, kinematics derived through ``vector``, mother look-ups.

Kinematic feature names (GeV, radians): ``pt, eta, phi, mass, px, py, pz,
energy, rapidity, log_pt, log_energy``. Which stored fields they come from is
set by the collection's ``kinematics``: ``pt_eta_phi_mass`` (NanoAOD),
``pt_eta_phi`` or ``px_py_pz`` (massless, e.g. truth neutrinos),
``px_py_pz_energy`` (flat ntuples), and for transverse-only objects such as MET ``pt_phi`` or ``px_py``.
A name that is not kinematic is a stored field. With a mother index
(NanoAOD ``GenPart_genPartIdxMother``), ``mother_<field>`` is the field of
the object's mother (0 where there is none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hepgen.errors import SchemaError

if TYPE_CHECKING:  # pragma: no cover
    from hepgen.io.schema import Source

__all__ = ["KINEMATIC_FIELDS", "DERIVED_KINEMATICS", "derived_feature_inputs", "FeatureTable"]

#: Stored fields holding the momentum, per kinematic representation.
KINEMATIC_FIELDS: dict[str, tuple[str, ...]] = {
    "pt_eta_phi_mass": ("pt", "eta", "phi", "mass"),
    "pt_eta_phi": ("pt", "eta", "phi"),
    "px_py_pz": ("px", "py", "pz"),
    "px_py_pz_energy": ("px", "py", "pz", "energy"),
    "pt_phi": ("pt", "phi"),
    "px_py": ("px", "py"),
    "none": (),
}

#: Names computed from the momentum when not stored.
DERIVED_KINEMATICS: dict[str, tuple[str, ...]] = {
    "4d": ("pt", "eta", "phi", "mass", "px", "py", "pz", "energy", "rapidity", "log_pt", "log_energy"),
    "2d": ("pt", "phi", "px", "py", "log_pt"),
}


def _dimension(kinematics: str) -> str | None:
    if kinematics == "none":
        return None
    return "2d" if kinematics in ("pt_phi", "px_py") else "4d"


def _mother_index(source: Source) -> str | None:
    return getattr(source, "mother_index", None)


def derived_feature_inputs(name: str, kinematics: str, source: Source) -> tuple[str, ...]:
    """The stored fields needed to compute feature ``name``."""
    stored = KINEMATIC_FIELDS[kinematics]
    if name in stored:
        return (name,)
    dim = _dimension(kinematics)
    if dim is not None and name in DERIVED_KINEMATICS[dim]:
        return stored
    if name.startswith("mother_") and _mother_index(source) is not None:
        base = name[len("mother_") :]
        return (*derived_feature_inputs(base, kinematics, source), _mother_index(source))  # type: ignore[return-value]
    if dim is not None and name in DERIVED_KINEMATICS["4d"]:
        raise SchemaError(
            f"feature {name!r} cannot be derived from kinematics {kinematics!r} "
            f"(it provides {', '.join(DERIVED_KINEMATICS[dim])}); with kinematics='none' every feature is a stored field"
        )
    return (name,)


class FeatureTable:
    """Lazily computed features of a flat list of objects (all events concatenated).

    Args:
        stored: stored field name → flat array ``[n]``.
        kinematics: the collection's kinematic representation.
        source: the collection's source (for the mother index).
        starts: index of each event's first object in the flat arrays ``[B]``.
        counts: objects per event ``[B]``.
    """

    def __init__(
        self,
        stored: dict[str, np.ndarray],
        kinematics: str,
        source: Source,
        starts: np.ndarray,
        counts: np.ndarray,
    ) -> None:
        self._stored = stored
        self._kinematics = kinematics
        self._source = source
        self._starts = starts
        self._counts = counts
        self._cache: dict[str, np.ndarray] = {}
        self._vector = None

    def _momentum(self):
        if self._vector is None:
            import vector

            fields = {k: self._stored[k] for k in KINEMATIC_FIELDS[self._kinematics]}
            if self._kinematics in ("pt_eta_phi", "px_py_pz"):
                fields["mass"] = np.zeros_like(next(iter(fields.values())))
            if self._kinematics == "px_py_pz_energy":
                fields["E"] = fields.pop("energy")
            self._vector = vector.array(fields)
        return self._vector

    def __call__(self, name: str) -> np.ndarray:
        """The flat array ``[n]`` of feature ``name``."""
        if name in self._stored:
            return self._stored[name]
        if name in self._cache:
            return self._cache[name]
        dim = _dimension(self._kinematics)
        if dim is not None and name in DERIVED_KINEMATICS[dim]:
            if name in ("log_pt", "log_energy"):
                with np.errstate(divide="ignore", invalid="ignore"):  # the reader reports non-finite features
                    value = np.log(self(name[len("log_") :]))
            elif name == "energy":
                value = self._momentum().t
            else:
                value = getattr(self._momentum(), name)
            value = np.asarray(value)
        elif name.startswith("mother_") and _mother_index(self._source) is not None:
            value = self._mother_values(name[len("mother_") :])
        else:  # a stored field the schema did not request: a bug in the caller
            raise KeyError(f"feature {name!r} was not read; stored fields are {sorted(self._stored)}")
        self._cache[name] = value
        return value

    def _mother_values(self, base: str) -> np.ndarray:
        index = self._stored[_mother_index(self._source)].astype(np.int64)  # type: ignore[index]
        event = np.repeat(np.arange(len(self._counts)), self._counts)
        valid = (index >= 0) & (index < self._counts[event])
        flat = np.where(valid, self._starts[event] + index, 0)
        base_values = self(base)
        return np.where(valid, base_values[flat] if len(base_values) else base_values, 0)
