"""Tiny inputs for any registered task, derived from its settings: what the task contract and the settings tests
train, predict and validate on. A task reads either event files of a schema (``data`` with its ``schema``) or
jets and a pileup pool (``jets``, ``pileup``); a new task reading something else fails here, by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hepgen.tasks.settings import fields_of

DATA = Path(__file__).resolve().parents[2] / "data"
#: A shipped test sample of each reading schema.
SAMPLES = {
    "hepgen-ttbar": DATA / "ttbar_ljets_test.root",
    "hepgen-ttbar-dilepton": DATA / "ttbar_dilepton_test.root",
    "nanoaod": DATA / "cms_opendata_ttbar_nanoaod.root",
}
#: Shipped inputs of the file settings that are not event files: training and prediction (a held-out pool).
TRAINING_FILES = {"jets": DATA / "top_jets_test.root", "pileup": DATA / "minbias_pool.root"}
PREDICTION_FILES = {"jets": DATA / "top_jets_test.root", "pileup": DATA / "minbias_pool_test.root"}
#: The smallest networks, for every size setting a task has.
SMALL = {"dim": 16, "heads": 2, "layers": 1, "blocks": 1, "encoder_blocks": 1, "head_hidden": 16}
SMALL |= {"flow_transforms": 1, "mdn_components": 2}
#: Settings that are not an input file although required.
NOT_INPUTS = ("out", "pred")


def input_files(settings_class: type, files: dict[str, Path] = TRAINING_FILES) -> dict[str, list[str]]:
    """The tiny inputs of every required file setting of ``settings_class`` (AssertionError naming an unknown one)."""
    out: dict[str, list[str]] = {}
    for f, _ in fields_of(settings_class):
        if not f.metadata.get("required") or f.name in NOT_INPUTS:
            continue
        if f.name == "data":
            schema = f_default(settings_class, "schema")
            assert schema in SAMPLES, f"no shipped test sample of schema {schema!r} for {settings_class.__name__}"
            out["data"] = [str(SAMPLES[schema])]
        else:
            assert f.name in files, f"no tiny input for the setting {settings_class.__name__}.{f.name}"
            out[f.name] = [str(files[f.name])]
    return out


def f_default(settings_class: type, name: str) -> Any:
    """The default of the setting ``name`` of ``settings_class``."""
    (f,) = [f for f, _ in fields_of(settings_class) if f.name == name]
    return f.default


def small_network(settings_class: type) -> dict[str, Any]:
    """The :data:`SMALL` sizes of the settings ``settings_class`` has."""
    names = {f.name for f, _ in fields_of(settings_class)}
    return {k: v for k, v in SMALL.items() if k in names}


def as_flags(settings: dict[str, Any]) -> list[str]:
    """``{"max_events": 12, "jets": [a]}`` → ``["--max-events", "12", "--jets", "a"]``."""
    flags: list[str] = []
    for name, value in settings.items():
        flags.append("--" + name.replace("_", "-"))
        flags += [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return flags
