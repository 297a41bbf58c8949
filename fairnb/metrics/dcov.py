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
"""

from __future__ import annotations

import math

import torch

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
        is the mean Gaussian overlap of the posteriors of rows A and B.
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
