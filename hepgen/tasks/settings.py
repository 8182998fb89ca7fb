"""Settings dataclasses: one source of truth for every default, turned into CLI flags, YAML and run configs.

A task's settings (training, prediction, validation) are dataclasses whose fields are declared with
:func:`setting`: the default, the help text, and whether the field is required or a *runtime* setting
(where and how long to run, which may change on ``--resume``). Everything else derives from them:

* :func:`add_arguments` — one ``--flag`` per field (``learning_rate`` → ``--learning-rate``; booleans get
  ``--x/--no-x``) whose help shows the dataclass default; the parser stores only what the user typed;
* :func:`resolve` — the settings from layers of overrides, later ones winning: the field defaults, a
  preset or ``--config FILE`` (YAML mappings), the flags, ``--set key=value``; every value is converted
  to the field's type and unknown names are refused with the list of known ones;
* :func:`to_mapping` — the resolved settings as plain YAML types (a run folder's ``config.yaml``, which
  :func:`resolve` reads back to replay the run).

A library user never needs this module: the dataclasses are plain keyword constructors.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, Union

import yaml

from hepgen.errors import HepgenInputError

__all__ = [
    "setting",
    "redefault",
    "add_arguments",
    "resolve",
    "to_mapping",
    "read_mapping",
    "parse_assignments",
    "runtime_names",
    "current_names",
    "values_of",
    "fields_of",
]

S = TypeVar("S")

_MISSING = dataclasses.MISSING


def setting(
    default: Any = _MISSING,
    help: str = "",
    *,
    required: bool = False,
    runtime: bool = False,
    choices: Sequence[Any] | None = None,
    aliases: Sequence[str] = (),
    metavar: str | None = None,
    formerly: Sequence[str] = (),
    minimum: float | None = None,
) -> Any:
    """A dataclass field with its help text.

    Args:
        default: the default; a ``list`` or ``dict`` default is copied for every instance.
        help: one line for ``--help`` (units, accepted values).
        required: must be given (by a flag, ``--config`` or ``--set``); the default is then a placeholder.
        runtime: where and how long to run (devices, epochs, output folder), not what is trained: may differ
            on ``--resume`` and is not compared between runs.
        choices: the accepted values.
        aliases: extra flag spellings (e.g. ``--lr``).
        metavar: the placeholder in ``--help``.
        formerly: earlier names of the setting: still read from configs, ``--set`` and as flags (old run folders
            and scripts keep working).
        minimum: the smallest accepted value (counts: 1), checked when the settings are read.
    """
    metadata = {
        "help": help,
        "required": required,
        "runtime": runtime,
        "choices": tuple(choices) if choices else None,
        "aliases": tuple(aliases),
        "metavar": metavar,
        "formerly": tuple(formerly),
        "minimum": minimum,
    }
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda value=default: type(value)(value), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def redefault(base: type, name: str, default: Any) -> Any:
    """The field ``name`` of the settings class ``base`` with another default (its help text and flags kept).

    A task's settings use it to change a shared default: ``batch_size: int = redefault(TrainSettings, "batch_size", 64)``.
    """
    (f,) = [f for f in dataclasses.fields(base) if f.name == name]
    meta = dict(f.metadata)
    return setting(default, meta.pop("help"), **{k: v for k, v in meta.items() if v is not None})


def fields_of(cls: type) -> list[tuple[dataclasses.Field, Any]]:
    """The fields of a settings dataclass with their resolved types."""
    hints = typing.get_type_hints(cls)
    return [(f, hints[f.name]) for f in dataclasses.fields(cls) if f.init]


def values_of(settings: Any, *names: str) -> dict[str, Any]:
    """The fields ``names`` of ``settings`` as keyword arguments: ``f(x, **values_of(settings, "mu", "seed"))``."""
    return {name: getattr(settings, name) for name in names}


def current_names(cls: type, mapping: Mapping[str, Any]) -> dict[str, Any]:
    """``mapping`` with the former names of the settings of ``cls`` (``setting(formerly=...)``) renamed to today's."""
    renamed = {old: f.name for f, _ in fields_of(cls) for old in f.metadata.get("formerly", ())}
    return {renamed.get(k, k): v for k, v in mapping.items()}


def runtime_names(cls: type) -> frozenset[str]:
    """The fields of ``cls`` declared ``runtime``."""
    return frozenset(f.name for f, _ in fields_of(cls) if f.metadata.get("runtime"))


def _default_of(f: dataclasses.Field) -> Any:
    if f.default is not _MISSING:
        return f.default
    if f.default_factory is not _MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return _MISSING


def _options(tp: Any) -> tuple[Any, bool]:
    """(the type without ``None``, whether ``None`` is allowed)."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) < len(typing.get_args(tp))
        return (args[0] if len(args) == 1 else Union[tuple(args)]), optional  # noqa: UP007 - built at run time
    return tp, False


def _convert(name: str, value: Any, tp: Any) -> Any:
    """``value`` (from YAML or a flag) as type ``tp``; HepgenInputError naming the setting otherwise."""
    inner, optional = _options(tp)
    if value is None:
        if optional:
            return None
        raise HepgenInputError(f"setting {name!r} cannot be empty (null)")
    origin = typing.get_origin(inner)
    try:
        if origin in (list, tuple):
            items = value if isinstance(value, (list, tuple)) else [value]
            (item_type, *_) = typing.get_args(inner) or (str,)
            converted = [_convert(name, v, item_type) for v in items]
            return converted if origin is list else tuple(converted)
        if origin in (Union, types.UnionType):  # e.g. devices: int | str — the first type that fits
            for option in typing.get_args(inner):
                try:
                    return _convert(name, value, option)
                except HepgenInputError:
                    continue
            raise HepgenInputError(f"setting {name!r}: {value!r} is not a {inner}")
        if inner is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on", "false", "no", "0", "off"):
                return value.lower() in ("true", "yes", "1", "on")
            raise ValueError
        if inner is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            if isinstance(value, str) and not value.strip().lstrip("+-").isdigit():
                raise ValueError
            return int(value)
        if inner is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if inner is str:
            if isinstance(value, (dict, list)):
                raise ValueError
            return str(value)
        if inner is Any:
            return value
    except (TypeError, ValueError):
        kind = getattr(inner, "__name__", str(inner))
        raise HepgenInputError(f"setting {name!r}: {value!r} is not a valid {kind}") from None
    raise TypeError(f"setting {name!r} has a type settings cannot convert: {tp}")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_arguments(parser: argparse.ArgumentParser, cls: type, *, title: str | None = None) -> None:
    """Add one flag per field of ``cls``; the help shows the dataclass default, the parser stores only given flags."""
    group = parser.add_argument_group(title) if title else parser
    inherited = {f.name for base in cls.__mro__[1:] if dataclasses.is_dataclass(base) for f in dataclasses.fields(base)}
    # the inputs first, then what is particular to this task, then the settings every task shares
    ordered = sorted(fields_of(cls), key=lambda item: (not item[0].metadata.get("required"), item[0].name in inherited))
    for f, tp in ordered:
        meta = f.metadata
        default = _default_of(f)
        inner, _ = _options(tp)
        text = meta.get("help", "")
        if meta.get("required"):
            text += " (required)"
        elif default is not _MISSING:
            shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else default
            text += f" (default: {shown})"
        kwargs: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS, "help": text.replace("%", "%%")}
        if meta.get("metavar"):
            kwargs["metavar"] = meta["metavar"]
        if meta.get("choices"):
            kwargs["choices"] = meta["choices"]
        if inner is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(inner) in (list, tuple):
            kwargs["nargs"] = "+"
        former = (_flag(name) for name in meta.get("formerly", ()))
        group.add_argument(_flag(f.name), *meta.get("aliases", ()), *former, **kwargs)


def read_mapping(path: str | Path) -> dict[str, Any]:
    """A YAML mapping of settings from ``path`` (a ``--config`` file or a run's ``config.yaml``)."""
    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HepgenInputError(f"config file {str(path)!r} not found") from None
    except (OSError, yaml.YAMLError) as error:
        raise HepgenInputError(f"cannot read the config {str(path)!r}: {error}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise HepgenInputError(f"{str(path)!r} is not a hepgen config (a YAML mapping of settings)")
    return loaded


def parse_assignments(items: Sequence[str]) -> dict[str, Any]:
    """``["key=value", ...]`` (``--set``) as a mapping; values are read as YAML (``3``, ``1e-3``, ``[a, b]``)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise HepgenInputError(f"--set {item!r}: use key=value, e.g. --set learning_rate=3e-4")
        try:
            out[key.strip().replace("-", "_")] = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError:
            out[key.strip().replace("-", "_")] = value
    return out


def resolve(cls: type[S], *layers: tuple[str, Mapping[str, Any]]) -> S:
    """Settings ``cls`` from the field defaults overridden by each ``(origin, mapping)`` layer in turn.

    ``origin`` names the layer in errors (``"--config run/config.yaml"``, ``"the command line"``).
    Unknown names and values of the wrong type are refused; required fields must be set by some layer.
    """
    fields = {f.name: (f, tp) for f, tp in fields_of(cls)}
    values: dict[str, Any] = {}
    for origin, mapping in layers:
        mapping = current_names(cls, mapping)
        unknown = sorted(set(mapping) - set(fields))
        if unknown:
            raise HepgenInputError(
                f"{origin}: unknown setting(s) {unknown} for {cls.__name__}; known: {sorted(fields)}"
            )
        for name, value in mapping.items():
            f, tp = fields[name]
            value = _convert(name, value, tp)
            choices = f.metadata.get("choices")
            if choices and value is not None and value not in choices:
                raise HepgenInputError(f"{origin}: {name} = {value!r} is not one of {list(choices)}")
            minimum = f.metadata.get("minimum")
            if minimum is not None and value is not None and value < minimum:
                raise HepgenInputError(f"{origin}: {_flag(name)} must be >= {minimum:g}; got {value}")
            values[name] = value
    missing = [name for name, (f, _) in fields.items() if f.metadata.get("required") and name not in values]
    missing += [
        name
        for name, (f, _) in fields.items()
        if _default_of(f) is _MISSING and name not in values and name not in missing
    ]
    if missing:
        flags = ", ".join(_flag(m) for m in missing)
        raise HepgenInputError(
            f"{cls.__name__} needs {flags} (a flag, a key of --config FILE, or --set {missing[0]}=...)"
        )
    return cls(**values)


def to_mapping(settings: Any) -> dict[str, Any]:
    """The settings as plain YAML types (lists for tuples), in field order."""

    def plain(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {f.name: plain(getattr(settings, f.name)) for f, _ in fields_of(type(settings))}
