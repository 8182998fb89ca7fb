"""The dilepton study's analysis scripts (analyses/dineutrino/): the unfolded-precision study on methods whose answer
is known (a sharp, a smeared and a half-answering reconstruction of the same events), and the choice rule of the
classical methods' tuning."""

from __future__ import annotations

import numpy as np

from hepgen.validation.unfolding_study import compare_unfolded_precision, precision_gains
from tests.analyses import analysis_script


def _sample(n: int, rng: np.random.Generator) -> dict:
    """method → (truth, reco) observables of n events: m(tt̄) falling from 350 GeV, cos θ⁺ uniform."""
    truth = {"m_ttbar": 350.0 + rng.exponential(200.0, n), "cos_theta_plus": rng.uniform(-1, 1, n)}
    sharp = {k: v * (1 + 0.02 * rng.normal(size=n)) if k == "m_ttbar" else v for k, v in truth.items()}
    smeared = {
        "m_ttbar": truth["m_ttbar"] * (1 + 0.2 * rng.normal(size=n)),
        "cos_theta_plus": np.clip(truth["cos_theta_plus"] + 0.3 * rng.normal(size=n), -1, 1 - 1e-9),
    }
    half = {k: np.where(np.arange(n) % 2 == 0, v, np.nan) for k, v in sharp.items()}
    return {"flow": (truth, sharp), "smeared": (truth, smeared), "half": (truth, half)}


def test_a_smeared_or_half_answering_method_unfolds_to_a_less_precise_spectrum():
    binnings = analysis_script("dineutrino", "unfolded_precision").BINNINGS
    rng = np.random.default_rng(3)
    samples = (_sample(20_000, rng), _sample(4_000, rng), _sample(6_000, rng))
    results = compare_unfolded_precision(*samples, binnings, n_pseudo=60, n_choice=30)
    gains = precision_gains(results, "flow")
    # hand computation for the half-answering method: half the events, so √2 ≈ 1.41 the precision of the sharp one in
    # every bin (the pseudo-experiments' spread is known to ~10 % at 60 of them)
    assert 1.2 < gains["m_ttbar"]["half"]["mean"] < 1.65, gains
    # a 20 % m(tt̄) resolution against bins 20–30 % wide migrates a third of the events: a clearly larger error
    assert gains["m_ttbar"]["smeared"]["mean"] > 1.3 and gains["cos_theta_plus"]["smeared"]["mean"] > 1.3, gains
    flow = results["m_ttbar"]["flow"]
    assert min(flow["purity"]) > 0.85 and min(flow["stability"]) > 0.85 and flow["iterations"] >= 1


def test_the_classical_settings_are_chosen_by_resolution_among_those_that_answer_nearly_as_often():
    tune = analysis_script("dineutrino", "tune_classical")
    rows = [
        {"settings": {"a": 1}, "answered": 0.90, "m_ttbar_resolution": 0.10},  # answers too few: not eligible
        {"settings": {"a": 2}, "answered": 0.95, "m_ttbar_resolution": 0.14},
        {"settings": {"a": 3}, "answered": 0.94, "m_ttbar_resolution": 0.12},
    ]
    assert tune.choose(rows)["settings"] == {"a": 3}
