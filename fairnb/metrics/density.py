"""Density and coverage of a synthetic sample (Naeem et al. 2020, as in the ``prdc`` package).

Real R (N rows), synthetic F (M rows), Euclidean distance, ``k`` nearest neighbours:

- r_i = distance from R_i to its k-th nearest neighbour in R, R_i itself excluded;
- density = 1/(k M) Σ_j Σ_i 1[‖F_j − R_i‖ < r_i] (unbounded: > 1 when F crowds R's dense regions);
- coverage = 1/N Σ_i 1[min_j ‖R_i − F_j‖ < r_i] (the share of real neighbourhoods that hold a
  synthetic point).

The distance matrices are never held whole: rows are processed in chunks with torch (on the GPU
when one is given), so 50k × 50k fits in a few hundred MB. Squared distances are computed in
float64 as ‖a‖² + ‖b‖² − 2a·b and rounded to multiples of 1e-9: encoded tabular data (one-hot + min-max) has
many exactly tied distances, and rounding makes every implementation break those ties alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fairnb.errors import ParameterError

SCALE = 1e9  # squared distances are compared as integer multiples of 1e-9


def _squared_distances(a, b, a_norm, b_norm):
    """Squared Euclidean distances (len(a), len(b)) in float64, in units of 1e-9 rounded to integers."""
    import torch

    d2 = torch.addmm(a_norm[:, None] + b_norm[None, :], a, b.T, alpha=-2.0)
    return d2.clamp_min_(0.0).mul_(SCALE).round_()


def _check(real: Any, synthetic: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
    real = np.asarray(real.to_numpy() if isinstance(real, pd.DataFrame) else real, dtype=np.float64)
    synthetic = np.asarray(synthetic.to_numpy() if isinstance(synthetic, pd.DataFrame) else synthetic, dtype=np.float64)
    if real.ndim != 2 or synthetic.ndim != 2 or real.shape[1] != synthetic.shape[1]:
        raise ParameterError("synthetic", f"arrays of shapes {real.shape} and {synthetic.shape}", "two 2-D arrays with the same number of columns", "wrong shape")
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 1 <= k < len(real):
        raise ParameterError("k", k, f"an int in [1, {len(real) - 1}] (fewer than the real rows)")
    if not (np.isfinite(real).all() and np.isfinite(synthetic).all()):
        raise ParameterError("real", "arrays with NaN or inf", "finite numbers", "not finite")
    return real, synthetic


def density_coverage(real: Any, synthetic: Any, k: int = 5, chunk: int = 1024, device: str = "cpu") -> dict[str, float]:
    """Density and coverage of ``synthetic`` against ``real`` (see module doc).

    Args:
        real: array (N, d) of encoded real records (e.g. one-hot + min-max).
        synthetic: array (M, d) of encoded synthetic records, same encoding.
        k: nearest neighbours defining each real record's ball (prdc's ``nearest_k``; 5 as in synthcity).
        chunk: rows per block; memory is about chunk × max(N, M) × 8 bytes per block.
        device: torch device for the distance blocks (``cpu`` or ``cuda``).

    Returns:
        ``{"density": float, "coverage": float}``.
    """
    import torch

    real_np, fake_np = _check(real, synthetic, k)
    if not isinstance(chunk, int) or chunk < 1:
        raise ParameterError("chunk", chunk, "a positive int")
    r = torch.as_tensor(real_np, device=device)
    f = torch.as_tensor(fake_np, device=device)
    r_norm, f_norm = (r * r).sum(1), (f * f).sum(1)
    n, m = len(r), len(f)
    radius2 = _radii(real_np, r, r_norm, k, chunk, device)
    hits = torch.zeros((), dtype=torch.float64, device=device)
    nearest2 = torch.full((n,), float("inf"), dtype=torch.float64, device=device)
    for start in range(0, m, chunk):
        block = _squared_distances(f[start:start + chunk], r, f_norm[start:start + chunk], r_norm)  # (chunk, N)
        hits += (block < radius2[None, :]).sum()
        nearest2 = torch.minimum(nearest2, block.min(0).values)
    density = float(hits.item()) / (k * m)
    coverage = float((nearest2 < radius2).double().mean().item())
    return {"density": density, "coverage": coverage}


_RADII: dict[tuple, Any] = {}  # (real rows' digest, k, device) -> radius² per real record; a few entries at most


def _radii(real_np: np.ndarray, r, r_norm, k: int, chunk: int, device: str):
    """Radius² of each real record's ball: the (k+1)-th smallest squared distance in its row, the row's own 0
    included. Every generator of a repetition is scored against the same real rows, so the radii are computed
    once per set of real rows (keyed by a digest of their values) and reused: the same numbers, a third of the
    distance blocks."""
    import hashlib

    import torch

    key = (hashlib.sha1(np.ascontiguousarray(real_np).view(np.uint8)).hexdigest(), real_np.shape, int(k), str(device))
    if key not in _RADII:
        n = len(r)
        radius2 = torch.empty(n, dtype=torch.float64, device=device)
        for start in range(0, n, chunk):
            block = _squared_distances(r[start:start + chunk], r, r_norm[start:start + chunk], r_norm)
            radius2[start:start + chunk] = torch.topk(block, k + 1, dim=1, largest=False).values[:, k]
        while len(_RADII) >= 4:
            _RADII.pop(next(iter(_RADII)))
        _RADII[key] = radius2
    return _RADII[key]


def density_coverage_numpy(real: Any, synthetic: Any, k: int = 5) -> dict[str, float]:
    """Plain NumPy full-matrix reference of ``density_coverage`` (O(N² + NM) memory; for tests and benchmarks)."""
    real, fake = _check(real, synthetic, k)

    def squared(a, b):
        d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
        return np.rint(np.maximum(d2, 0.0) * SCALE)

    real_real = squared(real, real)
    radius2 = np.partition(real_real, k, axis=1)[:, k]
    fake_real = squared(fake, real)
    density = (fake_real < radius2[None, :]).sum() / (k * len(fake))
    coverage = (fake_real.min(axis=0) < radius2).mean()
    return {"density": float(density), "coverage": float(coverage)}


def encoded_records(dataset: str, *frames: pd.DataFrame) -> list[np.ndarray]:
    """One-hot + min-max encoding of the feature columns of ``frames`` (sensitive columns and target
    excluded), with the domains and ranges of the whole dataset; values are clipped to [0, 1] so a
    generated number outside the data's range stays on the unit scale."""
    import fairnb.data

    ds = fairnb.data.load(dataset)
    encoder = fairnb.data.encoder_for(ds, scaling="minmax").fit(ds.frame)
    return [np.clip(encoder.transform(frame), 0.0, 1.0) for frame in frames]


def tabular_density_coverage(reference: pd.DataFrame, records: pd.DataFrame, dataset: str, max_rows: int = 10_000,
                             seed: int = 0, k: int = 5, device: str = "cpu") -> dict[str, float]:
    """Density and coverage of tabular ``records`` against real ``reference`` rows.

    Features: one-hot + min-max (``encoded_records``). Both sets are cut to the same number of
    seeded rows, n = min(len(reference), len(records), ``max_rows``), as the reference code does
    (N = M). Which real rows are the reference is the caller's choice; the book's evaluation
    (``fairnb.metrics.downstream.score_synthetic``) uses held-out real rows, never the rows the
    records were made from.
    """
    if isinstance(max_rows, bool) or not isinstance(max_rows, (int, np.integer)) or max_rows <= k:
        raise ParameterError("max_rows", max_rows, f"an int > k = {k}")
    rng = np.random.default_rng(seed)
    n = min(len(reference), len(records), int(max_rows))
    if n <= k:
        raise ParameterError("records", f"{n} rows", f"more than k = {k} rows in both sets", "too few rows")
    reference = reference.iloc[rng.choice(len(reference), n, replace=False)]
    records = records.iloc[rng.choice(len(records), n, replace=False)]
    real, fake = encoded_records(dataset, reference, records)
    return density_coverage(real, fake, k=k, device=device)
