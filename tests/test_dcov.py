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


def _posterior_case(n, d, groups, dtype=torch.float64, seed=0, spread=0.5, offset=-1.0):
    gen = torch.Generator().manual_seed(seed)
    mean = torch.randn(n, d, dtype=dtype, generator=gen).requires_grad_()
    logvar = (torch.randn(n, d, dtype=dtype, generator=gen) * spread + offset).requires_grad_()
    group = torch.randint(0, groups, (n,), generator=gen)
    return mean, logvar, group


@pytest.fixture(params=["one block", "many blocks"])
def slab(request, monkeypatch):
    """Run a test with the CPU's default slab and with slabs of a few rows (ragged row blocks)."""
    from fairnb.metrics import dcov

    if request.param == "many blocks":
        monkeypatch.setitem(dcov._SLAB_ELEMENTS, "cpu", 1)  # the slab then holds max(1, n) elements
    return request.param


@pytest.mark.parametrize(("spread", "offset"), [(0.5, -1.0), (0.5, -6.0), (8.0, 0.0), (3.0, -30.0)])
def test_posterior_estimator_equals_reference(slab, spread, offset):
    # the fast estimator against the previous implementation: values and gradients, float64, in the
    # usual regime, with small posteriors, with variances spanning many orders of magnitude (one
    # logarithm per dimension) and with posteriors so narrow that the 1e-10 dominates the normaliser
    from fairnb.metrics.dcov import _posterior_dcov2_reference

    mean, logvar, group = _posterior_case(203, 8, 3, spread=spread, offset=offset)
    fast = posterior_dcov2(mean, logvar, group, 3, nominal_batch=256)
    reference = _posterior_dcov2_reference(mean, logvar, group, 3, nominal_batch=256)
    assert fast.item() == pytest.approx(reference.item(), rel=1e-10)
    for ours, theirs in zip(torch.autograd.grad(fast, (mean, logvar)), torch.autograd.grad(reference, (mean, logvar))):
        scale = theirs.abs().max()
        assert torch.allclose(ours, theirs, rtol=1e-8, atol=1e-10 * float(scale) + 1e-300)


def test_posterior_estimator_groups_absent_whole_or_beyond_n_groups(slab):
    from fairnb.metrics.dcov import _posterior_dcov2_reference

    mean, logvar, _ = _posterior_case(60, 3, 2)
    cases = [(torch.tensor([0, 2] * 30), 4),  # groups 1 and 3 empty
             (torch.zeros(60, dtype=torch.long), 2),  # one group holds every row → 0
             (torch.tensor([0, 1, 5] * 20), 2),  # code 5 beyond n_groups counts in "all" only
             (torch.tensor([0, 1, 2] * 20), None)]  # n_groups from the codes
    for group, n_groups in cases:
        fast = posterior_dcov2(mean, logvar, group, n_groups)
        reference = _posterior_dcov2_reference(mean, logvar, group, n_groups)
        assert fast.item() == pytest.approx(reference.item(), rel=1e-10, abs=1e-300)
    assert posterior_dcov2(mean, logvar, torch.zeros(60, dtype=torch.long), 2).item() == 0.0


def test_posterior_estimator_gradcheck(slab):
    from fairnb.metrics.dcov import _posterior_dcov2_reference

    mean, logvar, group = _posterior_case(13, 3, 3, seed=5, spread=0.3, offset=0.0)
    assert torch.autograd.gradcheck(lambda m, lv: posterior_dcov2(m, lv, group, 3, nominal_batch=16), (mean, logvar))
    assert torch.autograd.gradcheck(lambda m, lv: _posterior_dcov2_reference(m, lv, group, 3), (mean, logvar))


def test_posterior_estimator_float32_close_to_float64():
    mean, logvar, group = _posterior_case(500, 8, 2, seed=2)
    exact = posterior_dcov2(mean, logvar, group, 2)
    exact_grads = torch.autograd.grad(exact, (mean, logvar))
    single = [t.detach().float().requires_grad_() for t in (mean, logvar)]
    value = posterior_dcov2(*single, group, 2)
    assert value.dtype == torch.float32
    assert value.item() == pytest.approx(exact.item(), rel=1e-4)
    for ours, theirs in zip(torch.autograd.grad(value, single), exact_grads):
        assert torch.allclose(ours.double(), theirs, rtol=1e-3, atol=1e-4 * float(theirs.abs().max()))


def test_posterior_estimator_without_gradients_same_value():
    mean, logvar, group = _posterior_case(100, 4, 2, seed=3)
    with_graph = posterior_dcov2(mean, logvar, group, 2)
    assert with_graph.requires_grad
    with torch.no_grad():
        plain = posterior_dcov2(mean, logvar, group, 2)
    assert not plain.requires_grad and float(plain) == with_graph.item()
    with pytest.raises(ParameterError, match="latent"):
        posterior_dcov2(torch.zeros(4, 0), torch.zeros(4, 0), torch.tensor([0, 1, 0, 1]), 2)
    with pytest.raises(ParameterError, match="lengths differ"):
        posterior_dcov2(torch.zeros(4, 2), torch.zeros(4, 2), torch.tensor([0, 1, 0]), 2)


@pytest.mark.parametrize("per_log", [1, 3, 8])
def test_posterior_estimator_any_dims_per_logarithm(monkeypatch, per_log):
    from fairnb.metrics import dcov

    monkeypatch.setattr(dcov, "_dims_per_logarithm", lambda var: per_log)
    mean, logvar, group = _posterior_case(50, 8, 2, seed=4, spread=2.0)
    fast = posterior_dcov2(mean, logvar, group, 2)
    reference = dcov._posterior_dcov2_reference(mean, logvar, group, 2)
    assert fast.item() == pytest.approx(reference.item(), rel=1e-12)
    for ours, theirs in zip(torch.autograd.grad(fast, (mean, logvar)), torch.autograd.grad(reference, (mean, logvar))):
        assert torch.allclose(ours, theirs, rtol=1e-10, atol=1e-12 * float(theirs.abs().max()))


def test_dims_per_logarithm_follows_the_variance_range():
    from fairnb.metrics.dcov import _dims_per_logarithm

    usual = torch.tensor([[0.1, 10.0]] * 4, dtype=torch.float32).repeat(1, 4)  # d = 8
    assert _dims_per_logarithm(usual) == 8
    # float32: 2·e^24 to the power g stays below e^80 for g ≤ 3
    wide = torch.tensor([[math.exp(-24), math.exp(24)]] * 4, dtype=torch.float32).repeat(1, 4)
    assert _dims_per_logarithm(wide) == 3
    assert _dims_per_logarithm(wide.double()) == 8
    assert _dims_per_logarithm(torch.zeros(3, 8)) == 1
    assert _dims_per_logarithm(torch.full((3, 8), float("inf"))) == 1
