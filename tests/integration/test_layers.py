"""The layers of hepgen only point down (README, "Layout"): each package imports only the packages below it. A new
import that points up (plotting from validation, io from tasks, ...) fails here, naming the file and the import."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "hepgen"
#: What each package may import (besides itself, ``hepgen.__version__`` and the foundation: errors, shards, cluster).
ALLOWED = {
    "io": set(),
    "physics": set(),
    "nn": set(),
    "sim": {"io", "physics"},
    "models": {"nn"},
    "plotting": {"io"},
    "tasks": {"io", "sim", "physics", "nn", "models"},
    "validation": {"io", "physics", "plotting"},
    "report": {"io", "validation"},
    "main_job": {"io", "sim", "physics", "tasks", "validation", "plotting"},
    "quickstart": {"io", "sim", "physics", "tasks", "validation", "plotting", "main_job", "report"},
    "cli": {"io", "sim", "physics", "tasks", "validation", "plotting", "quickstart", "report", "cli_main_job"},
    "cli_main_job": {"io", "sim", "physics", "tasks", "validation", "plotting", "quickstart", "report"},
}
FOUNDATION = {"errors", "shards", "cluster", "checkout", ""}


def imported_packages(path: Path) -> set[str]:
    """The hepgen packages a module imports (``""`` for ``hepgen`` itself)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
        found |= {(name.split(".") + [""])[1] for name in names if name.split(".")[0] == "hepgen"}
    return found


def test_every_package_imports_only_the_layers_below_it():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        package = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if package in FOUNDATION or package == "__init__":
            continue
        assert package in ALLOWED, f"{path}: the package {package!r} has no place in the layers: add it to the README"
        for target in imported_packages(path) - ALLOWED[package] - FOUNDATION - {package}:
            wrong.append(f"{path.relative_to(PACKAGE.parent)} imports hepgen.{target}")
    assert not wrong, "\n".join(wrong)
