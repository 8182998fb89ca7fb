"""The smeared kinematic reconstruction (hepgen.physics.dilepton_kinreco): on hand-built on-shell events without
smearing it is the ellipse method on the pairing it prefers and finds the true neutrinos; a smearing keeps the mass
and turns the direction by exactly the drawn angle; pairs beyond the m(ℓb) cut are never tried; two b-tags beat
one; and on simulated events the share of answered events rises with the number of smearings."""

from __future__ import annotations

import numpy as np
import pytest

from hepgen.errors import HepgenInputError
from hepgen.physics.dilepton_kinreco import MLB_EDGES, SmearingTemplates, _smear, kinematic_reconstruction
from hepgen.physics.dilepton_neutrinos import ellipse_method
from hepgen.physics.kinematics import invariant_mass
from hepgen.physics.ttbar_reconstruction import TOP_MASS
from tests.physics.test_dilepton_neutrinos import TOP, W, dilepton_events

#: Templates that do not smear: energy ratio 1, angle 0, the on-shell W mass, a flat m(ℓb) density.
EXACT = SmearingTemplates(
    jet_energy_ratio=np.ones(1),
    jet_angle=np.zeros(1),
    lepton_energy_ratio=np.ones(1),
    lepton_angle=np.zeros(1),
    w_masses=np.full(1, W),
    mlb_density=np.ones(len(MLB_EDGES) - 1),
)


def _inputs(e: dict[str, np.ndarray], extra_jet: np.ndarray | None = None, btag=(1.0, 1.0)):
    jets = [e["b"], e["bbar"]] + ([] if extra_jet is None else [extra_jet])
    flags = list(btag) + ([] if extra_jet is None else [0.0])
    n = len(e["b"])
    return (
        np.stack([e["lepton"], e["leptonbar"]], axis=1),
        np.stack(jets, axis=1),
        np.tile(flags, (n, 1)),
        np.ones((n, len(jets)), bool),
        e["met"],
    )


def test_without_smearing_it_is_the_ellipse_method_on_its_pairing_and_finds_the_truth():
    e = dilepton_events(300, seed=3)
    assert TOP == TOP_MASS  # the hand-built tops are on the mass the reconstruction assumes
    result = kinematic_reconstruction(*_inputs(e), EXACT, trials=1)
    inside = (invariant_mass(e["lepton"], e["b"]) < 180) & (invariant_mass(e["leptonbar"], e["bbar"]) < 180)
    assert result.answered[inside].all() and (result.n_btags[result.answered] == 2).all()
    for order in ((0, 1), (1, 0)):  # the answer is the ellipse method's for the pairing the reconstruction chose
        rows = np.flatnonzero(result.answered & (result.b_index[:, 0] == order[0]))
        jets = _inputs(e)[1]
        b, bbar = jets[rows, order[0]], jets[rows, order[1]]
        ellipse = ellipse_method(b, e["lepton"][rows], bbar, e["leptonbar"][rows], e["met"][rows], w_mass=W)
        np.testing.assert_allclose(result.nu[rows], ellipse.chosen_nu, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(result.nubar[rows], ellipse.chosen_nubar, rtol=1e-9, atol=1e-9)
    # the true pair is one of up to four ellipse solutions; the smallest-m(tt̄) rule and the flat m(ℓb) weight pick it
    # (and the right pairing) in about half the events: measured 0.53 at this seed (binomial ±0.03; 4σ margin)
    found = np.linalg.norm(result.nu - e["nu"][:, :3], axis=1) < 1e-3 * np.linalg.norm(e["nu"][:, :3], axis=1)
    assert found[result.answered].mean() > 0.4


def test_a_smearing_keeps_the_mass_scales_the_energy_and_turns_by_the_angle():
    rng = np.random.default_rng(1)
    p4 = dilepton_events(50, seed=1)["b"]  # massive (4.8 GeV) b quarks
    ratio, angle, azimuth = rng.uniform(0.7, 1.3, 50), rng.uniform(0.0, 0.3, 50), rng.uniform(0, 2 * np.pi, 50)
    smeared = _smear(p4, ratio, angle, azimuth)
    np.testing.assert_allclose(smeared[:, 3], ratio * p4[:, 3], rtol=1e-12)
    np.testing.assert_allclose(invariant_mass(smeared), invariant_mass(p4), rtol=1e-6)
    cos = (
        (smeared[:, :3] * p4[:, :3]).sum(1) / np.linalg.norm(smeared[:, :3], axis=1) / np.linalg.norm(p4[:, :3], axis=1)
    )
    np.testing.assert_allclose(np.arccos(np.clip(cos, -1, 1)), angle, atol=1e-6)


def test_pairs_beyond_the_mlb_cut_are_never_tried_and_two_b_tags_beat_one():
    e = dilepton_events(200, seed=5)
    everything = kinematic_reconstruction(*_inputs(e), EXACT, trials=1, mlb_max=1e4)
    nothing = kinematic_reconstruction(*_inputs(e), EXACT, trials=1, mlb_max=1.0)
    assert everything.answered.mean() > 0.9 and not nothing.answered.any()
    # a third, untagged jet (the b quark of the event before, a plausible jet): the answered events keep the two tags
    extra = np.roll(e["b"], 1, axis=0)
    tagged = kinematic_reconstruction(*_inputs(e, extra), EXACT, trials=1)
    assert (tagged.n_btags[tagged.answered] == 2).all() and not np.isin(tagged.b_index, [2]).any()
    # with only one of the b quarks tagged, the tagged jet is in every chosen pair
    one = kinematic_reconstruction(*_inputs(e, extra, btag=(1.0, 0.0)), EXACT, trials=1)
    assert (one.n_btags[one.answered] == 1).all() and (one.b_index[one.answered] == 0).any(axis=1).all()


def test_the_answered_share_rises_with_the_smearings_on_simulated_events():
    from hepgen.io import read
    from hepgen.tasks.dineutrino.features import dineutrino_arrays
    from hepgen.tasks.dineutrino.kinreco import kinreco_of_arrays, templates_from_events

    templates = templates_from_events(read("data/ttbar_dilepton.root", "hepgen-ttbar-dilepton"))
    assert 1.0 < np.median(templates.jet_energy_ratio) < 1.2  # a jet's energy below its b quark's (neutrinos, FSR)
    arrays = dineutrino_arrays(read("data/ttbar_dilepton_test.root", "hepgen-ttbar-dilepton", entry_stop=600))
    answered = {n: kinreco_of_arrays(arrays, templates, seed=2, trials=n).answered.mean() for n in (1, 10, 100)}
    # measured on these 600 independent events: 0.63, 0.89, 0.96 (binomial ±0.02 each)
    assert answered[1] < answered[10] - 0.1 and answered[10] < answered[100] and answered[100] > 0.9, answered
    with pytest.raises(HepgenInputError, match="trials"):
        kinreco_of_arrays(arrays, templates, seed=2, trials=0)
