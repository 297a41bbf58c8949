"""The non-generative rows of Table 1: original data, CorrelationRemover, ThresholdOptimizer.

- ``OriginalData`` is the reference "generator": ``sample(n)`` returns real training rows, so the
  downstream evaluation treats it exactly like a synthetic set.
- ``CorrelationRemoverBaseline`` (pre-processing, fairlearn): features ordinal-encoded as in
  FairX's ``preprocessing/correlationRemover.py``, the linear correlation with the sensitive
  attribute projected out (``alpha = 1``: completely), then the evaluation classifier is trained.
- ``ThresholdOptimizerBaseline`` (post-processing, fairlearn): an XGBoost classifier
  (``objective='binary:logistic'``) is trained on one-hot + standardised features (the sensitive
  column included) and group-specific thresholds are chosen so that selection rates are equal
  (``constraints='demographic_parity'``), as in FairX's ``postprocessing/thresholdOptimizers``.

Both predictors score real records; hyper-parameters and sources:
``fairnb.paper000.baselines.hyperparameters.HYPERPARAMETERS``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.preprocessing import CorrelationRemover
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import OrdinalEncoder

from fairnb.paper000.baselines import hyperparameters as hp
from fairnb.paper000.baselines.base import (Settings, check_n, check_seed, check_training_input, require_fitted, restore_schema,
                                            sampling_seed, stopwatch)
from fairnb.data import TabularDataset, TabularEncoder
from fairnb.errors import ParameterError, one_of
from fairnb.metrics.downstream import CLASSIFIERS, feature_columns, make_classifier


def _xgb_float64(seed: int, threads: int | None = None) -> ClassifierMixin:
    """XGBoost whose ``predict_proba`` returns float64.

    fairlearn's ThresholdOptimizer writes float64 interpolated scores into an array of the
    estimator's dtype; XGBoost's float32 scores make that fail under pandas 3.
    """
    from xgboost import XGBClassifier

    class XGBFloat64(XGBClassifier):
        def predict_proba(self, X, *args, **kwargs):  # noqa: N803 (sklearn naming)
            return np.asarray(super().predict_proba(X, *args, **kwargs), dtype=np.float64)

    return XGBFloat64(objective="binary:logistic", random_state=seed, n_jobs=threads)


def onehot_features(dataset: TabularDataset, frame: pd.DataFrame) -> TabularEncoder:
    """A one-hot + standardised encoder of the model inputs, fitted on ``frame``."""
    categorical, numeric = feature_columns(dataset)
    # Fit on the union of domains so test rows never carry an unseen category.
    domain = pd.concat([frame, dataset.frame], ignore_index=True)
    return TabularEncoder(categorical, numeric, scaling="standard").fit(domain)


class OriginalData(Settings):
    """The real training rows behind the ``SyntheticGenerator`` interface (Table 1's reference).

    Fitted attributes: ``frame_`` (the training rows), ``dataset_``, ``sensitive_``, ``fit_seconds_``.
    """

    name = "original"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def fit(self, frame: pd.DataFrame, *, dataset: TabularDataset | str, sensitive: str) -> "OriginalData":
        check_seed(self.seed)
        dataset = check_training_input(frame, dataset, sensitive)
        with stopwatch(self):
            self.frame_, self.dataset_, self.sensitive_ = frame.reset_index(drop=True), dataset, sensitive
        return self

    def sample(self, n: int, *, seed: int | None = None) -> pd.DataFrame:
        """``n`` training rows: all of them in order when ``n`` equals their number, else a seeded
        draw (without replacement when possible; ``seed=None`` uses ``self.seed``)."""
        n = check_n(n)
        seed = check_seed(seed, optional=True)
        require_fitted(self, "frame_")
        if n == len(self.frame_):
            rows = self.frame_
        else:
            rows = self.frame_.sample(n=n, replace=n > len(self.frame_), random_state=sampling_seed(self, seed, 0))
        return restore_schema(rows.reset_index(drop=True), self.dataset_)


class CorrelationRemoverBaseline(Settings):
    """fairlearn ``CorrelationRemover`` on ordinal-encoded features, then a classifier.

    Args:
        classifier: ``random_forest`` or ``xgboost`` (see ``make_classifier``), or a callable
            returning a fresh sklearn classifier.
        alpha: fairlearn's alpha (1 = remove all linear correlation with the sensitive column);
            ``None`` = the publication's value.
        seed: seeds the classifier.

    Fitted attributes: ``remover_`` (the fitted ``CorrelationRemover``), ``model_`` (the
    classifier), ``alpha_`` (the value used), ``ordinal_encoder_``, ``dataset_``, ``sensitive_``,
    ``fit_seconds_``.
    """

    name = "correlation_remover"

    def __init__(self, classifier: str | Callable[[], ClassifierMixin] = "random_forest", alpha: float | None = None, seed: int = 0):
        self.classifier, self.alpha, self.seed = classifier, alpha, seed

    def _check_params(self) -> float:
        """Validate the settings; return alpha."""
        if not callable(self.classifier) and self.classifier not in CLASSIFIERS:
            raise ParameterError("classifier", self.classifier, one_of(CLASSIFIERS) + " or a callable returning a classifier")
        alpha = hp.get("correlation_remover", "alpha") if self.alpha is None else self.alpha
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)) or not 0.0 <= alpha <= 1.0:
            raise ParameterError("alpha", self.alpha, "None or a float in [0, 1]")
        check_seed(self.seed)
        return float(alpha)

    def _ordinal(self, frame: pd.DataFrame) -> pd.DataFrame:
        categorical, numeric = feature_columns(self.dataset_)
        codes = self.ordinal_encoder_.transform(frame[categorical].astype(str))
        out = pd.DataFrame(codes, columns=categorical, index=frame.index)
        for column in numeric:
            out[column] = frame[column].to_numpy(dtype=np.float64)
        return out

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Decorrelated features (n, n_features − 1): the sensitive column is projected out and dropped."""
        require_fitted(self, "remover_")
        return self.remover_.transform(self._ordinal(frame))

    def fit(self, frame: pd.DataFrame, *, dataset: TabularDataset | str, sensitive: str) -> "CorrelationRemoverBaseline":
        self.alpha_ = self._check_params()
        dataset = check_training_input(frame, dataset, sensitive)
        self.dataset_, self.sensitive_ = dataset, sensitive
        with stopwatch(self):
            categorical, _ = feature_columns(dataset)
            self.ordinal_encoder_ = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
            self.ordinal_encoder_.fit(dataset.frame[categorical].astype(str))
            ordinal = self._ordinal(frame)
            self.remover_ = CorrelationRemover(sensitive_feature_ids=[sensitive], alpha=self.alpha_).fit(ordinal)
            model = self.classifier() if callable(self.classifier) else make_classifier(self.classifier, self.seed, threads=None)
            self.model_ = model.fit(self.remover_.transform(ordinal), frame[dataset.target].to_numpy(dtype=np.int64))
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Int 0/1 predictions (n,) for real records."""
        require_fitted(self, "model_")
        return np.asarray(self.model_.predict(self.transform(frame))).astype(np.int64)


CONSTRAINTS = ("demographic_parity", "equalized_odds", "true_positive_rate_parity", "false_positive_rate_parity")


class ThresholdOptimizerBaseline(Settings):
    """fairlearn ``ThresholdOptimizer`` (demographic parity) around a prefit XGBoost model.

    Args:
        constraints: fairlearn constraint name; ``None`` = the publication's ``demographic_parity``.
        estimator: ``None`` = XGBoost (the publication's choice), or a callable returning a fresh
            sklearn classifier with ``predict_proba``.
        seed: seeds XGBoost and the randomised thresholds at prediction time.

    Fitted attributes: ``estimator_`` (the prefit classifier), ``optimizer_`` (the fitted
    ``ThresholdOptimizer``), ``constraints_`` (the value used), ``encoder_``, ``dataset_``,
    ``sensitive_``, ``fit_seconds_``.
    """

    name = "threshold_optimizer"

    def __init__(self, constraints: str | None = None, estimator: Callable[[], ClassifierMixin] | None = None, seed: int = 0):
        self.constraints, self.estimator, self.seed = constraints, estimator, seed

    def _check_params(self) -> str:
        """Validate the settings; return the constraint."""
        constraints = self.constraints or hp.get("threshold_optimizer", "constraints")
        if constraints not in CONSTRAINTS:
            raise ParameterError("constraints", self.constraints, one_of(CONSTRAINTS))
        if self.estimator is not None and not callable(self.estimator):
            raise ParameterError("estimator", self.estimator, "None or a callable returning a classifier with predict_proba")
        check_seed(self.seed)
        return constraints

    def features(self, frame: pd.DataFrame) -> np.ndarray:
        """One-hot + standardised model inputs (n, width) float64, the sensitive column included.

        float64 because fairlearn writes float64 scores into an array of the scores' dtype.
        """
        require_fitted(self, "encoder_")
        return self.encoder_.transform(frame).astype(np.float64)

    def fit(self, frame: pd.DataFrame, *, dataset: TabularDataset | str, sensitive: str) -> "ThresholdOptimizerBaseline":
        self.constraints_ = self._check_params()
        dataset = check_training_input(frame, dataset, sensitive)
        self.dataset_, self.sensitive_ = dataset, sensitive
        with stopwatch(self):
            self.encoder_ = onehot_features(dataset, frame)
            x, y = self.features(frame), frame[dataset.target].to_numpy(dtype=np.int64)
            model = self.estimator() if self.estimator is not None else _xgb_float64(self.seed)
            self.estimator_ = model.fit(x, y)
            optimizer = ThresholdOptimizer(estimator=self.estimator_, constraints=self.constraints_,
                                           objective="accuracy_score", prefit=True, predict_method="predict_proba")
            self.optimizer_ = optimizer.fit(x, y, sensitive_features=frame[sensitive].astype(str).to_numpy())
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Int 0/1 post-processed predictions (n,) (seeded randomisation between thresholds)."""
        require_fitted(self, "optimizer_")
        groups = frame[self.sensitive_].astype(str).to_numpy()
        return np.asarray(self.optimizer_.predict(self.features(frame), sensitive_features=groups, random_state=self.seed)).astype(np.int64)

    def predict_unconstrained(self, frame: pd.DataFrame) -> np.ndarray:
        """The XGBoost model's own predictions (n,) before post-processing."""
        require_fitted(self, "estimator_")
        return np.asarray(self.estimator_.predict(self.features(frame))).astype(np.int64)
