"""The contract every registered task keeps, checked for each task of the registry (a new task is checked without a
line added here): tiny data → a finite loss whose gradients reach the model → a few training steps through the
command line → predictions (an empty block gives every branch with no rows) → a validation → an ONNX export where
the task exports (a clear refusal where it does not) → every generic flag accepted and honoured."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from hepgen.cli import main
from hepgen.errors import EXIT_INPUT
from hepgen.io.writer import read_event_outputs
from hepgen.tasks.base import Block
from hepgen.tasks.registry import get_task, task_names
from tests.tasks.inputs import PREDICTION_FILES, as_flags, input_files, small_network

#: Entries predicted: enough for the validation's splits (the pileup tasks tune on 30 % of the jets).
ENTRIES = 24


@pytest.fixture(scope="module")
def cluster():
    """One Dask cluster (a worker process) for every task's ``--scheduler`` runs: its address."""
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        yield local.scheduler_address


def trees(path: Path, task) -> dict[str, dict]:
    """tree → branch → numpy/awkward array of a prediction file (every tree the task writes)."""
    import uproot

    with uproot.open(path) as file:
        names = sorted({k.split(";")[0] for k, c in file.classnames().items() if c == "TTree"})
    return {name: read_event_outputs(path, tree=name)[0] for name in names}


def same_outputs(a: dict, b: dict) -> bool:
    import awkward as ak

    if a.keys() != b.keys():
        return False
    for tree in a:
        if a[tree].keys() != b[tree].keys():
            return False
        for key in a[tree]:
            x, y = ak.to_numpy(ak.ravel(a[tree][key])), ak.to_numpy(ak.ravel(b[tree][key]))
            if x.shape != y.shape or not np.allclose(x, y, rtol=1e-5, atol=1e-6, equal_nan=True):
                return False
    return True


def rounded(value):
    """Metrics with floats to 6 significant digits (the same numbers computed in another process)."""
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    if isinstance(value, float) and math.isfinite(value) and value != 0:
        return round(value, 5 - int(math.floor(math.log10(abs(value)))))
    return value


def loss_reaches_the_model(task, folder: Path) -> None:
    settings = task.Training(
        out=str(folder), **input_files(task.Training), **small_network(task.Training), max_events=64, batch_size=16
    )
    torch.manual_seed(0)
    model = task.build_model(settings)
    batch = next(iter(task.training_data(settings, model).train))
    terms = task.loss(model, batch, generator=torch.Generator().manual_seed(0))
    total = terms["total"] if "total" in terms else sum(terms.values())
    assert total.ndim == 0 and torch.isfinite(total)
    total.backward()
    trainable = {name: p for name, p in model.named_parameters() if p.requires_grad}
    missing = [name for name, p in trainable.items() if p.grad is None]
    assert not missing, f"{task.name}: the loss does not reach {missing}"
    assert all(torch.isfinite(p.grad).all() for p in trainable.values())
    assert any(p.grad.abs().sum() > 0 for p in trainable.values())


def train_through_the_cli(task, run: Path) -> None:
    inputs = input_files(task.Training)
    flags = as_flags({**inputs, **small_network(task.Training), "max_events": 64, "batch_size": 16})
    argv = ["train", task.name, "--out", str(run), *flags, "--max-steps", "2", "--max-epochs", "1", "--no-progress"]
    assert main([*argv, "--accelerator", "cpu"]) == 0
    assert (run / "model.pt").exists() and (run / "config.yaml").exists()


def prediction_flags(task, run: Path) -> list[str]:
    options = {**input_files(task.Prediction, PREDICTION_FILES), "max_events": ENTRIES, "samples": 2}
    names = {f.name for f in task.Prediction.__dataclass_fields__.values()}
    if "steps" in names:  # a sampler with steps: a few are enough for the contract
        options["steps"] = 3
    return ["--run", str(run), *as_flags(options), "--no-progress"]


def predictions_keep_the_contract(task, run: Path, folder: Path, cluster: str) -> Path:
    flags = prediction_flags(task, run)
    out = folder / "pred.root"
    assert main(["predict", task.name, *flags, "--out", str(out), "--seed", "3"]) == 0
    reference = trees(out, task)
    assert task.output_tree in reference
    assert all(len(next(iter(branches.values()))) > 0 for branches in reference.values())
    # --overwrite: without it a finished output is kept (nothing recomputed); with it recomputed, the same numbers
    stamp = os.stat(out).st_mtime_ns
    assert main(["predict", task.name, *flags, "--out", str(out), "--seed", "3"]) == 0
    assert os.stat(out).st_mtime_ns == stamp
    assert main(["predict", task.name, *flags, "--out", str(out), "--seed", "3", "--overwrite"]) == 0
    assert same_outputs(trees(out, task), reference)
    # --seed: another stream gives other samples (where the task samples)
    other = folder / "seed4.root"
    assert main(["predict", task.name, *flags, "--out", str(other), "--seed", "4"]) == 0
    assert not same_outputs(trees(other, task), reference)
    # --shard: the shards' rows together are the whole output's
    rows = 0
    for i in range(2):
        part = folder / f"shard{i}.root"
        assert main(["predict", task.name, *flags, "--out", str(part), "--seed", "3", "--shard", f"{i}/2"]) == 0
        rows += len(next(iter(trees(part, task)[task.output_tree].values())))
    assert rows == len(next(iter(reference[task.output_tree].values())))
    # --scheduler (with --parts): the same numbers on a Dask cluster
    dask = folder / "dask.root"
    argv = ["predict", task.name, *flags, "--out", str(dask), "--seed", "3", "--scheduler", cluster, "--parts", "2"]
    assert main(argv) == 0
    assert same_outputs(trees(dask, task), reference)
    # an empty block: every branch, no rows
    settings = task.Prediction(**_prediction_settings(task, run, out))
    predictor = task.load_predictor(settings)
    full = task.predict_block(predictor, settings, Block(0, 0, 4, 1))
    empty = task.predict_block(predictor, settings, Block(0, 0, 0, 1))
    assert empty.trees.keys() == full.trees.keys()
    for name, (outputs, ids) in empty.trees.items():
        assert outputs.keys() == full.trees[name][0].keys() and ids.keys() == full.trees[name][1].keys()
        assert all(len(v) == 0 for v in (*outputs.values(), *ids.values())), name
    return out


def _prediction_settings(task, run: Path, out: Path) -> dict:
    options = {**input_files(task.Prediction, PREDICTION_FILES), "run": str(run), "out": str(out), "samples": 2}
    if "steps" in task.Prediction.__dataclass_fields__:
        options["steps"] = 3
    return options


def validation_keeps_the_contract(task, prediction: Path, folder: Path, cluster: str) -> None:
    out = folder / "validation"
    argv = ["validate", task.name, "--pred", str(prediction), "--bootstrap", "7", "--no-progress"]
    assert main([*argv, "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["bootstrap"] == 7  # --bootstrap honoured
    assert (out / "summary.md").exists() and any(out.glob("*.png"))  # --figures (the default)
    # --overwrite: a finished validation is kept unless asked
    stamp = os.stat(out / "metrics.json").st_mtime_ns
    assert main([*argv, "--out", str(out)]) == 0 and os.stat(out / "metrics.json").st_mtime_ns == stamp
    assert main([*argv, "--out", str(out), "--overwrite"]) == 0
    assert rounded(json.loads((out / "metrics.json").read_text())) == rounded(metrics)
    # --scheduler, --shard, --no-figures, --progress: the same numbers
    quick = folder / "dask_validation"
    assert (
        main([*argv, "--out", str(quick), "--scheduler", cluster, "--shard", "0/1", "--no-figures", "--progress"]) == 0
    )
    assert rounded(json.loads((quick / "metrics.json").read_text())) == rounded(metrics)
    assert not any(quick.glob("*.png"))
    assert main([*argv, "--out", str(folder / "none"), "--shard", "1/2"]) == EXIT_INPUT  # more shards than groups


def export_keeps_the_contract(task, run: Path, folder: Path, capsys) -> None:
    out = folder / "onnx"
    code = main(["export", task.name, "--run", str(run), "--out", str(out)])
    if code == EXIT_INPUT:  # a task without an ONNX export says so
        assert "no ONNX export" in capsys.readouterr().err
        return
    assert code == 0 and any(out.glob("*.onnx")) and (out / "hepgen_onnx.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", task_names())
def test_every_registered_task_keeps_the_contract(name, tmp_path, cluster, capsys):
    task = get_task(name)
    loss_reaches_the_model(task, tmp_path / "loss")
    run = tmp_path / "run"
    train_through_the_cli(task, run)
    prediction = predictions_keep_the_contract(task, run, tmp_path, cluster)
    validation_keeps_the_contract(task, prediction, tmp_path, cluster)
    export_keeps_the_contract(task, run, tmp_path, capsys)
