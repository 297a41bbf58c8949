"""TabFairGDT (Panagiotou et al., ICDM 2025): fair synthetic tables from autoregressive decision trees.

The authors' package (PyPI ``tabfairgdt`` 0.1.1, class ``TABFAIRGDT``) behind the generator
protocol. One CART model per column, fitted in the dataset's column order, each conditioned on
the columns before it (the first column is drawn from its marginal); the sensitive attribute and
the target come last. A synthetic value is drawn from the observed values in the leaf its
predecessors fall into. Fairness is post-hoc **leaf relabelling** of the target's tree: the class
distributions of selected leaves are moved towards equal favourable rates of the groups
(demographic parity, ``criterion="dp"``), by an amount set by ``lamda`` — 0 keeps the tree's own
leaves, 1 moves furthest towards parity.

What the wrapper adds: the sensitive attribute, every categorical column and the target are passed
as categories, integer columns as ``int`` and other numbers as ``float``; the package's fit and
generation draw from NumPy's global generator, so each call seeds it (fit: ``seed``, sampling:
``seed + 1`` unless ``sample(seed=...)``) and restores the caller's state afterwards; columns are
fitted one after the other (the package's thread pool gives the same trees and only costs start-up
time on small data). The fair-splitting variant (``TABFAIRGDT_FAIR_SPLITTING_CRITERION``) needs a
patched scikit-learn and is not offered. Hyper-parameters:
``fairnb.paper000.baselines.hyperparameters.HYPERPARAMETERS["tabfairgdt"]``.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import Iterator

import numpy as np
import pandas as pd

from fairnb.data import TabularDataset
from fairnb.errors import ParameterError, one_of
from fairnb.paper000.baselines import hyperparameters as hp
from fairnb.paper000.baselines.base import (Settings, check_float, check_n, check_seed, check_training_input, require_fitted,
                                            restore_schema, sampling_seed, stopwatch)

CRITERIA = ("dp",)


@contextlib.contextmanager
def _numpy_seeded(seed: int) -> Iterator[None]:
    """Seed NumPy's global generator for the ``with`` body, then restore the caller's state; the
    package's progress output and its pandas deprecation warnings are swallowed."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
            warnings.filterwarnings("ignore", module="tabfairgdt")
            yield
    finally:
        np.random.set_state(state)


class TabFairGDT(Settings):
    """TabFairGDT behind the ``SyntheticGenerator`` interface (needs the package ``tabfairgdt``).

    Args:
        lamda: fairness–utility trade-off of the leaf relabelling in [0, 1] (0 = no relabelling);
            ``None`` = the package's default, 0.5.
        criterion: fairness criterion of the relabelling; the package implements ``dp``
            (demographic parity) only.
        acc_threshold: largest relative accuracy drop the relabelling may cost (e.g. 0.05);
            ``None`` = no limit (the package's default, -1).
        seed: seeds the trees and every draw.

    Fitted attributes: ``model_`` (the fitted ``tabfairgdt.TABFAIRGDT``), ``lamda_`` (the value
    used), ``dtype_map_`` (column → the package's type), ``dataset_``, ``sensitive_``,
    ``fit_seconds_``.
    """

    name = "tabfairgdt"

    def __init__(self, lamda: float | None = None, criterion: str = "dp", acc_threshold: float | None = None, seed: int = 0):
        self.lamda, self.criterion, self.acc_threshold, self.seed = lamda, criterion, acc_threshold, seed

    def _check_params(self) -> float:
        """Validate the settings; return lamda."""
        lamda = hp.get("tabfairgdt", "lamda") if self.lamda is None else self.lamda
        if check_float("lamda", lamda, 0.0) > 1.0:
            raise ParameterError("lamda", self.lamda, "None or a float in [0, 1]")
        if self.criterion not in CRITERIA:
            raise ParameterError("criterion", self.criterion, one_of(CRITERIA))
        if self.acc_threshold is not None and check_float("acc_threshold", self.acc_threshold, 0.0) > 1.0:
            raise ParameterError("acc_threshold", self.acc_threshold, "None or a float in [0, 1]")
        check_seed(self.seed)
        return float(lamda)

    def _package_frame(self, frame: pd.DataFrame, dataset: TabularDataset) -> pd.DataFrame:
        """The dataset's columns, categories as pandas categoricals of strings, numbers as numbers."""
        out = frame[list(dataset.frame.columns)].reset_index(drop=True).copy()
        for column, kind in self.dtype_map_.items():
            if kind == "category":
                out[column] = out[column].astype(str).astype("category")
            elif kind == "int":
                out[column] = out[column].to_numpy(dtype=np.int64)
            else:
                out[column] = out[column].to_numpy(dtype=np.float64)
        return out

    def fit(self, frame: pd.DataFrame, *, dataset: TabularDataset | str, sensitive: str) -> "TabFairGDT":
        """Fit one tree per column on ``frame``; the target's tree is relabelled towards parity in ``sensitive``."""
        from tabfairgdt import TABFAIRGDT

        lamda = self._check_params()
        dataset = check_training_input(frame, dataset, sensitive)
        self.dataset_, self.sensitive_, self.lamda_ = dataset, sensitive, lamda
        numeric = set(dataset.numeric)
        self.dtype_map_ = {c: ("int" if c in dataset.integer else "float") if c in numeric else "category"
                           for c in dataset.frame.columns}
        with stopwatch(self):
            data = self._package_frame(frame, dataset)
            model = TABFAIRGDT(protected_attribute=sensitive, target=dataset.target, criterion=self.criterion,
                               dtype_map=dict(self.dtype_map_), seed=int(self.seed), parallel=False,
                               acc_threshold=-1 if self.acc_threshold is None else float(self.acc_threshold))
            with _numpy_seeded(int(self.seed)):
                model.fit(data, lamda=lamda)
            self.model_ = model
        return self

    def sample(self, n: int, *, seed: int | None = None) -> pd.DataFrame:
        """``n`` synthetic records with the dataset's schema (seeded; ``seed=None`` uses ``self.seed + 1``)."""
        n = check_n(n)
        seed = check_seed(seed, optional=True)
        require_fitted(self, "model_")
        with _numpy_seeded(sampling_seed(self, seed, 1)):
            records = self.model_.generate(k=n)
        records = records.astype({c: str for c, kind in self.dtype_map_.items() if kind == "category"})
        return restore_schema(records.reset_index(drop=True), self.dataset_)
