import numpy as np
import vector

from hepgen.physics import delta_phi, delta_r, p4_from_pt_eta_phi_mass, pt_eta_phi_mass


def test_pt_eta_phi_mass_agrees_with_vector():
    rng = np.random.default_rng(0)
    p = rng.normal(0, 50, (500, 3))
    m = rng.uniform(0, 20, 500)
    e = np.sqrt((p**2).sum(1) + m**2)
    e[:5] *= 0.999999  # space-like rounding: negative mass as in vector/ROOT
    v = vector.array({"px": p[:, 0], "py": p[:, 1], "pz": p[:, 2], "E": e})
    pt, eta, phi, mass = pt_eta_phi_mass(np.column_stack([p, e]))
    np.testing.assert_allclose(pt, v.pt, rtol=1e-12)
    np.testing.assert_allclose(eta, v.eta, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(phi, v.phi, rtol=1e-12)
    np.testing.assert_allclose(mass, v.mass, rtol=1e-6, atol=1e-6)
    back = p4_from_pt_eta_phi_mass(pt, eta, phi, np.abs(mass))
    np.testing.assert_allclose(back[5:], np.column_stack([p, e])[5:], rtol=1e-9, atol=1e-9)


def test_delta_phi_wraps_into_half_open_interval():
    assert delta_phi(np.array([3.0]), np.array([-3.0]))[0] == np.float64(6.0 - 2 * np.pi)
    assert delta_phi(np.array([np.pi]), np.array([0.0]))[0] == np.pi  # +π, never −π
    assert delta_phi(np.array([-np.pi]), np.array([0.0]))[0] == np.pi
    np.testing.assert_allclose(
        delta_r(np.array([0.0]), np.array([3.0]), np.array([0.3]), np.array([-3.0])), np.hypot(0.3, 2 * np.pi - 6)
    )
