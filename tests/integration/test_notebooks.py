"""Notebooks run top to bottom without error (executed with nbclient on CPU)."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_every_notebook_is_named_in_the_readme_and_says_its_running_time():
    readme = (NOTEBOOKS[0].parents[1] / "README.md").read_text()
    missing = [p.name for p in NOTEBOOKS if p.name not in readme]
    assert len(NOTEBOOKS) >= 4 and not missing, missing
    untimed = [p.name for p in NOTEBOOKS if "**Running time**" not in nbformat.read(p, as_version=4).cells[0].source]
    assert not untimed, untimed


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch, tmp_path):
    """From a folder outside the checkout: a notebook finds data/ and analyses/ wherever it is run from."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("HEPGEN_SMALL", "1")  # notebooks shrink their budgets in tests
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
