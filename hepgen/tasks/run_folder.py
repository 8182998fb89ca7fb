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

__all__ = ["prepare_run_folder", "write_run_config", "save_model_file", "load_model_file"]


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
