"""m(tt̄) of ℓ+jets events per neutrino method (hepgen.validation.neutrino.ttbar_mass) on a hand-built event whose
answer is known: the analytic solution with the true root among its two, a flow whose posterior holds the true
neutrino in most samples, and an event the χ² cannot reconstruct."""

from __future__ import annotations

import numpy as np
import pytest

from hepgen.physics.kinematics import invariant_mass, massless_p4
from hepgen.physics.ttbar_reconstruction import ChiSquareWidths, fit_widths
from hepgen.validation.neutrino.ttbar_mass import chi2_widths, ttbar_mass
from tests.physics.test_ttbar_reconstruction import hand_built_event


def _outputs(n_jets: int = 4) -> tuple[dict, float]:
    parts, jets = hand_built_event()
    expected = invariant_mass(*(parts[k] for k in ("b_lep", "lepton", "nu", "b_had", "q1", "q2")))
    nu = parts["nu"][:3]
    wrong = nu + np.array([0.0, 0.0, 180.0])
    # 5 of 8 samples exact: whatever the other three give, the 4th and 5th of the sorted masses are exact
    samples = np.stack([nu] * 5 + [wrong, -wrong, 0.5 * wrong])[None]
    mask = np.arange(4)[None] < n_jets
    outputs = {
        "lepton_p4": parts["lepton"][None],
        "jets_p4": jets[None] * mask[..., None],
        "jets_btag": np.array([[1.0, 0.0, 1.0, 0.0]]),
        "jets_mask": mask,
        "parton_jets": np.array([[2, 0, 1, 3]]),
        "point": np.array([[nu[0], nu[1], wrong[2]]]),  # the analytic file's point: MET and one root ...
        "analytic_roots": np.array([[wrong[2], nu[2]]]),  # ... the other root is the true pz
        "samples": samples,
    }
    return outputs, expected


def test_each_methods_ttbar_mass_is_that_of_the_true_particles_when_its_neutrino_is_the_true_one():
    outputs, expected = _outputs()
    analytic = {k: v for k, v in outputs.items() if k != "samples"}
    widths = ChiSquareWidths()
    assert ttbar_mass("analytic", analytic, widths)[0] == pytest.approx(expected, rel=1e-9)  # the χ² picks the root
    assert ttbar_mass("flow", outputs, widths)[0] == pytest.approx(expected, rel=1e-9)  # the median of the samples
    point_only = {**analytic, "point": outputs["samples"][:, 5]}  # a point estimate that is wrong: another mass
    assert abs(ttbar_mass("flow mode", point_only, widths)[0] - expected) > 10.0
    three_jets, _ = _outputs(n_jets=3)
    assert np.isnan(ttbar_mass("flow", three_jets, widths)[0]) and np.isnan(
        ttbar_mass("analytic", three_jets, widths)[0]
    )


def test_a_flows_widths_are_fitted_with_one_posterior_sample_the_hypothesis_its_chi2_sees():
    rng = np.random.default_rng(1)
    one, _ = _outputs()
    n = 200
    many = {k: np.repeat(v, n, axis=0) for k, v in one.items()}
    many["jets_p4"] = many["jets_p4"] * (1 + 0.1 * rng.standard_normal((n, 4, 1)))  # 10 % jet energy smearing
    many["samples"] = many["samples"].copy()
    many["samples"][:, 0, 2] += rng.normal(0.0, 60.0, n)  # the first sample: pz 60 GeV off, event by event
    first = fit_widths(many["lepton_p4"], massless_p4(many["samples"][:, 0]), many["jets_p4"], many["parton_jets"])
    median_nu = fit_widths(many["lepton_p4"], massless_p4(many["samples"][:, 4]), many["jets_p4"], many["parton_jets"])
    # the fit sees the first sample: its m(ℓνb) spread is wider than the exact neutrino's (jet smearing alone)
    assert chi2_widths("flow", many) == first and first.lep > 1.5 * median_nu.lep
    assert chi2_widths("flow", one) == ChiSquareWidths()  # one event: too few correct assignments, the defaults
