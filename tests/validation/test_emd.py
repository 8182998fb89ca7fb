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
