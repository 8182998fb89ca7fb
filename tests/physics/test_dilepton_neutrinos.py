"""The dilepton baselines against hand-built tt̄ → bℓ⁺ν b̄ℓ⁻ν̄ events with on-shell tops and W's: the ellipse
holds every (m_W, m_t) solution and the true neutrino, the ellipse method finds the true pair, Neutrino Weighting
finds it when the grid holds the true η's and m_t, and both report the events they fail on."""

from __future__ import annotations

import numpy as np
import pytest

from hepgen.physics.dilepton_neutrinos import ellipse_method, neutrino_ellipse, neutrino_weighting
from hepgen.physics.kinematics import invariant_mass, massless_p4

TOP, W, B_MASS = 172.5, 80.377, 4.8


def _boost(p: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Four-momenta ``p`` [n, 4] given in the rest frame of ``frame`` [n, 4], in the laboratory."""
    beta = frame[:, :3] / frame[:, 3:4]
    b2 = (beta**2).sum(1, keepdims=True)
    gamma = 1 / np.sqrt(1 - b2)
    bp = (beta * p[:, :3]).sum(1, keepdims=True)
    space = p[:, :3] + ((gamma - 1) * bp / np.where(b2 > 0, b2, 1) + gamma * p[:, 3:4]) * beta
    return np.concatenate([space, gamma * (p[:, 3:4] + bp)], axis=1)


def _two_body(
    parent: np.ndarray, m_parent: float, m1: float, m2: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """An isotropic decay parent → 1 + 2 (masses m1, m2), both daughters in the laboratory."""
    n = len(parent)
    p = np.sqrt((m_parent**2 - (m1 + m2) ** 2) * (m_parent**2 - (m1 - m2) ** 2)) / (2 * m_parent)
    cos, phi = rng.uniform(-1, 1, n), rng.uniform(0, 2 * np.pi, n)
    direction = np.stack([np.sqrt(1 - cos**2) * np.cos(phi), np.sqrt(1 - cos**2) * np.sin(phi), cos], axis=1)
    d1 = np.concatenate([p * direction, np.full((n, 1), np.sqrt(p**2 + m1**2))], axis=1)
    d2 = np.concatenate([-p * direction, np.full((n, 1), np.sqrt(p**2 + m2**2))], axis=1)
    return _boost(d1, parent), _boost(d2, parent)


def dilepton_events(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """tt̄ pairs with random momenta, each top → W b → ℓ ν b on shell (massless leptons and neutrinos)."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for side in ("", "bar"):
        pt, eta, phi = rng.uniform(20, 300, n), rng.normal(0, 1.2, n), rng.uniform(-np.pi, np.pi, n)
        p3 = np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], axis=1)
        top = np.concatenate([p3, np.sqrt((p3**2).sum(1, keepdims=True) + TOP**2)], axis=1)
        w, b = _two_body(top, TOP, W, B_MASS, rng)
        lepton, nu = _two_body(w, W, 0.0, 0.0, rng)
        out[f"b{side}"], out[f"lepton{side}"], out[f"nu{side}"] = b, lepton, nu
    out["met"] = out["nu"][:, :2] + out["nubar"][:, :2]
    return out


def test_the_ellipse_holds_every_solution_and_the_true_neutrino():
    e = dilepton_events(50)
    h, exists = neutrino_ellipse(e["b"], e["lepton"], top_mass=TOP, w_mass=W)
    assert exists.all()
    for t in np.linspace(0, 2 * np.pi, 7):
        nu = massless_p4(np.einsum("bij,j->bi", h, [np.cos(t), np.sin(t), 1.0]))
        np.testing.assert_allclose(invariant_mass(e["lepton"], nu), W, rtol=1e-6)
        np.testing.assert_allclose(invariant_mass(e["lepton"], nu, e["b"]), TOP, rtol=1e-6)
    v = np.linalg.solve(h, e["nu"][:, :3, None])[..., 0]  # the true neutrino is H (cos t, sin t, 1) for some t
    np.testing.assert_allclose(v[:, 2], 1.0, atol=1e-6)
    np.testing.assert_allclose(v[:, 0] ** 2 + v[:, 1] ** 2, 1.0, atol=1e-6)


def test_an_unreachable_top_mass_has_no_ellipse():
    e = dilepton_events(5)
    _, exists = neutrino_ellipse(e["b"], e["lepton"], top_mass=60.0, w_mass=W)  # below m_W + m_b
    assert not exists.any()


def test_the_ellipse_method_finds_the_true_pair():
    e = dilepton_events(200, seed=1)
    solutions = ellipse_method(e["b"], e["lepton"], e["bbar"], e["leptonbar"], e["met"], top_mass=TOP, w_mass=W)
    assert not solutions.failed.any()
    assert solutions.valid.sum(1).max() <= 4 and (solutions.valid.sum(1) % 2 == 0).mean() > 0.9  # pairs of roots
    scale = np.linalg.norm(e["nu"][:, None, :3], axis=-1) + np.linalg.norm(e["nubar"][:, None, :3], axis=-1)
    distance = (
        np.linalg.norm(solutions.nu - e["nu"][:, None, :3], axis=-1)
        + np.linalg.norm(solutions.nubar - e["nubar"][:, None, :3], axis=-1)
    ) / scale
    assert (np.nanmin(distance, axis=1) < 1e-5).all()  # the truth is one of the solutions
    for k in range(4):  # every solution satisfies all four mass constraints and MET
        ok = solutions.valid[:, k]
        nu, nubar = massless_p4(solutions.nu[ok, k]), massless_p4(solutions.nubar[ok, k])
        np.testing.assert_allclose(invariant_mass(e["lepton"][ok], nu, e["b"][ok]), TOP, rtol=1e-5)
        np.testing.assert_allclose(invariant_mass(e["leptonbar"][ok], nubar), W, rtol=1e-5)
        np.testing.assert_allclose(nu[:, :2] + nubar[:, :2], e["met"][ok], atol=1e-4)
    chosen = solutions.chosen_nu
    assert np.isfinite(chosen).all() and chosen.shape == (200, 3)


def test_the_ellipse_method_reports_events_it_fails_on():
    e = dilepton_events(200, seed=2)
    met = e["met"] + np.random.default_rng(0).normal(0, 80, e["met"].shape)  # a badly measured MET
    solutions = ellipse_method(e["b"], e["lepton"], e["bbar"], e["leptonbar"], met, top_mass=TOP, w_mass=W)
    assert 0.02 < solutions.failed.mean() < 0.98
    assert np.isnan(solutions.chosen_nu[solutions.failed]).all()
    swapped = ellipse_method(e["b"], e["lepton"], e["bbar"], e["leptonbar"], e["met"], top_mass=60.0, w_mass=W)
    assert swapped.failed.all()  # no ellipse at all


def test_neutrino_weighting_finds_the_truth_when_the_grid_holds_it():
    e = dilepton_events(6, seed=3)

    def eta(p):
        return np.arcsinh(p[:, 2] / np.hypot(p[:, 0], p[:, 1]))

    grid = np.sort(np.concatenate([eta(e["nu"]), eta(e["nubar"]), [-1.0, 0.0, 1.0]]))
    solutions = neutrino_weighting(
        e["b"],
        e["lepton"],
        e["bbar"],
        e["leptonbar"],
        e["met"],
        etas=grid,
        top_masses=np.array([170.0, TOP, 175.0]),
        w_mass=W,
    )
    assert not solutions.failed.any()
    np.testing.assert_allclose(solutions.chosen_nu, e["nu"][:, :3], rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(solutions.chosen_nubar, e["nubar"][:, :3], rtol=1e-6, atol=1e-5)


def test_neutrino_weighting_solutions_satisfy_the_masses_and_report_failures():
    e = dilepton_events(100, seed=4)
    solutions = neutrino_weighting(e["b"], e["lepton"], e["bbar"], e["leptonbar"], e["met"], w_mass=W)
    ok = ~solutions.failed
    assert ok.mean() > 0.9
    nu, nubar = massless_p4(solutions.chosen_nu[ok]), massless_p4(solutions.chosen_nubar[ok])
    np.testing.assert_allclose(invariant_mass(e["lepton"][ok], nu), W, rtol=1e-6)
    np.testing.assert_allclose(invariant_mass(e["leptonbar"][ok], nubar), W, rtol=1e-6)
    top_masses = invariant_mass(e["lepton"][ok], nu, e["b"][ok])
    assert ((top_masses > 164.9) & (top_masses < 180.1)).all()  # one of the scanned masses
    impossible = neutrino_weighting(
        e["b"][:3],
        e["lepton"][:3],
        e["bbar"][:3],
        e["leptonbar"][:3],
        e["met"][:3],
        top_masses=np.array([60.0]),
        w_mass=W,
    )
    assert impossible.failed.all() and np.isnan(impossible.chosen_nu).all()


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_batches(n):
    e = dilepton_events(max(n, 1), seed=5)
    take = {k: v[:n] for k, v in e.items()}
    assert len(ellipse_method(take["b"], take["lepton"], take["bbar"], take["leptonbar"], take["met"]).best) == n
    assert len(neutrino_weighting(take["b"], take["lepton"], take["bbar"], take["leptonbar"], take["met"]).best) == n


def test_pairings_are_tried_and_the_right_one_usually_kept():
    e = dilepton_events(300, seed=6)
    from hepgen.physics.dilepton_neutrinos import b_jet_candidates, solve_with_pairings

    # the two b's in random order, as jets would come
    swap = np.random.default_rng(1).uniform(size=300) < 0.5
    first, second = np.where(swap[:, None], e["bbar"], e["b"]), np.where(swap[:, None], e["b"], e["bbar"])
    b_pair = np.stack([first, second], axis=1)
    for method in (ellipse_method, neutrino_weighting):
        solutions, pairing = solve_with_pairings(method, b_pair, e["lepton"], e["leptonbar"], e["met"])
        assert (pairing >= 0).mean() > 0.9
        right = pairing[pairing >= 0] == swap[pairing >= 0].astype(int)
        assert right.mean() > 0.6, method.__name__  # exact kinematics: the right pairing is usually preferred
    btag = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]])
    pt = np.array([[50.0, 90.0, 40.0, 30.0], [60.0, 20.0, 80.0, 0.0], [30.0, 70.0, 0.0, 0.0]])
    mask = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 0, 0]], bool)
    assert b_jet_candidates(btag, pt, mask).tolist() == [[0, 2], [1, 2], [1, 0]]


def test_ttbar_observables_equal_a_hand_computation():
    from hepgen.physics.dilepton_neutrinos import ttbar_observables

    e = dilepton_events(50, seed=7)
    obs = ttbar_observables(e["b"], e["lepton"], e["nu"][:, :3], e["bbar"], e["leptonbar"], e["nubar"])
    top = e["b"] + e["lepton"] + e["nu"]
    antitop = e["bbar"] + e["leptonbar"] + e["nubar"]
    np.testing.assert_allclose(invariant_mass(top), TOP, rtol=1e-6)
    np.testing.assert_allclose(obs["m_ttbar"], invariant_mass(top, antitop), rtol=1e-9)
    np.testing.assert_allclose(obs["top_pt"], np.hypot(top[:, 0], top[:, 1]))

    def rest_frame_of(p, frame):  # the inverse of the test's _boost: into the rest frame of ``frame``
        inverse = frame.copy()
        inverse[:, :3] *= -1
        return _boost(p, inverse)

    system = top + antitop
    for lepton, parent, key in ((e["lepton"], top, "cos_theta_plus"), (e["leptonbar"], antitop, "cos_theta_minus")):
        parent_cm = rest_frame_of(parent, system)
        lepton_in_parent = rest_frame_of(rest_frame_of(lepton, system), parent_cm)
        k, l3 = parent_cm[:, :3], lepton_in_parent[:, :3]
        expected = (k * l3).sum(1) / np.linalg.norm(k, axis=1) / np.linalg.norm(l3, axis=1)
        np.testing.assert_allclose(obs[key], expected, atol=1e-9)
    # isotropic decays: cos θ spreads over [−1, 1] with mean ≈ 0
    assert (
        abs(obs["cos_theta_plus"].mean()) < 0.25
        and obs["cos_theta_plus"].min() < -0.5 < 0.5 < obs["cos_theta_plus"].max()
    )
