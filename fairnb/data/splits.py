"""Seeded stratified splits.

Paper 000 uses 80/20 train/test, paper 002 70/15/15 train/validation/test. Strata are the joint
(target, sensitive) cells, so each part keeps every group's base rate.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from fairnb.errors import ParameterError

PAPER_000 = (0.8, 0.2)
PAPER_002 = (0.7, 0.15, 0.15)


def stratified_split(strata: np.ndarray, fractions: Sequence[float] = PAPER_000, seed: int = 0) -> list[np.ndarray]:
    """Split row indices into parts of the given fractions, stratified by ``strata``.

    Args:
        strata: array (n,) of stratum labels (e.g. ``2 * target + privileged``).
        fractions: positive numbers summing to 1.
        seed: seed of the permutation; the same seed gives the same parts.

    Returns:
        One sorted int64 index array per fraction; together they partition ``range(n)``.
    """
    fractions = [float(f) for f in fractions]
    if len(fractions) < 2 or any(f <= 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise ParameterError("fractions", fractions, "two or more positive numbers summing to 1")
    strata = np.asarray(strata)
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in fractions]
    bounds = np.cumsum(fractions)[:-1]
    for stratum in np.unique(strata):
        rows = rng.permutation(np.flatnonzero(strata == stratum))
        cuts = np.rint(bounds * len(rows)).astype(int)
        for part, chunk in zip(parts, np.split(rows, cuts)):
            part.append(chunk)
    return [np.sort(np.concatenate(p)).astype(np.int64) for p in parts]
