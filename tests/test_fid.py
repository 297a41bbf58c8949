"""Tabular FID: zero on identical sets, symmetric, grows with a shift, noise reference."""

import numpy as np
import pytest

from fairnb.errors import ParameterError
from fairnb.metrics import frechet_distance, maxabs_scale, noise_reference


def _data(seed=0, n=500, d=4):
    return np.random.default_rng(seed).normal(size=(n, d)) * [1, 2, 3, 4] + 5


def test_identical_sets_have_zero_fid():
    x = _data()
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)


def test_symmetric_with_fixed_scale():
    x, y = _data(0), _data(1) + 0.5
    scale = maxabs_scale(x)
    assert frechet_distance(x, y, scale) == pytest.approx(frechet_distance(y, x, scale), rel=1e-6)


def test_mean_shift_by_hand():
    # equal covariances: FID = squared distance of the scaled means
    x = _data(0)
    scale = np.ones(4)
    shifted = x + np.array([1.0, 0, 0, 2.0])
    assert frechet_distance(x, shifted, scale) == pytest.approx(1.0 + 4.0, rel=1e-6)


def test_one_dimensional_gaussians_by_hand():
    # 1-d: FID = (m1 - m2)^2 + (s1 - s2)^2
    rng = np.random.default_rng(3)
    a = rng.normal(0, 1, size=(200_000, 1))
    b = rng.normal(1, 2, size=(200_000, 1))
    assert frechet_distance(a, b, np.ones(1)) == pytest.approx(1.0 + 1.0, rel=0.02)


def test_noise_reference_grows_with_sigma():
    x = _data(seed=7)  # not the noise seed: noise must be independent of the data
    small, large = noise_reference(x, 0.12), noise_reference(x, 0.25)
    assert 0 < small < large
    # independent noise adds σ² to each (nearly independent) scaled variance v:
    # FID ≈ Σ (sqrt(v + σ²) - sqrt(v))²
    v = (x / maxabs_scale(x)).var(axis=0)
    expected = np.sum((np.sqrt(v + 0.25 ** 2) - np.sqrt(v)) ** 2)
    assert large == pytest.approx(expected, rel=0.15)


def test_bad_inputs():
    with pytest.raises(ParameterError, match="columns"):
        frechet_distance(_data(), _data()[:, :3])
    with pytest.raises(ParameterError, match="finite"):
        frechet_distance(np.full((3, 2), np.nan), np.ones((3, 2)))
    with pytest.raises(ParameterError, match="sigma"):
        noise_reference(_data(), -1.0)
