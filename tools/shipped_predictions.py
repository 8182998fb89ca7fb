"""Are the shipped models' predictions unchanged by a code change? Write them before, compare after.

    .venv/bin/python tools/shipped_predictions.py write DIR     # on the old code
    .venv/bin/python tools/shipped_predictions.py compare DIR   # on the new code, same machine: bit for bit

Predicts the shipped flow (2000 test events, 64 samples) and the shipped VIPR model (64 test jets at μ = 60,
4 samples, 20 Heun steps) through the command line, with one torch thread (so the comparison does not depend
on the thread count), and compares every branch of every tree exactly. Not collected by pytest (≈ 2 minutes).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

COMMANDS = {
    "flow.root": [
        "predict",
        "neutrino",
        "--run",
        "analyses/neutrino/model",
        "--data",
        "data/ttbar_ljets_test.root",
        "--samples",
        "64",
        "--max-events",
        "2000",
        "--seed",
        "3",
        "--no-progress",
    ],
    "analytic.root": [
        "predict",
        "neutrino",
        "--method",
        "analytic",
        "--data",
        "data/ttbar_ljets_test.root",
        "--max-events",
        "2000",
        "--no-progress",
    ],
    "vipr.root": [
        "predict",
        "pileup",
        "--run",
        "analyses/pileup/model",
        "--jets",
        "data/top_jets_test.root",
        "--pileup",
        "data/minbias_pool_test.root",
        "--mu",
        "60",
        "--samples",
        "4",
        "--steps",
        "20",
        "--max-events",
        "64",
        "--seed",
        "7",
        "--no-progress",
    ],
}

_RUN = "import sys, torch; torch.set_num_threads(1); from hepgen.cli import main; sys.exit(main(sys.argv[1:]))"


def write(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, args in COMMANDS.items():
        subprocess.run(
            [sys.executable, "-c", _RUN, *args, "--out", str(folder / name), "--overwrite"], cwd=REPO, check=True
        )


def compare(reference: Path) -> int:
    import tempfile

    import awkward as ak
    import uproot

    with tempfile.TemporaryDirectory() as tmp:
        write(Path(tmp))
        failures = 0
        for name in COMMANDS:
            with uproot.open(reference / name) as old, uproot.open(Path(tmp) / name) as new:
                trees = sorted(k.split(";")[0] for k, c in old.classnames().items() if c == "TTree")
                for tree in trees:
                    a, b = old[tree].arrays(library="ak"), new[tree].arrays(library="ak")
                    for field in a.fields:
                        same = (
                            field in b.fields
                            and len(a[field]) == len(b[field])
                            and bool(ak.all(ak.ravel(a[field]) == ak.ravel(b[field])))
                        )
                        if not same:
                            failures += 1
                            print(f"DIFFERENT {name}:{tree}/{field}")
                    extra = sorted(set(b.fields) - set(a.fields))
                    if extra:
                        print(f"new branches in {name}:{tree}: {extra}")
                    print(f"{name}:{tree}: {len(a)} rows, {len(a.fields)} branches compared")
        print("identical" if not failures else f"{failures} branch(es) differ")
        return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "compare"):
        sys.exit(__doc__)
    folder = Path(sys.argv[2])
    sys.exit(write(folder) if sys.argv[1] == "write" else compare(folder))
