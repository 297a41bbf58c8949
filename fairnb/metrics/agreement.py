"""When does our number agree with a paper's number? One rule for both papers and the landing page.

A cell agrees when abs(ours − paper) ≤ max(``STD_MULTIPLE`` · our standard deviation over
repetitions, the floor). The floor is what the paper's value can be trusted to: paper 000 prints
"± .01" on nearly every cell of Table 1, which is not a measured spread, so its floor is
``PAPER_000_FLOOR``; paper 002's values are read off the authors' plotting notebooks by eye to
±0.005, so its floor is ``PAPER_002_FLOOR`` (twice that reading precision).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STD_MULTIPLE = 2.0
PAPER_000_FLOOR = 0.05
PAPER_002_FLOOR = 0.01
FLOORS = {"000": PAPER_000_FLOOR, "002": PAPER_002_FLOOR}


def tolerance(ours_std, floor: float):
    """max(STD_MULTIPLE · ours_std, floor), elementwise; a missing std (one repetition) counts as 0."""
    std = pd.Series(ours_std, dtype=float).fillna(0.0).to_numpy() if not np.isscalar(ours_std) else (0.0 if ours_std != ours_std else float(ours_std))
    return np.maximum(STD_MULTIPLE * np.asarray(std, dtype=float), floor)


def within(difference, ours_std, floor: float):
    """True where abs(difference) ≤ tolerance(ours_std, floor); False where the difference is missing."""
    diff = np.abs(np.asarray(difference, dtype=float))
    return np.where(np.isnan(diff), False, diff <= tolerance(ours_std, floor))
