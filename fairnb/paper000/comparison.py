"""Train every paper-000 baseline and score it exactly like the fair-distillation method.

One repetition (seed r):

1. split the real records 80/20, stratified by target × group (``fairnb.data.split``, seed r);
   the training part is optionally reduced to ``max_rows`` records (stratified, seed r);
2. fit each method on the training records, timing the fit (``fit_seconds_``, recorded as the
   metric ``fit_seconds``);
3. generators draw as many synthetic records as there are training records and are scored by
   ``fairnb.metrics.evaluate_protocols`` (the same classifier, protocol and held-out real test
   records for every method); CorrelationRemover and ThresholdOptimizer predict the real test
   records and are scored by ``fairnb.metrics.score``; "original" is the training data itself;
4. density and coverage (k = 5) of each generator's records against the real training records,
   computed as for our method (one-hot + min-max features), on at most ``quality_rows`` records
   of each. The metrics of the protocol not chosen are kept too, as ``split_<metric>``
   (or ``real_<metric>``), named like our method's runs.

``run_comparison`` repeats this for several seeds and returns a ``ComparisonResult``: a tidy
table of every (method, seed, metric) value and ``metrics()``, the ``"<method>/<metric>"`` →
per-repetition list mapping that ``fairnb.runs.report`` records.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

import numpy as np
import pandas as pd

import fairnb.data
from fairnb.paper000.baselines import hyperparameters as hp
from fairnb.paper000.baselines.classical import CorrelationRemoverBaseline, OriginalData, ThresholdOptimizerBaseline
from fairnb.paper000.baselines.decaf import Decaf
from fairnb.paper000.baselines.fldgm import FLDGM, FairDiscoGenerator
from fairnb.paper000.baselines.tabfairgan import TabFairGAN
from fairnb.data import TabularDataset
from fairnb.errors import ParameterError, one_of

METHODS = ("tabfairgan", "decaf", "fldgm", "fairdisco", "correlation_remover", "threshold_optimizer", "original")
GENERATORS = ("tabfairgan", "decaf", "fldgm", "fairdisco")
PREDICTORS = ("correlation_remover", "threshold_optimizer")
METRICS = ("dpr", "eor", "accuracy", "recall", "f1", "density", "coverage", "fit_seconds")
LABELS = {
    "tabfairgan": "TabFairGAN", "decaf": "Decaf", "fldgm": "FLDGMs (DM)", "fairdisco": "FairDisco",
    "correlation_remover": "CorrelationRemover", "threshold_optimizer": "ThresholdOptimizer", "original": "Original data",
}


@dataclass(frozen=True)
class ComparisonSettings:
    """Everything one comparison run needs besides the seed.

    Epoch counts of 0 mean "the publication's length for this dataset" (``PUBLISHED_EPOCHS``;
    FairDisco: 1000). ``max_rows`` and ``batch_size`` (the FairDisco teacher's mini-batch) take the
    values of our method's runs (parameters ``fit_rows`` and ``batch_size``) so both see the
    same data and the same teacher.
    """

    dataset: str
    sensitive: str
    max_rows: int = 0
    tabfairgan_epochs: int = 0
    decaf_epochs: int = 0
    fldgm_epochs: int = 0
    fairdisco_epochs: int = 0
    batch_size: int = 2048
    classifier: str = "random_forest"
    positive_label: str = "favourable"
    protocol: str = "synthetic_real"
    quality_rows: int = 10000
    methods: tuple[str, ...] = METHODS
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.dataset not in fairnb.data.TABULAR or self.dataset not in hp.PUBLISHED_EPOCHS["tabfairgan"]:
            raise ParameterError("dataset", self.dataset, one_of(hp.PUBLISHED_EPOCHS["tabfairgan"]))
        if self.sensitive not in fairnb.data.SENSITIVE[self.dataset]:
            raise ParameterError("sensitive", self.sensitive, f"for {self.dataset}: {one_of(fairnb.data.SENSITIVE[self.dataset])}")
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise ParameterError("methods", self.methods, "a non-empty subset of " + ", ".join(METHODS))
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 2:
            raise ParameterError("batch_size", self.batch_size, "an int >= 2")
        for name in ("max_rows", "tabfairgan_epochs", "decaf_epochs", "fldgm_epochs", "fairdisco_epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ParameterError(name, value, "an int >= 0 (0 = all rows / the publication's length)")
        from fairnb.metrics.downstream import CLASSIFIERS, POSITIVE_LABELS, PROTOCOLS

        for name, allowed in (("classifier", CLASSIFIERS), ("positive_label", POSITIVE_LABELS), ("protocol", PROTOCOLS)):
            if getattr(self, name) not in allowed:
                raise ParameterError(name, getattr(self, name), one_of(allowed))
        if isinstance(self.quality_rows, bool) or not isinstance(self.quality_rows, int) or self.quality_rows < 10:
            raise ParameterError("quality_rows", self.quality_rows, "an int >= 10")

    def epochs(self, method: str) -> int:
        """The epoch count a method trains for (publication's length when the setting is 0)."""
        value = getattr(self, f"{method}_epochs")
        if value:
            return value
        return 1000 if method == "fairdisco" else hp.PUBLISHED_EPOCHS[method][self.dataset]


def comparison_split(dataset: TabularDataset, sensitive: str, seed: int, max_rows: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test) frames: 80/20 stratified split (seed), train reduced to ``max_rows`` if > 0.

    The very split of our method's runs (``fairnb.paper000.study.prepare_data``): with the
    same seed and ``max_rows`` every method sees the same training and test records.
    """
    from fairnb.paper000.study import prepare_data

    return prepare_data(dataset.name, sensitive, max_rows, seed)


def quality(real: pd.DataFrame, synthetic: pd.DataFrame, dataset: TabularDataset, max_rows: int, seed: int,
            device: str = "cpu") -> dict[str, float]:
    """Density and coverage (k = 5), computed as for our method (``fairnb.paper000.study.quality``:
    one-hot + min-max features fitted on the real rows, at most ``max_rows`` seeded rows of each)."""
    from fairnb.paper000.study import quality as shared_quality

    return shared_quality(real, synthetic, dataset.name, max_rows=max_rows, seed=seed, device=device)


def make_method(method: str, settings: ComparisonSettings, seed: int, teacher: FairDiscoGenerator | None = None):
    """A fresh, unfitted baseline for ``method`` with the run's epochs, seed and device."""
    device = settings.device
    if method == "tabfairgan":
        return TabFairGAN(epochs=settings.epochs("tabfairgan"), seed=seed, device=device)
    if method == "decaf":
        return Decaf(epochs=settings.epochs("decaf"), seed=seed, device=device)
    if method == "fairdisco":
        return FairDiscoGenerator(epochs=settings.epochs("fairdisco"), batch_size=settings.batch_size, seed=seed, device=device)
    if method == "fldgm":
        return FLDGM(epochs=settings.epochs("fldgm"), teacher_epochs=settings.epochs("fairdisco"), teacher=teacher,
                     teacher_batch_size=settings.batch_size, seed=seed, device=device)
    if method == "correlation_remover":
        return CorrelationRemoverBaseline(classifier=settings.classifier, seed=seed)
    if method == "threshold_optimizer":
        return ThresholdOptimizerBaseline(seed=seed)
    if method == "original":
        return OriginalData(seed=seed)
    raise ParameterError("method", method, one_of(METHODS))


def score_predictor(model, test: pd.DataFrame, dataset: TabularDataset, sensitive: str, positive_label: str) -> dict[str, float]:
    """Utility and fairness of a fair predictor's predictions on real test records."""
    from fairnb.metrics.downstream import groups, labels, score

    predicted = model.predict(test)
    if positive_label == "unfavourable":
        predicted = 1 - predicted
    return score(labels(test, dataset, positive_label), predicted, groups(test, dataset, sensitive))


def evaluate_generated(records: pd.DataFrame, test: pd.DataFrame, settings: ComparisonSettings, dataset: TabularDataset,
                       seed: int, features) -> dict[str, dict[str, float]]:
    """Both protocols of ``fairnb.metrics.evaluate_protocols`` for a generator's records.

    A generator that produced a single label (an under-trained GAN can) gives no classifier to
    train: every test record then gets that label, which is what any classifier fitted on such
    data predicts.
    """
    from fairnb.metrics import evaluate_protocols
    from fairnb.metrics.downstream import groups, labels, score

    if records[dataset.target].nunique() > 1 and records[dataset.target].value_counts().min() >= 2:
        return evaluate_protocols(records, test, settings.dataset, settings.sensitive, settings.classifier,
                                  settings.positive_label, seed, features)
    out = {}
    for protocol, frame in (("synthetic_real", test), ("synthetic_split", records)):
        y_true = labels(frame, dataset, settings.positive_label)
        constant = np.full(len(frame), labels(records.iloc[:1], dataset, settings.positive_label)[0])
        out[protocol] = score(y_true, constant, groups(frame, dataset, settings.sensitive))
    return out


def run_repetition(settings: ComparisonSettings, seed: int,
                   progress: Callable[[str], None] | None = None) -> tuple[list[dict], dict[str, pd.DataFrame]]:
    """One repetition of every method; returns (rows of (method, seed, metric, value), synthetic frames)."""
    from fairnb.metrics import FeatureMap

    dataset = fairnb.data.load(settings.dataset)
    train, test = comparison_split(dataset, settings.sensitive, seed, settings.max_rows)
    rows: list[dict] = []
    synthetic: dict[str, pd.DataFrame] = {}
    teacher: FairDiscoGenerator | None = None
    # FLDGMs needs the FairDisco teacher: train it first and share it (its time is added to FLDGMs').
    order = sorted(settings.methods, key=lambda m: (m != "fairdisco", METHODS.index(m)))
    if "fldgm" in order and "fairdisco" not in order:
        order = ["fldgm"] + [m for m in order if m != "fldgm"]
    for method in order:
        if progress:
            progress(f"seed {seed}: {method}")
        model = make_method(method, settings, seed, teacher if method == "fldgm" else None)
        model.fit(train, dataset=dataset, sensitive=settings.sensitive)
        if method == "fairdisco":
            teacher = model
        values: dict[str, float] = {"fit_seconds": float(model.fit_seconds_)}
        if method in PREDICTORS:
            values.update(score_predictor(model, test, dataset, settings.sensitive, settings.positive_label))
        else:
            records = model.sample(len(train))
            synthetic[method] = records
            features = FeatureMap(dataset, settings.sensitive, [train, records, test])
            protocols = evaluate_generated(records, test, settings, dataset, seed, features)
            values.update(protocols[settings.protocol])
            other = [p for p in protocols if p != settings.protocol][0]
            prefix = "split_" if other == "synthetic_split" else "real_"
            values.update({f"{prefix}{k}": v for k, v in protocols[other].items()})
            if method in GENERATORS:
                values.update(quality(train, records, dataset, settings.quality_rows, seed, settings.device))
        rows += [{"method": method, "seed": seed, "metric": k, "value": float(v)} for k, v in values.items()]
    return rows, synthetic


@dataclass
class ComparisonResult:
    """Every value of a comparison: ``table`` has columns method, seed, metric, value."""

    settings: ComparisonSettings
    table: pd.DataFrame
    synthetic: dict[int, dict[str, pd.DataFrame]] = field(default_factory=dict)

    def metrics(self, names: Iterable[str] = METRICS) -> dict[str, list[float]]:
        """``"<method>/<metric>"`` → per-repetition values, for ``fairnb.runs.report``.

        Metrics that do not apply to a method (density of CorrelationRemover, …) are left out.
        """
        out: dict[str, list[float]] = {}
        for method in METHODS:
            for metric in names:
                values = self.table[(self.table.method == method) & (self.table.metric == metric)].sort_values("seed")["value"]
                if len(values):
                    out[f"{method}/{metric}"] = [float(v) for v in values]
        return out

    def summary(self, names: Iterable[str] = METRICS) -> pd.DataFrame:
        """Mean ± std per method (rows, in ``METHODS`` order) and metric (columns), as strings."""
        names = list(names)
        stats = self.table[self.table.metric.isin(names)].groupby(["method", "metric"])["value"].agg(["mean", "std", "count"])
        cells = stats.apply(lambda r: f"{r['mean']:.3f} ± {0.0 if np.isnan(r['std']) else r['std']:.3f}", axis=1).unstack("metric")
        order = [m for m in METHODS if m in cells.index]
        cells = cells.reindex(index=order, columns=[n for n in names if n in cells.columns]).fillna("n/a")
        cells.index = [LABELS[m] for m in cells.index]
        cells.index.name = "method"
        return cells

    def statistics(self, names: Iterable[str] = METRICS) -> pd.DataFrame:
        """Numeric mean and std per (method, metric): index method, columns (stat, metric)."""
        stats = self.table[self.table.metric.isin(list(names))].groupby(["method", "metric"])["value"].agg(["mean", "std"])
        return stats.unstack("metric").reindex([m for m in METHODS if m in set(self.table.method)])


def run_comparison(settings: ComparisonSettings, seeds: Iterable[int], keep_synthetic: bool = False,
                   progress: Callable[[str], None] | None = None) -> ComparisonResult:
    """Repeat ``run_repetition`` for each seed (see module doc)."""
    rows: list[dict] = []
    kept: dict[int, dict[str, pd.DataFrame]] = {}
    for seed in seeds:
        repetition, synthetic = run_repetition(settings, int(seed), progress)
        rows += repetition
        if keep_synthetic:
            kept[int(seed)] = synthetic
    return ComparisonResult(settings, pd.DataFrame(rows, columns=["method", "seed", "metric", "value"]), kept)


def with_methods(settings: ComparisonSettings, methods: Iterable[str]) -> ComparisonSettings:
    """The same settings restricted to ``methods``."""
    return replace(settings, methods=tuple(methods))


def settings_from_config(config) -> ComparisonSettings:
    """``ComparisonSettings`` from a notebook's resolved ``fairnb.runs.Config``."""
    return ComparisonSettings(
        dataset=config.dataset, sensitive=config.sensitive, max_rows=config.fit_rows,
        tabfairgan_epochs=config.tabfairgan_epochs, decaf_epochs=config.decaf_epochs, fldgm_epochs=config.fldgm_epochs,
        fairdisco_epochs=config.fairdisco_epochs, batch_size=config.batch_size, classifier=config.classifier,
        positive_label=config.positive_label, device=config.device)


def means(result: ComparisonResult, names: Iterable[str] = METRICS) -> dict[str, float]:
    """``"<method>_<metric>"`` → mean over repetitions (for glue)."""
    return {f"{k.replace('/', '_')}": float(np.mean(v)) for k, v in result.metrics(names).items()}


def synthetic_preview(result: ComparisonResult, rows: int = 3) -> pd.DataFrame:
    """The first ``rows`` records of each generator (first repetition), stacked, for the page."""
    if not result.synthetic:
        return pd.DataFrame()
    first = result.synthetic[min(result.synthetic)]
    return pd.concat({LABELS[m]: frame.head(rows) for m, frame in first.items() if m in GENERATORS + ("original",)})
