"""analyses/grid/predict.sh, the HTCondor job wrapper: runs a shard, is a no-op when rerun, exits 2 on bad input."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hepgen.io import read_event_outputs

REPO = Path(__file__).resolve().parents[2]
WRAPPER = REPO / "analyses" / "grid" / "predict.sh"


@pytest.mark.slow
def test_wrapper_runs_a_shard_and_reruns_as_a_no_op(tmp_path):
    env = {
        **os.environ,
        "HEPGEN_VENV": str(Path(sys.executable).parent.parent),
        "HEPGEN_ARGS": "--max-events 1500 --samples 4",
    }

    def run(*args):
        return subprocess.run(["bash", str(WRAPPER), *args], env=env, capture_output=True, text=True)

    done = run(str(REPO / "data" / "ttbar_ljets_test.root"), str(tmp_path / "out"), "1/2")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out" / "ttbar_ljets_test_neutrino_shard-1-of-2.root"
    outputs, event_id, metadata = read_event_outputs(out, tree="Neutrino")
    assert metadata["shard"] == "1/2" and event_id["entry"].min() >= 1024 and outputs["samples"].shape[1] == 4
    stamp = out.stat().st_mtime_ns
    assert run(str(REPO / "data" / "ttbar_ljets_test.root"), str(tmp_path / "out"), "1/2").returncode == 0
    assert out.stat().st_mtime_ns == stamp  # the rerun did nothing
    missing = run(str(tmp_path / "nope.root"), str(tmp_path / "out"))
    assert missing.returncode == 2 and "nope.root" in missing.stderr
