"""ONNX export: the exported graphs run with onnxruntime and match PyTorch within the stated float32 tolerance, for
padded and unpadded inputs; ``predict --onnx`` gives ``predict --run``'s numbers; bad requests get clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import uproot

import hepgen.io as hio
from hepgen.cli import main
from hepgen.errors import HepgenInputError
from hepgen.io import read
from hepgen.tasks.neutrino import INPUT_SETS, NeutrinoModel, NeutrinoSamplingGraph, neutrino_arrays
from hepgen.tasks.onnx_export import METADATA_FILE, OUTLIER_FRACTION, OnnxGraphs, deviation, export_onnx
from hepgen.tasks.run_folder import load_model, save_model_file

REPO = Path(__file__).resolve().parents[2]
NEUTRINO_MODEL = REPO / "analyses" / "neutrino" / "model"
STUDENT = REPO / "analyses" / "pileup" / "model_student"
EDM = REPO / "analyses" / "pileup" / "model"


def assert_close(onnx_values, torch_values, *, momentum: bool = False) -> None:
    """Within TOLERANCE but for OUTLIER_FRACTION of the entries (float32 rounding across a spline knot), and every
    entry within 0.5 GeV (or 0.5 in η, log density): momenta are compared relative to |p| of their vector."""
    a, b = np.asarray(onnx_values), np.asarray(torch_values)
    scale = np.linalg.norm(b, axis=-1, keepdims=True) if momentum else None
    largest, beyond = deviation(a, b, scale)
    assert beyond <= OUTLIER_FRACTION and largest <= 0.5, (largest, beyond)


@pytest.fixture(scope="module")
def neutrino_export(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("onnx") / "neutrino"
    assert main(["export", "neutrino", "--run", str(NEUTRINO_MODEL), "--out", str(out)]) == 0
    return out


def _feed(arrays, noise: torch.Tensor) -> dict:
    objects, masks = arrays.tensors()
    feed = {}
    for name in objects:  # the graph's order: each object type, then its mask
        feed[name], feed[f"{name}_mask"] = objects[name], masks[name]
    return {**feed, "noise": noise}


def test_the_export_describes_every_input(neutrino_export):
    meta = json.loads((neutrino_export / METADATA_FILE).read_text())
    graph = meta["graphs"]["neutrino_sampler"]
    names = [i["name"] for i in graph["inputs"]]
    assert names == [
        "lepton",
        "lepton_mask",
        "jets",
        "jets_mask",
        "met",
        "met_mask",
        "analytic",
        "analytic_mask",
        "noise",
    ]
    jet_features = INPUT_SETS[meta["model_config"]["inputs"]]["jets"]  # the shipped model's input set
    assert graph["inputs"][2]["shape"] == ["events", "jets", len(jet_features)]
    assert graph["inputs"][-1]["shape"] == ["events", "samples", 3]
    assert [o["name"] for o in graph["outputs"]] == ["samples", "momentum", "log_density"]
    assert (
        meta["opset"] >= 17
        and meta["features"]["jets"]["px"] == "GeV"
        and len(meta["input_standardization"]["jets"]["mean"]) == len(jet_features)
    )
    assert all(d <= 1e-2 for d in graph["max_abs_deviation_from_torch"].values())
    import onnx

    model = onnx.load(str(neutrino_export / graph["file"]))
    onnx.checker.check_model(model)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) == meta["opset"]


@pytest.mark.parametrize("padded", [True, False], ids=["padded", "unpadded"])
def test_neutrino_graph_matches_pytorch(neutrino_export, nanoaod_path, padded):
    model = load_model("neutrino", NEUTRINO_MODEL)
    arrays = neutrino_arrays(read(str(nanoaod_path), "nanoaod"), inputs=model.config["inputs"])
    if not padded:  # only events with exactly 4 jets, the jet axis cut to 4: no padding anywhere
        arrays = arrays.select(np.flatnonzero(arrays.masks["jets"].sum(1) == 4))
        arrays.objects["jets"], arrays.masks["jets"] = arrays.objects["jets"][:, :4], arrays.masks["jets"][:, :4]
        assert len(arrays) >= 5 and arrays.masks["jets"].all()
    else:
        assert not arrays.masks["jets"].all()
    noise = torch.randn(len(arrays), 7, 3, generator=torch.Generator().manual_seed(1))
    feed = _feed(arrays, noise)
    got = OnnxGraphs(neutrino_export).run("neutrino_sampler", **feed)
    with torch.no_grad():
        expected = NeutrinoSamplingGraph(model).eval()(*feed.values())
    for name, value in zip(("samples", "momentum", "log_density"), expected, strict=True):
        assert_close(got[name], value.numpy(), momentum=name == "momentum")
    # the graph is hepgen's sampler: the same noise gives the model's own samples
    with torch.no_grad():
        context = model.encode(*arrays.tensors())
        from hepgen.models.flow_sampling import ContextCachedSampler

        x, _ = ContextCachedSampler(model.head.flow).transform_noise(context, noise.transpose(0, 1))
    assert_close(got["samples"], model.target_standardizer.inverse(x).transpose(0, 1).numpy())


def test_predict_with_onnx_matches_predict_with_pytorch(neutrino_export, nanoaod_path, tmp_path):
    common = ["--schema", "nanoaod", "--data", str(nanoaod_path), "--samples", "32", "--seed", "3", "--no-progress"]
    assert (
        main(["predict", "neutrino", "--run", str(NEUTRINO_MODEL), *common, "--out", str(tmp_path / "torch.root")]) == 0
    )
    assert (
        main(["predict", "neutrino", "--onnx", str(neutrino_export), *common, "--out", str(tmp_path / "onnx.root")])
        == 0
    )
    a, ids_a, _ = hio.read_event_outputs(tmp_path / "torch.root", tree="Neutrino")
    b, ids_b, _ = hio.read_event_outputs(tmp_path / "onnx.root", tree="Neutrino")
    assert len(a["samples"]) >= 60 and np.array_equal(ids_a["event"], ids_b["event"])
    assert_close(b["samples"], a["samples"], momentum=True)
    assert_close(b["point"], a["point"], momentum=True)
    # the mode is the sample of largest density: a near-tie may pick another sample within float32 rounding
    same_mode = np.abs(b["mode"] - a["mode"]).max(axis=1) <= 0.5
    assert same_mode.mean() >= 0.95


@pytest.mark.parametrize(("run", "extra"), [(STUDENT, []), (EDM, ["--steps", "3"])], ids=["student-euler", "edm-heun"])
def test_predict_pileup_with_onnx_matches_pytorch(run, extra, tmp_path):
    out = tmp_path / "export"
    export_onnx("pileup", run, out)
    meta = json.loads((out / METADATA_FILE).read_text())
    assert set(meta["graphs"]) == {"vipr_multiplicity", "vipr_encoder", "vipr_denoiser"}
    assert meta["sampling"]["sigmas"][-1] == 0.0 and meta["sampling"]["loop"]
    common = [
        "--jets",
        str(REPO / "data" / "top_jets_test.root"),
        "--pileup",
        str(REPO / "data" / "minbias_pool_test.root"),
        "--mu",
        "60",
        "--samples",
        "2",
        "--max-events",
        "12",
        "--seed",
        "7",
        "--no-progress",
        *extra,
    ]
    assert main(["predict", "pileup", "--run", str(run), *common, "--out", str(tmp_path / "torch.root")]) == 0
    assert main(["predict", "pileup", "--onnx", str(out), *common, "--out", str(tmp_path / "onnx.root")]) == 0
    a = uproot.open(tmp_path / "torch.root")["VIPR"].arrays(library="np")
    b = uproot.open(tmp_path / "onnx.root")["VIPR"].arrays(library="np")
    assert [len(x) for x in a["constituent_pt"]] == [len(x) for x in b["constituent_pt"]]  # the same counts drawn
    for key in ("jet_pt", "jet_mass"):
        assert_close(b[key], a[key])  # GeV
    assert_close(np.concatenate(list(b["constituent_eta"])), np.concatenate(list(a["constituent_eta"])))
    assert uproot.open(tmp_path / "onnx.root")["VIPR"].num_entries == 24


def test_bad_export_requests_get_clear_errors(tmp_path, capsys):
    # a run of another task
    assert main(["export", "neutrino", "--run", str(STUDENT), "--out", str(tmp_path / "x")]) == 2
    assert "not a neutrino model" in capsys.readouterr().err
    # opsets the exporter cannot write, or too old for the models
    for opset in ("16", "21"):
        assert (
            main(["export", "neutrino", "--run", str(NEUTRINO_MODEL), "--out", str(tmp_path / "x"), "--opset", opset])
            == 2
        )
        assert "opset" in capsys.readouterr().err
    # a head without a sampling pass to export
    mdn = NeutrinoModel(head="mdn", dim=16, heads=2, layers=1, head_hidden=16)
    save_model_file(tmp_path / "mdn.pt", "neutrino", mdn.config, mdn.state_dict())
    with pytest.raises(HepgenInputError, match="only flow-head neutrino models"):
        export_onnx("neutrino", tmp_path / "mdn.pt", tmp_path / "x")
    # a task without an export
    assert (
        main(
            [
                "export",
                "puppiml",
                "--run",
                str(REPO / "analyses" / "pileup" / "classifier"),
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )
    assert "no ONNX export" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not list(tmp_path.glob(".x.*"))  # nothing half-written left behind


def test_bad_onnx_predictions_get_clear_errors(neutrino_export, nanoaod_path, tmp_path, capsys):
    common = ["--schema", "nanoaod", "--data", str(nanoaod_path), "--out", str(tmp_path / "p.root")]
    assert main(["predict", "neutrino", "--onnx", str(tmp_path), *common]) == 2
    assert "not an exported model folder" in capsys.readouterr().err
    assert main(["predict", "neutrino", "--onnx", str(neutrino_export), "--run", str(NEUTRINO_MODEL), *common]) == 2
    assert "either" in capsys.readouterr().err
    assert (
        main(
            [
                "predict",
                "pileup",
                "--onnx",
                str(neutrino_export),
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
    assert "not 'pileup'" in capsys.readouterr().err
    assert main(["export", "neutrino", "--run", str(NEUTRINO_MODEL), "--out", str(neutrino_export)]) == 2
    assert "--overwrite" in capsys.readouterr().err
