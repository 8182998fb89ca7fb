"""The window mode of sampled posteriors, against hand computations."""

import numpy as np
import pytest

from hepgen.validation.point_estimates import window_mode


def test_window_mode_by_hand():
    # h = 1: the scores of 0, 1, 2, 10 are 1 + e^-½ + e^-2 = 1.74, 1 + 2 e^-½ = 2.21, 1.74 and 1.00 → the sample 1
    assert window_mode(np.array([[0.0, 1.0, 2.0, 10.0]]), 1.0)[0] == 1.0
    # a two-peaked posterior: 30 samples near 0, 20 near 100; the median (≈ 1) would sit at the edge of the big peak,
    # the window mode at its centre; a window far wider than the gap scores every sample alike but for a slight
    # preference for the centre of all samples: the big peak's sample nearest it
    rng = np.random.default_rng(0)
    s = np.concatenate([rng.normal(0, 3, 30), rng.normal(100, 3, 20)])[None]
    assert abs(window_mode(s, 5.0)[0]) < 3
    assert window_mode(s, 500.0)[0] == s[0, :30].max()
    # chunks change nothing
    many = rng.normal(size=(700, 64))
    np.testing.assert_array_equal(window_mode(many, 0.5, chunk=100), window_mode(many, 0.5, chunk=1000))


def test_window_mode_refuses_bad_input():
    with pytest.raises(ValueError, match="positive"):
        window_mode(np.zeros((2, 3)), 0.0)
    with pytest.raises(ValueError, match=r"\[B, S\]"):
        window_mode(np.zeros(3), 1.0)
