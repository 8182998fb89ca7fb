"""The analytic W-mass solution: exact closure with the true W mass, hand-checked numbers, the complex case."""

import numpy as np
import pytest
import uproot
import vector

from hepgen.physics.neutrino import W_MASS, solve_neutrino_pz
from hepgen.sim import DetectorResponse, ProductionRequest, produce


def test_hand_computed_example():
    # lepton along x with E = 40 GeV (massless), neutrino (px, py, pz) = (-30, 20, 25)
    lep = vector.obj(px=40.0, py=0.0, pz=0.0, E=40.0)
    nu = vector.obj(px=-30.0, py=20.0, pz=25.0, E=float(np.sqrt(30**2 + 20**2 + 25**2)))
    m = (lep + nu).mass
    sol = solve_neutrino_pz(40.0, 0.0, 0.0, 40.0, -30.0, 20.0, w_mass=m)
    # pz_l = 0: the roots are ±E_l·sqrt(mu² − pT_l² pT_nu²)/pT_l², symmetric; truth is one of them
    assert min(abs(sol.pz_plus - 25.0), abs(sol.pz_minus - 25.0)) < 1e-9
    assert sol.pz_plus == pytest.approx(-sol.pz_minus)
    assert not sol.is_complex


def test_complex_roots_take_the_real_part():
    # MET far larger than the W mass allows for this lepton: negative discriminant
    sol = solve_neutrino_pz(
        np.array([20.0]),
        np.array([0.0]),
        np.array([10.0]),
        np.array([np.hypot(20, 10)]),
        np.array([-300.0]),
        np.array([0.0]),
    )
    assert sol.is_complex[0]
    mu = 0.5 * W_MASS**2 + 20.0 * -300.0
    assert sol.pz[0] == pytest.approx(mu * 10.0 / 20.0**2)
    assert sol.pz_plus[0] == sol.pz_minus[0] == sol.pz[0]


@pytest.mark.slow
def test_exact_closure_on_generated_events(tmp_path):
    """Without MET smearing (ideal detector: MET = the neutrino's pT), with the Born lepton and each event's true
    W mass, one root is the truth pz whenever the roots are real."""
    path = tmp_path / "ideal.root"
    produce(
        ProductionRequest("ttbar-ljets", 40, seed=4, out=str(path), detector=DetectorResponse.ideal(), progress=False)
    )
    a = uproot.open(path)["Events"].arrays(library="np")
    lep = vector.array(
        {"pt": a["GenLepton_pt"], "eta": a["GenLepton_eta"], "phi": a["GenLepton_phi"], "mass": a["GenLepton_mass"]}
    )
    nu = vector.array({"pt": a["GenNu_pt"], "eta": a["GenNu_eta"], "phi": a["GenNu_phi"], "mass": np.zeros(len(lep))})
    met_px = a["MET_pt"] * np.cos(a["MET_phi"])
    met_py = a["MET_pt"] * np.sin(a["MET_phi"])
    sol = solve_neutrino_pz(lep.px, lep.py, lep.pz, lep.E, met_px, met_py, w_mass=(lep + nu).mass)
    real = ~sol.is_complex
    assert real.mean() > 0.8
    best = np.minimum(np.abs(sol.pz_plus - nu.pz), np.abs(sol.pz_minus - nu.pz))[real]
    # float32 storage of the inputs limits the precision; the roots are otherwise exact
    assert np.all(best < 1e-2 * (1 + np.abs(nu.pz[real]))), best.max()
    # with the nominal W mass instead, both real roots put m(ℓν) at the nominal mass, by hand with MET as the pT
    nominal = solve_neutrino_pz(lep.px, lep.py, lep.pz, lep.E, met_px, met_py)
    ok = ~nominal.is_complex
    for pz in (nominal.pz_plus[ok], nominal.pz_minus[ok]):
        energy = np.sqrt(met_px[ok] ** 2 + met_py[ok] ** 2 + pz**2)
        total = np.stack([lep.px[ok] + met_px[ok], lep.py[ok] + met_py[ok], lep.pz[ok] + pz, lep.E[ok] + energy])
        m = np.sqrt(total[3] ** 2 - (total[:3] ** 2).sum(0))
        np.testing.assert_allclose(m, W_MASS, rtol=1e-6)
