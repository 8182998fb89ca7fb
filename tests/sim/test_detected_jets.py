"""The pileup overlay through the constituent detector (hepgen.sim.detected_jets via overlay_pileup(detector=)):
tracks and towers replace particles, the detector-level truth is the hard scatter through the same detector."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from hepgen.errors import HepgenInputError
from hepgen.sim.detected_jets import DETECTED_FIELDS
from hepgen.sim.detector import CONSTITUENT_DETECTORS
from hepgen.sim.pileup import overlay_pileup, read_hard_jets, read_pileup_pool

CMS = CONSTITUENT_DETECTORS["cms"]


@pytest.fixture(scope="module")
def jets_and_pool(top_jets, minbias_file):
    return read_hard_jets(top_jets, entry_stop=8), read_pileup_pool(minbias_file)


def test_an_unpiled_jet_is_its_own_detector_level_truth(jets_and_pool):
    jets, pool = jets_and_pool
    observed = overlay_pileup(jets, pool, mu=0, n_interactions=np.zeros(len(jets), int), seed=1, detector=CMS)
    assert ak.fields(observed.constituents) == list(DETECTED_FIELDS)
    for field in DETECTED_FIELDS:
        assert ak.all(observed.constituents[field] == observed.detector_truth[field]), field
    assert (observed.n_vertices == 1).all() and not ak.any(observed.constituents.is_pileup)


def test_pileup_shares_towers_with_the_hard_jet_and_leaves_its_tracks_alone(jets_and_pool):
    jets, pool = jets_and_pool
    observed = overlay_pileup(jets, pool, mu=100, seed=2, detector=CMS)
    parts = observed.constituents
    tracks, towers = parts[parts.is_track], parts[~parts.is_track]
    hard_tracks = tracks[~tracks.is_pileup]
    truth_tracks = observed.detector_truth[observed.detector_truth.is_track]
    for field in ("pt", "eta", "phi"):
        assert ak.all(hard_tracks[field] == truth_tracks[field])
    share = ak.flatten(towers.hard_fraction).to_numpy()
    assert ((share >= 0) & (share <= 1)).all()
    # the regime a keep/drop method cannot undo: towers holding both hard and pileup energy exist
    assert ((share > 0.05) & (share < 0.95)).sum() > 0
    assert (ak.all(towers.charge == 0)) and ak.all(towers.mass == 0)
    # hard-scatter tracks are always from the hard vertex; N_PV counts the reconstructed pileup vertices
    assert ak.all(hard_tracks.from_hard_vertex)
    assert ((observed.n_vertices >= 1) & (observed.n_vertices <= 1 + observed.n_interactions)).all()


def test_the_detector_overlay_is_reproducible_and_its_settings_are_checked(jets_and_pool):
    jets, pool = jets_and_pool
    first = overlay_pileup(jets, pool, mu=60, seed=3, detector=CMS)
    again = overlay_pileup(jets, pool, mu=60, seed=3, detector=CMS)
    assert ak.all(first.constituents.pt == again.constituents.pt)
    np.testing.assert_array_equal(first.jet_mass, again.jet_mass)
    with pytest.raises(HepgenInputError, match="inefficiency"):
        overlay_pileup(jets, pool, mu=60, seed=3, detector=CMS, inefficiency=0.1)
