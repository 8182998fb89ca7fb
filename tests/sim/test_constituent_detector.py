"""The detector on jet constituents (hepgen.sim.tracking, hepgen.sim.calorimeter): every number here is a hand
computation from the parameters of hepgen.sim.detector, or a measured width compared with its parameter within
five statistical standard errors (so a correct implementation fails once in ~10⁶ runs; seeds are fixed anyway)."""

from __future__ import annotations

import numpy as np
import pytest

from hepgen.errors import HepgenInputError
from hepgen.sim.calorimeter import deposit_resolution, fill_towers, smear_deposits
from hepgen.sim.detector import Calorimeter, ConstituentDetector, Tracking, Vertexing
from hepgen.sim.tracking import (
    Vertices,
    associate_with_hard_vertex,
    compatible_with_hard_vertex,
    draw_vertices,
    dz_resolution,
    reconstruct_tracks,
    track_efficiency,
    track_pt_resolution,
)

CALO, TRACKING, VERTEXING = Calorimeter(), Tracking(), Vertexing()
NO_THRESHOLD = Calorimeter(ecal_energy_min=0, ecal_significance_min=0, hcal_energy_min=0, hcal_significance_min=0)


def test_tracking_efficiency_follows_the_delphes_cms_table():
    pt = np.array([0.05, 0.5, 5.0, 0.5, 5.0, 5.0, 500.0])
    eta = np.array([0.0, 0.3, 0.3, 2.0, -2.0, 2.6, 1.4])
    assert track_efficiency(pt, eta, TRACKING).tolist() == [0.0, 0.70, 0.95, 0.60, 0.85, 0.0, 0.95]


def test_measured_tracking_efficiency_and_threshold():
    rng = np.random.default_rng(1)
    n = 100_000
    has_track, _ = reconstruct_tracks(np.full(n, 0.5), np.full(n, 0.3), np.ones(n), TRACKING, rng)
    # binomial standard error √(0.7·0.3/n) = 0.00145
    assert abs(has_track.mean() - 0.70) < 5 * np.sqrt(0.7 * 0.3 / n)
    below, _ = reconstruct_tracks(np.full(1000, 0.09), np.zeros(1000), np.ones(1000), TRACKING, rng)
    neutral, pt = reconstruct_tracks(np.full(1000, 5.0), np.zeros(1000), np.zeros(1000), TRACKING, rng)
    assert not below.any() and not neutral.any() and (pt == 5.0).all()


def test_a_degraded_tracker_scales_the_efficiency_per_particle():
    rng = np.random.default_rng(4)
    n = 100_000
    scale = np.where(np.arange(n) < n // 2, 1.0, 0.6)  # half the particles through a tracker that finds 60 % as many
    has_track, _ = reconstruct_tracks(np.full(n, 5.0), np.full(n, 0.3), np.ones(n), TRACKING, rng, scale)
    nominal, degraded = has_track[: n // 2].mean(), has_track[n // 2 :].mean()
    # hand computation: 0.95 and 0.95 × 0.6 = 0.57; binomial standard errors on n/2 = 50 000 particles
    assert abs(nominal - 0.95) < 5 * np.sqrt(0.95 * 0.05 / (n // 2))
    assert abs(degraded - 0.57) < 5 * np.sqrt(0.57 * 0.43 / (n // 2))


def test_measured_track_resolution_equals_the_parameter():
    # |η| 0.2: σ/pT = √(0.06² + (1.3e-3 · 10)²) = 0.061392
    assert track_pt_resolution(np.array([10.0]), np.array([0.2]), TRACKING)[0] == pytest.approx(0.061392, abs=1e-6)
    n = 200_000
    has_track, pt = reconstruct_tracks(
        np.full(n, 10.0), np.full(n, 0.2), np.ones(n), TRACKING, np.random.default_rng(2)
    )
    width = pt[has_track].std() / 10.0
    assert abs(width - 0.061392) < 5 * 0.061392 / np.sqrt(2 * has_track.sum())
    assert abs(pt[has_track].mean() - 10.0) < 5 * 0.61392 / np.sqrt(has_track.sum())


def test_dz_resolution_reads_the_table_at_its_bin_centres_and_interpolates_in_log_pt():
    sigma = dz_resolution(
        np.array([1.0, 5.0, 0.2, 1000.0, np.sqrt(1.0 * 2.2)]), np.array([0.5, 1.0, 2.0, 0.0, 0.5]), VERTEXING
    )
    # 111 µm, 71 µm, 2172 µm, the last bin's 32 µm beyond the table, and the log-midpoint of 1 and 2.2 GeV: (111+68)/2
    assert sigma * 1e4 == pytest.approx([111.0, 71.0, 2172.0, 32.0, 89.5], abs=1e-9)


def test_vertex_efficiency_sets_n_pv_and_the_hard_vertex_is_always_found():
    vertices = draw_vertices(np.full(2000, 100), VERTEXING, np.random.default_rng(3))
    assert vertices.reconstructed[vertices.offsets[:-1]].all()
    # N_PV = 1 + Binomial(100, 0.7): mean 71, standard error √(21/2000)
    assert abs(vertices.n_pv.mean() - 71.0) < 5 * np.sqrt(100 * 0.7 * 0.3 / 2000)
    assert abs(vertices.z.std() - 3.5) < 5 * 3.5 / np.sqrt(2 * len(vertices.z))


def test_association_by_dz_on_a_hand_made_event():
    # hard vertex at 0; pileup 1 at 5 cm (found), 2 at 3 cm (not found), 3 at 10 µm (found: merged), 4 at 1 mm
    vertices = Vertices(
        z=np.array([0.0, 5.0, 3.0, 0.001, 0.1]),
        reconstructed=np.array([True, True, False, True, True]),
        offsets=np.array([0, 5]),
    )
    vertex = np.array([0, 1, 2, 3, 4, 4, 0])
    pt = np.array([10.0, 10.0, 10.0, 10.0, 10.0, 0.2, 0.2])
    eta = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 2.0])
    compatible = compatible_with_hard_vertex(np.zeros(7, int), vertex, pt, eta, vertices, VERTEXING)
    from_hard = associate_with_hard_vertex(np.zeros(7, int), vertex, vertices, compatible)
    # σ_dz(10 GeV, central) ≈ 39 µm: 5 cm and 1 mm are far (pileup), 10 µm is merged (hard); at 0.2 GeV and η = 2
    # σ_dz = 2172 µm, so the vertex 1 mm away cannot be told from the hard one (hard)
    assert from_hard.tolist() == [True, False, True, True, False, True, True]
    # what data measures of every track: is it within its dz resolution of the hard vertex (found vertex or not)
    assert compatible.tolist() == [True, False, False, True, False, True, True]


def test_deposits_sum_to_the_tower_energies():
    rng = np.random.default_rng(4)
    n = 5000
    event = rng.integers(0, 7, n)
    eta, phi, energy = rng.uniform(-2.5, 2.5, n), rng.uniform(-np.pi, np.pi, n), rng.exponential(3.0, n)
    em = rng.random(n) < 0.4
    towers = fill_towers(event, eta, phi, energy, em, NO_THRESHOLD, hard=rng.random(n) < 0.5)
    per_event = np.bincount(towers.event, towers.energy, minlength=7)
    np.testing.assert_allclose(per_event, np.bincount(event, energy, minlength=7), rtol=1e-12)
    np.testing.assert_allclose(towers.ecal_energy.sum(), energy[em].sum(), rtol=1e-12)
    assert len(np.unique(np.stack([towers.event, towers.eta, towers.phi]), axis=1).T) == len(towers)


def test_two_deposits_in_one_tower_share_one_measurement():
    # both at η ∈ [0, 0.087), φ in the same 5° slice: one tower at its centre holding hard and pileup energy
    towers = fill_towers(
        np.zeros(3, int),
        np.array([0.01, 0.08, 1.0]),
        np.array([0.01, 0.05, 0.0]),
        np.array([4.0, 6.0, 3.0]),
        np.zeros(3, bool),
        NO_THRESHOLD,
        hard=np.array([True, False, True]),
    )
    first = np.argmin(np.abs(towers.eta))
    assert len(towers) == 2 and towers.energy[first] == 10.0 and towers.hard_energy[first] == 4.0
    assert towers.eta[first] == pytest.approx(0.5 * 0.087) and towers.phi[first] == pytest.approx(np.pi / 72)


def test_tower_thresholds_are_the_energy_minimum_and_the_significance():
    # ECAL at η = 0: σ(1 GeV) = √(0.008² + 0.11² + 0.40²) = 0.4149 → 2σ = 0.83 < 1 kept; σ(0.8) = 0.4117, 2σ > 0.8
    # HCAL at η = 0: E >= σ(E) = √((0.05E)² + 1.5²E) ⇔ E >= 2.25 / (1 − 0.05²) = 2.2556 GeV
    energy = np.array([1.0, 0.8, 0.45, 2.27, 2.25])
    em = np.array([True, True, True, False, False])
    towers = fill_towers(np.arange(5), np.full(5, 0.01), np.zeros(5), energy, em, CALO)
    assert towers.event.tolist() == [0, 3]


def test_measured_calorimeter_width_equals_the_parameter():
    n = 200_000
    rng = np.random.default_rng(5)
    for em, eta, expected in (
        (False, 0.5, np.sqrt((0.05 * 50) ** 2 + 1.5**2 * 50)),
        (True, 1.0, 1.64 * np.sqrt((0.008 * 50) ** 2 + 0.11**2 * 50 + 0.40**2)),
    ):
        assert deposit_resolution(np.array([50.0]), np.array([eta]), CALO.ecal if em else CALO.hcal)[
            0
        ] == pytest.approx(expected)
        measured = smear_deposits(np.full(n, 50.0), np.full(n, eta), np.full(n, em), CALO, rng)
        assert abs(measured.std() - expected) < 5 * expected / np.sqrt(2 * n)
        assert abs(measured.mean() - 50.0) < 5 * expected / np.sqrt(n) and (measured > 0).all()


def test_an_unpiled_jet_through_the_detector_is_its_own_detector_level_truth():
    rng = np.random.default_rng(6)
    eta, phi, energy = rng.normal(0, 0.3, 40), rng.normal(0, 0.3, 40), rng.exponential(8.0, 40)
    measured = smear_deposits(energy, eta, np.zeros(40, bool), CALO, rng)
    towers = fill_towers(np.zeros(40, int), eta, phi, measured, np.zeros(40, bool), CALO)
    np.testing.assert_array_equal(towers.hard_energy, towers.energy)


@pytest.mark.parametrize(
    ("make", "named"),
    [
        (lambda: Calorimeter(tower_size=0.0), "calorimeter.tower_size"),
        (lambda: Vertexing(efficiency=1.2), "vertexing.efficiency"),
        (lambda: Vertexing(efficiency=0.0), "vertexing.efficiency"),
        (lambda: Tracking(barrel=(0.7, -0.1)), "tracking.barrel"),
        (lambda: ConstituentDetector(vertexing=Vertexing(luminous_sigma_z=-1)), "vertexing.luminous_sigma_z"),
    ],
)
def test_bad_detector_parameters_name_the_setting(make, named):
    with pytest.raises(HepgenInputError, match=named.replace(".", r"\.")):
        make()
