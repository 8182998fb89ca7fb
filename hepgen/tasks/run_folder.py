"""Run folders shared by every task: the resolved settings, and the model file ``predict`` reloads.

A run folder holds ``config.yaml`` (the whole resolved training settings: ``hepgen train TASK --config
RUN/config.yaml --out NEW`` replays the run), ``model.pt`` (weights, the model's constructor arguments with its
standardisation in the weights, and the task's name, so a model of another task is refused with a clear
error), ``checkpoints/`` and ``logs/`` (Lightning).

``model.pt`` is safe to share: it holds only tensors and plain values (str, int, float, bool, None, lists, tuples,
dicts), it is written only if that is so, and it is read with ``torch.load(..., weights_only=True)``, so a model file
from someone else cannot run code when it is loaded — one that carries a pickled Python object is refused.
Lightning's ``checkpoints/*.ckpt`` are *not*: they are full pickles for resuming your own training; never resume from
a checkpoint you did not make.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch
import yaml

from hepgen import __version__
from hepgen.errors import HepgenInputError
from hepgen.io.writer import atomic_path
from hepgen.tasks.settings import current_names, read_mapping, runtime_names, to_mapping

__all__ = [
    "prepare_run_folder",
    "write_run_config",
    "read_run_config",
    "check_resume_compatible",
    "save_model_file",
    "load_model_file",
    "load_model",
    "check_plain_payload",
]


def prepare_run_folder(out: str | os.PathLike, *, resume: bool) -> Path:
    """Create the run folder; refuse to overwrite a trained model unless resuming."""
    if not str(out):
        raise HepgenInputError("give the run folder to create with --out RUN")
    run = Path(out)
    if (run / "model.pt").exists() and not resume:
        raise HepgenInputError(
            f"run folder {str(run)!r} already holds a trained model; choose another --out or --resume"
        )
    run.mkdir(parents=True, exist_ok=True)
    return run


def write_run_config(run: Path, task: str, settings: Any) -> None:
    """Write the resolved ``settings`` as ``run/config.yaml`` (with the task and hepgen version), atomically."""
    with atomic_path(run / "config.yaml") as tmp:
        tmp.write_text(
            yaml.safe_dump({"task": task, "hepgen_version": __version__, **to_mapping(settings)}, sort_keys=False)
        )


def read_run_config(path: str | os.PathLike, task: str) -> dict[str, Any]:
    """The settings of a config file (a run's ``config.yaml`` or a hand-written one) for ``task``, without the
    bookkeeping keys; a file of another task is refused."""
    settings = read_mapping(path)
    found = settings.pop("task", task)
    settings.pop("hepgen_version", None)
    if found != task:
        raise HepgenInputError(f"{str(path)!r} configures a {found!r} run, not {task!r}")
    return settings


def check_resume_compatible(run: Path, task: str, settings: Any) -> None:
    """Refuse to resume a run whose saved ``config.yaml`` is of another task or trains something else.

    Only the runtime settings (devices, epochs, ...) may differ; the error names every other difference.
    """
    path = run / "config.yaml"
    if not path.exists():
        return
    saved = current_names(type(settings), read_mapping(path))
    if saved.get("task") != task:
        raise HepgenInputError(f"cannot resume {str(run)!r} as a {task} run: it holds a {saved.get('task')!r} run")
    runtime = runtime_names(type(settings))
    new = to_mapping(settings)
    diffs = [f"{k} ({saved[k]!r} → {v!r})" for k, v in new.items() if k not in runtime and k in saved and saved[k] != v]
    if diffs:
        raise HepgenInputError(
            f"cannot resume {str(run)!r}: its config differs in {', '.join(diffs)}; "
            "resume with the same settings, or train into a new --out"
        )


_PLAIN_SCALARS = (str, int, float, bool, type(None), torch.Tensor)


def check_plain_payload(value: Any, where: str = "payload") -> None:
    """Refuse (``TypeError``, naming the key) anything in ``value`` that ``torch.load(..., weights_only=True)``
    would not read back: only tensors, str, int, float, bool, None and lists, tuples, dicts (str keys) of them."""
    if isinstance(value, _PLAIN_SCALARS):
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_plain_payload(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"{where} has a key of type {type(key).__name__}; model files hold str keys only")
            check_plain_payload(item, f"{where}[{key!r}]")
        return
    raise TypeError(
        f"{where} is a {type(value).__module__}.{type(value).__qualname__}; a model file holds only tensors and plain "
        "values (str, int, float, bool, None, lists, tuples, dicts) so that it loads with weights_only=True"
    )


def save_model_file(path: Path, task: str, config: dict[str, Any], state_dict: dict[str, Any], **extra: Any) -> None:
    """Save the weights, the model's constructor arguments and ``extra`` in one file, atomically; every value must
    be a tensor or plain (see :func:`check_plain_payload`), so that the file is safe to share."""
    payload = {"task": task, "config": config, "state_dict": state_dict, **extra}
    check_plain_payload(payload, "model file")
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_model_file(run: str | os.PathLike, task: str, *, device: str | torch.device = "cpu") -> dict[str, Any]:
    """The payload of ``run/model.pt`` (or a model file), checked to belong to ``task``."""
    path = Path(run)
    path = path / "model.pt" if path.is_dir() else path
    if not path.exists():
        raise HepgenInputError(f"no trained model at {str(path)!r}; train one with `hepgen train {task} --out RUN`")
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as error:
        detail = str(error).split("\n")
        culprit = next((line.strip() for line in detail if "Unsupported global" in line or "GLOBAL" in line), detail[0])
        raise HepgenInputError(
            f"refusing to load {str(path)!r}: it carries pickled Python objects, not only tensors and plain values "
            f"({culprit[:200]}), and loading it could run code. hepgen model files are weights-only; ask its author "
            "for a model.pt written by `hepgen train`"
        ) from None
    except (RuntimeError, EOFError, OSError) as error:
        raise HepgenInputError(f"cannot read the model file {str(path)!r}: {error}") from None
    found = payload.get("task") if isinstance(payload, dict) else None
    if found != task:
        raise HepgenInputError(f"{str(path)!r} is not a {task} model (it was saved by task {found!r})")
    return payload


def load_model(task: Any, run: str | os.PathLike, *, device: str | torch.device = "cpu") -> Any:
    """The trained model of a run folder (or a ``model.pt``) of ``task`` (a Task or its name), in eval mode.

    The payload's plain values (e.g. the training μ) are given to the model as ``saved_with``::

        model = load_model("neutrino", "analyses/neutrino/model")
    """
    if isinstance(task, str):
        from hepgen.tasks.registry import get_task

        task = get_task(task)
    payload = load_model_file(run, task.name, device=device)
    saved_with = {k: v for k, v in payload.items() if k not in ("state_dict", "config")}
    model = task.model_class(**payload["config"], saved_with=saved_with)
    model.load_state_dict(payload["state_dict"])
    return model.to(device).eval()
