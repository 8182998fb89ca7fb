"""Task name → :class:`~hepgen.tasks.base.Task`: what the command line and the quickstart offer.

Adding a task is one module (see :mod:`hepgen.tasks.base`) plus one line in :data:`_TASK_MODULES`.
"""

from __future__ import annotations

import importlib

from hepgen.errors import HepgenInputError
from hepgen.tasks.base import Task

__all__ = ["task_names", "get_task", "all_tasks"]

#: name → "module:attribute" of the task instance; the modules are imported when a task is first asked for.
_TASK_MODULES: dict[str, str] = {
    "neutrino": "hepgen.tasks.neutrino.task:NEUTRINO",
    "pileup": "hepgen.tasks.pileup.task:PILEUP",
    "puppiml": "hepgen.tasks.pileup.puppiml:PUPPIML",
    "pileup_fractions": "hepgen.tasks.pileup.fractions:PILEUP_FRACTIONS",
    "dineutrino": "hepgen.tasks.dineutrino.task:DINEUTRINO",
}

_loaded: dict[str, Task] = {}


def task_names() -> list[str]:
    """The registered task names, in registration order."""
    return list(_TASK_MODULES)


def get_task(name: str) -> Task:
    """The task called ``name`` (HepgenInputError listing the choices otherwise)."""
    if name not in _TASK_MODULES:
        raise HepgenInputError(f"unknown task {name!r}; choose one of {task_names()}")
    if name not in _loaded:
        module, _, attribute = _TASK_MODULES[name].partition(":")
        task = getattr(importlib.import_module(module), attribute)
        if not isinstance(task, Task) or task.name != name:
            raise TypeError(f"{_TASK_MODULES[name]} is not the Task {name!r}")
        _loaded[name] = task
    return _loaded[name]


def all_tasks() -> list[Task]:
    """Every registered task (imports their modules)."""
    return [get_task(name) for name in task_names()]
