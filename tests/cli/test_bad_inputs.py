"""Every bad input of the README table, through the command line: a clear one-line error (exit 2) naming the
problem, or a documented skip with its count — and nothing lost (no partial output under the final name)."""

import json
import shutil
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from hepgen.cli import main
from hepgen.io import read_event_outputs
from tests.conftest import write_nanoaod_style

REPO = Path(__file__).resolve().parents[2]
TEST_EVENTS = REPO / "data" / "ttbar_ljets_test.root"
FLOW = REPO / "analyses" / "neutrino" / "model"
VIPR = REPO / "analyses" / "pileup" / "model"
COLLECTIONS = ("Jet", "Lepton", "GenParton", "GenNu", "GenLepton")


def ttbar_copy(path: Path, n: int = 60, *, drop: str | None = None, edit=None) -> Path:
    """The first ``n`` shipped test events rewritten, optionally without branch ``drop`` or edited by ``edit``."""
    tree = uproot.open(TEST_EVENTS)["Events"]
    raw = tree.arrays(entry_stop=n)
    collections = {
        c: ak.zip({f[len(c) + 1 :]: raw[f] for f in raw.fields if f.startswith(c + "_") and f != drop})
        for c in COLLECTIONS
    }
    scalars = {
        f: ak.to_numpy(raw[f])
        for f in raw.fields
        if not f.startswith(COLLECTIONS) and not f.startswith("n") and f != drop
    }
    if edit is not None:
        edit(collections, scalars)
    return write_nanoaod_style(path, collections, scalars)


def predict_analytic(data, out, *extra):
    return main(
        ["predict", "neutrino", "--method", "analytic", "--data", str(data), "--out", str(out), "--no-progress", *extra]
    )


def error_text(capsys) -> str:
    return capsys.readouterr().err


def test_missing_file(tmp_path, capsys):
    assert predict_analytic(tmp_path / "nope.root", tmp_path / "out.root") == 2
    assert "nope.root" in error_text(capsys) and not (tmp_path / "out.root").exists()
    # a misspelled name: the closest names in its folder
    assert predict_analytic(REPO / "data" / "ttbar_ljet_test.root", tmp_path / "out.root") == 2
    assert f"did you mean {str(TEST_EVENTS)!r}" in error_text(capsys)


def test_an_output_path_that_cannot_be_written_fails_before_any_work(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert predict_analytic(TEST_EVENTS, blocker / "out.root") == 2
    assert f"{str(blocker)!r} is a file, not a folder" in error_text(capsys)


def test_missing_tree(tmp_path, capsys):
    path = tmp_path / "other.root"
    with uproot.recreate(path) as f:
        f["Other"] = {"x": np.arange(3)}
    assert predict_analytic(path, tmp_path / "out.root") == 2
    err = error_text(capsys)
    assert "Events" in err and "Other" in err


def test_missing_branch(tmp_path, capsys):
    path = ttbar_copy(tmp_path / "no_jet_pt.root", drop="Jet_pt")
    assert predict_analytic(path, tmp_path / "out.root") == 2
    assert "Jet_pt" in error_text(capsys) and not (tmp_path / "out.root").exists()


def test_empty_file_and_empty_tree(tmp_path, capsys):
    empty = tmp_path / "empty.root"
    empty.write_bytes(b"")
    assert predict_analytic(empty, tmp_path / "out.root") == 2
    assert "empty.root" in error_text(capsys)
    no_events = ttbar_copy(tmp_path / "zero.root", n=0)
    assert predict_analytic(no_events, tmp_path / "zero_out.root") == 0  # a valid, empty output
    _, event_id, metadata = read_event_outputs(tmp_path / "zero_out.root", tree="Neutrino")
    assert len(event_id["entry"]) == 0


def test_zero_event_shards_write_empty_outputs(tmp_path):
    assert predict_analytic(TEST_EVENTS, tmp_path / "n.root", "--shard", "7/8", "--max-events", "100") == 0
    assert len(read_event_outputs(tmp_path / "n.root", tree="Neutrino")[1]["entry"]) == 0
    jets = REPO / "data" / "top_jets_test.root"
    assert (
        main(
            [
                "predict",
                "pileup",
                "--run",
                str(VIPR),
                "--jets",
                str(jets),
                "--pileup",
                str(REPO / "data" / "minbias_pool_test.root"),
                "--max-events",
                "10",
                "--shard",
                "1/2",
                "--out",
                str(tmp_path / "p.root"),
                "--no-progress",
            ]
        )
        == 0
    )
    _, event_id, metadata = read_event_outputs(tmp_path / "p.root", tree="VIPR")
    assert len(event_id["entry"]) == 0 and metadata["shard"] == "1/2"


def test_events_without_lepton_or_jets_are_skipped_and_counted(tmp_path, capsys):
    def strip(collections, scalars):
        n = len(collections["Lepton"])
        no_lepton, no_jets = np.arange(n) % 5 == 0, np.arange(n) % 7 == 3
        collections["Lepton"] = collections["Lepton"][
            ak.local_index(collections["Lepton"].pt) < np.where(no_lepton, 0, 99)[:, None]
        ]
        collections["Jet"] = collections["Jet"][
            ak.local_index(collections["Jet"].pt) < np.where(no_jets & ~no_lepton, 0, 99)[:, None]
        ]

    path = ttbar_copy(tmp_path / "holes.root", n=70, edit=strip)
    assert predict_analytic(path, tmp_path / "out.root") == 0
    _, event_id, metadata = read_event_outputs(tmp_path / "out.root", tree="Neutrino")
    assert metadata["skipped"]["no lepton"] == 14 and metadata["skipped"]["no jets"] == 8
    assert len(event_id["entry"]) == 70 - 14 - 8 and not np.isin(event_id["entry"], np.arange(0, 70, 5)).any()
    # and the command says so when it ends
    assert "22 entries skipped (no jets: 8, no lepton: 14)" in capsys.readouterr().out


def test_nan_values_are_refused(tmp_path, capsys):
    def poison(collections, scalars):
        scalars["MET_pt"] = scalars["MET_pt"].copy()
        scalars["MET_pt"][4] = np.nan

    path = ttbar_copy(tmp_path / "nan.root", edit=poison)
    assert predict_analytic(path, tmp_path / "out.root") == 2
    err = error_text(capsys)
    assert "MET_pt" in err and "NaN" in err and not (tmp_path / "out.root").exists()


def test_truncated_root_file(tmp_path, capsys):
    path = tmp_path / "truncated.root"
    data = TEST_EVENTS.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert predict_analytic(path, tmp_path / "out.root") == 2
    text = error_text(capsys)
    assert "truncated.root" in text and "the file is truncated" in text and not (tmp_path / "out.root").exists()
    assert "\n" not in text.strip() and "FSSpecSource" not in text  # one line, no reader internals
    path.write_text("not a ROOT file at all")
    assert predict_analytic(path, tmp_path / "out.root") == 2
    text = error_text(capsys)
    assert "the file is not a ROOT file" in text and "\n" not in text.strip()


def test_checkpoint_of_the_other_task(tmp_path, capsys):
    assert (
        main(
            [
                "predict",
                "pileup",
                "--run",
                str(FLOW),
                "--jets",
                str(REPO / "data" / "top_jets_test.root"),
                "--pileup",
                str(REPO / "data" / "minbias_pool_test.root"),
                "--out",
                str(tmp_path / "p.root"),
            ]
        )
        == 2
    )
    assert "not a pileup model" in error_text(capsys)
    assert (
        main(["predict", "neutrino", "--run", str(VIPR), "--data", str(TEST_EVENTS), "--out", str(tmp_path / "n.root")])
        == 2
    )
    assert "not a neutrino model" in error_text(capsys)


@pytest.mark.slow
def test_incompatible_configs(tmp_path, capsys):
    run = tmp_path / "run"
    base = [
        "train",
        "neutrino",
        "--data",
        str(TEST_EVENTS),
        "--max-events",
        "300",
        "--max-steps",
        "2",
        "--dim",
        "16",
        "--layers",
        "1",
        "--no-progress",
        "--accelerator",
        "cpu",
    ]
    assert main([*base, "--out", str(run)]) == 0
    # resuming with another architecture
    other = [a if a != "16" else "32" for a in base]
    assert main([*other, "--out", str(run), "--resume"]) == 2
    assert "differs in dim (16 → 32)" in error_text(capsys)
    # a config file of the other task, or with unknown settings
    assert main(["train", "pileup", "--config", str(run / "config.yaml"), "--out", str(tmp_path / "p")]) == 2
    assert "configures a 'neutrino' run" in error_text(capsys)
    bad = tmp_path / "bad.yaml"
    bad.write_text((run / "config.yaml").read_text() + "learning_rat: 0.1\n")
    assert main(["train", "neutrino", "--config", str(bad), "--out", str(tmp_path / "q")]) == 2
    assert "learning_rat" in error_text(capsys)
    # the run's own config file trains again, identically configured
    assert (
        main(
            [
                "train",
                "neutrino",
                "--config",
                str(run / "config.yaml"),
                "--out",
                str(tmp_path / "again"),
                "--no-progress",
                "--accelerator",
                "cpu",
            ]
        )
        == 0
    )
    import yaml

    first, second = (yaml.safe_load((p / "config.yaml").read_text()) for p in (run, tmp_path / "again"))
    assert {k: v for k, v in first.items() if k != "out"} == {k: v for k, v in second.items() if k != "out"}
    assert json.loads(json.dumps(first)) == first  # plain YAML types only: no Python objects in a run's config
    shutil.rmtree(run)


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["predict", "neutrino", "--run", str(FLOW), "--data", str(TEST_EVENTS), "--samples", "0"], "--samples"),
        (["predict", "neutrino", "--run", str(FLOW), "--data", str(TEST_EVENTS), "--batch-size", "-2"], "--batch-size"),
        (["predict", "neutrino", "--run", str(FLOW), "--data", str(TEST_EVENTS), "--mc-dropout", "0"], "--mc-dropout"),
        (
            [
                "predict",
                "pileup",
                "--run",
                str(VIPR),
                "--jets",
                str(REPO / "data/top_jets_test.root"),
                "--pileup",
                str(REPO / "data/minbias_pool_test.root"),
                "--samples",
                "-3",
            ],
            "--samples",
        ),
    ],
)
def test_counts_below_one_are_refused_when_the_command_is_read(argv, flag, tmp_path, capsys):
    out = tmp_path / "out.root"
    assert main([*argv, "--out", str(out)]) == 2
    assert f"{flag} must be >= 1" in capsys.readouterr().err and not out.exists()


def test_a_nanoaod_file_read_with_the_default_schema_gets_the_schema_that_fits(tmp_path, capsys):
    cms = REPO / "data" / "cms_opendata_ttbar_nanoaod.root"
    out = tmp_path / "out.root"
    argv = ["predict", "neutrino", "--method", "analytic", "--data", str(cms), "--out", str(out), "--no-progress"]
    assert main(argv) == 2 and not out.exists()
    assert "this looks like nanoaod: add --schema nanoaod" in capsys.readouterr().err
    assert main([*argv, "--schema", "nanoaod"]) == 0  # and the advice works
