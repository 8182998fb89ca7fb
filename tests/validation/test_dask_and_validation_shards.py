"""Prediction and validation on a Dask LocalCluster give the serial run's output; validation shards (per μ point
or per method) together hold exactly the unsharded run's metrics; shard files merge into the unsharded file."""

import json
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch

from hepgen.cli import main
from hepgen.io import read_event_outputs
from hepgen.io.writer import merge_event_outputs

REPO = Path(__file__).resolve().parents[2]
FLOW = REPO / "analyses" / "neutrino" / "model"
VIPR = REPO / "analyses" / "pileup" / "model"
TEST_EVENTS = REPO / "data" / "ttbar_ljets_test.root"


def same_outputs(a: Path, b: Path, tree: str, *, rtol: float = 0.0) -> None:
    """Same events, same branches; integers and counts equal; floats equal within ``rtol`` (0: bit for bit)."""
    import awkward as ak

    (oa, ia, _), (ob, ib, _) = read_event_outputs(a, tree=tree), read_event_outputs(b, tree=tree)
    np.testing.assert_array_equal(ia["entry"], ib["entry"])
    assert oa.keys() == ob.keys()
    for key in oa:
        va, vb = oa[key], ob[key]
        if hasattr(va, "layout"):
            np.testing.assert_array_equal(ak.num(va), ak.num(vb), err_msg=key)
            va, vb = ak.to_numpy(ak.ravel(va)), ak.to_numpy(ak.ravel(vb))
        if va.dtype.kind == "f":
            np.testing.assert_allclose(va, vb, rtol=rtol, atol=0, err_msg=key)
        else:
            np.testing.assert_array_equal(va, vb, err_msg=key)


@contextmanager
def torch_threads(n: int):
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


#: Serial run against Dask workers. The workers run one torch thread each (hepgen.cluster), and a float32 sum
#: over 2 threads is reduced in another order than over 1: the flow's samples then differ at ~2e-4 relative
#: (measured: 642 of 6300 values). So the serial reference runs with one thread too — the same code path on the
#: same machine, deterministic on purpose — and floats are compared at 1e-6 relative, a few float32 ulp, which a
#: BLAS kernel chosen differently per process could cost but any real difference (another seed or event block,
#: an event in the wrong shard) exceeds by orders of magnitude.
DASK_RTOL = 1e-6


@pytest.fixture(scope="module")
def vipr_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vipr")
    files = []
    for mu in (20, 60):
        out = folder / f"mu{mu}.root"
        assert (
            main(
                [
                    "predict",
                    "pileup",
                    "--run",
                    str(VIPR),
                    "--jets",
                    str(REPO / "data" / "top_jets_test.root"),
                    "--pileup",
                    str(REPO / "data" / "minbias_pool_test.root"),
                    "--mu",
                    str(mu),
                    "--samples",
                    "2",
                    "--steps",
                    "3",
                    "--max-events",
                    "24",
                    "--seed",
                    str(mu),
                    "--no-progress",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        files.append(out)
    return files


@pytest.mark.slow
def test_predictions_on_a_local_dask_cluster_equal_the_serial_run(tmp_path, vipr_files):
    common = [
        "predict",
        "neutrino",
        "--run",
        str(FLOW),
        "--data",
        str(TEST_EVENTS),
        "--samples",
        "8",
        "--max-events",
        "2100",
        "--no-progress",
    ]
    with torch_threads(1):  # as the Dask workers (see DASK_RTOL)
        assert main([*common, "--out", str(tmp_path / "serial.root")]) == 0
    assert main([*common, "--out", str(tmp_path / "dask.root"), "--scheduler", "local:2", "--parts", "3"]) == 0
    same_outputs(tmp_path / "serial.root", tmp_path / "dask.root", "Neutrino", rtol=DASK_RTOL)
    assert not any(p.name.startswith(".dask.root") for p in tmp_path.iterdir())  # the shard scratch is cleaned up
    pileup = [
        "predict",
        "pileup",
        "--run",
        str(VIPR),
        "--jets",
        str(REPO / "data" / "top_jets_test.root"),
        "--pileup",
        str(REPO / "data" / "minbias_pool_test.root"),
        "--mu",
        "60",
        "--samples",
        "2",
        "--steps",
        "3",
        "--max-events",
        "24",
        "--seed",
        "60",
        "--no-progress",
    ]
    with torch_threads(1):
        assert main([*pileup, "--out", str(tmp_path / "vipr_serial.root")]) == 0
    assert main([*pileup, "--out", str(tmp_path / "vipr_dask.root"), "--scheduler", "local:2", "--parts", "2"]) == 0
    for tree in ("VIPR", "Jets"):
        same_outputs(tmp_path / "vipr_serial.root", tmp_path / "vipr_dask.root", tree, rtol=DASK_RTOL)
    assert main([*common, "--out", str(tmp_path / "x.root"), "--scheduler", "local:2", "--shard", "0/2"]) == 2


# The validations below compare metrics.json exactly between the serial run and Dask workers: they are numpy,
# scipy and fastjet only, which run single-threaded and deterministically (no BLAS reduction), so the same CPU
# gives the same bits in any process.
@pytest.mark.slow
def test_validation_on_dask_and_in_shards_equals_the_serial_run(tmp_path, vipr_files):
    args = [
        "validate",
        "pileup",
        "--pred",
        *map(str, vipr_files),
        "--validation-fraction",
        "0.4",
        "--no-progress",
        "--no-figures",
    ]
    assert main([*args, "--out", str(tmp_path / "serial")]) == 0
    assert main([*args, "--out", str(tmp_path / "dask"), "--scheduler", "local:2"]) == 0
    serial = json.loads((tmp_path / "serial" / "metrics.json").read_text())
    assert json.loads((tmp_path / "dask" / "metrics.json").read_text()) == serial
    for i in range(2):
        assert main([*args, "--out", str(tmp_path / f"shard{i}"), "--shard", f"{i}/2"]) == 0
    per_mu = {}
    for i in range(2):
        per_mu |= json.loads((tmp_path / f"shard{i}" / "metrics.json").read_text())["per_mu"]
    assert per_mu == serial["per_mu"]
    assert main([*args, "--out", str(tmp_path / "none"), "--shard", "2/3"]) == 2  # more shards than μ points


@pytest.mark.slow
def test_neutrino_validation_on_dask_and_in_shards_equals_the_serial_run(tmp_path):
    files = []
    for method in ("analytic",):
        out = tmp_path / f"{method}.root"
        assert (
            main(
                [
                    "predict",
                    "neutrino",
                    "--method",
                    method,
                    "--data",
                    str(TEST_EVENTS),
                    "--max-events",
                    "300",
                    "--no-progress",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        files.append(out)
    assert (
        main(
            [
                "predict",
                "neutrino",
                "--run",
                str(FLOW),
                "--data",
                str(TEST_EVENTS),
                "--max-events",
                "300",
                "--samples",
                "16",
                "--no-progress",
                "--out",
                str(tmp_path / "flow.root"),
            ]
        )
        == 0
    )
    files.append(tmp_path / "flow.root")
    args = ["validate", "neutrino", "--pred", *map(str, files), "--no-figures"]  # metrics only: figures cost time
    assert main([*args, "--out", str(tmp_path / "serial")]) == 0
    serial = json.loads((tmp_path / "serial" / "metrics.json").read_text())
    stamp = (tmp_path / "serial" / "metrics.json").stat().st_mtime_ns
    assert main([*args, "--out", str(tmp_path / "serial")]) == 0  # a finished validation: a no-op
    assert (tmp_path / "serial" / "metrics.json").stat().st_mtime_ns == stamp
    assert main([*args, "--out", str(tmp_path / "dask"), "--scheduler", "local:2"]) == 0
    assert json.loads((tmp_path / "dask" / "metrics.json").read_text()) == serial
    methods = {}
    for i in range(2):
        assert main([*args, "--out", str(tmp_path / f"s{i}"), "--shard", f"{i}/2"]) == 0
        methods |= json.loads((tmp_path / f"s{i}" / "metrics.json").read_text())["methods"]
    assert methods == serial["methods"]


def test_merging_shard_files_gives_the_unsharded_file(tmp_path):
    common = [
        "predict",
        "neutrino",
        "--method",
        "analytic",
        "--data",
        str(TEST_EVENTS),
        "--max-events",
        "3000",
        "--no-progress",
    ]
    assert main([*common, "--out", str(tmp_path / "all.root")]) == 0
    parts = []
    for i in range(3):
        parts.append(tmp_path / f"part{i}.root")
        assert main([*common, "--shard", f"{i}/3", "--out", str(parts[-1])]) == 0
    merged = merge_event_outputs(parts[::-1], tmp_path / "merged.root")
    same_outputs(tmp_path / "all.root", merged, "Neutrino")
    assert main(["merge", str(tmp_path / "part*.root"), "--out", str(tmp_path / "cli.root")]) == 0
    same_outputs(tmp_path / "all.root", tmp_path / "cli.root", "Neutrino")
