"""Pythia samples: physics sanity, determinism, shards, pileup overlay and bad input (small samples, CPU)."""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import pytest
import uproot
import vector

import hepgen.io as hio
from hepgen.cli import main
from hepgen.errors import HepgenInputError
from hepgen.physics.kinematics import pt_eta_phi_mass, summed_p4
from hepgen.shards import Shard, parse_shard
from hepgen.sim import (
    DetectorResponse,
    JetSampleConfig,
    PileupOptions,
    ProductionRequest,
    overlay_pileup,
    produce,
    read_hard_jets,
    read_pileup_pool,
)

pytestmark = pytest.mark.slow


def arrays(path, tree):
    return uproot.open(path)[tree].arrays(library="ak")


def p4(pt, eta, phi, mass):
    return vector.array(
        {"pt": np.asarray(pt), "eta": np.asarray(eta), "phi": np.asarray(phi), "mass": np.asarray(mass)}
    )


def test_ttbar_w_and_top_mass_peaks(ttbar_file):
    path, summary = ttbar_file
    events = hio.read(path, "hepgen-ttbar")
    assert events.n_events == 80
    lep = events["leptons"]
    nu = events.truth["neutrino"]
    lepton = p4(lep["pt"][:, 0], lep["eta"][:, 0], lep["phi"][:, 0], lep["mass"][:, 0])
    neutrino = p4(nu["pt"][:, 0], nu["eta"][:, 0], nu["phi"][:, 0], np.zeros(80))
    m_w = (lepton + neutrino).mass
    assert abs(np.median(m_w) - 80.4) < 1.5, np.median(m_w)
    assert np.mean(np.abs(m_w - 80.4) < 10) > 0.7
    b = events.truth["partons"]  # order: b_lep, b_had, q, q'
    b_lep = p4(b["pt"][:, 0], b["eta"][:, 0], b["phi"][:, 0], b["mass"][:, 0])
    m_top = (lepton + neutrino + b_lep).mass
    assert abs(np.median(m_top) - 172.5) < 6, np.median(m_top)
    assert set(np.abs(b["pdgId"][:, 0]).astype(int)) <= {1, 3, 5}


def test_ttbar_selection_met_and_matching(ttbar_file):
    path, summary = ttbar_file
    raw = arrays(path, "Events")
    assert np.all(raw.nJet >= 4) and np.all(ak.sum(raw.Jet_btag, axis=1) >= 2)
    assert np.all(raw.nLepton == 1) and set(np.abs(ak.to_numpy(raw.Lepton_pdgId[:, 0]))) <= {11, 13}
    assert np.all(raw.Jet_pt > 25) and np.all(np.abs(raw.Jet_eta) < 2.5)
    assert 0.05 < summary.efficiency < 0.35  # about 15 % with forced W decays
    corr = np.corrcoef(ak.to_numpy(raw.MET_pt), ak.to_numpy(raw.GenNu_pt))[0, 1]
    assert corr > 0.6, corr
    # both lepton charges (the two Pythia instances alternate)
    charges = ak.to_numpy(raw.Lepton_charge[:, 0])
    assert (charges > 0).sum() > 20 and (charges < 0).sum() > 20
    # matched partons point at jets close to them; most partons find a jet
    idx = raw.GenParton_jetIdx
    assert ak.mean(idx >= 0) > 0.6
    matched = ak.flatten(idx[idx >= 0])
    assert ak.all(matched < ak.flatten(ak.broadcast_arrays(raw.nJet, idx)[0][idx >= 0]))
    meta = json.loads(str(uproot.open(path)["metadata"]))
    assert (
        meta["sample"] == "ttbar-ljets"
        and meta["seed"] == 7
        and meta["detector"]["jets"]["energy"]["stochastic"] == 0.8
    )


def test_ideal_detector_met_is_the_neutrino(tmp_path):
    path = tmp_path / "ideal.root"
    produce(
        ProductionRequest("ttbar-ljets", 15, seed=2, out=str(path), detector=DetectorResponse.ideal(), progress=False)
    )
    raw = arrays(path, "Events")
    np.testing.assert_allclose(ak.to_numpy(raw.MET_pt), ak.to_numpy(raw.GenNu_pt), rtol=1e-5)
    assert np.all(ak.to_numpy(ak.flatten(raw.Jet_btag)) == (ak.to_numpy(ak.flatten(raw.Jet_hadronFlavour)) == 5))


def test_top_jets_and_pileup(top_jets, minbias_file):
    jets = arrays(top_jets, "Jets")
    assert len(jets) == 60 and np.all(jets.Jet_pt > 400) and np.all(jets.Jet_label == 6)
    mass = ak.to_numpy(jets.Jet_mass)
    assert 150 < np.median(mass) < 195, np.median(mass)
    assert 40 < np.mean(jets.nConstituent) < 110
    pool = read_pileup_pool(minbias_file)
    assert len(pool) == 150 and set(pool.fields) == {"pt", "eta", "phi", "mass", "charge"}
    hard = read_hard_jets(top_jets)  # through the hepgen-jets schema: the stored constituents, in stored order
    assert ak.all(hard.constituents.pt == jets.Constituent_pt) and np.all(ak.to_numpy(hard.mass) == mass)
    none = overlay_pileup(hard, pool, mu=0, seed=1)
    np.testing.assert_allclose(none.jet_mass, mass, rtol=1e-3, atol=0.05)
    low, high = overlay_pileup(hard, pool, mu=20, seed=1), overlay_pileup(hard, pool, mu=60, seed=1)
    fractions = [ak.mean(o.constituents.is_pileup) for o in (none, low, high)]
    assert fractions[0] == 0 < fractions[1] < fractions[2]
    assert np.median(high.jet_mass) > np.median(mass) + 30
    # hard constituents are kept unchanged, first and in order
    hard_part = high.constituents[~high.constituents.is_pileup]
    assert ak.all(hard_part.pt == ak.values_astype(jets.Constituent_pt, np.float32))
    # every pileup particle lies inside the cone
    pu = high.constituents[high.constituents.is_pileup]
    dphi = (pu.phi - jets.Jet_phi + np.pi) % (2 * np.pi) - np.pi
    assert ak.all((pu.eta - jets.Jet_eta) ** 2 + dphi**2 < 1.0 + 1e-6)
    # deterministic for a seed, different for another
    again = overlay_pileup(hard, pool, mu=60, seed=1)
    assert ak.all(again.constituents.pt == high.constituents.pt)
    other = overlay_pileup(hard, pool, mu=60, seed=2)
    assert not np.array_equal(other.n_interactions, high.n_interactions)
    gaussian = overlay_pileup(hard, pool, mu=60, sigma=10, distribution="gaussian", seed=1)
    assert np.all(gaussian.n_interactions >= 0) and abs(np.mean(gaussian.n_interactions) - 60) < 6


def test_generate_jets_with_pileup_reads_back(tmp_path, minbias_file):
    path = tmp_path / "pu.root"
    produce(
        ProductionRequest(
            "jets", 10, seed=4, out=str(path), pileup=PileupOptions((str(minbias_file),), mu=60), progress=False
        )
    )
    events = hio.read(path, "hepgen-jets")
    observed, hard = events["constituents"], events.truth["hard_constituents"]
    assert np.all(observed.counts > hard.counts)
    assert np.all(events["jet"]["mass"][:, 0] > events.truth["hard_jet"]["mass"][:, 0])
    raw = arrays(path, "Jets")
    assert np.all(ak.to_numpy(raw.nPileupInteractions) > 20)


@pytest.mark.parametrize("mu", [0.0, 60.0])
def test_generate_jets_with_pileup_behind_the_detector(tmp_path, minbias_file, mu):
    path = tmp_path / "detected.root"
    options = PileupOptions((str(minbias_file),), mu=mu, detector="cms", recluster=True)
    produce(ProductionRequest("jets", 10, seed=4, out=str(path), pileup=options, progress=False))
    events = hio.read(path, "hepgen-detected-jets")
    observed, detector_truth = events["constituents"], events.truth["detector_constituents"]
    raw = arrays(path, "Jets")
    if mu == 0:  # without pileup the observed jet is the hard scatter through the detector (target a)
        np.testing.assert_array_equal(observed.counts, detector_truth.counts)
        np.testing.assert_allclose(ak.to_numpy(raw.Jet_mass), ak.to_numpy(raw.DetectorJet_mass), rtol=1e-6)
        assert np.all(ak.to_numpy(raw.nVertices) == 1) and np.all(ak.to_numpy(raw.nPileupInteractions) == 0)
        return
    assert np.all(observed.counts > detector_truth.counts) and np.all(ak.to_numpy(raw.nVertices) > 20)
    assert np.all(ak.to_numpy(raw.Jet_mass) > ak.to_numpy(raw.DetectorJet_mass)) and np.all(ak.to_numpy(raw.rho) > 5)
    # tracks and towers: towers are neutral and massless, and only tracks can come from the hard vertex
    is_track = ak.to_numpy(ak.flatten(raw.Constituent_isTrack))
    assert 0 < is_track.mean() < 1 and not np.any(ak.to_numpy(ak.flatten(raw.Constituent_fromHardVertex))[~is_track])
    assert np.all(ak.to_numpy(ak.flatten(raw.Constituent_charge))[~is_track] == 0)
    weights = ak.to_numpy(ak.flatten(raw.Constituent_puppiWeight))
    assert np.all((weights >= 0) & (weights <= 1)) and 0 < weights.mean() < 1
    # the particle-level truth is the generated jet, unchanged: its constituents sum to it
    hard = events.truth["hard_constituents"].to_awkward()
    _, _, _, particle_mass = pt_eta_phi_mass(summed_p4(hard))
    np.testing.assert_allclose(particle_mass, ak.to_numpy(raw.HardJet_mass), rtol=1e-3)
    metadata = json.loads(str(uproot.open(path)["metadata"]))
    assert metadata["pileup"]["detector"] == "cms" and metadata["pileup"]["recluster"] is True


def test_same_seed_same_events_and_shards_partition_the_run(tmp_path):
    def run(name, **kw):
        path = tmp_path / name
        produce(ProductionRequest("jets", 12, seed=9, out=str(path), block_size=4, progress=False, **kw))
        return arrays(path, "Jets")

    full = run("full.root")
    again = run("again.root", jobs=2)  # worker processes do not change the events
    assert ak.all(full.Jet_pt == again.Jet_pt) and ak.all(
        ak.flatten(full.Constituent_pt) == ak.flatten(again.Constituent_pt)
    )
    shards = [run(f"shard{i}.root", shard=Shard(i, 2)) for i in range(2)]
    assert not np.intersect1d(ak.to_numpy(shards[0].event), ak.to_numpy(shards[1].event)).size

    def rows(a):  # one event can give two jets: compare (event, jet pT, constituents) rows
        return sorted(
            zip(ak.to_numpy(a.event).tolist(), ak.to_numpy(a.Jet_pt).tolist(), ak.to_numpy(a.nConstituent).tolist())
        )

    assert rows(shards[0]) and rows(shards[1]) and sorted(rows(shards[0]) + rows(shards[1])) == rows(full)
    other_seed = tmp_path / "other.root"
    produce(ProductionRequest("jets", 12, seed=10, out=str(other_seed), block_size=4, progress=False))
    assert not np.array_equal(ak.to_numpy(arrays(other_seed, "Jets").Jet_pt), ak.to_numpy(full.Jet_pt))


def test_rerun_is_a_noop_unless_overwrite(tmp_path):
    path = tmp_path / "w.root"
    request = ProductionRequest("jets", 3, seed=1, out=str(path), jets=JetSampleConfig("w"), progress=False)
    first = produce(request)
    stamp = path.stat().st_mtime_ns
    assert produce(request).skipped and path.stat().st_mtime_ns == stamp
    assert not first.skipped
    jets = arrays(path, "Jets")
    assert np.all(jets.Jet_label == 24) and 60 < np.median(ak.to_numpy(jets.Jet_mass)) < 110


@pytest.mark.parametrize(
    "argv, message",
    [
        (["generate", "higgs", "--events", "5", "--out", "x.root"], None),  # argparse choice error
        (["generate", "jets", "--events", "0", "--out", "x.root"], "must be positive"),
        (["generate", "jets", "--events", "5", "--out", "x.root", "--shard", "3/2"], "invalid shard 3/2"),
        (["generate", "jets", "--events", "5", "--out", "/proc/forbidden/x.root"], "output folder"),
        (["generate", "minbias", "--events", "5", "--out", "x.root", "--mu", "60"], "need --pileup"),
        (["generate", "jets", "--events", "5", "--out", "x.root", "--detector", "cms"], "need --pileup"),
        (["generate", "jets", "--events", "5", "--out", "x.root", "--recluster"], "need --pileup"),
        (["generate", "jets", "--events", "5", "--out", "x.root", "--detector", "degraded"], "detectors are cms, none"),
        (["generate", "ttbar-ljets", "--events", "5", "--out", "x.root", "--detector", "cms"], "detectors are default"),
        (
            ["generate", "jets", "--events", "5", "--out", "x.root", "--shard", "3/4", "--block-size", "5"],
            "has no blocks",
        ),
        (
            ["generate", "ttbar-ljets", "--events", "5", "--out", "x.root", "--pythia-set", "Tune:pp = banana"],
            "does not",
        ),
        (["generate", "jets", "--events", "5", "--out", "x.root", "--pythia-set", "Tune:pp = 21"], "applies to the tt̄"),
    ],
)
def test_bad_generate_input(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if message is None:
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        assert "invalid choice: 'higgs'" in capsys.readouterr().err
        return
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.root").exists()


def test_shard_parsing():
    assert parse_shard("2/5") == Shard(2, 5) and parse_shard(None) == Shard(0, 1)
    for bad in ("5/5", "-1/3", "a/b", "3"):
        with pytest.raises(HepgenInputError):
            parse_shard(bad)
    assert Shard(1, 3).take(list(range(7))) == [1, 4]


def test_another_tune_is_another_generator_and_is_recorded(tmp_path):
    """--pythia-set reaches every Pythia instance: the same seed gives other events under the ATLAS A14 tune
    (Tune:pp = 21), and the file's metadata holds the line."""
    import json

    import uproot

    files = {}
    for name, extra in (("default", ()), ("a14", ("Tune:pp = 21",))):
        files[name] = tmp_path / f"{name}.root"
        request = ProductionRequest(
            "ttbar-ljets", 8, seed=4, out=str(files[name]), pythia_settings=extra, progress=False
        )
        produce(request)
    default, a14 = (arrays(files[k], "Events") for k in ("default", "a14"))
    assert not np.array_equal(ak.to_numpy(ak.num(default.Jet_pt)), ak.to_numpy(ak.num(a14.Jet_pt))) or not np.allclose(
        ak.to_numpy(default.MET_pt), ak.to_numpy(a14.MET_pt)
    )
    metadata = json.loads(str(uproot.open(files["a14"])["metadata"]))
    assert metadata["pythia_settings"].count("Tune:pp = 21") == 2  # both W-charge instances
