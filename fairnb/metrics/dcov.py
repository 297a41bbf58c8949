"""Distance covariance between batches of vectors.

Two estimators of the dependence between a latent code z and a sensitive attribute s:

- ``dcov2(x, y)`` is the squared sample distance covariance (V-statistic) of Székely, Rizzo
  and Bakirov (2007): x of shape (n, p) and y of shape (n, q) on the same device; returns a
  scalar tensor that gradients flow through. O(n²) memory: call it on batches, not on a whole
  dataset.
- ``posterior_dcov2(mean, logvar, group, ...)`` is the estimator of the FairDisCo reference code:
  it uses each row's Gaussian posterior N(mean_i, diag(exp(logvar_i))) instead of a sample and
  returns Σ_g p_g² ∫ (q(z | g) − q(z))² dz, the squared L2 distance between the group-conditional
  and the marginal aggregate posteriors (a V-statistic: the i = j pairs are included).

How ``posterior_dcov2`` is computed. With K_ij = ∫ N(z; μ_i, Σ_i) N(z; μ_j, Σ_j) dz (the Gaussian
overlap, see ``_gaussian_overlaps``) and, per group g with 0 < n_g < n, the weight vector
v_g = p_g (1/n − 1[group = g]/n_g), the estimator Σ_g p_g² [K(all, all) + K(g, g) − 2 K(g, all)]
is the quadratic form Σ_g v_gᵀ K v_g = Σ_ij Q_ij K_ij with Q = Σ_g v_g v_gᵀ. No exact shortcut
avoids the O(n² d) pairwise work (t_ijd = σ²_id + σ²_jd couples i and j inside a division, a
logarithm and an exponential), so the implementation makes that work cheap:

- K is symmetric: only the pairs j ≥ i are visited, in row blocks of the upper triangle; each
  block feeds both its rows and (mirrored) its columns.
- The output is a scalar, so the gradient is computed in the same pass as the value (while the
  block's per-dimension t and Δ/t are still in cache) and the backward only scales it.
- Each tensor operation covers every latent dimension of a block at once, and one broadcast
  addition yields both t = σ²_i + σ²_j and Δ = μ_i − μ_j. Blocks are sized for the cache on a CPU
  (tens of blocks per batch of 2,048) and cover the whole matrix on a GPU (one block): the loop
  over blocks is the only Python loop that grows with n.
- The normaliser Π_d sqrt(2π t_ijd) is formed as a product over several dimensions per logarithm
  (as many as the range of the variances allows without overflow), not one logarithm per dimension.

The previous row-block implementation is kept as ``_posterior_dcov2_reference``: the tests and
``benchmarks/bench_dcov.py`` check that both give the same values and gradients.
"""

from __future__ import annotations

import math

import torch
from torch.autograd.function import once_differentiable

from fairnb.errors import ParameterError


def _as_matrix(values: torch.Tensor, name: str) -> torch.Tensor:
    """(n,) → (n, 1); (n, p) unchanged; anything else raises."""
    if not isinstance(values, torch.Tensor):
        values = torch.as_tensor(values, dtype=torch.float64)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise ParameterError(name, f"tensor of shape {tuple(values.shape)}", "a tensor of shape (n,) or (n, p)", "wrong shape")
    return values if values.is_floating_point() else values.to(torch.get_default_dtype())


def _centred_distances(values: torch.Tensor) -> torch.Tensor:
    """Double-centred Euclidean distance matrix A_ij = a_ij − ā_i· − ā_·j + ā_·· of shape (n, n)."""
    # direct differences, not the ‖a‖²+‖b‖²−2ab shortcut, so the value is exact; torch's cdist
    # backward gives 0 at zero distance (the sub-gradient of |·| at 0), so ties are safe
    distances = torch.cdist(values[None], values[None], compute_mode="donot_use_mm_for_euclid_dist")[0]
    return distances - distances.mean(0, keepdim=True) - distances.mean(1, keepdim=True) + distances.mean()


def dcov2(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Squared sample distance covariance V²_n(x, y) (biased V-statistic, Székely et al. 2007).

    Args:
        x: tensor (n, p) or (n,).
        y: tensor (n, q) or (n,) with the same n (e.g. a one-hot sensitive attribute).

    Returns:
        Scalar tensor (1/n²) Σ_ij A_ij B_ij ≥ 0; 0 when either sample is constant. Exact (no
        matrix-product shortcut for the distances), differentiable in x and y.
    """
    x, y = _as_matrix(x, "x"), _as_matrix(y, "y")
    if x.shape[0] != y.shape[0]:
        raise ParameterError("y", f"{y.shape[0]} rows", f"{x.shape[0]} rows, like x", "row counts differ")
    if x.shape[0] < 2:
        raise ParameterError("x", f"{x.shape[0]} rows", "at least 2 rows", "too few rows")
    dtype = torch.promote_types(x.dtype, y.dtype)
    a, b = _centred_distances(x.to(dtype)), _centred_distances(y.to(dtype))
    return (a * b).mean()


def _gaussian_overlaps(mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """Matrix (n, n) of ∫ N(z; μ_i, Σ_i) N(z; μ_j, Σ_j) dz = N(μ_i − μ_j; 0, Σ_i + Σ_j)."""
    total = var[:, None, :] + var[None, :, :]
    exponent = ((mean[:, None, :] - mean[None, :, :]) ** 2 / total).sum(-1)
    # the reference adds 1e-10 to the normaliser; kept so values match its estimator
    normaliser = torch.sqrt((2 * math.pi * total).prod(-1)) + 1e-10
    return torch.exp(-exponent / 2) / normaliser


class _ChunkedOverlaps(torch.autograd.Function):
    """``_gaussian_overlaps`` computed in row blocks, with a hand-written backward.

    Autograd on the dense version keeps about ten (n, n, d) intermediates (≈ 1.3 GB at n = 2048,
    d = 8); here only blocks of ``CHUNK`` rows live at a time and the (n, n) result is saved.
    Gradients (K_ij symmetric in i, j; H = G + Gᵀ for the upstream gradient G; t = σ²_i + σ²_j,
    Δ = μ_i − μ_j, r = N/(N + 1e-10) with N the Gaussian normaliser):
    ∂L/∂μ_i = Σ_j H_ij K_ij (−Δ/t),  ∂L/∂σ²_i = Σ_j H_ij K_ij (Δ²/(2t²) − r/(2t)).
    """

    CHUNK = 256

    @staticmethod
    def _block(mean_rows, var_rows, mean, var):
        total = var_rows[:, None, :] + var[None, :, :]
        diff = mean_rows[:, None, :] - mean[None, :, :]
        normaliser = torch.exp(0.5 * torch.log(2 * math.pi * total).sum(-1))
        return total, diff, normaliser

    @staticmethod
    def forward(ctx, mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
        n = mean.shape[0]
        out = mean.new_empty((n, n))
        for start in range(0, n, _ChunkedOverlaps.CHUNK):
            stop = min(start + _ChunkedOverlaps.CHUNK, n)
            total, diff, normaliser = _ChunkedOverlaps._block(mean[start:stop], var[start:stop], mean, var)
            out[start:stop] = torch.exp(-0.5 * (diff * diff / total).sum(-1)) / (normaliser + 1e-10)
        ctx.save_for_backward(mean, var, out)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        mean, var, overlaps = ctx.saved_tensors
        weight = (grad + grad.T) * overlaps  # H ⊙ K
        grad_mean, grad_var = torch.empty_like(mean), torch.empty_like(var)
        for start in range(0, mean.shape[0], _ChunkedOverlaps.CHUNK):
            stop = min(start + _ChunkedOverlaps.CHUNK, mean.shape[0])
            total, diff, normaliser = _ChunkedOverlaps._block(mean[start:stop], var[start:stop], mean, var)
            w = weight[start:stop, :, None]
            ratio = diff / total
            grad_mean[start:stop] = -(w * ratio).sum(1)
            share = (normaliser / (normaliser + 1e-10))[:, :, None]
            grad_var[start:stop] = (w * (0.5 * ratio * ratio - 0.5 * share / total)).sum(1)
        return grad_mean, grad_var


def _posterior_dcov2_reference(mean: torch.Tensor, logvar: torch.Tensor, group: torch.Tensor, n_groups: int | None = None,
                    nominal_batch: int | None = None) -> torch.Tensor:
    """The previous implementation of ``posterior_dcov2`` (full overlap matrix, then group means).

    Kept as the reference the fast version is tested and benchmarked against: the same arguments and
    the same value (see ``posterior_dcov2``), O(n²) memory.
    """
    if mean.shape != logvar.shape or mean.ndim != 2:
        raise ParameterError("logvar", f"shape {tuple(logvar.shape)}", f"shape {tuple(mean.shape)} (n, d), like mean", "wrong shape")
    group = torch.as_tensor(group, device=mean.device).long().reshape(-1)
    n = mean.shape[0]
    n_groups = int(group.max().item()) + 1 if n_groups is None else n_groups
    # one (n, n) matrix serves every K(A, B): K is the mean of its (A, B) sub-block
    overlaps = _ChunkedOverlaps.apply(mean, torch.exp(logvar))
    k_all = overlaps.mean()
    total = mean.new_zeros(())
    for g in range(n_groups):
        rows = group == g
        n_g = int(rows.sum().item())
        if 0 < n_g < n:
            k_g_all = overlaps[rows].mean()
            k_gg = overlaps[rows][:, rows].mean()
            total = total + (n_g / n) ** 2 * (k_all + k_gg - 2 * k_g_all)
    if nominal_batch is not None:
        total = total * (n / nominal_batch)
    return total


# slab: rows × columns of one block, per latent dimension, in elements. On a CPU the block's arrays
# (three of d slabs) should stay near the core's cache; on a GPU the whole (n, n) matrix is one block
# for the usual batch sizes
_SLAB_ELEMENTS = {"cpu": 1 << 15}
_DEVICE_SLAB_ELEMENTS = 1 << 22
_LOG_EPSILON = math.log(1e-10)  # the reference's 1e-10 added to the Gaussian normaliser


def _dims_per_logarithm(var: torch.Tensor) -> int:
    """How many factors t = σ²_i + σ²_j can be multiplied before one logarithm without over/underflow."""
    low, high = (float(x) for x in torch.aminmax(var.detach()))
    d = var.shape[1]
    if not (math.isfinite(low) and math.isfinite(high) and low > 0):
        return 1
    info = torch.finfo(var.dtype)
    top, bottom = math.log(info.max) - 8, math.log(info.tiny) + 8
    for group in range(d, 1, -1):
        if group * math.log(2 * high) < top and group * math.log(2 * low) > bottom:
            return group
    return 1


def _posterior_quadratic_form(mean: torch.Tensor, var: torch.Tensor, weights: torch.Tensor, need_grad: bool):
    """Σ_g v_gᵀ K v_g for weights (n, G) = [v_g], with its gradients in mean and var when need_grad.

    Visits the pairs j ≥ i in row blocks [s, e) × columns [s, n). For every latent dimension k at
    once the block holds t_k = σ²_ik + σ²_jk, Δ_k = μ_ik − μ_jk and U_k = Δ_k/t_k; then with W = Q ⊙ K
    and ρ = N/(N + 1e-10) (N the Gaussian normaliser):
    ∂/∂μ_ik = −2 Σ_j W_ij U_ijk,  ∂/∂σ²_ik = Σ_j W_ij U²_ijk − W_ij ρ_ij / t_ijk,
    each sum running over all j: the block's rows take its columns j ≥ s, and the columns j ≥ e take
    the block's rows (U changes sign, t and W do not).
    """
    n, d = mean.shape
    per_log = _dims_per_logarithm(var)
    half_log_2pi = 0.5 * d * math.log(2 * math.pi)
    # one broadcast addition gives both t (from σ²_i + σ²_j) and Δ (from μ_i + (−μ_j))
    row_side = torch.stack([var.T, mean.T], 1)  # (d, 2, n)
    column_side = torch.stack([var.T, -mean.T], 1)
    slab = max(_SLAB_ELEMENTS.get(mean.device.type, _DEVICE_SLAB_ELEMENTS), n)
    pairs = mean.new_empty((d, 2, min(slab, n * n)))
    ratios = mean.new_empty((d, min(slab, n * n)))
    grads = mean.new_zeros((d, 2, n)) if need_grad else None  # [Σ_j W U, Σ_j (Wρ/t − W U²)] per row
    partials = []
    start = 0
    while start < n:
        cols = n - start
        rows = max(1, min(cols, slab // cols))
        stop = start + rows
        pair = pairs[:, :, :rows * cols].view(d, 2, rows, cols)
        ratio = ratios[:, :rows * cols].view(d, rows, cols)
        torch.add(row_side[:, :, start:stop, None], column_side[:, :, None, start:], out=pair)
        total, delta = pair[:, 0], pair[:, 1]
        torch.div(delta, total, out=ratio)  # U
        exponent = delta.mul_(ratio).sum(0)  # E = Σ_k Δ²/t
        log_norm = None
        for first in range(0, d, per_log):
            logs = total[first:first + per_log].prod(0).log_() if per_log > 1 else torch.log(total[first])
            log_norm = logs if log_norm is None else log_norm.add_(logs)
        log_norm.mul_(0.5).add_(half_log_2pi)  # log N, N = Π_k sqrt(2π t_k)
        share = torch.sub(log_norm, _LOG_EPSILON).sigmoid_() if need_grad else None  # ρ = N / (N + 1e-10)
        # K = exp(−E/2) / (N + 1e-10) = exp(−E/2 − log N) ρ; below log(1e-10) − 40, N is lost next to
        # 1e-10 even in float64, and clamping log N there keeps exp(−E/2 − log N) finite
        log_norm.clamp_(min=_LOG_EPSILON - 40)
        overlap = exponent.mul_(-0.5).sub_(log_norm).exp_().mul_(log_norm.sub_(_LOG_EPSILON).sigmoid_())
        weighted = torch.mm(weights[start:stop], weights[start:].T).mul_(overlap)  # W = Q ⊙ K
        partials.append(weighted.sum() + weighted[:, rows:].sum())  # the columns ≥ stop stand for their mirror too
        if need_grad:
            weighted_share = share.mul_(weighted)
            torch.mul(ratio, weighted, out=delta)  # A = W U
            torch.div(weighted_share, total, out=total).addcmul_(delta, ratio, value=-1)  # X = Wρ/t − A U
            grads[:, :, start:stop] += pair.sum(3)
            mirrored = pair[:, :, :, rows:].sum(2)
            mirrored[:, 1].neg_()  # U_ji = −U_ij
            grads[:, :, stop:] += mirrored
        start = stop
    value = torch.stack(partials).sum()
    if not need_grad:
        return value, None, None
    # grads[:, 0] holds Σ X (→ −∂/∂σ²), grads[:, 1] holds Σ A (→ −½ ∂/∂μ)
    return value, -2 * grads[:, 1].T, -grads[:, 0].T


class _PosteriorQuadraticForm(torch.autograd.Function):
    """Σ_g v_gᵀ K v_g as an autograd function: gradients come out of the forward pass."""

    @staticmethod
    def forward(ctx, mean: torch.Tensor, var: torch.Tensor, weights: torch.Tensor, grad_enabled: bool) -> torch.Tensor:
        # grad_enabled: the caller's grad mode (inside forward it is always off)
        need_grad = grad_enabled and any(ctx.needs_input_grad[:2])
        value, grad_mean, grad_var = _posterior_quadratic_form(mean, var, weights, need_grad)
        ctx.save_for_backward(grad_mean, grad_var)
        return value

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor):
        grad_mean, grad_var = ctx.saved_tensors
        return grad * grad_mean, grad * grad_var, None, None


def _group_weights(group: torch.Tensor, n_groups: int, dtype: torch.dtype) -> torch.Tensor:
    """(n, G) weights v_g = p_g (1/n − 1[group = g]/n_g), zero for groups with n_g = 0 or n_g = n."""
    n = group.shape[0]
    member = (group[:, None] == torch.arange(n_groups, device=group.device)).to(dtype)
    counts = member.sum(0)
    kept = ((counts > 0) & (counts < n)).to(dtype)
    return (kept * counts / n) * (1.0 / n - member / counts.clamp(min=1))


def posterior_dcov2(mean: torch.Tensor, logvar: torch.Tensor, group: torch.Tensor, n_groups: int | None = None,
                    nominal_batch: int | None = None) -> torch.Tensor:
    """FairDisCo's posterior estimator of V²(p(z, s), p(z)p(s)).

    Args:
        mean, logvar: tensors (n, d), the encoder's Gaussian posterior per row.
        group: int tensor (n,) of group codes 0..n_groups-1.
        n_groups: number of groups (default: max code + 1).
        nominal_batch: the training batch size B; the result is scaled by n/B, as in the
            reference, so a short last batch weighs less. None → no scaling.

    Returns:
        Scalar tensor Σ_{g: 0<n_g<n} (n_g/n)² [K(all, all) + K(g, g) − 2 K(g, all)], where K(A, B)
        is the mean Gaussian overlap of the posteriors of rows A and B. Gradients flow to mean and
        logvar (first order only). O(n² d) time; memory for three (rows × columns) slabs per
        latent dimension, cache-sized on a CPU, the whole n × n on a GPU up to n = 2,048.
    """
    if mean.shape != logvar.shape or mean.ndim != 2:
        raise ParameterError("logvar", f"shape {tuple(logvar.shape)}", f"shape {tuple(mean.shape)} (n, d), like mean", "wrong shape")
    group = torch.as_tensor(group, device=mean.device).long().reshape(-1)
    n = mean.shape[0]
    if group.shape[0] != n:
        raise ParameterError("group", f"{group.shape[0]} codes", f"{n} codes, one per row of mean", "lengths differ")
    n_groups = int(group.max().item()) + 1 if n_groups is None else n_groups
    if mean.shape[1] == 0:
        raise ParameterError("mean", f"shape {tuple(mean.shape)}", "at least one latent dimension", "empty latent")
    dtype = torch.promote_types(mean.dtype, logvar.dtype)
    mean, logvar = mean.to(dtype), logvar.to(dtype)
    total = _PosteriorQuadraticForm.apply(mean, torch.exp(logvar), _group_weights(group, n_groups, dtype), torch.is_grad_enabled())
    if nominal_batch is not None:
        total = total * (n / nominal_batch)
    return total
