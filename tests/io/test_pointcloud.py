import awkward as ak
import numpy as np
import pytest
import torch

from hepgen.io import PointCloud, concatenate_clouds


def make_cloud(seed: int = 0, B: int = 6, N: int = 5, F: int = 3) -> PointCloud:
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, N + 1, B)
    mask = np.arange(N)[None, :] < counts[:, None]
    values = rng.normal(size=(B, N, F)).astype(np.float32) * mask[..., None]
    return PointCloud(values, mask, ("pt", "eta", "phi")[:F])


def test_shapes_counts_and_columns():
    cloud = make_cloud()
    assert cloud.values.dtype == np.float32 and cloud.mask.dtype == np.bool_
    assert (cloud.n_events, cloud.max_length, cloud.n_features) == (6, 5, 3)
    np.testing.assert_array_equal(cloud.counts, cloud.mask.sum(1))
    np.testing.assert_array_equal(cloud["eta"], cloud.values[:, :, 1])
    with pytest.raises(KeyError, match="features are"):
        cloud["energy"]
    cloud.check_padding()


def test_validation_errors():
    values = np.zeros((2, 3, 2), np.float32)
    with pytest.raises(ValueError, match="mask shape"):
        PointCloud(values, np.zeros((2, 4), bool), ("a", "b"))
    with pytest.raises(ValueError, match="2 feature columns"):
        PointCloud(values, np.zeros((2, 3), bool), ("a",))
    with pytest.raises(TypeError, match="bool"):
        PointCloud(values, np.zeros((2, 3), np.int8), ("a", "b"))
    with pytest.raises(ValueError, match="unique"):
        PointCloud(values, np.zeros((2, 3), bool), ("a", "a"))
    bad = values.copy()
    bad[0, 2, 0] = 1.0
    with pytest.raises(ValueError, match="padding"):
        PointCloud(bad, np.zeros((2, 3), bool), ("a", "b")).check_padding()


def test_event_selection():
    cloud = make_cloud()
    one = cloud[2]
    assert isinstance(one, PointCloud) and one.n_events == 1
    np.testing.assert_array_equal(one.values[0], cloud.values[2])
    np.testing.assert_array_equal(cloud[-1].values[0], cloud.values[-1])
    np.testing.assert_array_equal(cloud[1:4].mask, cloud.mask[1:4])
    np.testing.assert_array_equal(cloud[[0, 5]].values, cloud.values[[0, 5]])
    keep = cloud.counts > 0
    np.testing.assert_array_equal(cloud[keep].counts, cloud.counts[keep])
    with pytest.raises(IndexError):
        cloud[6]
    with pytest.raises(IndexError, match="boolean"):
        cloud[np.ones(3, bool)]


def test_concatenate_pads_to_longest():
    a, b = make_cloud(0, B=3, N=4), make_cloud(1, B=2, N=6)
    c = concatenate_clouds([a, b])
    assert c.values.shape == (5, 6, 3)
    np.testing.assert_array_equal(c.counts, np.concatenate([a.counts, b.counts]))
    np.testing.assert_array_equal(c.values[:3, :4], a.values)
    assert not c.mask[:3, 4:].any() and not c.values[:3, 4:].any()
    with pytest.raises(ValueError, match="features"):
        concatenate_clouds([a, make_cloud(F=2)])


def test_to_torch_and_awkward_round_trip():
    cloud = make_cloud()
    values, mask = cloud.to_torch("cpu")
    assert values.dtype == torch.float32 and mask.dtype == torch.bool
    assert tuple(values.shape) == (6, 5, 3)
    jagged = cloud.to_awkward()
    np.testing.assert_array_equal(ak.num(jagged), cloud.counts)
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(jagged.pt)), cloud["pt"][cloud.mask])


def test_padded_to_and_with_features():
    cloud = make_cloud()
    wide = cloud.padded_to(9)
    assert wide.max_length == 9
    np.testing.assert_array_equal(wide.counts, cloud.counts)
    with pytest.raises(ValueError, match="never drops"):
        cloud.padded_to(2)
    sub = cloud.with_features(["phi", "pt"])
    np.testing.assert_array_equal(sub["pt"], cloud["pt"])
    assert sub.features == ("phi", "pt")
