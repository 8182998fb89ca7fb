"""The neutrino task: every head learns a toy with a known answer, masks are respected, a shrunken real config
trains, saves, reloads and predicts, and the pipeline runs on CMS NanoAOD events simulated by others."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import hepgen.io as hio
from hepgen.cli import main
from hepgen.errors import HepgenInputError
from hepgen.models import make_head
from hepgen.tasks.neutrino import NeutrinoModel, neutrino_arrays, targets_to_momentum
from hepgen.tasks.neutrino_run import (
    NeutrinoTrainConfig,
    batches,
    load_neutrino_model,
    predict_neutrino,
    train_neutrino,
)
from hepgen.validation.neutrino_comparison import validate_neutrino


def fit(head, x, y, steps=400, lr=5e-3):
    torch.manual_seed(0)
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = -head(x).log_prob(y).mean()
        loss.backward()
        opt.step()
    return head


def test_gauss_head_recovers_heteroscedastic_sigma():
    torch.manual_seed(1)
    x = torch.rand(4000, 1) * 1.5 + 0.5
    y = 2.0 * x + 0.5 * x * torch.randn_like(x)  # y ~ N(2x, (0.5x)^2)
    head = fit(make_head("gauss", 1, 1, hidden=32), x, y, steps=600, lr=1e-2)
    with torch.no_grad():
        d = head(torch.tensor([[0.75], [1.0], [1.75]]))
        sigma = d.base_dist.scale[:, 0]
        mean = d.base_dist.loc[:, 0]
    np.testing.assert_allclose(sigma.numpy(), 0.5 * np.array([0.75, 1.0, 1.75]), rtol=0.15)
    np.testing.assert_allclose(mean.numpy(), 2.0 * np.array([0.75, 1.0, 1.75]), atol=0.1)


def bimodal(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, generator=g)
    sign = torch.where(torch.rand(n, 1, generator=g) < 0.5, -1.0, 1.0)
    y = torch.cat([sign * 2.0 + 0.3 * torch.randn(n, 1, generator=g), x + 0.1 * torch.randn(n, 1, generator=g)], dim=1)
    return x, y


@pytest.mark.slow
def test_flow_beats_gauss_on_a_bimodal_toy_and_mdn_finds_both_modes():
    x, y = bimodal(3000, 0)
    x_test, y_test = bimodal(1000, 1)
    flow = fit(make_head("flow", 1, 2, hidden=32, transforms=3), x, y, steps=500)
    gauss = fit(make_head("gauss", 1, 2, hidden=32), x, y, steps=500)
    mdn = fit(make_head("mdn", 1, 2, hidden=32, components=4), x, y, steps=500)
    with torch.no_grad():
        ll = {name: h(x_test).log_prob(y_test).mean().item() for name, h in (("flow", flow), ("gauss", gauss), ("mdn", mdn))}
        samples = mdn(torch.full((1, 1), 0.5)).sample((4000,))[:, 0, 0]
        flow_samples = flow(torch.full((1, 1), 0.5)).sample((4000,))[:, 0, 0]
    assert ll["flow"] > ll["gauss"] + 0.3, ll
    assert ll["mdn"] > ll["gauss"] + 0.3, ll
    for s in (samples, flow_samples):
        near_plus, near_minus = ((s - 2).abs() < 0.6).float().mean(), ((s + 2).abs() < 0.6).float().mean()
        assert near_plus > 0.35 and near_minus > 0.35, (near_plus, near_minus)
        assert ((s.abs() < 1.0).float().mean()) < 0.1  # no mass between the modes


@pytest.fixture(scope="module")
def ttbar_arrays(ttbar_file):
    path, _ = ttbar_file
    events = hio.read(path, "hepgen-ttbar")
    return events, neutrino_arrays(events, require_truth=True)


@pytest.mark.parametrize("head", ["mse", "gauss", "mdn", "flow"])
def test_padded_jets_change_nothing(ttbar_arrays, head):
    _, arrays = ttbar_arrays
    torch.manual_seed(0)
    model = NeutrinoModel(head=head, dim=16, heads=2, layers=2, head_hidden=16).eval()
    model.fit_standardization(arrays)
    objects, masks = arrays.tensors()
    wide_objects = dict(objects, jets=torch.cat([objects["jets"], torch.zeros(len(arrays), 5, 5)], dim=1))
    wide_masks = dict(masks, jets=torch.cat([masks["jets"], torch.zeros(len(arrays), 5, dtype=torch.bool)], dim=1))
    target = torch.as_tensor(arrays.target)
    with torch.no_grad():
        a = model.posterior(objects, masks).log_prob(target)
        b = model.posterior(wide_objects, wide_masks).log_prob(target)
        torch.manual_seed(3)
        s1 = model.sample(objects, masks, 4)
        torch.manual_seed(3)
        s2 = model.sample(wide_objects, wide_masks, 4)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(s1, s2, rtol=1e-5, atol=1e-4)
    # and garbage in the padded slots is never read
    noisy = dict(wide_objects, jets=wide_objects["jets"].clone())
    noisy["jets"][:, 10:] = 1e3
    with torch.no_grad():
        torch.testing.assert_close(model.posterior(noisy, wide_masks).log_prob(target), a, rtol=1e-5, atol=1e-5)


def test_inputs_and_targets(ttbar_arrays):
    events, arrays = ttbar_arrays
    assert len(arrays) == events.n_events and arrays.skipped["no lepton"] == 0
    assert arrays.objects["jets"].shape == (len(arrays), 10, 5) and arrays.objects["analytic"].shape == (len(arrays), 1, 3)
    nu = events.truth["neutrino"]
    momentum = targets_to_momentum(arrays.target)
    np.testing.assert_allclose(momentum[:, 2], nu["pz"][:, 0], rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(momentum[:, 0], nu["px"][:, 0], rtol=1e-5, atol=1e-3)
    assert not arrays.objects["jets"][~arrays.masks["jets"]].any()


@pytest.mark.slow
def test_shrunken_config_trains_saves_reloads_predicts_validates(ttbar_file, tmp_path, nanoaod_path):
    path, _ = ttbar_file
    run = tmp_path / "run"
    config = NeutrinoTrainConfig(
        data=[str(path)], out=str(run), model="flow", dim=16, heads=2, layers=1, head_hidden=16, flow_transforms=2,
        batch_size=16, max_epochs=2, progress=False, accelerator="cpu",
    )  # fmt: skip
    train_neutrino(config)
    assert {p.name for p in run.iterdir()} >= {"model.pt", "config.yaml", "checkpoints", "logs"}
    assert (run / "checkpoints" / "last.ckpt").exists() and (run / "logs" / "version_0" / "metrics.csv").exists()
    saved = json.loads(json.dumps(__import__("yaml").safe_load((run / "config.yaml").read_text())))
    assert saved["model"] == "flow" and saved["task"] == "neutrino"
    with pytest.raises(HepgenInputError, match="already holds"):
        train_neutrino(config)
    model = load_neutrino_model(run)
    assert model.target_standardizer.fitted
    # predictions through the CLI, with the analytic baseline beside them
    pred, analytic = tmp_path / "flow.root", tmp_path / "analytic.root"
    assert main(["predict", "neutrino", "--run", str(run), "--data", str(path), "--samples", "32", "--out", str(pred)]) == 0
    assert main(["predict", "neutrino", "--model", "analytic", "--data", str(path), "--out", str(analytic)]) == 0
    outputs, event_id, metadata = hio.read_event_outputs(pred, tree="Neutrino")
    assert outputs["samples"].shape == (80, 32, 3) and metadata["method"] == "flow"
    np.testing.assert_array_equal(event_id["entry"], np.arange(80))
    assert main(["validate", "neutrino", "--pred", str(pred), str(analytic), "--out", str(tmp_path / "val")]) == 0
    metrics = json.loads((tmp_path / "val" / "metrics.json").read_text())
    assert set(metrics["methods"]) == {"flow", "analytic"}
    assert metrics["methods"]["flow"]["pz"]["calibration"]["verdict"] in {"calibrated", "over-confident", "under-confident", "biased"}
    assert abs(metrics["m_lnu_median"]["analytic"] - 80.4) < 0.5  # the constraint holds whenever the roots are real
    for figure in ("truth_quantiles", "coverage", "pulls", "m_lnu", "m_lnub", "residual_pz"):
        assert (tmp_path / "val" / f"{figure}.png").exists() and (tmp_path / "val" / f"{figure}.pdf").exists()
    # resume: one more epoch from the last checkpoint
    config.resume, config.max_epochs = True, 3
    train_neutrino(config)
    assert (run / "logs" / "version_0" / "metrics.csv").exists() and (run / "logs" / "version_1" / "metrics.csv").exists()
    # the same small model on CMS NanoAOD events simulated by others
    nano_pred, nano_analytic = tmp_path / "nano_flow.root", tmp_path / "nano_analytic.root"
    predict_neutrino(data=[str(nanoaod_path)], out=nano_pred, run=run, schema="nanoaod", samples=16)
    predict_neutrino(data=[str(nanoaod_path)], out=nano_analytic, method="analytic", schema="nanoaod")
    metrics = validate_neutrino([nano_pred, nano_analytic], tmp_path / "nano_val")
    assert metrics["events"] >= 60  # semileptonic events with a lepton above 20 GeV and a truth W neutrino
    assert metrics["methods"]["analytic"]["px"]["resolution"] < 40  # MET follows the neutrino
    nano_out, _, meta = hio.read_event_outputs(nano_pred, tree="Neutrino")
    assert np.isfinite(nano_out["samples"]).all() and meta["schema"] == "nanoaod"
    assert meta["skipped"]["no lepton"] > 0  # counted, not silently dropped


def test_wrong_inputs_are_refused(tmp_path, ttbar_file):
    path, _ = ttbar_file
    with pytest.raises(HepgenInputError, match="no trained model"):
        load_neutrino_model(tmp_path)
    torch.save({"task": "pileup"}, tmp_path / "model.pt")
    with pytest.raises(HepgenInputError, match="not a neutrino model"):
        load_neutrino_model(tmp_path)
    with pytest.raises(HepgenInputError, match="either a trained --run or --model analytic"):
        predict_neutrino(data=[str(path)], out=tmp_path / "x.root")
    assert main(["predict", "neutrino", "--data", str(path), "--out", str(tmp_path / "x.root")]) == 2


def test_batches_cover_every_event_once(ttbar_arrays):
    _, arrays = ttbar_arrays
    seen = [len(t) for _, _, t in batches(arrays, 32, shuffle=True, seed=1)]
    assert sum(seen) == len(arrays) and max(seen) == 32
