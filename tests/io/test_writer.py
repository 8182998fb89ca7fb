"""Per-event outputs written to ROOT aligned with the input events, atomically."""

import os

import awkward as ak
import numpy as np
import pytest

import hepgen.io as hio
from hepgen.errors import NonFiniteInputError
from hepgen.io import read_event_outputs, write_event_outputs


def test_round_trip_aligned_with_input_events(nanoaod_path, tmp_path):
    events = hio.read(nanoaod_path, "nanoaod", entry_start=10, entry_stop=60)
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(events.n_events, 16, 3)).astype(np.float32)
    point = samples.mean(1)
    weight = rng.uniform(size=events.n_events)
    jagged = ak.Array([list(range(i % 4)) for i in range(events.n_events)])
    out = write_event_outputs(
        tmp_path / "pred.root",
        {"samples": samples, "point": point, "weight": weight, "constituent_pt": ak.values_astype(jagged, np.float32)},
        event_id=events.event_id,
        metadata={"schema": "nanoaod", "files": list(events.info.files)},
    )
    outputs, event_id, metadata = read_event_outputs(out)
    np.testing.assert_array_equal(outputs["samples"], samples)
    assert outputs["samples"].shape == (50, 16, 3)
    np.testing.assert_array_equal(outputs["point"], point)
    np.testing.assert_array_equal(outputs["weight"], weight)
    assert ak.all(ak.num(outputs["constituent_pt"]) == ak.num(jagged))
    for key in ("entry", "run", "luminosityBlock", "event"):
        np.testing.assert_array_equal(event_id[key], events.event_id[key])
    np.testing.assert_array_equal(event_id["entry"], np.arange(10, 60))
    assert metadata["schema"] == "nanoaod"
    assert [p for p in os.listdir(tmp_path) if ".tmp-" in p] == []
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600


def test_misaligned_or_nonfinite_outputs_are_refused(tmp_path):
    ids = {"entry": np.arange(5)}
    with pytest.raises(ValueError, match="must align"):
        write_event_outputs(tmp_path / "a.root", {"x": np.zeros(4)}, event_id=ids)
    bad = np.zeros((5, 2))
    bad[3, 1] = np.nan
    with pytest.raises(NonFiniteInputError, match="1 NaN/inf"):
        write_event_outputs(tmp_path / "a.root", {"x": bad}, event_id=ids)
    assert not (tmp_path / "a.root").exists()
    with pytest.raises(ValueError, match="entry"):
        write_event_outputs(tmp_path / "a.root", {"x": np.zeros(5)}, event_id={"event": np.arange(5)})


def test_failed_write_keeps_previous_file_and_leaves_no_temporary(tmp_path):
    ids = {"entry": np.arange(3)}
    path = write_event_outputs(tmp_path / "out.root", {"x": np.arange(3.0)}, event_id=ids)
    before = path.read_bytes()
    with pytest.raises(TypeError):
        # object arrays cannot be written: the failure happens inside the atomic block
        write_event_outputs(path, {"x": np.array([{}, {}, {}], dtype=object)}, event_id=ids)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["out.root"]


def test_zero_events(tmp_path):
    path = write_event_outputs(
        tmp_path / "empty.root", {"x": np.zeros((0, 4), np.float32)}, event_id={"entry": np.zeros(0, np.int64)}
    )
    outputs, event_id, _ = read_event_outputs(path)
    assert len(event_id["entry"]) == 0 and len(outputs["x"]) == 0
