"""Shared fixtures: generated stand-ins with the real schema for data that cannot be shipped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairnb.data.tabular import MEPS_RENAME, MEPS_REQUIRED, MEPS_UTILISATION


def write_meps_fixture(folder: Path, rows: int = 400, seed: int = 0) -> Path:
    """Write ``h181.csv`` with every column AIF360's MEPS panel-19 preprocessing reads.

    Values are random but valid, plus a few rows each preprocessing rule must drop
    (panel 20, negative REGION, a categorical coded -9).
    """
    rng = np.random.default_rng(seed)
    renamed = {v: k for k, v in MEPS_RENAME.items()}
    frame = pd.DataFrame(index=range(rows))
    for column in MEPS_REQUIRED:
        frame[column] = rng.integers(1, 4, size=rows)
    frame[renamed["AGE"]] = rng.integers(18, 85, size=rows)
    for column in ("PCS42", "MCS42"):
        frame[column] = np.round(rng.normal(50, 10, size=rows), 2)
    frame["K6SUM42"] = rng.integers(0, 24, size=rows)
    frame["PANEL"] = 19
    frame["HISPANX"] = rng.choice([1, 2], size=rows, p=[0.2, 0.8])
    frame["RACEV2X"] = rng.choice([1, 2, 3], size=rows, p=[0.7, 0.2, 0.1])
    frame["PERWT15F"] = np.round(rng.uniform(1000, 20000, size=rows), 1)
    for column in MEPS_UTILISATION:
        frame[column] = rng.poisson(2.5, size=rows)
    frame.loc[0, "PANEL"] = 20
    frame.loc[1, renamed["REGION"]] = -1
    frame.loc[2, renamed["RTHLTH"]] = -9
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "h181.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def meps_dir(tmp_path: Path) -> Path:
    write_meps_fixture(tmp_path)
    return tmp_path

