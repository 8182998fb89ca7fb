"""Run folders shared by every task: the resolved config, and the model file ``predict`` reloads.

A run folder holds ``config.yaml`` (the resolved training configuration),
``model.pt`` (weights, constructor arguments, standardisation and the task's
name, so a checkpoint of another task is refused with a clear error),
``checkpoints/`` and ``logs/`` (Lightning).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import torch
import yaml

from hepgen import __version__
from hepgen.errors import HepgenInputError
from hepgen.io.writer import atomic_path

__all__ = ["prepare_run_folder", "write_run_config", "check_resume_compatible", "config_from_file", "save_model_file",
           "load_model_file", "RUNTIME_SETTINGS"]

#: Settings that say where and how long to run, not what is trained: they may change on --resume and
#: are taken from the command line when a config file is given.
RUNTIME_SETTINGS = frozenset({"out", "resume", "progress", "max_epochs", "max_steps", "patience", "accelerator", "devices",
                              "strategy", "num_nodes", "precision", "val_check_interval"})  # fmt: skip


def prepare_run_folder(out: str | os.PathLike, *, resume: bool) -> Path:
    """Create the run folder; refuse to overwrite a trained model unless resuming."""
    run = Path(out)
    if (run / "model.pt").exists() and not resume:
        raise HepgenInputError(f"run folder {str(run)!r} already holds a trained model; choose another --out or --resume")
    run.mkdir(parents=True, exist_ok=True)
    return run


def write_run_config(run: Path, task: str, config: Any) -> None:
    """Write the resolved dataclass ``config`` as ``run/config.yaml``, atomically."""
    with atomic_path(run / "config.yaml") as tmp:
        tmp.write_text(yaml.safe_dump({"task": task, "hepgen_version": __version__, **dataclasses.asdict(config)}))


def _read_config(path: Path) -> dict[str, Any]:
    try:
        saved = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise HepgenInputError(f"cannot read the config {str(path)!r}: {error}") from None
    if not isinstance(saved, dict):
        raise HepgenInputError(f"{str(path)!r} is not a hepgen config (a YAML mapping of settings)")
    return saved


def check_resume_compatible(run: Path, task: str, config: Any) -> None:
    """Refuse to resume a run whose saved ``config.yaml`` is of another task or trains something else.

    Only :data:`RUNTIME_SETTINGS` (devices, epochs, ...) may differ; the error names every other difference.
    """
    path = run / "config.yaml"
    if not path.exists():
        return
    saved = _read_config(path)
    if saved.get("task") != task:
        raise HepgenInputError(f"cannot resume {str(run)!r} as a {task} run: it holds a {saved.get('task')!r} run")
    new = dataclasses.asdict(config)
    diffs = [f"{k} ({saved[k]!r} → {v!r})" for k, v in new.items() if k not in RUNTIME_SETTINGS and k in saved and saved[k] != v]
    if diffs:
        raise HepgenInputError(
            f"cannot resume {str(run)!r}: its config differs in {', '.join(diffs)}; "
            "resume with the same settings, or train into a new --out"
        )


def config_from_file(cls: type, path: str | os.PathLike, task: str, **runtime: Any) -> Any:
    """A ``cls`` config from a YAML file (e.g. a run's ``config.yaml``) with the runtime settings given here.

    Raises :class:`HepgenInputError` for a config of another task or with settings ``cls`` does not know.
    """
    settings = _read_config(Path(path))
    found = settings.pop("task", task)
    settings.pop("hepgen_version", None)
    if found != task:
        raise HepgenInputError(f"{str(path)!r} configures a {found!r} run, not {task!r}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise HepgenInputError(f"{str(path)!r} has unknown setting(s) {unknown} for {task}; known: {sorted(known)}")
    settings.update({k: v for k, v in runtime.items() if v is not None})
    missing = sorted(f.name for f in dataclasses.fields(cls) if f.name not in settings
                     and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)  # fmt: skip
    if missing:
        raise HepgenInputError(f"{str(path)!r} lacks the required setting(s) {missing}")
    return cls(**settings)


def save_model_file(path: Path, task: str, config: dict[str, Any], state_dict: dict[str, Any], **extra: Any) -> None:
    """Save the weights, the model's constructor arguments and ``extra`` in one file, atomically."""
    with atomic_path(path) as tmp:
        torch.save({"task": task, "config": config, "state_dict": state_dict, **extra}, tmp)


def load_model_file(run: str | os.PathLike, task: str, *, device: str | torch.device = "cpu") -> dict[str, Any]:
    """The payload of ``run/model.pt`` (or a model file), checked to belong to ``task``."""
    path = Path(run)
    path = path / "model.pt" if path.is_dir() else path
    if not path.exists():
        raise HepgenInputError(f"no trained model at {str(path)!r}; train one with `hepgen train {task} --out RUN`")
    payload = torch.load(path, map_location=device, weights_only=False)
    found = payload.get("task") if isinstance(payload, dict) else None
    if found != task:
        raise HepgenInputError(f"{str(path)!r} is not a {task} model (it was saved by task {found!r})")
    return payload
