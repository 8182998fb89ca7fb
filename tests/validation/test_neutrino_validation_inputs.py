"""validate neutrino refuses prediction files that do not describe the same events, and files without truth."""

import numpy as np
import pytest

from hepgen.errors import HepgenInputError
from hepgen.io import write_event_outputs
from hepgen.validation.neutrino import load_predictions


def prediction(path, entries, *, method, truth=True):
    n = len(entries)
    rng = np.random.default_rng(0)
    outputs = {"point": rng.normal(size=(n, 3)).astype(np.float32), "lepton_p4": np.ones((n, 4), np.float32)}
    if truth:
        outputs["truth"] = rng.normal(size=(n, 3)).astype(np.float32)
    return write_event_outputs(
        path, outputs, event_id={"entry": np.asarray(entries)}, tree="Neutrino", metadata={"method": method}
    )


def test_mismatched_event_counts_are_refused(tmp_path):
    a = prediction(tmp_path / "a.root", np.arange(10), method="flow")
    b = prediction(tmp_path / "b.root", np.arange(8), method="analytic")
    with pytest.raises(HepgenInputError, match="holds 8 events and .* holds 10"):
        load_predictions([a, b])
    c = prediction(tmp_path / "c.root", np.arange(1, 11), method="analytic")  # same count, other events
    with pytest.raises(HepgenInputError, match="other events"):
        load_predictions([a, c])
    assert set(load_predictions([a, prediction(tmp_path / "d.root", np.arange(10), method="analytic")])) == {
        "flow",
        "analytic",
    }


def test_predictions_without_truth_are_refused(tmp_path):
    with pytest.raises(HepgenInputError, match="no truth in the prediction file"):
        load_predictions([prediction(tmp_path / "a.root", np.arange(5), method="flow", truth=False)])
