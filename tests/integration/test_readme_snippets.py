"""The README's section "Into the experiments' and analysts' tools" runs as written: every bash and python block,
in order, in one folder that sees the repository's analyses/ and data/ (what a newcomer in the checkout has)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SECTION = "## Into the experiments' and analysts' tools"


def snippets() -> list[tuple[str, str]]:
    text = (REPO / "README.md").read_text()
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return re.findall(r"```(bash|python)\n(.*?)```", text[start:end], flags=re.S)


def test_the_section_has_runnable_blocks():
    kinds = [kind for kind, _ in snippets()]
    assert kinds.count("bash") >= 2 and kinds.count("python") >= 4


def test_readme_snippets_run(tmp_path):
    for name in ("analyses", "data"):
        (tmp_path / name).symlink_to(REPO / name)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "MPLBACKEND": "Agg",
    }
    for k, (kind, code) in enumerate(snippets()):
        command = ["bash", "-euo", "pipefail", "-c", code] if kind == "bash" else [sys.executable, "-c", code]
        result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, (
            f"README block {k} ({kind}) failed:\n{code}\n--- stderr ---\n{result.stderr[-3000:]}"
        )
    # what the blocks wrote is usable: the ONNX graph runs in onnxruntime, the histograms read back as hist objects
    import onnxruntime

    from hepgen.validation.histograms import read_histograms

    session = onnxruntime.InferenceSession(str(tmp_path / "exported" / "neutrino" / "neutrino_sampler.onnx"))
    assert {i.name for i in session.get_inputs()} >= {"jets", "jets_mask", "noise"}
    assert {o.name for o in session.get_outputs()} >= {"samples", "momentum", "log_density"}
    histograms = read_histograms(tmp_path / "validation" / "histograms.root")
    assert any(key.startswith("residual_pz/") for key in histograms) and all(h.sum() for h in histograms.values())
