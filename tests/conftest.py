"""Shared fixtures: the real ROOT files in ../shared/data/external and small seeded files made on the fly."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

REPO = Path(__file__).resolve().parents[1]
EXTERNAL = REPO.parent / "shared" / "data" / "external"


def external(name: str) -> Path:
    """A real file written by others; fails loudly (never skips) when the shared folder is absent."""
    path = EXTERNAL / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the tests need ../shared/data/external beside the checkout")
    return path


@pytest.fixture(scope="session")
def nanoaod_path() -> Path:
    return external("nanoAOD_2015_CMS_Open_Data_ttbar.root")


@pytest.fixture(scope="session")
def hzz_path() -> Path:
    return external("uproot-HZZ.root")


@pytest.fixture(scope="session")
def zmumu_path() -> Path:
    return external("uproot-Zmumu.root")


@pytest.fixture(scope="session")
def nanoaod_raw(nanoaod_path):
    """The raw NanoAOD branches as awkward arrays, for independent cross-checks."""
    tree = uproot.open(nanoaod_path)["Events"]
    return tree.arrays(
        [
            "run",
            "luminosityBlock",
            "event",
            "nJet",
            "Jet_pt",
            "Jet_eta",
            "Jet_phi",
            "Jet_mass",
            "Jet_btagDeepFlavB",
            "MET_pt",
            "MET_phi",
            "GenPart_pdgId",
            "GenPart_genPartIdxMother",
            "GenPart_pt",
            "GenPart_eta",
            "GenPart_phi",
        ]
    )


def write_nanoaod_style(
    path: Path, collections: dict[str, ak.Array], scalars: dict[str, np.ndarray], tree: str = "Events"
) -> Path:
    """Write jagged record collections as ``nX``/``X_field`` branches and scalars as plain branches."""
    with uproot.recreate(path) as f:
        data = {**collections, **scalars}
        f.mktree(
            tree,
            {k: (v.type.content if isinstance(v, ak.Array) else v.dtype) for k, v in data.items()},
            field_name=lambda outer, inner: f"{outer}_{inner}",
            counter_name=lambda counted: "n" + counted,
        )
        f[tree].extend(data)
    return path


@pytest.fixture
def make_jets_file(tmp_path):
    """Factory for a small seeded NanoAOD-style file with unsorted jets (optionally with NaN)."""

    def make(n_events: int = 50, seed: int = 1, nan_events: tuple[int, ...] = (), name: str = "jets.root") -> Path:
        rng = np.random.default_rng(seed)
        counts = rng.integers(0, 9, n_events)
        n = int(counts.sum())
        pt = rng.exponential(40.0, n).astype(np.float32) + 5
        eta = rng.normal(0, 1.5, n).astype(np.float32)
        phi = rng.uniform(-np.pi, np.pi, n).astype(np.float32)
        mass = rng.uniform(1, 20, n).astype(np.float32)
        btag = rng.integers(0, 2, n).astype(np.int32)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        for e in nan_events:
            if counts[e] == 0:
                raise ValueError("choose events with jets for NaN injection")
            pt[starts[e]] = np.nan
        jets = ak.unflatten(ak.zip({"pt": pt, "eta": eta, "phi": phi, "mass": mass, "btag": btag}), counts)
        met_pt = rng.exponential(30, n_events).astype(np.float32)
        met_phi = rng.uniform(-np.pi, np.pi, n_events).astype(np.float32)
        return write_nanoaod_style(
            tmp_path / name,
            {"Jet": jets},
            {
                "MET_pt": met_pt,
                "MET_phi": met_phi,
                "run": np.ones(n_events, np.uint32),
                "luminosityBlock": np.ones(n_events, np.uint32),
                "event": np.arange(n_events, dtype=np.uint64) + 1000,
            },
        )

    return make


@pytest.fixture(scope="session")
def ttbar_file(tmp_path_factory):
    """80 selected tt̄ → ℓ+jets events made with Pythia (about 10 s), shared by the sim and neutrino tests."""
    from hepgen.sim import ProductionRequest, produce

    path = tmp_path_factory.mktemp("ttbar") / "ttbar.root"
    summary = produce(ProductionRequest("ttbar-ljets", 80, seed=7, out=str(path), block_size=40, progress=False))
    assert summary.events == 80
    return path, summary


@pytest.fixture(scope="session")
def top_jets(tmp_path_factory):
    path = tmp_path_factory.mktemp("jets") / "top.root"
    from hepgen.sim import ProductionRequest, produce

    produce(ProductionRequest("jets", 60, seed=3, out=str(path), block_size=30, progress=False))
    return path


@pytest.fixture(scope="session")
def minbias_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("minbias") / "minbias.root"
    from hepgen.sim import ProductionRequest, produce

    produce(ProductionRequest("minbias", 150, seed=5, out=str(path), progress=False))
    return path


@pytest.fixture(scope="session")
def dilepton_file(tmp_path_factory):
    """60 selected tt̄ → dilepton events made with Pythia (about 5 s)."""
    from hepgen.sim import ProductionRequest, produce

    path = tmp_path_factory.mktemp("dilepton") / "dilepton.root"
    produce(ProductionRequest("ttbar-dilepton", 60, seed=9, out=str(path), block_size=30, progress=False))
    return path
