"""The one interface every paper-000 baseline implements, and the helpers they share.

Two kinds of baseline are compared with the fair-distillation method:

- a **synthetic-data generator** (``SyntheticGenerator``): ``fit(frame, dataset, sensitive)``
  learns from real training rows, ``sample(n)`` returns ``n`` synthetic rows with the original
  schema (every feature, every sensitive column and the target, same dtypes and column order),
  and ``fit_seconds`` is the wall-clock training time in seconds. TabFairGAN, Decaf, FLDGMs,
  FairDisco and "original data" (the training rows themselves) are generators, so the same
  downstream evaluation scores them all.
- a **fair predictor** (``FairPredictor``): pre- or post-processing mitigations that never produce
  records (fairlearn's CorrelationRemover and ThresholdOptimizer). ``fit(frame, dataset,
  sensitive)`` trains on real rows, ``predict(frame)`` returns int 0/1 predictions (n,) for real
  test rows, which the same fairness and utility metrics score.

Every hyper-parameter of a baseline lives in one table, ``HYPERPARAMETERS`` in
``fairnb.paper000.baselines.hyperparameters``, with the source of each value.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator, Protocol, runtime_checkable

import numpy as np
import pandas as pd
import torch

from fairnb.data import TabularDataset
from fairnb.errors import ParameterError, TrainingDivergedError
from fairnb.nn.device import generator_for


@runtime_checkable
class SyntheticGenerator(Protocol):
    """A generator of synthetic records (see module doc)."""

    name: str
    fit_seconds: float

    def fit(self, frame: pd.DataFrame, dataset: TabularDataset, sensitive: str) -> "SyntheticGenerator": ...

    def sample(self, n: int) -> pd.DataFrame: ...


@runtime_checkable
class FairPredictor(Protocol):
    """A mitigation that predicts labels for real records instead of generating records."""

    name: str
    fit_seconds: float

    def fit(self, frame: pd.DataFrame, dataset: TabularDataset, sensitive: str) -> "FairPredictor": ...

    def predict(self, frame: pd.DataFrame) -> np.ndarray: ...


def check_training_input(frame: pd.DataFrame, dataset: TabularDataset, sensitive: str, minimum_rows: int = 2) -> None:
    """Raise ``ParameterError`` before any compute when the training input is unusable.

    Checks: ``sensitive`` is a sensitive column of ``dataset``, ``frame`` has every column of
    ``dataset.frame``, at least ``minimum_rows`` rows, both target values and both groups.
    """
    dataset.check_sensitive(sensitive)
    missing = [c for c in dataset.frame.columns if c not in frame.columns]
    if missing:
        raise ParameterError("frame", f"columns {list(frame.columns)[:6]}…", f"the columns of {dataset.name}: {missing} missing", "columns missing")
    if len(frame) < minimum_rows:
        raise ParameterError("frame", f"{len(frame)} rows", f"at least {minimum_rows} rows", "too few rows")
    if frame[dataset.target].nunique() < 2:
        raise ParameterError("frame", "one target value", "rows with both target values", "degenerate target")
    if frame[sensitive].nunique() < 2:
        raise ParameterError("frame", f"one value of {sensitive}", "rows from both groups", "degenerate sensitive attribute")


def check_n(n: int) -> int:
    """``n`` must be a positive int (number of rows to sample)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError("n", n, "a positive int")
    return int(n)


def require_fitted(model: object, attribute: str) -> None:
    """Raise if ``model`` lacks ``attribute``, which only ``fit`` sets."""
    if not hasattr(model, attribute):
        raise RuntimeError(f"{type(model).__name__} is not fitted: call fit(frame, dataset, sensitive) first")


def start_sampling(model: object, attribute: str, n: int, seed_offset: int) -> tuple[int, torch.Generator]:
    """Checks shared by every generator's ``sample``: ``n`` positive, model fitted; returns ``n`` and
    a generator seeded with ``model.seed + seed_offset`` on ``model.device`` (same seed → same rows)."""
    n = check_n(n)
    require_fitted(model, attribute)
    return n, generator_for(model.seed + seed_offset, model.device)


def check_epochs(name: str, value: int) -> int:
    """An epoch count must be a positive int."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ParameterError(name, value, "a positive int")
    return int(value)


def restore_schema(frame: pd.DataFrame, dataset: TabularDataset) -> pd.DataFrame:
    """Columns and dtypes of ``dataset.frame``: strings stay strings, ints become int64.

    ``frame`` holds decoded records (categoricals as strings, the target possibly as "0"/"1").
    """
    out = {}
    for column in dataset.frame.columns:
        reference = dataset.frame[column]
        values = frame[column]
        if pd.api.types.is_integer_dtype(reference.dtype):
            out[column] = np.rint(pd.to_numeric(values).to_numpy(dtype=np.float64)).astype(np.int64)
        elif pd.api.types.is_float_dtype(reference.dtype):
            out[column] = pd.to_numeric(values).to_numpy(dtype=np.float64)
        else:
            out[column] = values.astype(str).to_numpy()
    result = pd.DataFrame(out)
    for column in dataset.frame.columns:
        if not pd.api.types.is_numeric_dtype(dataset.frame[column].dtype):
            result[column] = result[column].astype(dataset.frame[column].dtype)
    return result


def check_finite(loss: torch.Tensor, model: str, epoch: int, step: int) -> None:
    """Stop training with the step and loss when a loss becomes NaN or infinite."""
    if not torch.isfinite(loss).all():
        raise TrainingDivergedError(f"{model}: loss {loss.item()} at epoch {epoch}, step {step}")


@contextmanager
def stopwatch(owner: object, attribute: str = "fit_seconds") -> Iterator[None]:
    """Store the wall-clock seconds of the ``with`` body on ``owner.<attribute>``.

    CUDA work is asynchronous: synchronise before reading the clock so GPU time is counted.
    """
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    started = time.perf_counter()
    try:
        yield
    finally:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        setattr(owner, attribute, time.perf_counter() - started)


def batches(n: int, batch_size: int, rng: torch.Generator, drop_last: bool = True) -> list[torch.Tensor]:
    """Shuffled index batches over ``range(n)``; with ``drop_last`` a short final batch is dropped
    (kept when it is the only batch, so tiny data sets still train)."""
    order = torch.randperm(n, generator=rng, device=rng.device).cpu()
    parts = list(order.split(batch_size))
    if drop_last and len(parts) > 1 and len(parts[-1]) < batch_size:
        parts = parts[:-1]
    return parts
