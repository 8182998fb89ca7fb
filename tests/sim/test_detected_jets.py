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
        overlay_pileup(jets, pool, mu=60, seed=3, detector=CMS, inefficiency=1.0)


def test_the_reclustered_jet_is_fastjets_jet_nearest_to_the_hard_axis():
    import fastjet

    from hepgen.physics.substructure import to_fastjet_input
    from hepgen.sim.reclustering import matched_jet_constituents

    rng = np.random.default_rng(8)
    counts = rng.integers(20, 60, 5)
    n = int(counts.sum())
    particles = ak.unflatten(
        ak.zip({"pt": rng.exponential(5.0, n), "eta": rng.uniform(-1.5, 1.5, n), "phi": rng.uniform(-1.5, 1.5, n),
                "mass": np.zeros(n), "tag": np.arange(n)}),
        counts,
    )  # fmt: skip
    axis_eta, axis_phi = np.zeros(5), np.zeros(5)
    jets, matched = matched_jet_constituents(particles, axis_eta, axis_phi, radius=1.0, match_radius=10.0)
    assert matched.all()
    sequence = fastjet.ClusterSequence(
        to_fastjet_input(particles), fastjet.JetDefinition(fastjet.antikt_algorithm, 1.0)
    )
    for j, event in enumerate(sequence.inclusive_jets().to_list()):
        p = np.array([[e["px"], e["py"], e["pz"]] for e in event])
        pt = np.hypot(p[:, 0], p[:, 1])
        distance = np.hypot(np.arcsinh(p[:, 2] / pt), np.arctan2(p[:, 1], p[:, 0]))
        nearest = p[np.argmin(distance)]
        mine = jets[j]
        summed = [
            np.sum(mine.pt * np.cos(mine.phi)),
            np.sum(mine.pt * np.sin(mine.phi)),
            np.sum(mine.pt * np.sinh(mine.eta)),
        ]
        np.testing.assert_allclose(summed, nearest, rtol=1e-9, atol=1e-9)
        assert ak.all(mine.tag[1:] > mine.tag[:-1])  # input order kept


def test_reclustered_jets_behind_the_detector(jets_and_pool):
    jets, pool = jets_and_pool
    unpiled = overlay_pileup(
        jets, pool, mu=0, n_interactions=np.zeros(len(jets), int), seed=1, detector=CMS, recluster=True
    )
    for field in DETECTED_FIELDS:
        assert ak.all(unpiled.constituents[field] == unpiled.detector_truth[field]), field
    piled = overlay_pileup(jets, pool, mu=200, seed=1, detector=CMS, recluster=True)
    cone = overlay_pileup(jets, pool, mu=200, seed=1, detector=CMS)
    assert ak.all(ak.num(piled.constituents) > 0)
    assert not ak.all(ak.num(piled.constituents) == ak.num(cone.constituents))  # migration in and out
    with pytest.raises(HepgenInputError, match="detector"):
        overlay_pileup(jets, pool, mu=60, seed=1, recluster=True)


def test_the_pileup_density_grows_with_pileup_and_enters_the_context(jets_and_pool):
    from hepgen.tasks.pileup.inputs import context_features, jet_batch

    jets, pool = jets_and_pool
    cms = CONSTITUENT_DETECTORS["cms"]
    counts = {
        n: overlay_pileup(jets, pool, mu=0, n_interactions=np.full(len(jets), n), seed=5, detector=cms, recluster=True)
        for n in (0, 50, 150)
    }
    rho = {n: np.median(o.rho) for n, o in counts.items()}
    # ρ is a pileup measure: near zero for the hard event alone (the jet fills fewer than half of the patches),
    # then roughly proportional to the interactions (≈ 0.6 GeV per unit area each on 200 training jets)
    assert rho[0] < 0.2 * rho[50] and 0.3 * 50 < rho[50] < 1.0 * 50
    assert 2.0 < rho[150] / rho[50] < 4.0
    batch = jet_batch(counts[50], input="chs", hard=jets)
    assert batch.context.shape[1] == len(context_features("cms")) == 8
    np.testing.assert_allclose(batch.context[:, -1], counts[50].rho.astype(np.float32))
    assert counts[0].rho is not None and overlay_pileup(jets, pool, mu=10, seed=5).rho is None


def test_a_degraded_tracker_turns_tracks_into_towers_for_the_observed_jet_and_the_truth_alike(jets_and_pool):
    jets, pool = jets_and_pool
    nominal = overlay_pileup(jets, pool, mu=60, seed=5, detector=CMS)
    zero = overlay_pileup(jets, pool, mu=60, seed=5, detector=CMS, track_loss=np.zeros(len(jets)))
    for field in DETECTED_FIELDS:  # no loss: the same random numbers, the same detector output
        assert ak.all(ak.ravel(zero.constituents[field]) == ak.ravel(nominal.constituents[field])), field
    loss = np.where(np.arange(len(jets)) % 2 == 0, 0.0, 0.5)
    unpiled = dict(mu=0, n_interactions=np.zeros(len(jets), int), seed=5, detector=CMS)
    degraded = overlay_pileup(jets, pool, **unpiled, track_loss=loss)
    # without pileup the observed jet is still its own truth: the degraded tracker is the truth's tracker too
    for field in DETECTED_FIELDS:
        assert ak.all(ak.ravel(degraded.constituents[field]) == ak.ravel(degraded.detector_truth[field])), field
    unpiled = overlay_pileup(jets, pool, **unpiled)
    tracks = ak.to_numpy(ak.sum(degraded.constituents.is_track, axis=1))
    tracks_nominal = ak.to_numpy(ak.sum(unpiled.constituents.is_track, axis=1))
    # half the tracks of the jets with loss 0.5 (binomial on ~100 tracks per jet pair: ±0.05), energy kept in towers
    assert 0.35 < tracks[1::2].sum() / tracks_nominal[1::2].sum() < 0.65
    assert 0.9 < tracks[0::2].sum() / tracks_nominal[0::2].sum() < 1.1
    np.testing.assert_allclose(degraded.jet_pt, unpiled.jet_pt, rtol=0.15)
    with pytest.raises(HepgenInputError, match="track loss"):
        overlay_pileup(jets, pool, mu=60, seed=3, detector=CMS, track_loss=1.0)
    with pytest.raises(HepgenInputError, match="needs a detector"):
        overlay_pileup(jets, pool, mu=60, seed=3, track_loss=0.1)
