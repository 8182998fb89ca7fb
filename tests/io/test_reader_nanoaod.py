"""The NanoAOD reader against an independent awkward computation on the real CMS Open Data file."""

import awkward as ak
import numpy as np
import pytest

import hepgen.io as hio
from hepgen.io import get_schema

CUT = "pt > 25 and abs(eta) < 2.4"


def expected_padded(raw, field, keep, order, n):
    values = raw[field][keep][order]
    return ak.to_numpy(ak.fill_none(ak.pad_none(values, n, clip=True), 0.0))


def test_jets_sorted_cut_masked(nanoaod_path, nanoaod_raw):
    schema = get_schema("nanoaod").with_collection("jets", cut=CUT, max_length=4)
    events = hio.read(nanoaod_path, schema)
    jets = events["jets"]
    raw = nanoaod_raw
    keep = (raw.Jet_pt > 25) & (abs(raw.Jet_eta) < 2.4)
    order = ak.argsort(raw.Jet_pt[keep], ascending=False, stable=True)
    n_kept = ak.to_numpy(ak.num(raw.Jet_pt[keep]))
    np.testing.assert_array_equal(jets.counts, np.minimum(n_kept, 4))
    np.testing.assert_array_equal(jets.mask, np.arange(4)[None] < np.minimum(n_kept, 4)[:, None])
    for feature, field in [
        ("pt", "Jet_pt"),
        ("eta", "Jet_eta"),
        ("phi", "Jet_phi"),
        ("mass", "Jet_mass"),
        ("btag", "Jet_btagDeepFlavB"),
    ]:
        np.testing.assert_array_equal(jets[feature], expected_padded(raw, field, keep, order, 4), err_msg=feature)
    pt = jets["pt"]
    assert np.all(np.diff(pt, axis=1)[jets.mask[:, 1:]] <= 0), "descending pt"
    assert np.all(pt[jets.mask] > 25) and np.all(np.abs(jets["eta"][jets.mask]) < 2.4)
    assert not jets.values[~jets.mask].any(), "padding is zero"
    truncated = np.maximum(n_kept - 4, 0)
    assert events.info.truncation["jets"].objects == truncated.sum()
    assert events.info.truncation["jets"].events == (truncated > 0).sum()


def test_default_jets_count_matches_nJet_and_truncation_is_reported(nanoaod_path, nanoaod_raw, caplog):
    with caplog.at_level("WARNING", logger="hepgen.io"):
        events = hio.read(nanoaod_path, "nanoaod")
    n_jet = ak.to_numpy(nanoaod_raw.nJet).astype(np.int64)
    np.testing.assert_array_equal(events["jets"].counts, np.minimum(n_jet, 10))
    t = events.info.truncation["jets"]
    assert (t.events, t.objects) == (int((n_jet > 10).sum()), int(np.maximum(n_jet - 10, 0).sum()))
    assert t.objects > 0  # this file has an 11-jet event
    lines = [r for r in caplog.records if "truncated" in r.getMessage()]
    assert len(lines) == 1 and "jets: 1 objects in 1 events" in lines[0].getMessage()


def test_w_decay_neutrinos_found(nanoaod_path, nanoaod_raw):
    nus = hio.read(nanoaod_path, "nanoaod").truth["neutrinos"]
    raw = nanoaod_raw
    mother = raw.GenPart_genPartIdxMother
    mother_pdg = ak.where(mother >= 0, raw.GenPart_pdgId[ak.where(mother >= 0, mother, 0)], 0)
    is_w_nu = ((abs(raw.GenPart_pdgId) == 12) | (abs(raw.GenPart_pdgId) == 14) | (abs(raw.GenPart_pdgId) == 16)) & (
        abs(mother_pdg) == 24
    )
    np.testing.assert_array_equal(nus.counts, ak.to_numpy(ak.sum(is_w_nu, axis=1)))
    assert int((nus.counts >= 1).sum()) == 198  # semileptonic tt̄: all but two events
    pdg = np.abs(nus["pdgId"][nus.mask])
    assert set(pdg.astype(int)) <= {12, 14, 16}
    expected_pt = ak.to_numpy(ak.fill_none(ak.firsts(raw.GenPart_pt[is_w_nu]), 0.0))
    np.testing.assert_allclose(nus["pt"][:, 0], expected_pt)
    # px, py, pz derived through vector agree with the textbook formulas
    real = nus.mask
    pt, eta, phi = nus["pt"][real], nus["eta"][real], nus["phi"][real]
    np.testing.assert_allclose(nus["px"][real], pt * np.cos(phi), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(nus["pz"][real], pt * np.sinh(eta), rtol=1e-5, atol=1e-3)


def test_met_cloud(nanoaod_path, nanoaod_raw):
    met = hio.read(nanoaod_path, "nanoaod")["met"]
    assert met.values.shape == (200, 1, 4) and met.mask.all()
    np.testing.assert_array_equal(met["pt"][:, 0], ak.to_numpy(nanoaod_raw.MET_pt))
    np.testing.assert_array_equal(met["phi"][:, 0], ak.to_numpy(nanoaod_raw.MET_phi))
    np.testing.assert_allclose(met["px"][:, 0], met["pt"][:, 0] * np.cos(met["phi"][:, 0]), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(met["py"][:, 0], met["pt"][:, 0] * np.sin(met["phi"][:, 0]), rtol=1e-5, atol=1e-4)


def test_event_ids_and_entry_ranges(nanoaod_path, nanoaod_raw):
    events = hio.read(nanoaod_path, "nanoaod", entry_start=20, entry_stop=50)
    assert events.n_events == 30
    np.testing.assert_array_equal(events.event_id["entry"], np.arange(20, 50))
    np.testing.assert_array_equal(events.event_id["event"], ak.to_numpy(nanoaod_raw.event[20:50]))
    np.testing.assert_array_equal(events.event_id["run"], ak.to_numpy(nanoaod_raw.run[20:50]))
    tail = hio.read(nanoaod_path, "nanoaod", entry_start=-10)
    np.testing.assert_array_equal(tail.event_id["entry"], np.arange(190, 200))
    assert hio.read(nanoaod_path, "nanoaod", entry_start=200).n_events == 0


def test_iterate_chunks_equal_one_read_and_chain_files(nanoaod_path):
    whole = hio.read([nanoaod_path, nanoaod_path], "nanoaod")
    assert whole.n_events == 400
    np.testing.assert_array_equal(whole.event_id["entry"], np.arange(400))
    chunks = list(hio.iterate([nanoaod_path, nanoaod_path], "nanoaod", step_size=37))
    assert all(c.n_events <= 37 for c in chunks)
    assert len(chunks) == 2 * int(np.ceil(200 / 37))  # chunks never straddle files
    rebuilt = hio.concatenate_events(chunks)
    for name in whole:
        np.testing.assert_array_equal(rebuilt[name].values, whole[name].values)
        np.testing.assert_array_equal(rebuilt[name].mask, whole[name].mask)
    np.testing.assert_array_equal(rebuilt.truth["neutrinos"].values, whole.truth["neutrinos"].values)
    np.testing.assert_array_equal(rebuilt.event_id["entry"], whole.event_id["entry"])
    assert rebuilt.info.truncation["jets"].objects == 2
    # a global entry range across the two files
    middle = hio.read([nanoaod_path, nanoaod_path], "nanoaod", entry_start=150, entry_stop=260, step_size="1 MB")
    np.testing.assert_array_equal(middle.event_id["entry"], np.arange(150, 260))
    np.testing.assert_array_equal(middle["jets"].values[50:], whole["jets"].values[200:260])


def test_glob_pattern(nanoaod_path, tmp_path):
    for i in range(2):
        (tmp_path / f"part{i}.root").write_bytes(nanoaod_path.read_bytes())
    events = hio.read(str(tmp_path / "part*.root"), "nanoaod")
    assert events.n_events == 400
    assert [p.split("/")[-1] for p in events.info.files] == ["part0.root", "part1.root"]


def test_events_mapping_keeps_truth_apart(nanoaod_path):
    events = hio.read(nanoaod_path, "nanoaod")
    assert set(events) == {"jets", "electrons", "muons", "met"}
    with pytest.raises(KeyError, match="truth collection"):
        events["neutrinos"]
    sub = events.select(np.arange(5))
    assert sub.n_events == 5 and sub.truth["neutrinos"].n_events == 5


def test_files_are_closed_after_reading(nanoaod_path, tmp_path):
    import os

    paths = []
    for i in range(4):
        p = tmp_path / f"f{i}.root"
        p.write_bytes(nanoaod_path.read_bytes())
        paths.append(p)
    before = len(os.listdir("/proc/self/fd"))
    assert hio.read(paths, "nanoaod", entry_start=-250).n_events == 250
    for _ in hio.iterate(paths, "nanoaod"):
        pass
    assert len(os.listdir("/proc/self/fd")) <= before + 1


def test_placeholder_features_are_warned_about_and_constants_are_not(nanoaod_path, caplog, capsys):
    """The CMS file stores no b-tag (−3000 in every jet): `read` warns and `inspect` says so; a constant physical
    value (the muons' mass, 0.106 GeV) is not a placeholder."""
    from hepgen.cli import main
    from hepgen.io.summary import placeholder_features

    with caplog.at_level("WARNING", logger="hepgen.io"):
        events = hio.read(nanoaod_path, "nanoaod")
    assert placeholder_features(events) == {"jets.btag": -3000.0}
    assert "placeholder features" in caplog.text and "jets.btag = -3000" in caplog.text
    muons = events["muons"]
    assert np.allclose(muons["mass"][muons.mask], 0.10566, atol=1e-4)  # constant, and rightly not flagged
    assert main(["inspect", str(nanoaod_path), "--schema", "nanoaod"]) == 0
    assert "warning: placeholder features" in capsys.readouterr().out
