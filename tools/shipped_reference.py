"""Reference outputs of the shipped models on a few events, committed in ``tests/reference/shipped/``.

    .venv/bin/python tools/shipped_reference.py write      # on the code whose outputs are the reference

Each case is one ``hepgen predict`` command line (the public interface, unchanged by refactoring) on a few events of
the shipped test samples, with one torch thread. ``tests/integration/test_shipped_predictions.py`` reruns every
case and compares every branch of every tree with the reference: bit for bit where the CPU kernels are those that
wrote it (the same torch and ``torch.backends.cpu.get_cpu_capability()``, recorded in ``fingerprint.json``), within
a float32 rounding tolerance elsewhere. ``tools/shipped_predictions.py`` does the same on many more events.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOLDER = REPO / "tests" / "reference" / "shipped"

_PILEUP = [
    "--jets",
    "data/top_jets_test.root",
    "--pileup",
    "data/minbias_pool_test.root",
    "--mu",
    "60",
    "--max-events",
    "3",
    "--seed",
    "7",
]
#: case → the arguments of ``hepgen predict`` (``--out`` and ``--no-progress`` are added).
CASES: dict[str, list[str]] = {
    "neutrino_flow": [
        "neutrino",
        "--run",
        "analyses/neutrino/model",
        "--data",
        "data/ttbar_ljets_test.root",
        "--samples",
        "8",
        "--max-events",
        "12",
        "--seed",
        "3",
    ],
    "neutrino_analytic": [
        "neutrino",
        "--method",
        "analytic",
        "--data",
        "data/ttbar_ljets_test.root",
        "--max-events",
        "12",
    ],
    "dineutrino_flow": [
        "dineutrino",
        "--run",
        "analyses/dineutrino/model",
        "--data",
        "data/ttbar_dilepton_test.root",
        "--samples",
        "8",
        "--max-events",
        "12",
        "--seed",
        "3",
    ],
    "dineutrino_ellipse": [
        "dineutrino",
        "--method",
        "ellipse",
        "--data",
        "data/ttbar_dilepton_test.root",
        "--max-events",
        "12",
    ],
    "dineutrino_weighting": [
        "dineutrino",
        "--method",
        "weighting",
        "--data",
        "data/ttbar_dilepton_test.root",
        "--max-events",
        "12",
    ],
    "vipr": ["pileup", "--run", "analyses/pileup/model", *_PILEUP, "--samples", "2", "--steps", "4"],
    "vipr_student": ["pileup", "--run", "analyses/pileup/model_student", *_PILEUP, "--samples", "2"],
    "classifier": ["puppiml", "--run", "analyses/pileup/classifier", *_PILEUP],
}


def fingerprint() -> dict[str, str]:
    """What decides whether float results can be bit for bit the same: torch's version and its CPU kernels."""
    import torch

    return {"torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability()}


def predict_case(name: str, folder: Path) -> Path:
    """Run case ``name`` in this process with one torch thread; returns its output file."""
    import torch

    from hepgen.cli import main

    out = folder / f"{name}.root"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        code = main(["predict", *CASES[name], "--out", str(out), "--overwrite", "--no-progress"])
    finally:
        torch.set_num_threads(threads)
    if code:
        raise RuntimeError(f"hepgen predict {' '.join(CASES[name])} exited with {code}")
    return out


def read_trees(path: Path) -> dict[str, dict[str, object]]:
    """Every branch of every tree of a prediction file: tree → branch → awkward array."""
    import uproot

    with uproot.open(path) as file:
        trees = sorted({k.split(";")[0] for k, c in file.classnames().items() if c == "TTree"})
        return {tree: {f: file[tree][f].array(library="ak") for f in file[tree].keys()} for tree in trees}


def write() -> None:
    import os

    os.chdir(REPO)
    FOLDER.mkdir(parents=True, exist_ok=True)
    for name in CASES:
        predict_case(name, FOLDER)
        print(f"wrote {FOLDER / name}.root")
    (FOLDER / "fingerprint.json").write_text(json.dumps(fingerprint(), indent=1) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] != ["write"]:
        sys.exit(__doc__)
    write()
