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


def test_the_variants_by_hand_and_all_at_once():
    # N3 of the hand example (χ² = 2.66535 with the RMS 0.188842): with the RMS scaled by 0.5, χ² = 10.6614 →
    # w = erf(√(χ²/2)) = 0.998906; with 2, χ² = 0.666338 → w = 0.585668, and w·pT = 0.586 >= 0.245 still kept;
    # a neutral pT cut of 1 GeV + 0.045 drops N3 (w·pT 0.897 < 1.045); a median scaled by 0.8 makes N2's α = 0 still
    # fall below it (weight 0) and N3's χ² = ((7.01312 − 5.36385)/0.188842)² = 76.3 → w = 1
    from dataclasses import replace

    from hepgen.physics.puppi import PUPPI_VARIANTS, puppi_weights_of_tunes

    def central(**changes):
        return replace(PUPPI_RUN2, regions=(replace(PUPPI_RUN2.regions[0], **changes), *PUPPI_RUN2.regions[1:]))

    tunes = (central(rms_scale=0.5), central(rms_scale=2.0), central(min_neutral_pt=1.0), central(median_scale=0.8))
    weights = puppi_weights_of_tunes(PT, ETA, PHI, TRACK, HARD, N_PV, tunes)
    assert weights[:, 7] == pytest.approx([0.998906, 0.585668, 0.0, 1.0], abs=1e-6)
    assert np.all(weights[:, 6] == 0) and np.all(weights[:, :2] == 1) and np.all(weights[:, 2:5] == 0)
    # computing every variant at once equals computing each alone; the Run-2 tune is one of the variants
    for tune, row in zip(tunes, weights, strict=True):
        np.testing.assert_array_equal(row, puppi_weights(PT, ETA, PHI, TRACK, HARD, N_PV, tune))
    assert PUPPI_RUN2 in PUPPI_VARIANTS and len(set(PUPPI_VARIANTS)) == len(PUPPI_VARIANTS)
