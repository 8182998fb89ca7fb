"""Bad input gets a clear error naming what is wrong and what exists, and loses nothing silently."""

import numpy as np
import pytest

import hepgen.io as hio
from hepgen.errors import (
    CorruptFileError,
    MissingBranchError,
    MissingFileError,
    MissingTreeError,
    NonFiniteInputError,
    SchemaError,
)
from hepgen.io import Collection, Prefix, Schema, get_schema


def jets_schema():
    return get_schema("hepgen-ttbar").without("leptons", "neutrino", "lepton", "partons")


def test_missing_file_is_named(tmp_path, nanoaod_path):
    missing = tmp_path / "nope.root"
    with pytest.raises(MissingFileError, match="nope.root"):
        hio.read(missing, "nanoaod")
    with pytest.raises(FileNotFoundError):  # also a standard FileNotFoundError
        hio.read([nanoaod_path, missing], "nanoaod")
    with pytest.raises(MissingFileError, match="no file matches"):
        hio.read(str(tmp_path / "*.root"), "nanoaod")
    with pytest.raises(MissingFileError, match="is a directory"):
        hio.read(tmp_path, "nanoaod")


def test_missing_tree_lists_trees(hzz_path):
    with pytest.raises(MissingTreeError, match=r"tree 'Events' not found .*trees present: \['events'\]"):
        hio.read(hzz_path, "nanoaod")
    with pytest.raises(MissingTreeError, match="'Nope'"):
        hio.read(hzz_path, "hep-tutorial", tree="Nope")


def test_missing_branch_suggests_closest(nanoaod_path):
    schema = get_schema("nanoaod").with_collection(
        "jets", Collection(Prefix("Jet", fields={"btag": "btagDeepFlavBB"}), ("pt", "btag"), max_length=4)
    )
    with pytest.raises(MissingBranchError) as info:
        hio.read(nanoaod_path, schema)
    text = str(info.value)
    assert "Jet_btagDeepFlavBB" in text and "'jets'" in text and "Jet_btagDeepFlavB" in text


def test_nonfinite_raises_with_branch_and_count(make_jets_file):
    path = make_jets_file(seed=3)
    counts = hio.read(path, jets_schema())["jets"].counts
    bad = [int(i) for i in np.flatnonzero(counts > 0)[:3]]
    path = make_jets_file(nan_events=tuple(bad), seed=3, name="nan.root")
    with pytest.raises(NonFiniteInputError, match=r"branch 'Jet_pt' holds 3 NaN/inf value\(s\) in 3 event"):
        hio.read(path, jets_schema())


def test_nonfinite_drop_option_counts_dropped_events(make_jets_file):
    clean = hio.read(make_jets_file(seed=3), jets_schema())
    bad = [int(i) for i in np.flatnonzero(clean["jets"].counts > 0)[:3]]
    events = hio.read(make_jets_file(nan_events=tuple(bad), seed=3, name="nan.root"), jets_schema(), nonfinite="drop")
    assert events.n_events == clean.n_events - 3
    assert events.info.events_dropped == 3 and events.info.dropped_nonfinite == {"Jet_pt": 3}
    assert not set(bad) & set(events.event_id["entry"].tolist())
    keep = np.setdiff1d(np.arange(clean.n_events), bad)
    np.testing.assert_array_equal(events["jets"].values, clean["jets"].values[keep])
    assert "dropped 3 events" in events.info.summary()


def test_corrupted_file_is_reported_with_its_name(nanoaod_path, tmp_path):
    data = nanoaod_path.read_bytes()
    truncated = tmp_path / "truncated.root"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="truncated.root"):
        hio.read(truncated, "nanoaod")
    not_root = tmp_path / "text.root"
    not_root.write_text("this is not a ROOT file")
    with pytest.raises(CorruptFileError, match="text.root"):
        hio.read(not_root, "nanoaod")


def test_empty_tree_gives_zero_events_with_schema_shapes(tmp_path):
    import uproot

    path = tmp_path / "empty.root"
    with uproot.recreate(path) as f:
        f.mktree("events", {"MET_px": np.float32, "MET_py": np.float32})
    schema = get_schema("hep-tutorial")
    schema = Schema("met-only", {"met": schema.collections["met"]}, tree="events")
    events = hio.read(path, schema)
    assert events.n_events == 0 and events["met"].values.shape == (0, 1, 4)


def test_schema_errors_are_clear():
    with pytest.raises(SchemaError, match="unknown schema 'nano'.*nanoaod"):
        hio.read("x.root", "nano")
    with pytest.raises(SchemaError, match="cannot be derived"):
        Collection(Prefix("MET", counter=None), ("energy",), max_length=1, kinematics="pt_phi").stored_fields()
    with pytest.raises(SchemaError, match="max_length"):
        Collection(Prefix("Jet"), ("pt",), max_length=0)
    with pytest.raises(SchemaError, match="no collection 'taus'"):
        get_schema("nanoaod").with_collection("taus", cut="pt > 20")


def test_zero_pt_objects_with_log_features_are_refused(make_jets_file, tmp_path):
    import awkward as ak

    from tests.conftest import write_nanoaod_style

    jets = ak.Array(
        [
            [{"pt": 30.0, "eta": 0.0, "phi": 0.0, "mass": 0.0, "btag": 1}],
            [{"pt": 0.0, "eta": 0.0, "phi": 0.0, "mass": 0.0, "btag": 0}],
        ]
    )
    path = write_nanoaod_style(tmp_path / "zero.root", {"Jet": jets}, {"event": np.arange(2)})
    schema = Schema("t", {"jets": Collection(Prefix("Jet"), ("log_pt",), max_length=2)}, tree="Events")
    with pytest.raises(NonFiniteInputError, match="log_pt"):
        hio.read(path, schema)
    ok = hio.read(path, schema.with_collection("jets", cut="pt > 0"))
    assert ok["jets"].counts.tolist() == [1, 0]
