"""Model files are safe to share: written plain, read with weights_only=True, a pickled callable refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from hepgen.cli import main
from hepgen.errors import HepgenInputError
from hepgen.tasks.registry import get_task
from hepgen.tasks.run_folder import check_plain_payload, load_model, load_model_file, save_model_file

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p.parent for p in (ROOT / "analyses").glob("*/*/model.pt"))


class _RunsCode:
    """An object whose unpickling would create a file: the classic payload of a malicious pickle."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


@pytest.mark.parametrize("run", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_models_load_weights_only(run):
    payload = torch.load(run / "model.pt", map_location="cpu", weights_only=True)  # raises on any pickled object
    model = load_model(get_task(payload["task"]), run)
    state = model.state_dict()  # every saved tensor is in the model, as saved (old files: the encoder's key map)
    for key, value in payload["state_dict"].items():
        assert torch.equal(state[key if key in state else f"encoder.{key}"].cpu(), value.cpu()), key
    check_plain_payload(payload)


def test_shipped_models_are_all_found():
    assert {p.parent.name for p in SHIPPED} == {"neutrino", "pileup", "dineutrino"} and len(SHIPPED) >= 3


def test_a_model_file_carrying_a_pickled_callable_is_refused(tmp_path, capsys):
    marker = tmp_path / "code_ran"
    torch.save(
        {"task": "neutrino", "config": {}, "state_dict": {}, "hook": _RunsCode(str(marker))}, tmp_path / "model.pt"
    )
    with pytest.raises(HepgenInputError, match="refusing to load .*pickled Python objects.*weights-only"):
        load_model_file(tmp_path, "neutrino")
    assert not marker.exists()  # nothing ran
    code = main(
        [
            "predict",
            "neutrino",
            "--run",
            str(tmp_path),
            "--data",
            str(tmp_path / "none.root"),
            "--out",
            str(tmp_path / "x.root"),
        ]
    )
    assert code == 2 and not marker.exists()
    assert "refusing to load" in capsys.readouterr().err


def test_save_refuses_what_would_not_load_weights_only(tmp_path):
    with pytest.raises(TypeError, match=r"model file\['hook'\] is a builtins.function"):
        save_model_file(tmp_path / "model.pt", "neutrino", {}, {}, hook=lambda: None)
    with pytest.raises(TypeError, match=r"model file\['config'\]\['where'\] is a pathlib"):
        save_model_file(tmp_path / "model.pt", "neutrino", {"where": tmp_path}, {})
    assert not (tmp_path / "model.pt").exists()
    save_model_file(
        tmp_path / "model.pt",
        "neutrino",
        {"dims": (1, 2), "name": "x", "p": None},
        {"w": torch.ones(2)},
        mu=60.0,
        inefficiencies=[0.1],
    )
    payload = load_model_file(tmp_path, "neutrino")
    assert (
        payload["config"]["dims"] == (1, 2)
        and payload["mu"] == 60.0
        and torch.equal(payload["state_dict"]["w"], torch.ones(2))
    )


def test_a_truncated_model_file_gets_a_clear_error(tmp_path):
    save_model_file(tmp_path / "model.pt", "neutrino", {}, {"w": torch.ones(1000)})
    data = (tmp_path / "model.pt").read_bytes()
    (tmp_path / "model.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(HepgenInputError, match="cannot read the model file"):
        load_model_file(tmp_path, "neutrino")
