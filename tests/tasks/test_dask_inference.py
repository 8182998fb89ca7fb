"""Lazy neutrino inference on dask-awkward collections: the same numbers as `hepgen predict neutrino` for the same
seed and events, nested (NanoEvents-like) and flat layouts alike, the model loaded once per process, bad input
refused before any work."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import dask_awkward as dak
import numpy as np
import pytest
import uproot

import hepgen.io as hio
from hepgen.cli import main
from hepgen.errors import HepgenInputError
from hepgen.tasks.neutrino import lazy as lazy_inference
from hepgen.tasks.neutrino import posterior_samples_dask

RUN = Path(__file__).resolve().parents[2] / "analyses" / "neutrino" / "model"


def _nested(flat: ak.Array) -> ak.Array:
    """The flat NanoAOD branches as coffea's NanoEvents lay them out: events.Jet.pt, events.MET.pt, ..."""

    def collection(prefix: str, depth: int | None = None) -> ak.Array:
        fields = {k[len(prefix) + 1 :]: flat[k] for k in flat.fields if k.startswith(prefix + "_")}
        return ak.zip(fields, depth_limit=depth)

    return ak.zip(
        {
            "Jet": collection("Jet"),
            "Electron": collection("Electron"),
            "Muon": collection("Muon"),
            "GenPart": collection("GenPart"),
            "MET": collection("MET", 1),
            "run": flat.run,
            "luminosityBlock": flat.luminosityBlock,
            "event": flat.event,
        },
        depth_limit=1,
    )


def test_lazy_posterior_equals_hepgen_predict(nanoaod_path, tmp_path):
    assert (
        main(
            [
                "predict",
                "neutrino",
                "--run",
                str(RUN),
                "--schema",
                "nanoaod",
                "--data",
                str(nanoaod_path),
                "--samples",
                "16",
                "--seed",
                "5",
                "--no-progress",
                "--out",
                str(tmp_path / "p.root"),
            ]
        )
        == 0
    )
    expected, ids, _ = hio.read_event_outputs(tmp_path / "p.root", tree="Neutrino")
    events = uproot.dask({str(nanoaod_path): "Events"}, step_size=1024)  # one partition = one prediction block
    lazy = posterior_samples_dask(events, str(RUN), samples=16, seed=5)
    assert isinstance(lazy, dak.Array)
    assert "Jet_pt" in next(iter(dak.necessary_columns(lazy).values()))  # only the schema's branches are read
    result = lazy.compute()
    kept = ~ak.to_numpy(ak.is_none(result))
    np.testing.assert_array_equal(np.flatnonzero(kept), ids["entry"])  # None exactly for the events predict skips
    for key in ("samples", "point", "mode"):
        np.testing.assert_allclose(ak.to_numpy(result[kept][key]), expected[key], rtol=1e-5, atol=1e-4)


def test_nested_collections_and_partitions(nanoaod_path):
    flat = uproot.open(nanoaod_path)["Events"].arrays()
    nested = dak.from_awkward(_nested(flat), npartitions=1)
    plain = dak.from_awkward(flat, npartitions=1)
    a = posterior_samples_dask(nested, str(RUN), samples=8, seed=2).compute()
    b = posterior_samples_dask(plain, str(RUN), samples=8, seed=2).compute()
    assert ak.to_list(ak.is_none(a)) == ak.to_list(ak.is_none(b))
    np.testing.assert_array_equal(ak.to_numpy(a.samples[~ak.is_none(a)]), ak.to_numpy(b.samples[~ak.is_none(b)]))
    lazy_inference._cached_model.cache_clear()
    split = posterior_samples_dask(dak.from_awkward(flat, npartitions=3), str(RUN), samples=8, seed=2)
    first, second = split.compute(scheduler="sync"), split.compute(scheduler="threads")
    assert len(first) == len(flat) and lazy_inference._cached_model.cache_info().misses == 1  # loaded once per process
    np.testing.assert_array_equal(
        ak.to_numpy(ak.fill_none(first.point[:, 2], np.nan)), ak.to_numpy(ak.fill_none(second.point[:, 2], np.nan))
    )


def test_bad_collections_are_refused_before_any_work(nanoaod_path, tmp_path):
    flat = ak.without_field(uproot.open(nanoaod_path)["Events"].arrays(), "MET_pt")
    with pytest.raises(HepgenInputError, match=r"needs branch\(es\) \['MET_pt'\].*closest existing"):
        posterior_samples_dask(dak.from_awkward(flat, npartitions=1), str(RUN))
    with pytest.raises(HepgenInputError, match="no trained model"):
        posterior_samples_dask(dak.from_awkward(flat, npartitions=1), str(tmp_path))
