"""Which branches a schema reads, and whether a file or an array collection has them: the part of reading that
needs no data (resolving a schema by name, listing its branches, naming what is missing and what is close)."""

from __future__ import annotations

from collections.abc import Mapping

import awkward as ak

from hepgen.errors import MissingBranchError, closest_names
from hepgen.io.schema import Collection, ScalarObjects, Schema

__all__ = ["resolve_schema", "collection_branches", "needed_branches", "check_available", "flatten_collections"]


def resolve_schema(schema: Schema | str) -> Schema:
    """A :class:`Schema` from itself or from a built-in name (``"nanoaod"``)."""
    if isinstance(schema, Schema):
        return schema
    from hepgen.io.known_schemas import get_schema

    return get_schema(schema)


# -- planning: which branches a schema needs ------------------------------------------------------


def collection_branches(collection: Collection) -> dict[str, list[str]]:
    """Stored field → the branch(es) holding it."""
    source = collection.source
    out: dict[str, list[str]] = {}
    for f in collection.stored_fields():
        if isinstance(source, ScalarObjects):
            out[f] = source.branches_of(f)
        else:
            out[f] = [source.branch(f)]
    return out


def needed_branches(schema: Schema) -> list[str]:
    """Every branch ``schema`` reads (event identifiers first), each once."""
    names: list[str] = list(schema.event_id)
    for collection in schema.all_collections().values():
        for branches in collection_branches(collection).values():
            names += branches
    return list(dict.fromkeys(names))


def check_available(available: set[str], where_text: str, lacks: str, schema: Schema) -> None:
    """HepgenInputError naming every branch of ``schema`` missing from ``available`` (with the closest names there);
    ``where_text`` names the source and ``lacks`` starts the message (``"the tree lacks"``)."""
    for where, collection in [("event_id", None), *schema.all_collections().items()]:
        if collection is None:
            wanted = list(schema.event_id)
            source_text = "event identifiers"
        else:
            wanted = [b for bs in collection_branches(collection).values() for b in bs]
            source_text = f"collection {where!r} ({collection.source.describe()})"
        missing = [b for b in wanted if b not in available]
        if missing:
            hints = {b: closest_names(b, available) for b in missing}
            hint_text = "; ".join(
                f"{b!r}: closest existing {h}" if h else f"{b!r}: nothing similar" for b, h in hints.items()
            )
            fitting = [name for name in fitting_schemas(available) if name != schema.name]
            advice = f"; this looks like {fitting[0]}: add --schema {fitting[0]}" if fitting else ""
            raise MissingBranchError(
                f"{where_text}: schema {schema.name!r} needs branch(es) {missing} for {source_text}, which {lacks} "
                f"({hint_text}){advice}"
            )


def fitting_schemas(available: set[str]) -> list[str]:
    """The built-in schemas whose event identifiers and input (non-truth) collections ``available`` has."""
    from hepgen.io.known_schemas import available_schemas, get_schema

    out = []
    for name in available_schemas():
        schema = get_schema(name)
        wanted = list(schema.event_id) + [
            b
            for cname, collection in schema.all_collections().items()
            if cname not in schema.truth
            for bs in collection_branches(collection).values()
            for b in bs
        ]
        if all(b in available for b in wanted):
            out.append(name)
    return out


def flatten_collections(arrays: Mapping[str, ak.Array] | ak.Array) -> dict[str, ak.Array]:
    """Flat NanoAOD branches from a mapping or record array; nested collections (``Jet.pt``) become ``Jet_pt`` and
    their counters ``nJet``, records (``MET.pt``) ``MET_pt``."""
    if isinstance(arrays, ak.Array):
        arrays = {field: arrays[field] for field in arrays.fields}
    flat: dict[str, ak.Array] = {}
    for name, value in arrays.items():
        value = value if isinstance(value, ak.Array) else ak.Array(value)
        fields = value.fields
        if not fields:
            flat[name] = value
            continue
        if value.ndim > 1:  # a jagged collection of records
            flat.setdefault(f"n{name}", ak.num(value, axis=1))
        for field in fields:
            if not value[field].fields:
                flat.setdefault(f"{name}_{field}", value[field])
    return flat
