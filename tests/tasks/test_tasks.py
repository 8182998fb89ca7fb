"""The task architecture: one source of configuration (the settings dataclasses) for every registered task, the
layers that override it, the registry, and the exit codes a batch system reads."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
import yaml

from hepgen.cli import main
from hepgen.errors import EXIT_INPUT, EXIT_TEMPFAIL
from hepgen.tasks.registry import all_tasks, get_task, task_names
from hepgen.tasks.settings import fields_of, resolve, to_mapping
from tests.tasks.inputs import input_files

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"
COMMANDS = {"train": "Training", "predict": "Prediction", "validate": "Validation"}


def help_lines(argv: list[str], capsys, monkeypatch) -> list[str]:
    """The ``--help`` text, one line per option (argparse's continuation lines joined to their option)."""
    monkeypatch.setenv("COLUMNS", "1000")
    with pytest.raises(SystemExit):
        main(argv)
    lines: list[str] = []
    for line in capsys.readouterr().out.splitlines():
        if lines and line.startswith("      ") and not line.strip().startswith("-"):
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    return lines


def test_every_task_is_registered_and_complete():
    assert len(set(task_names())) == len(task_names()) >= 4
    for task in all_tasks():
        assert task.summary and task.validator and task.output_tree
        assert get_task(task.name) is task
        for cls_name in COMMANDS.values():
            assert dataclasses.is_dataclass(getattr(task, cls_name))
    with pytest.raises(Exception, match="unknown task 'dilepton'.*neutrino"):
        get_task("dilepton")


@pytest.mark.parametrize("task_name", task_names())
@pytest.mark.parametrize("command", list(COMMANDS))
def test_help_shows_the_dataclass_defaults(task_name, command, capsys, monkeypatch):
    cls = getattr(get_task(task_name), COMMANDS[command])
    lines = help_lines([command, task_name, "--help"], capsys, monkeypatch)
    for f, _ in fields_of(cls):
        flag = "--" + f.name.replace("_", "-")
        (line,) = [
            line
            for line in lines
            if line.strip().startswith(flag + " ")
            or line.strip().startswith(flag + ",")
            or line.strip() == flag
            or line.strip().startswith(f"{flag}, --no-")
        ]
        if f.metadata["required"]:
            assert "(required)" in line, line
        else:
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else str(default)
            assert line.rstrip().endswith(f"(default: {shown})"), (line, shown)


@pytest.mark.slow
@pytest.mark.parametrize("task_name", task_names())
def test_a_run_without_options_records_the_defaults(task_name, tmp_path, monkeypatch):
    """Only the inputs and --out are given: config.yaml holds every dataclass default (the training itself is
    skipped: Trainer.fit is replaced, the rest of the driver runs)."""
    import lightning

    monkeypatch.setattr(lightning.Trainer, "fit", lambda self, *args, **kwargs: None)
    run = tmp_path / "run"
    argv = ["train", task_name, "--out", str(run)]
    inputs = input_files(get_task(task_name).Training)
    for name, files in inputs.items():
        argv += ["--" + name, *files]
    assert main(argv) == 0
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved.pop("task") == task_name and saved.pop("hepgen_version")
    task = get_task(task_name)
    expected = to_mapping(task.Training(out=str(run), **inputs))
    assert saved == expected
    assert (run / "model.pt").exists()
    # the run's config.yaml replays the run: the same resolved settings, into another folder
    replay = resolve(task.Training, ("config", saved), ("flags", {"out": str(tmp_path / "again")}))
    assert to_mapping(replay) == {**expected, "out": str(tmp_path / "again")}


def test_layers_override_in_order_and_refuse_what_they_do_not_know(tmp_path, capsys, monkeypatch):
    from hepgen.tasks.neutrino import NeutrinoTraining

    settings = resolve(
        NeutrinoTraining,
        ("preset", {"dim": 32, "data": ["a.root"], "out": "r"}),
        ("flags", {"dim": 48}),
        ("--set", {"learning_rate": "3e-4", "devices": "2", "progress": "false"}),
    )
    assert (settings.dim, settings.learning_rate, settings.devices, settings.progress) == (48, 3e-4, 2, False)
    assert resolve(NeutrinoTraining, ("x", {"devices": "auto", "data": "a.root", "out": "r"})).data == ["a.root"]
    with pytest.raises(Exception, match=r"unknown setting\(s\) \['dimm'\].*known: \["):
        resolve(NeutrinoTraining, ("--set", {"dimm": 3}))
    with pytest.raises(Exception, match="'dim': 'wide' is not a valid int"):
        resolve(NeutrinoTraining, ("--set", {"dim": "wide"}))
    with pytest.raises(Exception, match="head = 'nf' is not one of"):
        resolve(NeutrinoTraining, ("--set", {"model": "nf", "data": ["a"], "out": "r"}))
    with pytest.raises(Exception, match="needs --data"):
        resolve(NeutrinoTraining, ("--set", {"out": "r"}))
    # through the command line: --config then flags then --set; errors exit 2 with one line
    config = tmp_path / "c.yaml"
    config.write_text("task: neutrino\ndim: 8\nheads: 2\n")
    assert (
        main(
            [
                "train",
                "neutrino",
                "--config",
                str(config),
                "--data",
                "x.root",
                "--out",
                str(tmp_path / "r"),
                "--set",
                "dimm=3",
            ]
        )
        == EXIT_INPUT
    )
    assert "unknown setting(s) ['dimm']" in capsys.readouterr().err
    config.write_text("task: pileup\n")
    assert main(["train", "neutrino", "--config", str(config), "--out", str(tmp_path / "r")]) == EXIT_INPUT
    assert "configures a 'pileup' run" in capsys.readouterr().err


def test_predict_offers_only_its_own_task_options(capsys, monkeypatch):
    neutrino = "\n".join(help_lines(["predict", "neutrino", "--help"], capsys, monkeypatch))
    pileup = "\n".join(help_lines(["predict", "pileup", "--help"], capsys, monkeypatch))
    assert "--sampler" in pileup and "--sampler" not in neutrino
    assert "--schema" in neutrino and "--schema" not in pileup


# -- exit codes: 0 done, 2 permanent input error, 75 transient (retry) -----------------------------------------------


def analytic(data, out) -> list[str]:
    return [
        "predict",
        "neutrino",
        "--method",
        "analytic",
        "--data",
        str(data),
        "--out",
        str(out),
        "--no-progress",
        "--max-events",
        "50",
    ]


def test_exit_code_0_and_2(tmp_path, capsys):
    assert main(analytic(DATA / "ttbar_ljets_test.root", tmp_path / "ok.root")) == 0
    assert main(analytic(tmp_path / "missing.root", tmp_path / "a.root")) == EXIT_INPUT
    truncated = tmp_path / "truncated.root"
    truncated.write_bytes((DATA / "ttbar_ljets_test.root").read_bytes()[:200_000])
    assert main(analytic(truncated, tmp_path / "b.root")) == EXIT_INPUT
    assert "truncated" in capsys.readouterr().err
    # an output under a file (not a folder): the user's path, not worth a retry
    assert main(analytic(DATA / "ttbar_ljets_test.root", tmp_path / "ok.root" / "x.root")) == EXIT_INPUT
    # a pileup μ that cannot be
    assert (
        main(
            [
                "predict",
                "pileup",
                "--run",
                str(REPO / "analyses" / "pileup" / "model"),
                "--jets",
                str(DATA / "top_jets_test.root"),
                "--pileup",
                str(DATA / "minbias_pool_test.root"),
                "--mu",
                "-5",
                "--max-events",
                "4",
                "--out",
                str(tmp_path / "p.root"),
                "--no-progress",
            ]
        )
        == EXIT_INPUT
    )
    assert "--mu must be >= 0" in capsys.readouterr().err


def test_exit_code_75_for_io_errors_and_memory(tmp_path, capsys, monkeypatch):
    import uproot.behaviors.TBranch

    real_arrays = uproot.behaviors.TBranch.HasBranches.arrays

    def flaky(self, *args, **kwargs):  # a read of a whole file fails as a lost connection would
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(uproot.behaviors.TBranch.HasBranches, "arrays", flaky)
    assert main(analytic(DATA / "ttbar_ljets_test.root", tmp_path / "a.root")) == EXIT_TEMPFAIL
    err = capsys.readouterr().err
    assert "I/O error" in err and "a retry may succeed" in err and "Traceback" not in err

    def no_memory(self, *args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(uproot.behaviors.TBranch.HasBranches, "arrays", no_memory)
    assert main(analytic(DATA / "ttbar_ljets_test.root", tmp_path / "b.root")) == EXIT_TEMPFAIL
    assert "out of memory" in capsys.readouterr().err
    monkeypatch.setattr(uproot.behaviors.TBranch.HasBranches, "arrays", real_arrays)

    real_replace = os.replace

    def full_disk(src, dst):  # the final rename of an atomic write fails: nothing under the final name
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    assert main(analytic(DATA / "ttbar_ljets_test.root", tmp_path / "c.root")) == EXIT_TEMPFAIL
    assert "No space left" in capsys.readouterr().err and not (tmp_path / "c.root").exists()
    monkeypatch.setattr(os, "replace", real_replace)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".c.root")]  # the temporary file was removed


def test_the_task_docstring_is_a_runnable_task():
    """The minimal task in the Task docstring runs as written (doctest)."""
    import doctest

    import hepgen.tasks.base

    result = doctest.testmod(hepgen.tasks.base, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 8 and result.failed == 0


def test_former_setting_names_still_read(tmp_path):
    """``model`` became ``head`` (training) and ``method`` (prediction): old run configs and old flags still read."""
    from hepgen.cli import build_parser
    from hepgen.tasks.neutrino import NeutrinoTraining
    from hepgen.tasks.run_folder import read_run_config

    shipped = read_run_config(REPO / "analyses" / "neutrino" / "model" / "config.yaml", "neutrino")
    assert "model" in shipped and "head" not in shipped  # written before the rename
    settings = resolve(NeutrinoTraining, ("config", shipped), ("flags", {"out": str(tmp_path / "replay")}))
    assert settings.head == shipped["model"] == "flow"
    old = ["predict", "dineutrino", "--model", "ellipse", "--data", "a.root", "--out", "b.root"]
    assert build_parser().parse_args(old).method == "ellipse"
    old = ["train", "neutrino", "--model", "mdn", "--data", "a.root", "--out", "r"]
    assert build_parser().parse_args(old).head == "mdn"
