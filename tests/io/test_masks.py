"""Padding never changes a result: masked reductions equal the unpadded awkward reductions."""

import awkward as ak
import numpy as np

import hepgen.io as hio
from hepgen.io import get_schema


def test_masked_reductions_equal_unpadded(nanoaod_path, nanoaod_raw):
    schema = get_schema("nanoaod").with_collection("jets", max_length=12)  # longer than any event: no truncation
    jets = hio.read(nanoaod_path, schema)["jets"]
    assert jets.counts.sum() == ak.sum(nanoaod_raw.nJet)
    pt = jets["pt"]
    np.testing.assert_allclose(
        np.where(jets.mask, pt, 0).sum(1), ak.to_numpy(ak.sum(nanoaod_raw.Jet_pt, axis=1)), rtol=1e-6
    )
    has = jets.counts > 0
    np.testing.assert_array_equal(
        np.where(jets.mask, pt, -np.inf).max(1)[has], ak.to_numpy(ak.max(nanoaod_raw.Jet_pt, axis=1))[has]
    )
    mean_eta = np.where(jets.mask, jets["eta"], 0).sum(1)[has] / jets.counts[has]
    np.testing.assert_allclose(mean_eta, ak.to_numpy(ak.mean(nanoaod_raw.Jet_eta, axis=1))[has], rtol=1e-5, atol=1e-6)


def test_more_padding_changes_nothing(nanoaod_path):
    short = hio.read(nanoaod_path, get_schema("nanoaod").with_collection("jets", max_length=12))["jets"]
    long = hio.read(nanoaod_path, get_schema("nanoaod").with_collection("jets", max_length=40))["jets"]
    np.testing.assert_array_equal(long.values[:, :12], short.values)
    np.testing.assert_array_equal(long.counts, short.counts)
    assert not long.values[:, 12:].any() and not long.mask[:, 12:].any()
    np.testing.assert_array_equal(short.padded_to(40).values, long.values)
    # to_awkward drops the padding: identical jagged content
    assert ak.all(ak.flatten(short.to_awkward().pt) == ak.flatten(long.to_awkward().pt))


def test_fast_segmented_sort_equals_lexsort():
    from hepgen.io.chunk import _descending_within_events

    rng = np.random.default_rng(5)
    event = np.sort(rng.integers(0, 50, 400))
    for key in (
        rng.normal(0, 10, 400).astype(np.float32),  # negative and positive floats
        np.round(rng.normal(0, 3, 400)).astype(np.float32),  # many ties (and -0.0)
        rng.integers(-5, 5, 400).astype(np.int32),
        rng.normal(0, 10, 400),  # float64: falls back to lexsort
    ):
        key = key.copy()
        key[:3] = -0.0 if key.dtype.kind == "f" else 0
        np.testing.assert_array_equal(_descending_within_events(event, key), np.lexsort((-(key + 0), event)))
