"""Tasks: each tells one story from data to posterior (``neutrino``, ``pileup``), on shared drivers.

* :mod:`hepgen.tasks.base` — the :class:`Task` interface and the settings every task shares;
* :mod:`hepgen.tasks.registry` — task name → task (what the CLI and the quickstart offer);
* :mod:`hepgen.tasks.training`, :mod:`hepgen.tasks.prediction` — the one training and prediction driver;
* :mod:`hepgen.tasks.settings` — settings dataclasses ↔ flags, YAML and run configs;
* :mod:`hepgen.tasks.neutrino`, :mod:`hepgen.tasks.pileup` — one module per task.

From Python: ``train(get_task("neutrino"), NeutrinoTraining(data=[...], out="runs/flow"))``,
``predict(get_task("neutrino"), NeutrinoPrediction(run="runs/flow", data=[...], out="pred.root"))``,
``load_model("neutrino", "runs/flow")``.
"""

from typing import Any

from hepgen.tasks.base import Task
from hepgen.tasks.registry import get_task, task_names

__all__ = ["Task", "get_task", "task_names", "train", "predict", "load_model"]

_LAZY = {
    "train": "hepgen.tasks.training",
    "predict": "hepgen.tasks.prediction",
    "load_model": "hepgen.tasks.run_folder",
}


def __getattr__(name: str) -> Any:  # Lightning and torch are imported only when a driver is asked for
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hepgen.tasks' has no attribute {name!r}")
