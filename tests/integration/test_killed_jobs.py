"""A grid job killed with SIGKILL in the middle leaves no file under its output name; the rerun writes the
complete, correct file (identical to an uninterrupted run: the sampling is seeded per event block)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hepgen.io import read_event_outputs

REPO = Path(__file__).resolve().parents[2]
CLI = "import sys; from hepgen.cli import main; sys.exit(main(sys.argv[1:]))"


def predict_command(out: Path) -> list[str]:
    return [
        sys.executable,
        "-c",
        CLI,
        "predict",
        "neutrino",
        "--run",
        str(REPO / "analyses" / "neutrino" / "model"),
        "--data",
        str(REPO / "data" / "ttbar_ljets_test.root"),
        "--samples",
        "32",
        "--max-events",
        "4096",
        "--out",
        str(out),
    ]


@pytest.mark.slow
def test_sigkill_mid_prediction_then_rerun(tmp_path):
    out = tmp_path / "flow.root"
    job = subprocess.Popen(
        predict_command(out), stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    seen = ""
    deadline = time.monotonic() + 120
    while "1024/" not in seen and time.monotonic() < deadline:  # the progress bar has finished the first of 4 blocks
        char = job.stderr.read(1) if job.stderr else ""
        if not char and job.poll() is not None:
            break
        seen += char
    assert job.poll() is None, "the job ended before it could be killed:\n" + seen[-2000:]
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert job.returncode == -signal.SIGKILL
    assert not out.exists()  # nothing under the final name; at most a hidden temporary file
    assert all(p.name.startswith(".flow.root.tmp-") for p in tmp_path.iterdir())

    assert subprocess.run(predict_command(out), capture_output=True).returncode == 0  # the rerun
    reference = tmp_path / "reference.root"
    assert subprocess.run(predict_command(reference), capture_output=True).returncode == 0
    (a, a_id, _), (b, b_id, _) = (read_event_outputs(p, tree="Neutrino") for p in (out, reference))
    assert len(a_id["entry"]) > 3000
    np.testing.assert_array_equal(a_id["entry"], b_id["entry"])
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
