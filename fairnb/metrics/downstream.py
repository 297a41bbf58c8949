"""Downstream evaluation of (synthetic) tabular data: a classifier's utility and fairness.

A classifier (``random_forest``: sklearn defaults, as the paper; ``xgboost``: the reference code's
``XGBClassifier(objective="binary:logistic")``) is trained on one frame and scored on another.
Features follow the reference: one-hot categoricals + standardised numerics, **with** the
sensitive column, without the target.

Fairness (fairlearn), with the sensitive attribute's two groups:

- DPR, demographic parity ratio = min_g P(ŷ=1 | g) / max_g P(ŷ=1 | g) (1 = parity);
- EOR, equalized odds ratio = min(TPR ratio, FPR ratio), each min/max over groups.

Utility: accuracy, recall, F1 (positive class 1). Both depend on what "positive" means:
``positive_label="favourable"`` makes the favourable outcome (Adult >50K, COMPAS no
recidivism, German good credit) the positive class; ``"unfavourable"`` flips it, as the
reference code does for Adult (its label 1 is '<=50K'). Each group's predicted-positive rate
is returned so the convention can be checked.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

import fairnb.data
from fairnb.errors import ParameterError, one_of

CLASSIFIERS = ("random_forest", "xgboost")
POSITIVE_LABELS = ("favourable", "unfavourable")
PROTOCOLS = ("synthetic_real", "synthetic_split")


def _check(classifier: str, positive_label: str) -> None:
    if classifier not in CLASSIFIERS:
        raise ParameterError("classifier", classifier, one_of(CLASSIFIERS))
    if positive_label not in POSITIVE_LABELS:
        raise ParameterError("positive_label", positive_label, one_of(POSITIVE_LABELS))


def make_classifier(classifier: str, seed: int):
    """An unfitted classifier: sklearn RandomForest (defaults) or XGBoost (binary:logistic)."""
    if classifier == "random_forest":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(random_state=seed, n_jobs=1)
    if classifier == "xgboost":
        from xgboost import XGBClassifier

        return XGBClassifier(objective="binary:logistic", random_state=seed, n_jobs=1)
    raise ParameterError("classifier", classifier, one_of(CLASSIFIERS))


class FeatureMap:
    """One-hot + standardised features of a dataset's records, sensitive column included.

    Fitted on the whole dataset plus the frames it will see (the schema's domains, not the
    labels), so train, test and synthetic frames always share columns.
    """

    def __init__(self, dataset: fairnb.data.TabularDataset, sensitive: str, frames: Sequence[pd.DataFrame]):
        self.dataset, self.sensitive = dataset, sensitive
        categorical = list(dataset.categorical) + [sensitive]
        self.encoder = fairnb.data.TabularEncoder(categorical, dataset.numeric, dataset.integer, scaling="standard")
        self.encoder.fit(pd.concat([f[categorical + list(dataset.numeric)] for f in [dataset.frame, *frames]], ignore_index=True))

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        return self.encoder.transform(frame)

    @property
    def feature_names(self) -> list[str]:
        return self.encoder.feature_names


def labels(frame: pd.DataFrame, dataset: fairnb.data.TabularDataset, positive_label: str) -> np.ndarray:
    """Int labels (n,) with 1 = the positive class of the chosen convention."""
    y = frame[dataset.target].to_numpy().astype(np.int64)
    return y if positive_label == "favourable" else 1 - y


def groups(frame: pd.DataFrame, dataset: fairnb.data.TabularDataset, sensitive: str) -> np.ndarray:
    """Group names (n,): ``privileged`` / ``unprivileged`` for the sensitive attribute."""
    privileged = frame[sensitive].astype(str).to_numpy() == str(dataset.privileged[sensitive])
    return np.where(privileged, "privileged", "unprivileged")


def score(y_true: np.ndarray, y_pred: np.ndarray, group: np.ndarray) -> dict[str, float]:
    """Utility and fairness of predictions: accuracy, recall, f1, dpr, eor and per-group rates."""
    from fairlearn.metrics import demographic_parity_ratio, equalized_odds_ratio
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    out = {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "recall": float(recall_score(y_true, y_pred, pos_label=1, zero_division=0)),
        "f1": float(f1_score(y_true, y_pred, pos_label=1, zero_division=0)),
        "dpr": float(demographic_parity_ratio(y_true, y_pred, sensitive_features=group)),
        "eor": float(equalized_odds_ratio(y_true, y_pred, sensitive_features=group)),
    }
    for name in ("privileged", "unprivileged"):
        rows = group == name
        out[f"positive_rate_{name}"] = float(y_pred[rows].mean()) if rows.any() else float("nan")
        out[f"base_rate_{name}"] = float(y_true[rows].mean()) if rows.any() else float("nan")
    return out


def evaluate(train: pd.DataFrame, test: pd.DataFrame, dataset: str, sensitive: str, classifier: str = "random_forest",
             positive_label: str = "favourable", seed: int = 0, features: FeatureMap | None = None) -> dict[str, float]:
    """Train ``classifier`` on ``train``, score it on ``test`` (see ``score``)."""
    _check(classifier, positive_label)
    ds = fairnb.data.load(dataset)
    features = features or FeatureMap(ds, sensitive, [train, test])
    y_train = labels(train, ds, positive_label)
    if len(np.unique(y_train)) < 2:
        raise ParameterError("train", f"a frame with only label {y_train[0]}", "a training frame with both labels", "one class")
    model = make_classifier(classifier, seed).fit(features(train), y_train)
    y_pred = model.predict(features(test)).astype(np.int64)
    return score(labels(test, ds, positive_label), y_pred, groups(test, ds, sensitive))


def evaluate_conventions(train: pd.DataFrame, test: pd.DataFrame, dataset: str, sensitive: str,
                         classifier: str = "random_forest", seed: int = 0,
                         features: FeatureMap | None = None) -> dict[str, dict[str, float]]:
    """One classifier, its predictions scored under both label conventions.

    The classifier is trained with class 1 = favourable; for ``unfavourable`` the labels and
    the predictions are both flipped. (Trees split the same way on flipped labels, so this equals
    training on the flipped labels up to ties, and it shows exactly how the *same* predictions
    read under each coding.) Returns ``{"favourable": scores, "unfavourable": scores}``.
    """
    _check(classifier, "favourable")
    ds = fairnb.data.load(dataset)
    features = features or FeatureMap(ds, sensitive, [train, test])
    y_train = labels(train, ds, "favourable")
    if len(np.unique(y_train)) < 2:
        raise ParameterError("train", f"a frame with only label {y_train[0]}", "a training frame with both labels", "one class")
    y_pred = make_classifier(classifier, seed).fit(features(train), y_train).predict(features(test)).astype(np.int64)
    y_true, group = labels(test, ds, "favourable"), groups(test, ds, sensitive)
    return {"favourable": score(y_true, y_pred, group), "unfavourable": score(1 - y_true, 1 - y_pred, group)}


def evaluate_protocols(synthetic: pd.DataFrame, real_test: pd.DataFrame, dataset: str, sensitive: str,
                       classifier: str = "random_forest", positive_label: str = "favourable", seed: int = 0,
                       features: FeatureMap | None = None) -> dict[str, dict[str, float]]:
    """Both protocols of paper 000's evaluation.

    - ``synthetic_real``: train on the synthetic set, test on held-out real records;
    - ``synthetic_split``: the reference's protocol, a 70/30 split of the synthetic set itself
      (stratified by label, ``random_state=seed``), train and test both synthetic.
    """
    from sklearn.model_selection import train_test_split

    _check(classifier, positive_label)
    ds = fairnb.data.load(dataset)
    features = features or FeatureMap(ds, sensitive, [synthetic, real_test])
    train, test = train_test_split(synthetic, test_size=0.3, random_state=seed, stratify=labels(synthetic, ds, positive_label))
    return {"synthetic_real": evaluate(synthetic, real_test, dataset, sensitive, classifier, positive_label, seed, features),
            "synthetic_split": evaluate(train, test, dataset, sensitive, classifier, positive_label, seed, features)}


def shap_importance(frame: pd.DataFrame, dataset: str, sensitive: str, seed: int = 0, n_explain: int = 1000,
                    features: FeatureMap | None = None) -> pd.Series:
    """Mean absolute SHAP value per source column of an XGBoost model trained on ``frame``.

    As in the reference's explainability code: ``XGBClassifier`` (learning rate 0.01) and SHAP's
    TreeExplainer on ``n_explain`` seeded rows; the one-hot columns of a categorical feature are
    summed (SHAP values are additive), so the result has one entry per original column, sorted
    descending. Labels use the favourable convention (the ranking does not depend on it).
    """
    import shap
    from xgboost import XGBClassifier

    ds = fairnb.data.load(dataset)
    features = features or FeatureMap(ds, sensitive, [frame])
    x = features(frame)
    model = XGBClassifier(objective="binary:logistic", learning_rate=0.01, n_estimators=300, random_state=seed, n_jobs=1)
    model.fit(x, labels(frame, ds, "favourable"))
    rows = np.random.default_rng(seed).choice(len(x), size=min(n_explain, len(x)), replace=False)
    values = shap.TreeExplainer(model).shap_values(x[rows])
    values = np.asarray(values)
    per_column = {block.column: float(np.abs(values[:, block.slice].sum(1)).mean()) for block in features.encoder.blocks}
    return pd.Series(per_column, name="mean |SHAP|").sort_values(ascending=False)
