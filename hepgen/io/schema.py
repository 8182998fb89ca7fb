"""Declarative schemas: which ROOT branches become which padded point clouds.

A :class:`Schema` names the tree, the event-identifier branches, the input
collections (jets, leptons, MET, ...) and the truth collections (neutrinos,
partons, ...). Each :class:`Collection` says where its objects are stored (a
*source*), which features to build, the kinematic representation, the
maximum length, the sort key and an optional per-object cut.

Sources:

* :class:`Prefix` — NanoAOD style: ``nJet`` with ``Jet_pt``, ``Jet_eta``, ...;
  with ``counter=None`` the branches are scalars, one object per event
  (``MET_pt``, ``MET_phi``).
* :class:`Branches` — an explicit map of field name → full branch name
  (``{"px": "Jet_Px", ...}``) for flat ntuples with other conventions.
* :class:`ScalarObjects` — a fixed number of objects each stored as its own
  scalar branches (``px1``, ``px2``, ...).

Features are either stored fields of the source or kinematic quantities
derived through ``vector`` (see :mod:`hepgen.io.features`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from hepgen.errors import SchemaError
from hepgen.io.cut import Cut
from hepgen.io.features import KINEMATIC_FIELDS, derived_feature_inputs

__all__ = [
    "Prefix",
    "Branches",
    "ScalarObjects",
    "Source",
    "Collection",
    "Schema",
    "Kinematics",
]

Kinematics = Literal["pt_eta_phi_mass", "pt_eta_phi", "px_py_pz", "px_py_pz_energy", "pt_phi", "px_py", "none"]


@dataclass(frozen=True)
class Prefix:
    """NanoAOD-style storage: branches ``{name}_{field}`` counted by ``counter``.

    Args:
        name: the branch prefix, e.g. ``"Jet"``.
        counter: the multiplicity branch (default ``"n" + name``); ``None`` for
            scalar branches holding exactly one object per event (``MET_pt``).
        fields: renames from field name to branch suffix, e.g.
            ``{"btag": "btagCSVV2"}`` reads ``Jet_btagCSVV2`` as feature ``btag``.
        mother_index: suffix of a branch holding, per object, the index of its
            mother in the same collection (``"genPartIdxMother"``); it enables the
            fields ``mother_<field>`` (0 where there is no mother).
    """

    name: str
    counter: str | None = "auto"
    fields: Mapping[str, str] = field(default_factory=dict)
    mother_index: str | None = None

    def __post_init__(self) -> None:
        if self.counter == "auto":
            object.__setattr__(self, "counter", "n" + self.name)
        object.__setattr__(self, "fields", dict(self.fields))

    @property
    def jagged(self) -> bool:
        """True when each event holds a variable number of objects."""
        return self.counter is not None

    def branch(self, field_name: str) -> str:
        """The full branch name of a stored field."""
        return f"{self.name}_{self.fields.get(field_name, field_name)}"

    def describe(self) -> str:
        return f"branches {self.name}_*" + (f" counted by {self.counter}" if self.counter else " (one per event)")


@dataclass(frozen=True)
class Branches:
    """Explicit field → branch map, e.g. ``{"px": "Jet_Px", "py": "Jet_Py", ...}``.

    Args:
        fields: field name → full branch name.
        jagged: True if the branches are variable-length per event (``float[]``),
            False for scalar branches holding one object per event.
    """

    fields: Mapping[str, str]
    jagged: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", dict(self.fields))

    def branch(self, field_name: str) -> str:
        try:
            return self.fields[field_name]
        except KeyError:
            raise SchemaError(f"field {field_name!r} is not in the branch map; it maps {sorted(self.fields)}") from None

    def describe(self) -> str:
        return "branches " + ", ".join(sorted(self.fields.values()))


@dataclass(frozen=True)
class ScalarObjects:
    """A fixed number of objects each stored as scalar branches.

    Args:
        objects: one field → branch map per object, e.g.
            ``[{"px": "px1", ...}, {"px": "px2", ...}]``; all maps have the same fields.
    """

    objects: Sequence[Mapping[str, str]]

    def __post_init__(self) -> None:
        objects = tuple(dict(o) for o in self.objects)
        if not objects:
            raise SchemaError("ScalarObjects needs at least one object")
        keys = set(objects[0])
        for o in objects[1:]:
            if set(o) != keys:
                raise SchemaError(f"ScalarObjects maps must share their fields; got {sorted(keys)} and {sorted(o)}")
        object.__setattr__(self, "objects", objects)

    jagged = False

    @property
    def fields(self) -> dict[str, str]:
        return dict(self.objects[0])

    def branches_of(self, field_name: str) -> list[str]:
        try:
            return [o[field_name] for o in self.objects]
        except KeyError:
            raise SchemaError(f"field {field_name!r} is not stored; fields are {sorted(self.objects[0])}") from None

    def describe(self) -> str:
        return f"{len(self.objects)} objects in scalar branches"


Source = Prefix | Branches | ScalarObjects


@dataclass(frozen=True)
class Collection:
    """One padded point cloud to build from a source.

    Args:
        source: where the objects are stored.
        features: the feature columns, in order: stored fields or derived
            kinematics (``pt, eta, phi, mass, px, py, pz, energy, log_pt,
            log_energy``, ...).
        max_length: the padded length ``N``; further objects are truncated and counted.
        kinematics: which stored fields hold the momentum (default
            ``pt_eta_phi_mass``; ``pt_eta_phi`` or ``px_py_pz`` for massless
            objects; ``px_py_pz_energy``; ``pt_phi``
            or ``px_py`` for transverse-only objects such as MET; ``none`` when
            only stored fields are used).
        sort_by: a feature to sort by, descending (default ``"pt"``); ``None``
            keeps the stored order.
        cut: a per-object selection expression over feature names, e.g.
            ``"pt > 25 and abs(eta) < 2.5"`` (see :mod:`hepgen.io.cut`).
    """

    source: Source
    features: Sequence[str]
    max_length: int
    kinematics: Kinematics = "pt_eta_phi_mass"
    sort_by: str | None = "pt"
    cut: str | Cut | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(self.features))
        if not self.features:
            raise SchemaError("a Collection needs at least one feature")
        if len(set(self.features)) != len(self.features):
            raise SchemaError(f"duplicate features in {self.features}")
        if int(self.max_length) < 1:
            raise SchemaError(f"max_length must be >= 1; got {self.max_length}")
        if self.kinematics not in KINEMATIC_FIELDS:
            raise SchemaError(f"kinematics {self.kinematics!r} unknown; choose from {sorted(KINEMATIC_FIELDS)}")
        if isinstance(self.cut, str):
            object.__setattr__(self, "cut", Cut(self.cut))
        elif self.cut is not None and not isinstance(self.cut, Cut):
            raise SchemaError(f"cut must be an expression string; got {type(self.cut).__name__}")
        if not self.source.jagged and self.max_length < self._fixed_count():
            raise SchemaError(
                f"max_length {self.max_length} is smaller than the {self._fixed_count()} objects stored per event"
            )

    def _fixed_count(self) -> int:
        return len(self.source.objects) if isinstance(self.source, ScalarObjects) else 1

    @property
    def needed_names(self) -> tuple[str, ...]:
        """Every feature name read by the features, the cut and the sort key."""
        names = list(self.features)
        if isinstance(self.cut, Cut):
            names += sorted(self.cut.names)
        if self.sort_by is not None:
            names.append(self.sort_by)
        return tuple(dict.fromkeys(names))

    def stored_fields(self, extra: Sequence[str] = ()) -> tuple[str, ...]:
        """The stored fields needed to build the features, cut, sort key and ``extra`` names."""
        stored: list[str] = []
        for name in (*self.needed_names, *extra):
            stored.extend(derived_feature_inputs(name, self.kinematics, self.source))
        return tuple(dict.fromkeys(stored))

    def with_options(self, **changes: object) -> Collection:
        """A copy with some arguments changed, e.g. ``jets.with_options(cut="pt > 30")``."""
        return replace(self, **changes)


@dataclass(frozen=True)
class Schema:
    """How to read one kind of file.

    Args:
        name: a short identifier (``"nanoaod"``).
        collections: input point clouds by name (``jets``, ``met``, ...).
        truth: truth-level point clouds by name (``neutrinos``, ...), kept apart
            from the inputs so no model reads them by accident.
        tree: the default tree name; ``None`` accepts a file's only TTree.
        event_id: branches identifying an event (``run``, ``luminosityBlock``,
            ``event``); the reader always adds ``entry``.
        description: one line for humans.
    """

    name: str
    collections: Mapping[str, Collection]
    truth: Mapping[str, Collection] = field(default_factory=dict)
    tree: str | None = None
    event_id: Sequence[str] = ()
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "collections", dict(self.collections))
        object.__setattr__(self, "truth", dict(self.truth))
        object.__setattr__(self, "event_id", tuple(self.event_id))
        both = set(self.collections) & set(self.truth)
        if both:
            raise SchemaError(f"names used both as input and truth collections: {sorted(both)}")
        if "entry" in self.event_id:
            raise SchemaError("'entry' is added by the reader; do not list it in event_id")

    def all_collections(self) -> dict[str, Collection]:
        """Input and truth collections together."""
        return {**self.collections, **self.truth}

    def with_collection(self, name: str, collection: Collection | None = None, **changes: object) -> Schema:
        """A copy with one collection replaced or changed (``schema.with_collection("jets", cut="pt > 30")``)."""
        target = "truth" if name in self.truth else "collections"
        current = getattr(self, target)
        if collection is None:
            if name not in current:
                raise SchemaError(
                    f"no collection {name!r} in schema {self.name!r}; it has {sorted(self.all_collections())}"
                )
            collection = current[name].with_options(**changes)
        return replace(self, **{target: {**current, name: collection}})

    def without(self, *names: str) -> Schema:
        """A copy without the named collections (input or truth)."""
        unknown = set(names) - set(self.all_collections())
        if unknown:
            raise SchemaError(f"schema {self.name!r} has no collections {sorted(unknown)}")
        return replace(
            self,
            collections={k: v for k, v in self.collections.items() if k not in names},
            truth={k: v for k, v in self.truth.items() if k not in names},
        )
