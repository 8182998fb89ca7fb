"""Jet observables and SoftDrop (fastjet) against hand computations on tiny, constructed jets."""

import itertools

import awkward as ak
import numpy as np
import pytest

from hepgen.physics.kinematics import delta_phi
from hepgen.physics.softdrop import SOFTDROP_GRID, softdrop_groom
from hepgen.physics.substructure import OBSERVABLES, jet_observables


def jets_of(*particle_lists):
    """Jagged (pt, eta, phi, mass) records from lists of (pt, eta, phi) tuples; massless particles."""
    return ak.Array(
        [
            [{"pt": pt, "eta": eta, "phi": phi, "mass": 0.0} for pt, eta, phi in particles]
            for particles in particle_lists
        ]
    )


def p4(pt, eta, phi):
    return np.array([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta)])


def rap_phi(v):
    """Rapidity and φ of a four-vector (fastjet measures angles in (y, φ))."""
    return 0.5 * np.log((v[3] + v[2]) / (v[3] - v[2])), np.arctan2(v[1], v[0])


def dr(a, b):
    (ya, pa), (yb, pb) = rap_phi(a), rap_phi(b)
    return np.hypot(ya - yb, delta_phi(pa, pb))


def pt_of(v):
    return np.hypot(v[0], v[1])


THREE = [(120.0, 0.1, 0.2), (60.0, -0.2, 0.45), (25.0, 0.3, -0.15)]


def test_two_particle_jet_by_hand():
    (a, b) = [(100.0, 0.2, 0.1), (40.0, -0.1, 0.4)]
    obs = jet_observables(jets_of([a, b]))
    pa, pb = p4(*a), p4(*b)
    total = pa + pb
    assert obs["mass"][0] == pytest.approx(np.sqrt(total[3] ** 2 - total[:3] @ total[:3]), rel=1e-6)
    assert obs["pt"][0] == pytest.approx(pt_of(total), rel=1e-6)
    # kT distance in the R = 1 convention: min(pT²) ΔR²
    assert obs["sqrt_d12"][0] == pytest.approx(min(a[0], b[0]) * dr(pa, pb), rel=1e-5)
    assert obs["tau21"][0] == pytest.approx(0.0, abs=1e-9)  # two particles, two axes
    assert np.isnan(obs["tau32"][0]) and np.isnan(obs["d2"][0]) and np.isnan(obs["sqrt_d23"][0])  # need ≥ 3 particles
    assert obs["n_constituents"][0] == 2


def test_three_particle_jet_d2_taus_and_kt_scales_by_hand():
    parts = [p4(*p) for p in THREE]
    pts = np.array([p[0] for p in THREE])
    obs = jet_observables(jets_of(THREE))

    # D2 (β = 1) = ECF3 ECF1³ / ECF2³ with pT and ΔR(y, φ)
    ecf1 = pts.sum()
    ecf2 = sum(pts[i] * pts[j] * dr(parts[i], parts[j]) for i, j in itertools.combinations(range(3), 2))
    ecf3 = pts.prod() * dr(parts[0], parts[1]) * dr(parts[0], parts[2]) * dr(parts[1], parts[2])
    assert obs["d2"][0] == pytest.approx(ecf3 * ecf1**3 / ecf2**3, rel=1e-5)

    # exclusive kT: merge the pair with the smallest min(pT²) ΔR², then the remaining two
    pairs = {
        (i, j): min(pts[i], pts[j]) ** 2 * dr(parts[i], parts[j]) ** 2 for i, j in itertools.combinations(range(3), 2)
    }
    (i, j), d23 = min(pairs.items(), key=lambda kv: kv[1])
    (k,) = set(range(3)) - {i, j}
    merged = parts[i] + parts[j]
    d12 = min(pt_of(merged), pts[k]) ** 2 * dr(merged, parts[k]) ** 2
    assert obs["sqrt_d23"][0] == pytest.approx(np.sqrt(d23), rel=1e-5)
    assert obs["sqrt_d12"][0] == pytest.approx(np.sqrt(d12), rel=1e-5)

    # N-subjettiness (β = 1, R0 = 1, normalised by Σ pT) with exclusive-kT axes
    axis1 = sum(parts)
    tau1 = sum(pts[n] * dr(parts[n], axis1) for n in range(3)) / ecf1
    tau2 = (pts[i] * dr(parts[i], merged) + pts[j] * dr(parts[j], merged)) / ecf1
    assert obs["tau21"][0] == pytest.approx(tau2 / tau1, rel=1e-4)
    assert obs["tau32"][0] == pytest.approx(0.0, abs=1e-9)  # three particles, three axes


def test_ideal_two_prong_jet_has_tau21_near_zero_and_one_prong_jet_does_not():
    rng = np.random.default_rng(3)
    prongs = [(0.0, 0.0, 300.0), (0.5, 0.3, 200.0)]  # (eta, phi, pT) of each prong
    two = [(pt / 5, eta + rng.normal(0, 1e-4), phi + rng.normal(0, 1e-4)) for eta, phi, pt in prongs for _ in range(5)]
    wide = [(20.0, rng.normal(0, 0.3), rng.normal(0, 0.3)) for _ in range(25)]
    obs = jet_observables(jets_of(two, wide))
    assert obs["tau21"][0] < 1e-3
    assert obs["tau21"][1] > 0.3


def test_batched_equals_one_at_a_time_and_empty_jets_are_nan():
    rng = np.random.default_rng(5)
    jets = [
        [(rng.exponential(30) + 1, rng.normal(0, 0.4), rng.normal(0, 0.4)) for _ in range(n)] for n in (7, 1, 30, 3, 12)
    ]
    together = jet_observables(jets_of(*jets, []))
    for index, jet in enumerate(jets):
        alone = jet_observables(jets_of(jet))
        for name in OBSERVABLES:
            np.testing.assert_allclose(together[name][index], alone[name][0], rtol=1e-9, equal_nan=True, err_msg=name)
    assert together["n_constituents"][-1] == 0 and all(np.isnan(together[name][-1]) for name in OBSERVABLES[:-1])
    assert np.isnan(together["tau21"][1]) and together["mass"][1] == pytest.approx(0.0, abs=1e-3)


def hard_two_prong_with_soft_wide_angle():
    # two prongs 0.22 apart; soft particles on a ring of radius 0.85 around them, far from both (C/A
    # clusters them last, so SoftDrop sees them as separate soft branches)
    hard = [(150.0, 0.0, 0.0), (140.0, 0.02, -0.01), (130.0, -0.01, 0.02), (110.0, 0.2, 0.1), (90.0, 0.21, 0.12)]
    soft = [
        (0.5, 0.1 + 0.85 * np.cos(a), 0.05 + 0.85 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 6, endpoint=False)
    ]
    return hard, soft


@pytest.mark.parametrize(("z_cut", "beta"), [(0.1, 0.0), (0.05, 2.0), (0.2, 1.0)])
def test_softdrop_removes_soft_wide_angle_particles_and_keeps_both_prongs(z_cut, beta):
    hard, soft = hard_two_prong_with_soft_wide_angle()
    groomed = softdrop_groom(jets_of(hard + soft), z_cut=z_cut, beta=beta)
    assert ak.num(groomed)[0] == len(hard)
    np.testing.assert_allclose(np.sort(ak.to_numpy(groomed.pt[0])), np.sort([p[0] for p in hard]), rtol=1e-6)
    expected = jet_observables(jets_of(hard))["mass"][0]
    assert jet_observables(groomed)["mass"][0] == pytest.approx(expected, rel=1e-6)
    assert jet_observables(jets_of(hard + soft))["mass"][0] > expected  # the soft particles did add mass


def test_softdrop_drops_a_soft_prong_and_checks_its_input():
    hard = [(300.0, 0.0, 0.0), (290.0, 0.01, 0.0)]
    soft_prong = [(10.0, 0.5, 0.0)]  # z = 10/600 < 0.1 at ΔR = 0.5: dropped by mMDT
    groomed = softdrop_groom(jets_of(hard + soft_prong), z_cut=0.1, beta=0.0)
    assert ak.num(groomed)[0] == 2
    assert len(SOFTDROP_GRID) == 16
    with pytest.raises(ValueError, match="without constituents"):
        softdrop_groom(jets_of(hard, []))
    with pytest.raises(ValueError, match="z_cut"):
        softdrop_groom(jets_of(hard), z_cut=1.5)


def _rows(jet: ak.Array) -> np.ndarray:
    """A jet's constituents as rows (pt, eta, phi, mass), in a canonical order (the grid may order them otherwise)."""
    rows = np.stack([ak.to_numpy(jet[k]) for k in ("pt", "eta", "phi", "mass")], axis=-1)
    return rows[np.lexsort(rows.T[::-1])]


@pytest.mark.slow
@pytest.mark.parametrize("mu", [0, 60, 200])
def test_softdrop_grid_from_one_clustering_equals_one_call_per_setting(mu):
    """Top jets of the shipped test sample with pileup from the shipped test pool: the grid keeps exactly the
    constituents (the same float64 four-vectors, bit for bit) that fastjet's SoftDrop keeps, for all 16 settings."""
    from hepgen.physics.softdrop import softdrop_grid
    from hepgen.sim.pileup import overlay_pileup, read_hard_jets, read_pileup_pool
    from tests.conftest import REPO

    jets = read_hard_jets(REPO / "data" / "top_jets_test.root")[:10]
    pool = read_pileup_pool(REPO / "data" / "minbias_pool_test.root")
    observed = overlay_pileup(jets, pool, mu=float(mu), seed=mu, n_interactions=np.full(len(jets), mu)).constituents
    particles = ak.zip(
        {"pt": observed.pt, "eta": observed.eta, "phi": observed.phi, "mass": ak.full_like(observed.pt, 0.13957)}
    )
    grid = softdrop_grid(particles)
    assert len(grid) == len(SOFTDROP_GRID)
    dropped = 0
    for (z_cut, beta), groomed in zip(SOFTDROP_GRID, grid):
        reference = softdrop_groom(particles, z_cut=z_cut, beta=beta)
        np.testing.assert_array_equal(ak.num(groomed), ak.num(reference))
        for j in range(len(particles)):
            np.testing.assert_array_equal(
                _rows(groomed[j]), _rows(reference[j]), err_msg=f"z_cut {z_cut}, β {beta}, jet {j}"
            )
        dropped += int(ak.sum(ak.num(particles)) - ak.sum(ak.num(groomed)))
    assert dropped > 0  # the grooming did remove particles


def test_softdrop_grid_by_hand_and_bad_input():
    from hepgen.physics.softdrop import softdrop_grid

    hard = [(300.0, 0.0, 0.0), (290.0, 0.01, 0.0)]
    soft_prong = [(10.0, 0.5, 0.0)]  # z = 10/600 at ΔR = 0.5: dropped by z_cut 0.1 (β = 0), kept by z_cut 0.01
    kept = [ak.num(g)[0] for g in softdrop_grid(jets_of(hard + soft_prong), [(0.1, 0.0), (0.01, 0.0)])]
    assert kept == [2, 3]
    with pytest.raises(ValueError, match="without constituents"):
        softdrop_grid(jets_of(hard, []))
    with pytest.raises(ValueError, match="z_cut"):
        softdrop_grid(jets_of(hard), [(1.5, 0.0)])
