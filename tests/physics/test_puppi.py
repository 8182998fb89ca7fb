"""PUPPI weights on a hand-made event, every number computed by hand from the definitions (CMSSW PuppiContainer)."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from hepgen.errors import HepgenInputError
from hepgen.physics.puppi import PUPPI_RUN2, PuppiRegion, PuppiTune, puppi_alpha, puppi_jet_weights, puppi_weights

#               A     D     P1    P2    P3     N1    N2   N3    N4    N5
PT = np.array([10.0, 5.0, 1.0, 1.0, 1.0, 5.0, 5.0, 1.0, 0.25, 110.0])
ETA = np.array([0.0, 1.9, 0.3, 1.9, -0.35, 0.1, 1.0, 0.3, 0.3, 1.0])
PHI = np.array([0.0, 0.0, 0.0, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
TRACK = np.array([True, True, True, True, True, False, False, False, False, False])
HARD = np.array([True, True, False, False, False, False, False, False, False, False])
N_PV = 3


def test_alpha_by_hand():
    # P1: only A within 0.4, at ΔR 0.3: ln(10²/0.09) = 7.01312; P2: D at 0.2: ln(25/0.04) = 6.43775;
    # P3: A at 0.35: ln(100/0.1225) = 6.70481; N2: no hard track within 0.4 → 0; N1: A at 0.1: ln(10⁴) = 9.21034
    alpha = puppi_alpha(PT, ETA, PHI, TRACK & HARD, 0.4)
    assert alpha[[2, 3, 4, 5, 6]] == pytest.approx([7.01312, 6.43775, 6.70481, 9.21034, 0.0], abs=1e-5)


def test_weights_by_hand():
    # pileup reference (pileup tracks with |η| < 2.0, pT > 0.1): median of (6.43775, 6.70481, 7.01312) = 6.70481;
    # RMS over the values <= median:
    # √(((6.43775 − 6.70481)² + 0) / 2) = 0.188842
    # N1: χ² = (9.21034 − 6.70481)² / 0.188842² = 176 → w = 1.0000
    # N2: α = 0 below the median → 0;  N3: χ² = (0.30831 / 0.188842)² = 2.66535 → w = erf(√(χ²/2)) = 0.897445,
    #     w·pT = 0.897 >= 0.2 + 0.015·3 = 0.245 kept;  N4: same α, w·pT = 0.224 < 0.245 → 0
    # N5: α = 0 → w = 0, but pT = 110 > 20: w = clamp((110 − 20)/180, 0, 1) = 0.5
    # tracks: A, D from the hard vertex → 1; P1–P3 → 0
    weights = puppi_weights(PT, ETA, PHI, TRACK, HARD, N_PV)
    expected = [1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.897445, 0.0, 0.5]
    assert weights == pytest.approx(expected, abs=1e-6)


def test_weights_ignore_the_order_of_the_particles():
    order = np.random.default_rng(0).permutation(len(PT))
    weights = puppi_weights(PT[order], ETA[order], PHI[order], TRACK[order], HARD[order], N_PV)
    np.testing.assert_array_equal(weights, puppi_weights(PT, ETA, PHI, TRACK, HARD, N_PV)[order])


def test_forward_neutrals_use_all_neighbours_and_the_scaled_reference():
    # the same event moved to 2.5 < |η| < 3 for N3 only is weighted with every particle as neighbour; here its
    # neighbours within 0.4 are none (nothing else forward) → α = 0 → w = 0 (and pT 1 < 1.7 + 0.08·3 anyway)
    eta = ETA.copy()
    eta[7] = 2.8
    assert puppi_weights(PT, eta, PHI, TRACK, HARD, N_PV)[7] == 0.0
    assert PUPPI_RUN2.regions[1] == PuppiRegion(3.0, 0.4, 0.5, 1.7, 0.08, 0.90, 1.20, False)


def test_bad_tune_is_named():
    with pytest.raises(HepgenInputError, match="cone"):
        PuppiTune(regions=(PuppiRegion(2.5, cone=0.0),))


def test_jet_weights_treat_each_jet_as_its_event_and_read_the_association_fields():
    one = {"pt": PT, "eta": ETA, "phi": PHI, "is_track": TRACK, "from_hard_vertex": HARD | ~TRACK}
    jets = ak.zip({k: ak.Array([v.tolist(), v[:7].tolist()]) for k, v in one.items()})
    weights = puppi_jet_weights(jets, np.array([N_PV, 10]))
    np.testing.assert_array_equal(weights[0], puppi_weights(PT, ETA, PHI, TRACK, HARD, N_PV))
    np.testing.assert_array_equal(weights[1], puppi_weights(PT[:7], ETA[:7], PHI[:7], TRACK[:7], HARD[:7], 10))
