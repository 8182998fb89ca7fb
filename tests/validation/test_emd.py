"""The energy mover's distance against hand computations: identical clouds, one particle moved, pT split between two,
missing pT, the φ wrap-around."""

from __future__ import annotations

import math

import pytest

from hepgen.validation.pileup.emd import energy_movers_distance


def emd(cloud, truth, radius=1.0):
    (pt, eta, phi), (tpt, teta, tphi) = (list(zip(*c, strict=True)) if c else ([], [], []) for c in (cloud, truth))
    return energy_movers_distance(pt, eta, phi, tpt, teta, tphi, radius=radius)


def test_the_energy_movers_distance_of_hand_built_clouds():
    jet = [(60.0, 0.0, 0.0), (40.0, 0.5, 0.0)]
    assert emd(jet, jet) == pytest.approx(0.0, abs=1e-12)
    assert emd([(100.0, 0.0, 0.0)], [(100.0, 0.3, 0.0)]) == pytest.approx(0.3)  # 100 GeV moved 0.3, per 100 GeV
    assert emd([(100.0, 0.0, 0.0)], [(100.0, 0.3, 0.0)], radius=0.4) == pytest.approx(0.75)  # in units of R
    assert emd([(100.0, 0.0, 0.0)], jet) == pytest.approx(40 * 0.5 / 100)  # 40 GeV moved 0.5
    assert emd([(50.0, 0.0, 0.0)], [(100.0, 0.0, 0.0)]) == pytest.approx(0.5)  # half the pT missing
    assert emd([(150.0, 0.0, 0.0)], [(100.0, 0.0, 0.0)]) == pytest.approx(0.5)  # half again too much
    across = [(100.0, 0.0, math.pi - 0.1)]
    assert emd(across, [(100.0, 0.0, -math.pi + 0.1)]) == pytest.approx(0.2)  # φ wraps around
    assert emd([], jet) == 1.0
    # a diverged sampler's cloud has no distance (as it has no observables); huge but sane pT scales away exactly
    assert math.isnan(emd([(8.8e12, 0.0, 0.0), (40.0, 0.5, 0.0)], jet))
    assert math.isnan(emd([(float("nan"), 0.0, 0.0)], jet))
    big = [(6e4, 0.0, 0.0), (3e4, 0.5, 0.0)]
    assert emd(big, [(p * 1.0001, e, f) for p, e, f in big]) == pytest.approx(1e-4 / 1.0001, rel=1e-6)


def test_cloud_distances_pair_each_sample_with_its_jets_truth():
    import awkward as ak
    import numpy as np

    from hepgen.validation.pileup.emd import cloud_distances

    truth = ak.Array([[{"pt": 100.0, "eta": 0.0, "phi": 0.0}], [{"pt": 50.0, "eta": 1.0, "phi": 2.0}]])
    samples = ak.Array(
        [
            [{"pt": 100.0, "eta": 0.0, "phi": 0.0}],  # jet 0: exact
            [{"pt": 100.0, "eta": 0.2, "phi": 0.0}],  # jet 0: moved 0.2
            [{"pt": 25.0, "eta": 1.0, "phi": 2.0}],  # jet 1: half missing
            [],  # jet 1: nothing
        ]
    )
    np.testing.assert_allclose(cloud_distances(samples, truth, per_truth=2), [[0.0, 0.2], [0.5, 1.0]], atol=1e-12)
