"""The one interface every paper-000 generator and baseline implements, and the helpers they share.

Two kinds of model are compared with the fair-distillation method, both with scikit-learn's
conventions: ``__init__`` stores its settings as given and does nothing else; ``fit`` validates
the settings and the data (``ParameterError`` naming the parameter, the value and what is
allowed, before any compute), trains and returns ``self``; everything ``fit`` learns lives in
attributes ending in ``_`` (``fit_seconds_`` is the wall-clock training time); calling a fitted
method on an unfitted model raises ``NotFittedError``.

- a **synthetic-data generator** (``SyntheticGenerator``): ``fit(frame, *, dataset, sensitive)``
  learns from real training rows; ``sample(n, *, seed=None)`` returns ``n`` synthetic rows with
  the dataset's schema (every feature, every sensitive column and the target, same dtypes and
  column order). ``seed=None`` draws from a stream derived from the model's own ``seed`` (the same
  rows on every call); an int seeds the draws instead. Our method (``FairLatentDistillation``),
  TabFairGAN, Decaf, FLDGMs, FairDisco and "original data" (the training rows themselves) are
  generators, so the same downstream evaluation scores them all.
- a **fair predictor** (``FairPredictor``): pre- or post-processing mitigations that never produce
  records (fairlearn's CorrelationRemover and ThresholdOptimizer). ``fit(frame, *, dataset,
  sensitive)`` trains on real rows, ``predict(frame)`` returns int 0/1 predictions (n,) for real
  test rows, which the same fairness and utility metrics score.

``dataset`` is a ``TabularDataset`` or the name of one (``fairnb.data.load``); ``sensitive`` is
one of its sensitive columns. ``tests/test_generators.py`` is the conformance suite every generator
passes. Every hyper-parameter of a baseline lives in one table, ``HYPERPARAMETERS`` in
``fairnb.paper000.baselines.hyperparameters``, with the source of each value.
"""

from __future__ import annotations

import inspect
import time
from contextlib import contextmanager
from typing import Any, Iterator, Protocol, runtime_checkable

import numpy as np
import pandas as pd
import torch

import fairnb.data
from fairnb.data import TabularDataset
from fairnb.errors import FairnbError, ParameterError, TrainingDivergedError, one_of
from fairnb.nn.device import generator_for


class NotFittedError(FairnbError, RuntimeError):
    """A model was used before ``fit``; the message names the model and the call to make."""


@runtime_checkable
class SyntheticGenerator(Protocol):
    """A generator of synthetic records (see module doc)."""

    name: str

    def fit(self, frame: pd.DataFrame, *, dataset: TabularDataset | str, sensitive: str) -> "SyntheticGenerator": ...

    def sample(self, n: int, *, seed: int | None = None) -> pd.DataFrame: ...


@runtime_checkable
class FairPredictor(Protocol):
    """A mitigation that predicts labels for real records instead of generating records."""

    name: str

    def fit(self, frame: pd.DataFrame, *, dataset: TabularDataset | str, sensitive: str) -> "FairPredictor": ...

    def predict(self, frame: pd.DataFrame) -> np.ndarray: ...


class Settings:
    """``get_params`` and ``repr`` from the ``__init__`` signature (settings are stored as given)."""

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The settings, as passed to ``__init__`` (name → value); ``deep`` is accepted for scikit-learn's
        ``clone`` (settings hold no nested estimators to expand)."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def set_params(self, **params: Any) -> "Settings":
        """Change settings by name (scikit-learn's convention); an unknown name raises ``ParameterError``."""
        known = self.get_params()
        for name, value in params.items():
            if name not in known:
                raise ParameterError(name, value, "a setting of " + type(self).__name__ + ": " + ", ".join(known), "unknown setting")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_params().items())})"


def resolve_dataset(dataset: TabularDataset | str) -> TabularDataset:
    """``dataset`` itself, or the tabular dataset of that name (``fairnb.data.load``)."""
    if isinstance(dataset, TabularDataset):
        return dataset
    if isinstance(dataset, str) and dataset in fairnb.data.TABULAR:
        return fairnb.data.load(dataset)
    raise ParameterError("dataset", dataset, "a TabularDataset or " + one_of(fairnb.data.TABULAR))


def check_training_input(frame: pd.DataFrame, dataset: TabularDataset | str, sensitive: str,
                         minimum_rows: int = 2) -> TabularDataset:
    """Raise ``ParameterError`` before any compute when the training input is unusable; return the dataset.

    Checks: ``dataset`` is a tabular dataset (or its name), ``sensitive`` one of its sensitive
    columns, ``frame`` a DataFrame with every column of ``dataset.frame``, at least
    ``minimum_rows`` rows, both target values and both groups.
    """
    dataset = resolve_dataset(dataset)
    dataset.check_sensitive(sensitive)
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError("frame", type(frame).__name__, f"a pandas DataFrame with the columns of {dataset.name}", "wrong type")
    missing = [c for c in dataset.frame.columns if c not in frame.columns]
    if missing:
        raise ParameterError("frame", f"columns {list(frame.columns)[:6]}…", f"the columns of {dataset.name}: {missing} missing", "columns missing")
    if len(frame) < minimum_rows:
        raise ParameterError("frame", f"{len(frame)} rows", f"at least {minimum_rows} rows", "too few rows")
    if frame[dataset.target].nunique() < 2:
        raise ParameterError("frame", "one target value", "rows with both target values", "degenerate target")
    if frame[sensitive].nunique() < 2:
        raise ParameterError("frame", f"one value of {sensitive}", "rows from both groups", "degenerate sensitive attribute")
    return dataset


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_n(n: int) -> int:
    """``n`` must be a positive int (number of rows to sample)."""
    if not _is_int(n) or n < 1:
        raise ParameterError("n", n, "a positive int")
    return int(n)


def check_seed(seed: Any, name: str = "seed", optional: bool = False) -> int | None:
    """A seed is an int >= 0 (or ``None`` where ``optional``)."""
    if seed is None and optional:
        return None
    if not _is_int(seed) or seed < 0:
        raise ParameterError(name, seed, "an int >= 0" + (" or None" if optional else ""))
    return int(seed)


def check_epochs(name: str, value: int) -> int:
    """An epoch count (or another count of at least one) must be a positive int."""
    if not _is_int(value) or value < 1:
        raise ParameterError(name, value, "a positive int")
    return int(value)


def check_float(name: str, value: Any, low: float, optional: bool = False) -> float | None:
    """A finite float >= ``low`` (or ``None`` where ``optional``)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or value < low:
        raise ParameterError(name, value, f"a finite float >= {low:g}" + (" or None" if optional else ""))
    return float(value)


def require_fitted(model: object, attribute: str) -> None:
    """Raise ``NotFittedError`` if ``model`` lacks ``attribute``, which only ``fit`` sets."""
    if not hasattr(model, attribute):
        raise NotFittedError(f"{type(model).__name__} is not fitted: call fit(frame, dataset=..., sensitive=...) first")


def sampling_seed(model: object, seed: int | None, seed_offset: int) -> int:
    """The seed of one ``sample`` call: ``seed`` when given, else ``model.seed + seed_offset``."""
    return model.seed + seed_offset if seed is None else seed


def start_sampling(model: object, attribute: str, n: int, seed: int | None, seed_offset: int) -> tuple[int, int, torch.Generator]:
    """Checks shared by every generator's ``sample``: ``n`` positive, ``seed`` an int or None,
    model fitted. Returns ``n``, the sampling seed (``sampling_seed``) and a torch generator seeded
    with it on ``model.device_`` (same seed → same rows)."""
    n = check_n(n)
    seed = check_seed(seed, optional=True)
    require_fitted(model, attribute)
    seed = sampling_seed(model, seed, seed_offset)
    return n, seed, generator_for(seed, model.device_)


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
def stopwatch(owner: object, attribute: str = "fit_seconds_") -> Iterator[None]:
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
