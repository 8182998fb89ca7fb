"""Grid jobs: `--shard i/n` splits the events in seeded blocks, so the shards together equal the unsharded run;
a finished output is not recomputed unless --overwrite."""

from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from hepgen.cli import main
from hepgen.io import read_event_outputs
from hepgen.shards import Shard, entry_blocks

SHIPPED_NEUTRINO = Path(__file__).resolve().parents[2] / "analyses" / "neutrino" / "model"
SHIPPED_VIPR = Path(__file__).resolve().parents[2] / "analyses" / "pileup" / "model"
TEST_EVENTS = Path(__file__).resolve().parents[2] / "data" / "ttbar_ljets_test.root"


def test_entry_blocks_partition_the_events():
    blocks = [entry_blocks(2500, 1024, Shard(i, 3)) for i in range(3)]
    assert blocks == [[(0, 0, 1024)], [(1, 1024, 2048)], [(2, 2048, 2500)]]
    assert entry_blocks(2500, 1024, Shard(0, 2)) == [(0, 0, 1024), (2, 2048, 2500)]
    assert entry_blocks(0, 1024) == []


def union(files, tree):
    parts = [read_event_outputs(f, tree=tree) for f in files]
    entry = np.concatenate([p[1]["entry"] for p in parts])
    order = np.argsort(entry, kind="stable")
    outputs = {}
    for key in parts[0][0]:
        values = [p[0][key] for p in parts]
        joined = ak.concatenate(values) if isinstance(values[0], ak.Array) else np.concatenate(values)
        outputs[key] = joined[order]
    return entry[order], outputs


def assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], ak.Array):
            assert ak.all(ak.ravel(a[key]) == ak.ravel(b[key])) and ak.all(ak.num(a[key]) == ak.num(b[key])), key
        else:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_neutrino_shards_union_equals_the_unsharded_run(tmp_path):
    common = [
        "predict",
        "neutrino",
        "--run",
        str(SHIPPED_NEUTRINO),
        "--data",
        str(TEST_EVENTS),
        "--samples",
        "8",
        "--max-events",
        "2100",
        "--no-progress",
    ]
    assert main([*common, "--out", str(tmp_path / "all.root")]) == 0
    shards = [tmp_path / f"shard{i}.root" for i in range(2)]
    for i, path in enumerate(shards):
        assert main([*common, "--shard", f"{i}/2", "--out", str(path)]) == 0
    entry_all, all_outputs = union([tmp_path / "all.root"], "Neutrino")
    entry_shards, shard_outputs = union(shards, "Neutrino")
    np.testing.assert_array_equal(entry_all, entry_shards)
    assert_same(all_outputs, shard_outputs)
    assert len(np.unique(entry_all)) == len(entry_all) > 1000
    # a finished shard is a no-op unless --overwrite
    before = shards[0].stat().st_mtime_ns
    assert main([*common, "--shard", "0/2", "--out", str(shards[0])]) == 0
    assert shards[0].stat().st_mtime_ns == before
    assert main([*common, "--shard", "0/2", "--out", str(shards[0]), "--overwrite"]) == 0
    assert shards[0].stat().st_mtime_ns != before
    # more shards than blocks: the empty shard writes a valid empty file
    empty = tmp_path / "empty.root"
    assert main([*common, "--shard", "5/6", "--out", str(empty)]) == 0
    outputs, event_id, metadata = read_event_outputs(empty, tree="Neutrino")
    assert len(event_id["entry"]) == 0 and metadata["shard"] == "5/6"


@pytest.mark.slow
def test_pileup_shards_union_equals_the_unsharded_run(top_jets, minbias_file, tmp_path):
    common = [
        "predict",
        "pileup",
        "--run",
        str(SHIPPED_VIPR),
        "--jets",
        str(top_jets),
        "--pileup",
        str(minbias_file),
        "--mu",
        "20",
        "--samples",
        "2",
        "--steps",
        "3",
        "--max-events",
        "70",
        "--no-progress",
    ]
    assert main([*common, "--out", str(tmp_path / "all.root")]) == 0
    shards = [tmp_path / f"shard{i}.root" for i in range(2)]
    for i, path in enumerate(shards):
        assert main([*common, "--shard", f"{i}/2", "--out", str(path)]) == 0
    for tree in ("VIPR", "Jets"):
        entry_all, all_outputs = union([tmp_path / "all.root"], tree)
        entry_shards, shard_outputs = union(shards, tree)
        np.testing.assert_array_equal(entry_all, entry_shards)
        assert_same(all_outputs, shard_outputs)
    assert main([*common, "--shard", "4/4", "--out", str(tmp_path / "x.root")]) == 2  # invalid shard
