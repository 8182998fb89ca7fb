"""hepgen's own file layouts (NanoAOD-style names) read through the built-in schemas."""

import awkward as ak
import numpy as np
import pytest

import hepgen.io as hio
from hepgen.io import available_schemas, get_schema
from tests.conftest import write_nanoaod_style


def test_every_builtin_schema_is_listed_and_consistent():
    names = set(available_schemas())
    assert {"nanoaod", "hep-tutorial", "zmumu", "hepgen-ttbar", "hepgen-jets", "hepgen-minbias"} <= names
    for name in names:
        schema = get_schema(name)
        for collection in schema.all_collections().values():
            assert collection.stored_fields()  # every feature resolves to stored fields


def test_hepgen_ttbar_layout(tmp_path):
    rng = np.random.default_rng(7)
    n = 20
    njet = rng.integers(4, 13, n)
    m = int(njet.sum())
    jets = ak.unflatten(
        ak.zip(
            {
                "pt": rng.uniform(25, 300, m).astype(np.float32),
                "eta": rng.normal(0, 1, m).astype(np.float32),
                "phi": rng.uniform(-3, 3, m).astype(np.float32),
                "mass": rng.uniform(2, 20, m).astype(np.float32),
                "btag": rng.integers(0, 2, m).astype(np.int32),
            }
        ),
        njet,
    )
    lep = ak.unflatten(
        ak.zip(
            {
                "pt": np.full(n, 40.0, np.float32),
                "eta": np.zeros(n, np.float32),
                "phi": np.zeros(n, np.float32),
                "mass": np.zeros(n, np.float32),
                "charge": np.ones(n, np.int32),
                "pdgId": np.full(n, -13, np.int32),
            }
        ),
        np.ones(n, np.int64),
    )
    partons = ak.unflatten(
        ak.zip(
            {
                "pt": rng.uniform(20, 200, 4 * n).astype(np.float32),
                "eta": np.zeros(4 * n, np.float32),
                "phi": np.zeros(4 * n, np.float32),
                "mass": np.full(4 * n, 4.7, np.float32),
                "pdgId": np.tile([5, -5, 2, -1], n).astype(np.int32),
                "jetIdx": np.tile([0, 1, -1, 2], n).astype(np.int32),
            }
        ),
        np.full(n, 4),
    )
    nu_pt, nu_eta, nu_phi = rng.uniform(10, 100, n), rng.normal(0, 1, n), rng.uniform(-3, 3, n)
    scalars = {
        "MET_pt": rng.uniform(10, 100, n).astype(np.float32),
        "MET_phi": rng.uniform(-3, 3, n).astype(np.float32),
        "GenNu_pt": nu_pt.astype(np.float32),
        "GenNu_eta": nu_eta.astype(np.float32),
        "GenNu_phi": nu_phi.astype(np.float32),
        "GenLepton_pt": np.full(n, 41.0, np.float32),
        "GenLepton_eta": np.zeros(n, np.float32),
        "GenLepton_phi": np.zeros(n, np.float32),
        "GenLepton_mass": np.zeros(n, np.float32),
        "GenLepton_pdgId": np.full(n, -13, np.int32),
        "run": np.ones(n, np.uint32),
        "luminosityBlock": np.ones(n, np.uint32),
        "event": np.arange(n, dtype=np.uint64),
    }
    path = write_nanoaod_style(tmp_path / "ttbar.root", {"Jet": jets, "Lepton": lep, "GenParton": partons}, scalars)
    events = hio.read(path, "hepgen-ttbar")
    assert events["jets"].values.shape == (n, 10, 5)
    np.testing.assert_array_equal(events["jets"].counts, np.minimum(njet, 10))
    assert events.info.truncation["jets"].objects == int(np.maximum(njet - 10, 0).sum())
    nu = events.truth["neutrino"]
    np.testing.assert_allclose(nu["pz"][:, 0], nu_pt * np.sinh(nu_eta), rtol=1e-4)
    # partons keep their stored order (b_lep, b_had, q, q') and matched-jet indices
    np.testing.assert_array_equal(events.truth["partons"]["pdgId"][0], [5, -5, 2, -1])
    np.testing.assert_array_equal(events.truth["partons"]["jetIdx"][0], [0, 1, -1, 2])
    assert events["leptons"]["pdgId"][0, 0] == -13


@pytest.mark.parametrize(
    "schema_name, tree, collection", [("hepgen-jets", "Jets", "Constituent"), ("hepgen-minbias", "Events", "Particle")]
)
def test_jets_and_minbias_layouts(tmp_path, schema_name, tree, collection):
    rng = np.random.default_rng(1)
    n = 8
    counts = rng.integers(1, 40, n)
    m = int(counts.sum())
    parts = ak.unflatten(
        ak.zip(
            {
                "pt": rng.exponential(5, m).astype(np.float32) + 0.5,
                "eta": rng.normal(0, 0.4, m).astype(np.float32),
                "phi": rng.normal(0, 0.4, m).astype(np.float32),
                "mass": np.full(m, 0.14, np.float32),
                "charge": rng.integers(-1, 2, m).astype(np.int32),
                "isPileup": rng.uniform(size=m) < 0.3,
            }
        ),
        counts,
    )
    scalars = {"event": np.arange(n, dtype=np.int64)}
    if schema_name == "hepgen-jets":
        scalars |= {
            f"{j}_{k}": rng.uniform(400, 600, n).astype(np.float32)
            for k in ("pt", "eta", "phi", "mass")
            for j in ("Jet", "HardJet")
        }
    path = write_nanoaod_style(tmp_path / "x.root", {collection: parts}, scalars, tree=tree)
    events = hio.read(path, schema_name)
    cloud = next(iter(events.values())) if schema_name == "hepgen-minbias" else events["constituents"]
    np.testing.assert_array_equal(cloud.counts, counts)
    # constituents and pool particles keep their stored order: the same inputs bit for bit
    np.testing.assert_array_equal(cloud["pt"][cloud.mask], ak.to_numpy(ak.flatten(parts.pt)))
    np.testing.assert_array_equal(
        ak.to_numpy(ak.flatten(cloud.to_awkward().charge)), ak.to_numpy(ak.flatten(parts.charge))
    )
    if schema_name == "hepgen-jets":
        hard = events.truth["hard_constituents"]
        np.testing.assert_array_equal(hard.counts, ak.to_numpy(ak.sum(~parts.isPileup, axis=1)))
        np.testing.assert_array_equal(hard["pt"][hard.mask], ak.to_numpy(ak.flatten(parts.pt[~parts.isPileup])))


def test_rntuple_files_read_like_ttrees(tmp_path):
    """uproot >= 5.4 writes RNTuple when a dict is assigned; the readers accept it too."""
    import uproot

    path = tmp_path / "rntuple.root"
    with uproot.recreate(path) as f:
        f["Events"] = {
            "Jet_pt": ak.Array([[30.0, 50.0], [], [20.0]]),
            "MET_pt": np.array([1.0, 2.0, 3.0], np.float32),
            "MET_phi": np.zeros(3, np.float32),
        }
    assert uproot.open(path).classnames()["Events;1"] == "ROOT::RNTuple"
    schema = hio.Schema(
        "t",
        {
            "jets": hio.Collection(hio.Prefix("Jet"), ("pt",), max_length=3, kinematics="none"),
            "met": hio.Collection(
                hio.Prefix("MET", counter=None), ("pt", "px"), max_length=1, kinematics="pt_phi", sort_by=None
            ),
        },
        tree="Events",
    )
    events = hio.read(path, schema)
    np.testing.assert_array_equal(events["jets"]["pt"], [[50, 30, 0], [0, 0, 0], [20, 0, 0]])
    np.testing.assert_array_equal(events["jets"].counts, [2, 0, 1])
    np.testing.assert_allclose(events["met"]["px"][:, 0], [1, 2, 3])
