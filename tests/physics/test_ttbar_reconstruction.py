"""The χ² reconstruction of tt̄ → ℓ+jets against hand-built events with a known answer, and the detectors of
`hepgen generate --detector`."""

import numpy as np
import pytest

from hepgen.physics.kinematics import invariant_mass
from hepgen.physics.ttbar_reconstruction import (
    TOP_MASS,
    W_MASS_HADRONIC,
    ChiSquareWidths,
    assigned_ttbar_mass,
    assignments,
    chi2_assignment,
    fit_widths,
    fit_widths_with_choice,
)
from hepgen.sim.detector import DETECTORS, DetectorResponse


def test_the_assignment_table():
    table = assignments(4)
    assert table.shape == (4 * 3 * 1, 4)  # b_lep, b_had ordered; the last two jets the W quarks (q1 < q2)
    assert all(len(set(row)) == 4 and row[2] < row[3] for row in table.tolist())
    assert len(assignments(6)) == 6 * 5 * 6


def two_body(mass: float, m1: float, m2: float, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The four-momenta of a decay at rest into masses m1, m2 back to back along ``direction``."""
    p = np.sqrt((mass**2 - (m1 + m2) ** 2) * (mass**2 - (m1 - m2) ** 2)) / (2 * mass)
    d = direction / np.linalg.norm(direction)
    return np.concatenate([p * d, [np.hypot(p, m1)]]), np.concatenate([-p * d, [np.hypot(p, m2)]])


def boost(p4: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Lorentz boost of ``p4`` by velocity ``beta``."""
    b2 = beta @ beta
    gamma = 1 / np.sqrt(1 - b2)
    bp = beta @ p4[:3]
    space = p4[:3] + ((gamma - 1) * bp / b2 + gamma * p4[3]) * beta
    return np.concatenate([space, [gamma * (p4[3] + bp)]])


def hand_built_event():
    """t → b ℓ ν and t̄ → b q q̄ with exact masses (m_t, m_W), tops boosted apart; jets: b_had, q1, b_lep, q2."""
    w_lep, b_lep = two_body(TOP_MASS, W_MASS_HADRONIC, 4.8, np.array([1.0, 0.3, 0.2]))
    lepton, nu = two_body(W_MASS_HADRONIC, 0.0, 0.0, np.array([0.2, 1.0, -0.4]))
    lepton, nu = boost(lepton, w_lep[:3] / w_lep[3]), boost(nu, w_lep[:3] / w_lep[3])
    w_had, b_had = two_body(TOP_MASS, W_MASS_HADRONIC, 4.8, np.array([-0.5, 0.4, 1.0]))
    q1, q2 = two_body(W_MASS_HADRONIC, 0.0, 0.0, np.array([1.0, -0.2, 0.3]))
    q1, q2 = boost(q1, w_had[:3] / w_had[3]), boost(q2, w_had[:3] / w_had[3])
    top_lep, top_had = np.array([0.0, 0.0, 0.5]), np.array([0.0, 0.0, -0.5])
    parts = {
        "b_lep": boost(b_lep, top_lep),
        "lepton": boost(lepton, top_lep),
        "nu": boost(nu, top_lep),
        "b_had": boost(b_had, top_had),
        "q1": boost(q1, top_had),
        "q2": boost(q2, top_had),
    }
    jets = np.stack([parts["b_had"], parts["q1"], parts["b_lep"], parts["q2"]])
    return parts, jets


def test_chi2_finds_the_leptonic_b_of_a_hand_built_event():
    parts, jets = hand_built_event()
    assert abs(invariant_mass(parts["lepton"], parts["nu"], parts["b_lep"]) - TOP_MASS) < 1e-6
    assert abs(invariant_mass(parts["b_had"], parts["q1"], parts["q2"]) - TOP_MASS) < 1e-6
    btag = np.array([[1, 0, 1, 0]])
    mask = np.ones((1, 4), bool)
    chosen, chi2 = chi2_assignment(parts["lepton"][None], parts["nu"][None, None], jets[None], btag, mask)
    assert chosen.tolist() == [2] and chi2[0] < 1e-8  # the exact solution: χ² = 0
    # a wrong neutrino (the other pz) moves the leptonic top off the mass: two hypotheses, the true one wins
    wrong = parts["nu"].copy()
    wrong[2] = -wrong[2] + 150.0
    wrong[3] = np.linalg.norm(wrong[:3])
    chosen, chi2 = chi2_assignment(parts["lepton"][None], np.stack([wrong, parts["nu"]])[None], jets[None], btag, mask)
    assert chosen.tolist() == [2] and chi2[0] < 1e-8
    # b-tags decide which jets may be b's: tagging the W quarks instead picks among them
    chosen, _ = chi2_assignment(
        parts["lepton"][None], parts["nu"][None, None], jets[None], np.array([[0, 1, 0, 1]]), mask
    )
    assert chosen[0] in (1, 3)
    # fewer than four jets: no assignment
    chosen, chi2 = chi2_assignment(
        parts["lepton"][None], parts["nu"][None, None], jets[None], btag, np.array([[1, 1, 1, 0]], bool)
    )
    assert chosen.tolist() == [-1] and np.isinf(chi2[0])


def ttbar_mass_by_chi2(lepton, neutrinos, jets, btag, mask):
    rows, _, hypothesis = chi2_assignment(lepton, neutrinos, jets, btag, mask, full=True)
    return assigned_ttbar_mass(lepton, neutrinos, jets, rows, hypothesis)


def test_the_chi2_ttbar_mass_of_a_hand_built_event_is_that_of_its_six_particles():
    parts, jets = hand_built_event()
    btag, mask = np.array([[1, 0, 1, 0]]), np.ones((1, 4), bool)
    expected = invariant_mass(*(parts[k] for k in ("b_lep", "lepton", "nu", "b_had", "q1", "q2")))
    assert expected > 2 * TOP_MASS  # the tops move apart (β = 0.5 each)
    mass = ttbar_mass_by_chi2(parts["lepton"][None], parts["nu"][None, None], jets[None], btag, mask)
    assert mass[0] == pytest.approx(expected, rel=1e-12)
    # with a wrong second hypothesis the right one is still used; with the wrong one alone the mass moves
    wrong = parts["nu"].copy()
    wrong[2] = -wrong[2] + 150.0
    wrong[3] = np.linalg.norm(wrong[:3])
    both = ttbar_mass_by_chi2(parts["lepton"][None], np.stack([wrong, parts["nu"]])[None], jets[None], btag, mask)
    assert both[0] == pytest.approx(expected, rel=1e-12)
    alone = ttbar_mass_by_chi2(parts["lepton"][None], wrong[None, None], jets[None], btag, mask)
    assert abs(alone[0] - expected) > 10.0
    # no assignment (three jets): NaN
    three = ttbar_mass_by_chi2(
        parts["lepton"][None], parts["nu"][None, None], jets[None], btag, np.array([[1, 1, 1, 0]], bool)
    )
    assert np.isnan(three[0])


def test_widths_are_those_of_the_correct_assignments():
    rng = np.random.default_rng(0)
    parts, jets = hand_built_event()
    n = 400
    smear = 1 + 0.1 * rng.standard_normal((n, 4, 1))
    many = jets[None] * smear
    lepton = np.repeat(parts["lepton"][None], n, 0)
    nu = np.repeat(parts["nu"][None], n, 0)
    widths = fit_widths(lepton, nu, many, np.repeat(np.array([[2, 0, 1, 3]]), n, 0))

    def width(m):  # IQR/1.349 of the correct assignment's masses
        return np.subtract(*np.percentile(m, [75, 25])) / 1.349

    # partons (b_lep, b_had, q1, q2) are jets (2, 0, 1, 3)
    assert widths.lep == pytest.approx(width(invariant_mass(lepton, nu, many[:, 2])), abs=1e-9)
    assert widths.had == pytest.approx(width(invariant_mass(many[:, 0], many[:, 1], many[:, 3])), abs=1e-9)
    assert widths.w == pytest.approx(width(invariant_mass(many[:, 1], many[:, 3])), abs=1e-9)
    assert fit_widths(lepton[:5], nu[:5], many[:5], np.full((5, 4), -1)) == ChiSquareWidths()  # too few: the defaults


def test_widths_with_two_roots_come_from_the_root_the_chi2_chooses():
    rng = np.random.default_rng(1)
    parts, jets = hand_built_event()
    n = 400
    many = jets[None] * (1 + 0.05 * rng.standard_normal((n, 4, 1)))
    lepton = np.repeat(parts["lepton"][None], n, 0)
    wrong = parts["nu"].copy()
    wrong[2] = -wrong[2] + 150.0
    wrong[3] = np.linalg.norm(wrong[:3])
    true_first = rng.uniform(size=n) < 0.5  # the true root is hypothesis 0 in half the events
    hypotheses = np.where(true_first[:, None, None], np.stack([parts["nu"], wrong]), np.stack([wrong, parts["nu"]]))
    truth_jets = np.repeat(np.array([[2, 0, 1, 3]]), n, 0)
    btag, mask = np.tile([1, 0, 1, 0], (n, 1)), np.ones((n, 4), bool)
    with_true = fit_widths(lepton, np.repeat(parts["nu"][None], n, 0), many, truth_jets)
    with_first = fit_widths(lepton, hypotheses[:, 0], many, truth_jets)
    chosen = fit_widths_with_choice(lepton, hypotheses, many, btag, mask, truth_jets)
    # the first hypothesis mixes the true root with one far off the top mass: a wide m(ℓνb); the χ² picks the true
    # root (m(ℓνb) within the jets' 5 % smearing of m_t), so the widths are those of the true neutrino
    assert with_first.lep > 3 * with_true.lep
    assert chosen.lep == pytest.approx(with_true.lep, rel=0.05)
    assert (chosen.had, chosen.w) == (with_true.had, with_true.w)  # the hadronic side has no neutrino


def test_the_second_detector_is_documented_and_worse():
    default, degraded = DETECTORS["default"], DETECTORS["degraded"]
    assert default == DetectorResponse()
    for worse, nominal in (
        (degraded.jets.energy.stochastic, default.jets.energy.stochastic),
        (degraded.jets.energy.constant, default.jets.energy.constant),
        (degraded.met.sqrt_sumet, default.met.sqrt_sumet),
        (degraded.leptons.electron.stochastic, default.leptons.electron.stochastic),
        (degraded.leptons.muon.constant, default.leptons.muon.constant),
    ):  # "20 % worse" (the module docstring)
        assert abs(worse / nominal - 1.2) < 1e-9
    assert (degraded.btag.efficiency_b, degraded.btag.efficiency_c) == (0.77, 0.17)  # the looser working point
    assert DETECTORS["ideal"] == DetectorResponse.ideal()
