"""Downstream evaluation of (synthetic) tabular data: one scoring path for every row of a table.

**The one evaluation path.** ``score_synthetic`` scores any set of training rows (synthetic
records, or the original data) the same way: a classifier trained on them predicts held-out
real test rows; the predictions are scored under both label codings; density and coverage
compare the rows with held-out real rows; and the row is checked for degeneracy. A fair
predictor's own predictions (``score_predictions``) and a classifier on any other features
(``score_features``, e.g. a latent code) go through the same scoring and the same check. Every
row of paper 000's comparison, stage-3 study and Table 1 is scored here.

**Classifier.** ``random_forest``: sklearn defaults, as the paper; ``xgboost``: the reference
code's ``XGBClassifier(objective="binary:logistic")``. Seeded, one thread.

**Features** (``FeatureMap``): one-hot categoricals + standardised numerics, **every protected
column of the dataset included** (the audited attribute and the other one, e.g. race when the
audited attribute is sex), the target excluded. One rule for every row (``OTHER_PROTECTED``): the
reference code's features are every column but the target, and the CorrelationRemover and
ThresholdOptimizer baselines use the same set. The numeric scaling comes from the whole dataset,
so the map is the same whatever rows it is applied to.

**Label coding.** Fairness and utility depend on which outcome is class 1. ``favourable`` (the
headline, as AIF360 and the glossary define the metrics): class 1 is the favourable outcome
(Adult >50K, COMPAS no recidivism, German good credit). ``unfavourable`` is the reference code's
Adult coding (its label 1 is '<=50K'). One classifier is trained (class 1 = favourable) and its
predictions are read both ways, so the two codings describe the same predictions.

Fairness (fairlearn), with the audited attribute's two groups:

- DPR, demographic parity ratio = min_g P(ŷ=1 | g) / max_g P(ŷ=1 | g) (1 = parity);
- EOR, equalized odds ratio = min(TPR ratio, FPR ratio), each min/max over groups.

Utility: accuracy, recall, F1 (positive class 1). Each group's predicted-positive rate and base
rate are returned too.

**Degenerate rows** (``degeneracy``): a row is *degenerate*, and is named, never read as fair,
when its classifier is near-constant — in every group the predicted-positive rate is below
``NEAR_CONSTANT_RATE`` (or, equivalently under the other coding, above 1 − ``NEAR_CONSTANT_RATE``)
— or when its generator collapsed: coverage against held-out real rows below
``COLLAPSED_COVERAGE``. Records with a single label are degenerate too (no classifier can be
trained; every test row gets that label). The thresholds are the claims ledger's
(``fairnb.metrics.claims``), so a run's flag and the ledger's own check always agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

import fairnb.data
from fairnb.errors import ParameterError, one_of
from fairnb.metrics import claims as _rule

CLASSIFIERS = ("random_forest", "xgboost")
POSITIVE_LABELS = ("favourable", "unfavourable")
HEADLINE_CODING = "favourable"
PROTOCOLS = ("synthetic_real", "synthetic_split")
UTILITY_FAIRNESS = ("dpr", "eor", "accuracy", "recall", "f1")
GROUP_RATES = ("positive_rate_privileged", "positive_rate_unprivileged", "base_rate_privileged", "base_rate_unprivileged")
OTHER_PROTECTED = "included"  # the other protected column(s) enter the classifier's features, for every row
NEAR_CONSTANT_RATE = _rule.NEAR_CONSTANT_RATE  # 0.02: predicted-positive rate below it (or above 1 − it) in every group
COLLAPSED_COVERAGE = _rule.COLLAPSED_COVERAGE  # 0.01: coverage against held-out real rows below it
SPLIT_TEST_SIZE = 0.3  # the reference protocol's share of the synthetic set held out for testing


def _check(classifier: str, positive_label: str) -> None:
    if classifier not in CLASSIFIERS:
        raise ParameterError("classifier", classifier, one_of(CLASSIFIERS))
    if positive_label not in POSITIVE_LABELS:
        raise ParameterError("positive_label", positive_label, one_of(POSITIVE_LABELS))


def make_classifier(classifier: str, seed: int = 0, threads: int | None = 1):
    """An unfitted downstream classifier, seeded: sklearn ``RandomForestClassifier()`` defaults (the paper's
    choice) or ``XGBClassifier(objective='binary:logistic')`` (the reference code's), on ``threads`` threads
    (None: all; the result does not depend on it)."""
    if classifier == "random_forest":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(random_state=seed, n_jobs=threads)
    if classifier == "xgboost":
        from xgboost import XGBClassifier

        return XGBClassifier(objective="binary:logistic", random_state=seed, n_jobs=threads)
    raise ParameterError("classifier", classifier, one_of(CLASSIFIERS))


def feature_columns(dataset: fairnb.data.TabularDataset) -> tuple[list[str], list[str]]:
    """(categorical, numeric) classifier inputs: every feature and every protected column, no target
    (the rule ``OTHER_PROTECTED``)."""
    return list(dataset.categorical) + list(dataset.sensitive), list(dataset.numeric)


class FeatureMap:
    """One-hot + standardised classifier features of a dataset's records (see module doc).

    Categories and numeric scaling come from the whole dataset, so the map is the same for every
    row of a table, whatever ``frames`` it is built with: they are only checked, and a category
    the dataset does not have raises (no generator of the book can produce one).
    ``sensitive`` names the audited attribute; every protected column is a feature either way, unless
    ``exclude`` names it (an ablation: the book's tables never exclude a column).
    """

    def __init__(self, dataset: fairnb.data.TabularDataset, sensitive: str, frames: Sequence[pd.DataFrame] = (),
                 exclude: Sequence[str] = ()):
        self.dataset, self.sensitive = dataset, dataset.check_sensitive(sensitive)
        categorical, numeric = feature_columns(dataset)
        unknown = [c for c in exclude if c not in categorical + numeric]
        if unknown:
            raise ParameterError("exclude", unknown, "feature or protected columns of " + dataset.name)
        categorical = [c for c in categorical if c not in exclude]
        numeric = [c for c in numeric if c not in exclude]
        self.encoder = fairnb.data.TabularEncoder(categorical, numeric, dataset.integer, scaling="standard")
        self.encoder.fit(dataset.frame[categorical + numeric])
        for frame in frames:
            self.encoder.transform(frame)  # unknown categories raise, naming the column

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        return self.encoder.transform(frame)

    @property
    def feature_names(self) -> list[str]:
        return self.encoder.feature_names


def labels(frame: pd.DataFrame, dataset: fairnb.data.TabularDataset, positive_label: str) -> np.ndarray:
    """Int labels (n,) with 1 = the positive class of the chosen coding."""
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


def degeneracy(rates: Sequence[float | None], coverage: float | None = None, single_label: bool = False) -> list[str]:
    """The reasons a row is degenerate (empty: it is not), from its groups' predicted-positive rates,
    its coverage against held-out real rows (``None`` for a row without records) and whether its
    training rows held a single label. The rule is the claims ledger's (module doc)."""
    reasons = []
    if single_label:
        reasons.append("its records hold a single label (every test row gets that label)")
    if _rule.near_constant(rates):
        reasons.append(f"near-constant classifier: predicted-positive rate < {NEAR_CONSTANT_RATE:g} "
                       f"(or > {1 - NEAR_CONSTANT_RATE:g}) in every group")
    if _rule.collapsed(coverage):
        reasons.append(f"collapsed generator: coverage against held-out real rows < {COLLAPSED_COVERAGE:g}")
    return reasons


@dataclass
class RowScore:
    """Everything ``score_synthetic`` measures for one row of a table.

    ``codings``: coding → scores of train-on-rows / test-on-held-out-real (``score``'s keys);
    ``split``: coding → scores of the reference's protocol (a 70/30 split of the rows themselves),
    empty when not computed; ``quality``: density and coverage against held-out real rows;
    ``source_quality``: the same against the rows the records were made from (the reading the
    reference code's setup gives); ``degenerate`` and ``reason`` (see ``degeneracy``).
    """

    codings: dict[str, dict[str, float]]
    split: dict[str, dict[str, float]] = field(default_factory=dict)
    quality: dict[str, float] = field(default_factory=dict)
    source_quality: dict[str, float] = field(default_factory=dict)
    degenerate: bool = False
    reason: str = ""

    def metrics(self, headline: str = HEADLINE_CODING, protocol: str = "synthetic_real") -> dict[str, float]:
        """Flat ``name → value`` for a results record (the names every paper-000 run reports).

        ``<metric>``: the headline protocol under the ``headline`` coding; ``<coding>_<metric>``:
        the same predictions under the other coding; ``split_<metric>`` (or ``real_<metric>`` when
        the headline protocol is ``synthetic_split``): the other protocol, headline coding;
        ``density``/``coverage`` (held-out real rows), ``source_density``/``source_coverage``;
        ``degenerate`` (1 = degenerate).
        """
        if headline not in POSITIVE_LABELS:
            raise ParameterError("positive_label", headline, one_of(POSITIVE_LABELS))
        if protocol not in PROTOCOLS:
            raise ParameterError("protocol", protocol, one_of(PROTOCOLS))
        main, other, prefix = ((self.codings, self.split, "split_") if protocol == "synthetic_real"
                               else (self.split, self.codings, "real_"))
        out: dict[str, float] = {}
        for coding, values in main.items():
            tag = "" if coding == headline else f"{coding}_"
            out.update({f"{tag}{k}": float(v) for k, v in values.items()})
        if headline in other:
            out.update({f"{prefix}{k}": float(v) for k, v in other[headline].items() if k in UTILITY_FAIRNESS})
        out.update({k: float(v) for k, v in self.quality.items()})
        out.update({f"source_{k}": float(v) for k, v in self.source_quality.items()})
        out["degenerate"] = float(self.degenerate)
        return out


def _both_codings(y_pred: np.ndarray, test: pd.DataFrame, ds: fairnb.data.TabularDataset, sensitive: str) -> dict[str, dict[str, float]]:
    y_true, group = labels(test, ds, "favourable"), groups(test, ds, sensitive)
    return {"favourable": score(y_true, y_pred, group), "unfavourable": score(1 - y_true, 1 - y_pred, group)}


def _fit_predict(classifier: str, seed: int, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, bool]:
    """Predictions (class 1 = favourable) of a classifier trained on (x_train, y_train); a single label
    in ``y_train`` gives that label for every test row. Returns (predictions, single_label)."""
    values = np.unique(y_train)
    if len(values) < 2:
        return np.full(len(x_test), int(values[0]) if len(values) else 0, dtype=np.int64), True
    return make_classifier(classifier, seed).fit(x_train, y_train).predict(x_test).astype(np.int64), False


def _finish(codings: dict[str, dict[str, float]], single_label: bool, quality: dict[str, float] | None = None,
            **more) -> RowScore:
    rates = [codings["favourable"][f"positive_rate_{g}"] for g in ("privileged", "unprivileged")]
    reasons = degeneracy(rates, (quality or {}).get("coverage"), single_label)
    return RowScore(codings, quality=quality or {}, degenerate=bool(reasons), reason="; ".join(reasons), **more)


def score_predictions(y_pred: np.ndarray, test: pd.DataFrame, dataset: str, sensitive: str) -> RowScore:
    """A predictor's own predictions of the held-out real ``test`` rows (int (n,), class 1 =
    favourable), scored under both codings and checked for degeneracy (no records, no density)."""
    ds = fairnb.data.load(dataset)
    y_pred = np.asarray(y_pred).astype(np.int64)
    if y_pred.shape != (len(test),):
        raise ParameterError("y_pred", f"shape {y_pred.shape}", f"one prediction per test row ({len(test)},)")
    return _finish(_both_codings(y_pred, test, ds, sensitive), False)


def score_features(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, test: pd.DataFrame, dataset: str,
                   sensitive: str, classifier: str = "random_forest", seed: int = 0) -> RowScore:
    """A classifier trained on arbitrary features (e.g. a fair representation's codes) with labels
    ``y_train`` (class 1 = favourable), predicting the held-out real ``test`` rows from ``x_test``."""
    _check(classifier, "favourable")
    y_pred, single = _fit_predict(classifier, seed, np.asarray(x_train), np.asarray(y_train, dtype=np.int64), np.asarray(x_test))
    return _finish(_both_codings(y_pred, test, fairnb.data.load(dataset), sensitive), single)


@dataclass(frozen=True)
class Reference:
    """Real rows that density and coverage (k = 5) are measured against, with how: at most ``max_rows``
    seeded rows of each set, distances on ``device``."""

    rows: pd.DataFrame
    max_rows: int = 10_000
    device: str = "cpu"


def score_synthetic(train: pd.DataFrame, test: pd.DataFrame, reference: Reference | pd.DataFrame | None = None, *,
                    dataset: str, sensitive: str, classifier: str = "random_forest", seed: int = 0,
                    features: FeatureMap | None = None, source: Reference | pd.DataFrame | None = None,
                    split: bool = True) -> RowScore:
    """Score one row of a table: the rows ``train`` (synthetic records or the original data).

    Args:
        train: the rows a classifier is trained on (features, protected columns, target).
        test: held-out real rows the classifier predicts (the same for every row of a table).
        reference: held-out real rows for density and coverage (a ``Reference``, or a frame with its defaults;
            ``None``: not measured, e.g. for the original data itself). Never the rows the records were made from.
        dataset, sensitive: dataset name and audited attribute.
        classifier, seed: the downstream classifier and its seed (the same for every row).
        features: a ``FeatureMap`` (one per table; default: a new one, identical by construction).
        source: the real rows the records were made from, for the old density/coverage reading
            (``source_density``/``source_coverage``); ``None``: not measured.
        split: also score the reference's protocol (train and test on a 70/30 split of ``train``).

    Returns:
        ``RowScore`` (both codings, the split protocol, quality, degeneracy).
    """
    _check(classifier, "favourable")
    from fairnb.metrics.density import tabular_density_coverage

    ds = fairnb.data.load(dataset)
    features = features or FeatureMap(ds, sensitive, [train, test])
    y_train = labels(train, ds, "favourable")
    y_pred, single = _fit_predict(classifier, seed, features(train), y_train, features(test))
    codings = _both_codings(y_pred, test, ds, sensitive)
    def density(against: Reference | pd.DataFrame | None) -> dict[str, float]:
        if against is None:
            return {}
        against = against if isinstance(against, Reference) else Reference(against)
        return tabular_density_coverage(against.rows, train, dataset, max_rows=against.max_rows, seed=seed, device=against.device)

    quality, source_quality = density(reference), density(source)
    split_scores: dict[str, dict[str, float]] = {}
    if split:
        from sklearn.model_selection import train_test_split

        counts = np.bincount(y_train, minlength=2)
        stratify = y_train if counts.min() >= 2 else None
        part_train, part_test = train_test_split(train, test_size=SPLIT_TEST_SIZE, random_state=seed, stratify=stratify)
        part_pred, _ = _fit_predict(classifier, seed, features(part_train), labels(part_train, ds, "favourable"), features(part_test))
        split_scores = _both_codings(part_pred, part_test, ds, sensitive)
    return _finish(codings, single, quality, split=split_scores, source_quality=source_quality)


def evaluate(train: pd.DataFrame, test: pd.DataFrame, dataset: str, sensitive: str, classifier: str = "random_forest",
             positive_label: str = "favourable", seed: int = 0, features: FeatureMap | None = None) -> dict[str, float]:
    """Train ``classifier`` on ``train``, score it on ``test`` under ``positive_label`` (``score_synthetic``'s
    classifier, without density, coverage or the split protocol)."""
    _check(classifier, positive_label)
    return evaluate_conventions(train, test, dataset, sensitive, classifier, seed, features)[positive_label]


def evaluate_conventions(train: pd.DataFrame, test: pd.DataFrame, dataset: str, sensitive: str,
                         classifier: str = "random_forest", seed: int = 0,
                         features: FeatureMap | None = None) -> dict[str, dict[str, float]]:
    """One classifier, its predictions scored under both label codings:
    ``{"favourable": scores, "unfavourable": scores}`` (see ``score_synthetic``)."""
    _check(classifier, "favourable")
    ds = fairnb.data.load(dataset)
    if len(np.unique(labels(train, ds, "favourable"))) < 2:
        raise ParameterError("train", "a frame with a single label", "a training frame with both labels", "one class")
    return score_synthetic(train, test, None, dataset=dataset, sensitive=sensitive, classifier=classifier, seed=seed,
                           features=features, split=False).codings


def evaluate_protocols(synthetic: pd.DataFrame, real_test: pd.DataFrame, dataset: str, sensitive: str,
                       classifier: str = "random_forest", positive_label: str = "favourable", seed: int = 0,
                       features: FeatureMap | None = None) -> dict[str, dict[str, float]]:
    """Both protocols of paper 000's evaluation under ``positive_label``.

    - ``synthetic_real``: train on the synthetic set, test on held-out real records;
    - ``synthetic_split``: the reference's protocol, a 70/30 split of the synthetic set itself
      (stratified by label, ``random_state=seed``), train and test both synthetic.
    """
    _check(classifier, positive_label)
    row = score_synthetic(synthetic, real_test, None, dataset=dataset, sensitive=sensitive, classifier=classifier,
                          seed=seed, features=features)
    return {"synthetic_real": row.codings[positive_label], "synthetic_split": row.split[positive_label]}


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
