"""Epistemic predictions through the command line, for both ν tasks: models trained with dropout and a Bayesian layer,
``predict --mc-dropout N`` and ``--ensemble``, the epistemic share in the file (checked against the samples by
hand), and the refusals (a deterministic model's passes, samples not divisible by the draws, an ONNX export)."""

from __future__ import annotations

import numpy as np
import pytest

import hepgen.io as hio
from hepgen.cli import main
from hepgen.tasks.epistemic import epistemic_share
from tests.tasks.inputs import SAMPLES

TINY = ["--dim", "16", "--heads", "2", "--layers", "1", "--head-hidden", "16", "--flow-transforms", "1"]
TINY += ["--batch-size", "32", "--max-epochs", "1", "--accelerator", "cpu", "--no-progress"]


def _train(task: str, data: str, out, *extra: str) -> str:
    assert main(["train", task, "--data", data, "--out", str(out), *TINY, *extra]) == 0
    return str(out)


@pytest.mark.slow
@pytest.mark.parametrize(
    "task, schema, tree",
    [("neutrino", "hepgen-ttbar", "Neutrino"), ("dineutrino", "hepgen-ttbar-dilepton", "Dineutrino")],
)
def test_passes_and_ensembles_write_the_total_predictive_and_its_epistemic_share(tmp_path, task, schema, tree):
    data = str(SAMPLES[schema])
    dropout = _train(task, data, tmp_path / "dropout", "--dropout", "0.2", "--seed", "1")
    bayesian = _train(task, data, tmp_path / "bayes", "--bayesian", "--seed", "2")
    plain = _train(task, data, tmp_path / "plain", "--seed", "3")
    common = ["predict", task, "--data", data, "--max-events", "40", "--no-progress"]
    for name, args in {
        "mc": ["--run", dropout, "--mc-dropout", "4", "--samples", "32"],
        "bayes": ["--run", bayesian, "--mc-dropout", "4", "--samples", "32"],
        "ensemble": ["--run", plain, "--ensemble", dropout, bayesian, "--samples", "30"],
        "single": ["--run", dropout, "--samples", "32"],
    }.items():
        assert main([*common, *args, "--out", str(tmp_path / f"{name}.root")]) == 0, name
    single, _, _ = hio.read_event_outputs(tmp_path / "single.root", tree=tree)
    assert "epistemic_share" not in single  # one network draw: no share to report
    for name, draws in (("mc", 4), ("bayes", 4), ("ensemble", 3)):
        outputs, _, _ = hio.read_event_outputs(tmp_path / f"{name}.root", tree=tree)
        share = outputs["epistemic_share"]
        # the share is that of the samples in the file, in blocks of samples / draws (float32 samples: 1e-5)
        np.testing.assert_allclose(share, epistemic_share(outputs["samples"], draws), rtol=1e-4, atol=1e-5)
        assert ((share >= 0) & (share <= 1)).all() and share.mean() > 0.0
    if task == "neutrino":  # an ensemble of point regressors (MSE heads) is all spread between the members: share 1
        mse = [_train(task, data, tmp_path / f"mse{k}", "--head", "mse", "--seed", str(k)) for k in (1, 2)]
        out = tmp_path / "mse.root"
        assert main([*common, "--run", mse[0], "--ensemble", mse[1], "--samples", "4", "--out", str(out)]) == 0
        outputs, _, _ = hio.read_event_outputs(out, tree=tree)
        assert outputs["samples"].shape[1] == 4 and np.all(outputs["epistemic_share"] == 1.0)
    # a deterministic model has nothing to pass over; the samples must split evenly over the draws
    assert main([*common, "--run", plain, "--mc-dropout", "4", "--out", str(tmp_path / "x.root")]) == 2
    assert (
        main([*common, "--run", plain, "--ensemble", dropout, "--samples", "31", "--out", str(tmp_path / "y.root")])
        == 2
    )
    assert not (tmp_path / "x.root").exists() and not (tmp_path / "y.root").exists()
