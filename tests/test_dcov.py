"""Distance covariance: exact value, independence ≈ 0, dependence large, symmetry, gradients."""

import math

import numpy as np
import pytest
import torch

from fairnb.errors import ParameterError
from fairnb.metrics import dcov2, posterior_dcov2




def brute_force_dcov2(x: np.ndarray, y: np.ndarray) -> float:
    """Székely 2007, Eq. 2.8, with explicit double loops."""
    n = len(x)
    a = np.array([[np.linalg.norm(x[i] - x[j]) for j in range(n)] for i in range(n)])
    b = np.array([[np.linalg.norm(y[i] - y[j]) for j in range(n)] for i in range(n)])
    total = 0.0
    for i in range(n):
        for j in range(n):
            big_a = a[i, j] - a[i].mean() - a[:, j].mean() + a.mean()
            big_b = b[i, j] - b[i].mean() - b[:, j].mean() + b.mean()
            total += big_a * big_b
    return total / n**2


def test_matches_brute_force():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(17, 3)), rng.normal(size=(17, 2))
    assert float(dcov2(torch.tensor(x), torch.tensor(y))) == pytest.approx(brute_force_dcov2(x, y), rel=1e-10)


def test_one_dimensional_and_one_hot_inputs():
    rng = np.random.default_rng(1)
    x = rng.normal(size=12)
    s = rng.integers(0, 2, size=12)
    onehot = np.eye(2)[s]
    expected = brute_force_dcov2(x[:, None], onehot)
    assert float(dcov2(torch.tensor(x), torch.tensor(onehot))) == pytest.approx(expected, rel=1e-10)


def test_independent_small_dependent_large_and_symmetric():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(800, 2, generator=gen, dtype=torch.float64)
    independent = torch.randn(800, 2, generator=gen, dtype=torch.float64)
    dependent = x**2 + 0.1 * torch.randn(800, 2, generator=gen, dtype=torch.float64)
    small, large = float(dcov2(x, independent)), float(dcov2(x, dependent))
    assert small < 0.01
    assert large > 20 * small
    assert float(dcov2(dependent, x)) == pytest.approx(large, rel=1e-12)


def test_zero_for_constant_and_gradient_finite():
    x = torch.randn(30, 4, dtype=torch.float64, requires_grad=True)
    assert float(dcov2(x.detach(), torch.ones(30, 1, dtype=torch.float64))) == pytest.approx(0.0, abs=1e-15)
    y = torch.cat([x[:15].detach(), x[:15].detach()])  # ties: zero distances off the diagonal
    value = dcov2(x, y)
    value.backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert torch.autograd.gradcheck(lambda a: dcov2(a, y), (x.detach().clone().requires_grad_(),))


def test_bad_shapes_raise():
    with pytest.raises(ParameterError, match="row counts differ"):
        dcov2(torch.zeros(5, 2), torch.zeros(4, 2))
    with pytest.raises(ParameterError, match="shape"):
        dcov2(torch.zeros(5, 2, 2), torch.zeros(5, 2))


def test_posterior_estimator_hand_computed():
    # two rows, one per group, 1-D posteriors N(0, 1) and N(1, 1): K(i, j) = N(μi − μj; 0, 2)
    mean = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    logvar = torch.zeros(2, 1, dtype=torch.float64)
    s = torch.tensor([0, 1])
    k0 = 1 / (math.sqrt(2 * math.pi * 2) + 1e-10)
    k1 = math.exp(-0.25) / (math.sqrt(2 * math.pi * 2) + 1e-10)
    k_all = (2 * k0 + 2 * k1) / 4
    per_group = k_all + k0 - 2 * (k0 + k1) / 2
    expected = 2 * 0.25 * per_group
    assert float(posterior_dcov2(mean, logvar, s, 2)) == pytest.approx(expected, rel=1e-12)
    assert float(posterior_dcov2(mean, logvar, s, 2, nominal_batch=4)) == pytest.approx(expected / 2, rel=1e-12)
    # identical posteriors in both groups → no dependence
    same = torch.zeros(4, 1, dtype=torch.float64)
    assert float(posterior_dcov2(same, same, torch.tensor([0, 1, 0, 1]), 2)) == pytest.approx(0.0, abs=1e-15)


def test_chunked_overlaps_match_dense_values_and_gradients():
    from fairnb.metrics.dcov import _ChunkedOverlaps, _gaussian_overlaps

    gen = torch.Generator().manual_seed(3)
    mean = torch.randn(300, 3, dtype=torch.float64, generator=gen).requires_grad_()
    var = (torch.rand(300, 3, dtype=torch.float64, generator=gen) + 0.2).requires_grad_()
    chunked, dense = _ChunkedOverlaps.apply(mean, var), _gaussian_overlaps(mean, var)
    assert torch.allclose(chunked, dense, rtol=1e-12, atol=0)
    weights = torch.randn(300, 300, dtype=torch.float64, generator=gen)
    g_chunked = torch.autograd.grad((chunked * weights).sum(), (mean, var))
    g_dense = torch.autograd.grad((dense * weights).sum(), (mean, var))
    for a, b in zip(g_chunked, g_dense):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-14)
    small = (mean[:12, :2].detach().clone().requires_grad_(), var[:12, :2].detach().clone().requires_grad_())
    assert torch.autograd.gradcheck(_ChunkedOverlaps.apply, small)
