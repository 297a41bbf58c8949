"""One way to print a mean ± standard deviation, used by every table of the book."""

from __future__ import annotations

import math
from typing import Sequence

import pandas as pd


def mean_std(mean: float, std: float | None = None, digits: int = 3, missing: str = "n/a") -> str:
    """``0.812 ± 0.004``; a missing mean gives ``missing``; a missing std (one repetition) prints as 0."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return missing
    std = 0.0 if std is None or (isinstance(std, float) and math.isnan(std)) else float(std)
    return f"{float(mean):.{digits}f} ± {std:.{digits}f}"


def mean_std_table(frame: pd.DataFrame, by: Sequence[str] | str, columns: Sequence[str], digits: int = 3,
                   missing: str = "n/a") -> pd.DataFrame:
    """Mean ± std over the rows of each group of ``by`` for ``columns``, as display strings.

    ``frame`` is tidy (one row per repetition); the result has one row per group and one string
    column per entry of ``columns`` (columns absent from ``frame`` are left out).
    """
    columns = [c for c in columns if c in frame.columns]
    grouped = frame.groupby(list(by) if not isinstance(by, str) else by, sort=False)[columns]
    mean, std = grouped.mean(), grouped.std(ddof=1)
    return pd.DataFrame({c: [mean_std(m, s, digits, missing) for m, s in zip(mean[c], std[c])] for c in columns}, index=mean.index)
