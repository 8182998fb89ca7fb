"""Tests of the analyses' scripts (analyses/<study>/*.py), loaded as modules by :func:`analysis_script`."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ANALYSES = Path(__file__).resolve().parents[2] / "analyses"


def analysis_script(study: str, name: str) -> ModuleType:
    """The script ``analyses/<study>/<name>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(name, ANALYSES / study / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
