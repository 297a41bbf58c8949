"""Train every paper-000 baseline and score it exactly like the fair-distillation method.

One repetition (seed r):

1. split the real records 80/20, stratified by target × group (``fairnb.data.split``, seed r);
   the training part is optionally reduced to ``max_rows`` records (stratified, seed r) — the
   very split of our method's runs (``fairnb.paper000.study.prepare_data``);
2. the FairDisco teacher is trained once (``fairnb.paper000.study.fit_teacher``, the function our
   method's stage-3 study calls, with the same settings): the FairDisco row (one reconstruction per
   training record), the FairDisco (representation) row (a classifier on the teacher's codes),
   FLDGMs (a diffusion model of the teacher's codes) and, when asked for, our method's students
   (``ours_<loss>``) all share it;
3. every other method is fitted on the training records, timed (``fit_seconds``); generators
   draw as many records as there are training records;
4. every row is scored by ``fairnb.paper000.study.score_rows`` (``fairnb.metrics.downstream.score_synthetic``):
   one classifier, the same held-out real test records, the same features, both label codings,
   the reference's synthetic-split protocol, density and coverage (k = 5) against the held-out real
   records (and the old reading against the training records, ``source_density``/``source_coverage``),
   and the degeneracy check. CorrelationRemover and ThresholdOptimizer predict the real test records
   themselves (``score_predictions``: same scores, same check).

**Beyond the paper.** ``BEYOND_PAPER`` lists generators the paper does not compare with (TabFairGDT,
Panagiotou et al. 2025, a fast tree-based fair generator). They are trained and scored by the same
path, are part of the default ``methods``, and carry "(not in the paper)" in their label; they come
after the paper's rows in every table and never enter the paper's Table 1 or its claims ledger
(``fairnb.paper000.reproduction`` and ``fairnb.book.claims`` leave them out).

``run_comparison`` repeats this for several seeds and returns a ``ComparisonResult``: a tidy
table of every (method, seed, metric) value and ``metrics()``, the ``"<method>/<metric>"`` →
per-repetition list mapping that ``fairnb.runs.report`` records. Names are those of our method's
runs (``fairnb.paper000.study.report_metrics``): ``<metric>`` under the headline coding
(``positive_label``), ``<coding>_<metric>`` under the other, ``split_<metric>``, ``density``,
``coverage``, ``source_density``, ``source_coverage``, ``positive_rate_<group>``, ``degenerate``
(1 = degenerate) and ``fit_seconds``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

import fairnb.data
from fairnb.paper000.baselines import hyperparameters as hp
from fairnb.paper000.baselines.classical import CorrelationRemoverBaseline, OriginalData, ThresholdOptimizerBaseline
from fairnb.paper000.baselines.decaf import Decaf
from fairnb.paper000.baselines.fldgm import FLDGM, FairDiscoGenerator
from fairnb.paper000.baselines.tabfairgan import TabFairGAN
from fairnb.paper000.baselines.tabfairgdt import TabFairGDT
from fairnb.paper000 import names
from fairnb.paper000.names import BEYOND_PAPER, GENERATORS, OURS, PREDICTORS, REPRESENTATION, ROWS
from fairnb.data import TabularDataset
from fairnb.errors import ParameterError, one_of
from fairnb.nn.train import FIXED_BUDGET, TrainingRule, ending_metrics

# the baselines of the paper's Table 1 (and the original data)
METHODS = ("tabfairgan", "decaf", "fldgm", "fairdisco", "correlation_remover", "threshold_optimizer", "original")
# BEYOND_PAPER (fairnb.paper000.names): generators the paper does not compare with — same evaluation path, shown
# apart, never in the paper's Table 1 or claims. ROWS: every row a comparison can have, in table order.
TEACHER_ROWS = ("fairdisco", REPRESENTATION, "fldgm") + OURS
METRICS = ("dpr", "eor", "accuracy", "recall", "f1", "density", "coverage", "fit_seconds")
LABELS = names.METHOD_LABELS
ROW_GROUPS = ("paper", "beyond")


def rows_of(group: str) -> tuple[str, ...]:
    """The rows of ``group``: ``paper`` (Table 1's methods, our students included) or ``beyond``
    (``BEYOND_PAPER``); ``all`` gives every row."""
    if group == "all":
        return ROWS
    if group not in ROW_GROUPS:
        raise ParameterError("rows", group, one_of(ROW_GROUPS + ("all",)))
    return BEYOND_PAPER if group == "beyond" else tuple(m for m in ROWS if m not in BEYOND_PAPER)


@dataclass(frozen=True)
class ComparisonSettings:
    """Everything one comparison run needs besides the seed.

    Epoch counts of 0 mean "the publication's length for this dataset" (``PUBLISHED_EPOCHS``;
    FairDisco: 1000; our students (``distill_epochs``): 200). ``max_rows``, ``batch_size``,
    ``fairdisco_epochs``, ``beta_exponent`` (the teacher's), ``distill_epochs``, ``lam``,
    ``construction``, ``categorical_decoding`` and ``teacher_encoding`` take the values of our method's runs, so both see the same data and the
    same teacher. ``methods``: any of ``METHODS`` (the baselines of Table 1), ``BEYOND_PAPER``
    (generators the paper does not compare with; both are the default), the representation row and
    our students ``OURS`` (``ours_l1``, …). ``tabfairgdt_lamda``: TabFairGDT's fairness–utility
    trade-off in [0, 1] (``None``: its package's default, 0.5). ``training``: the stopping rule and model reuse
    of every generator (``fairnb.nn.train.TrainingRule``; a run's ``config.training``).
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
    methods: tuple[str, ...] = METHODS + BEYOND_PAPER
    device: str = "cpu"
    beta_exponent: int = 7
    distill_epochs: int = 0
    lam: float = 1.0
    construction: str = "random_group"
    categorical_decoding: str = "sample"
    teacher_encoding: str = "standard"
    tabfairgdt_lamda: float | None = None
    training: TrainingRule = FIXED_BUDGET

    def __post_init__(self) -> None:
        if self.dataset not in fairnb.data.TABULAR or self.dataset not in hp.PUBLISHED_EPOCHS["tabfairgan"]:
            raise ParameterError("dataset", self.dataset, one_of(hp.PUBLISHED_EPOCHS["tabfairgan"]))
        if self.sensitive not in fairnb.data.SENSITIVE[self.dataset]:
            raise ParameterError("sensitive", self.sensitive, f"for {self.dataset}: {one_of(fairnb.data.SENSITIVE[self.dataset])}")
        unknown = [m for m in self.methods if m not in ROWS]
        if unknown or not self.methods:
            raise ParameterError("methods", self.methods, "a non-empty subset of " + ", ".join(ROWS))
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 2:
            raise ParameterError("batch_size", self.batch_size, "an int >= 2")
        for name in ("max_rows", "tabfairgan_epochs", "decaf_epochs", "fldgm_epochs", "fairdisco_epochs", "distill_epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ParameterError(name, value, "an int >= 0 (0 = all rows / the publication's length)")
        from fairnb.metrics.downstream import CLASSIFIERS, POSITIVE_LABELS, PROTOCOLS

        for name, allowed in (("classifier", CLASSIFIERS), ("positive_label", POSITIVE_LABELS), ("protocol", PROTOCOLS)):
            if getattr(self, name) not in allowed:
                raise ParameterError(name, getattr(self, name), one_of(allowed))
        if isinstance(self.quality_rows, bool) or not isinstance(self.quality_rows, int) or self.quality_rows < 10:
            raise ParameterError("quality_rows", self.quality_rows, "an int >= 10")
        from fairnb.paper000.distill import check_lam
        from fairnb.paper000.fairdisco import check_beta_exponent
        from fairnb.paper000.construction import check_construction

        check_beta_exponent(self.beta_exponent)
        check_lam(self.lam)
        from fairnb.paper000.study import TEACHER_ENCODINGS

        if self.teacher_encoding not in TEACHER_ENCODINGS:
            raise ParameterError("teacher_encoding", self.teacher_encoding, one_of(TEACHER_ENCODINGS))
        check_construction(self.construction, self.categorical_decoding)
        lamda = self.tabfairgdt_lamda
        if lamda is not None and (isinstance(lamda, bool) or not isinstance(lamda, (int, float)) or not 0.0 <= lamda <= 1.0):
            raise ParameterError("tabfairgdt_lamda", lamda, "None or a float in [0, 1]")

    def study_settings(self, seeds: Iterable[int]) -> "StudySettings":
        """The stage-3 study's settings of the same teacher, students and scoring (``fairnb.paper000.settings``)."""
        from fairnb.paper000.settings import StudySettings

        return StudySettings(dataset=self.dataset, sensitive=self.sensitive, seeds=tuple(seeds),
                             teacher_epochs=self.epochs("fairdisco"), student_epochs=self.epochs("distill"),
                             max_rows=self.max_rows, batch_size=self.batch_size, device=self.device,
                             beta_exponent=self.beta_exponent, lam=self.lam, classifier=self.classifier,
                             positive_label=self.positive_label, construction=self.construction,
                             categorical_decoding=self.categorical_decoding, encoding=self.teacher_encoding,
                             quality_rows=self.quality_rows, training=self.training)

    def epochs(self, method: str) -> int:
        """The epoch count a method trains for (publication's length when the setting is 0)."""
        value = getattr(self, f"{method}_epochs")
        if value:
            return value
        return {"fairdisco": 1000, "distill": 200}.get(method) or hp.PUBLISHED_EPOCHS[method][self.dataset]


def comparison_split(dataset: TabularDataset, sensitive: str, seed: int, max_rows: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test) frames: 80/20 stratified split (seed), train reduced to ``max_rows`` if > 0.

    The very split of our method's runs (``fairnb.paper000.study.prepare_data``): with the
    same seed and ``max_rows`` every method sees the same training and test records.
    """
    from fairnb.paper000.study import prepare_data

    return prepare_data(dataset.name, sensitive, max_rows, seed)


def quality(real: pd.DataFrame, synthetic: pd.DataFrame, dataset: TabularDataset, max_rows: int, seed: int,
            device: str = "cpu") -> dict[str, float]:
    """Density and coverage (k = 5) of ``synthetic`` against ``real`` (``fairnb.paper000.study.quality``:
    one-hot + min-max features, at most ``max_rows`` seeded rows of each)."""
    from fairnb.paper000.study import quality as shared_quality

    return shared_quality(real, synthetic, dataset.name, max_rows=max_rows, seed=seed, device=device)


def make_method(method: str, settings: ComparisonSettings, seed: int, teacher: FairDiscoGenerator | None = None):
    """A fresh, unfitted baseline for ``method`` with the run's epochs, seed and device.

    ``fairdisco`` gives a stand-alone ``FairDiscoGenerator``; ``run_repetition`` instead takes the
    FairDisco rows from the teacher it shares with our method (``fairnb.paper000.study.fit_teacher``).
    """
    device = settings.device
    if method == "tabfairgan":
        return TabFairGAN(epochs=settings.epochs("tabfairgan"), seed=seed, device=device)
    if method == "decaf":
        return Decaf(epochs=settings.epochs("decaf"), seed=seed, device=device, **settings.training.generator_kwargs())
    if method == "fairdisco":
        return FairDiscoGenerator(epochs=settings.epochs("fairdisco"), beta_exponent=settings.beta_exponent,
                                  batch_size=settings.batch_size, seed=seed, device=device, construction=settings.construction,
                                  categorical_decoding=settings.categorical_decoding, **settings.training.stopping_kwargs())
    if method == "fldgm":
        return FLDGM(epochs=settings.epochs("fldgm"), teacher_epochs=settings.epochs("fairdisco"), teacher=teacher,
                     teacher_batch_size=settings.batch_size, seed=seed, device=device, construction=settings.construction,
                     categorical_decoding=settings.categorical_decoding, **settings.training.generator_kwargs())
    if method == "correlation_remover":
        return CorrelationRemoverBaseline(classifier=settings.classifier, seed=seed)
    if method == "threshold_optimizer":
        return ThresholdOptimizerBaseline(seed=seed)
    if method == "original":
        return OriginalData(seed=seed)
    if method == "tabfairgdt":
        return TabFairGDT(lamda=settings.tabfairgdt_lamda, seed=seed)
    raise ParameterError("method", method, one_of(METHODS + BEYOND_PAPER))


def teacher_generator(teacher) -> FairDiscoGenerator:
    """The teacher of a ``fairnb.paper000.study.Teacher`` as a fitted ``FairDiscoGenerator``, so that
    FLDGMs diffuses the codes of the very teacher our students distil. Its records are in the
    teacher's view of the data (binned when the teacher's input is); ``Teacher.back`` maps them back."""
    from fairnb.paper000.baselines.base import require_fitted

    model = teacher.model
    require_fitted(model, "teacher_")
    generator = FairDiscoGenerator(epochs=model.teacher_epochs, beta_exponent=model.beta_exponent,
                                   batch_size=model.batch_size, seed=model.seed, device=str(model.device_))
    generator.device_, generator.dataset_, generator.sensitive_ = model.device_, model.dataset_, model.sensitive_
    generator.frame_, generator.encoder_, generator.teacher_ = model.frame_, model.encoder_, model.teacher_
    generator.x_ = np.asarray(teacher.x, dtype=np.float32)
    generator.s_ = np.asarray(teacher.s).astype(np.int64)
    generator.fit_seconds_ = float(model.timings_["teacher_seconds"])
    return generator


def evaluate_generated(records: pd.DataFrame, test: pd.DataFrame, settings: ComparisonSettings, dataset: TabularDataset,
                       seed: int, features) -> dict[str, dict[str, float]]:
    """Both protocols for a generator's records under ``settings.positive_label`` (the one path,
    ``fairnb.metrics.downstream.score_synthetic``; records with a single label give every test
    record that label)."""
    from fairnb.metrics.downstream import score_synthetic

    row = score_synthetic(records, test, None, dataset=dataset.name, sensitive=settings.sensitive,
                          classifier=settings.classifier, seed=seed, features=features)
    return {"synthetic_real": row.codings[settings.positive_label], "synthetic_split": row.split[settings.positive_label]}


@dataclass
class Repetition:
    """One repetition's outcome: ``scores`` ((method, seed) → ``RowScore``), ``fit_seconds``
    (method → seconds), the generated ``synthetic`` frames (method → frame) and each trained generator's
    ``curves`` (method → (per-epoch history, ``fairnb.nn.train.Convergence`` or None for a fixed budget))."""

    scores: dict
    fit_seconds: dict[str, float]
    synthetic: dict[str, pd.DataFrame]
    curves: dict[str, tuple[pd.DataFrame, Any]] = field(default_factory=dict)


def score_repetition(settings: ComparisonSettings, seed: int,
                     progress: Callable[[str], None] | None = None) -> Repetition:
    """Fit and score every method of ``settings`` for one seed (module doc)."""
    from fairnb.metrics.downstream import FeatureMap, score_predictions
    from fairnb.nn.device import single_thread_on_cpu
    from fairnb.paper000 import study

    single_thread_on_cpu(settings.device)
    dataset = fairnb.data.load(settings.dataset)
    train, test = comparison_split(dataset, settings.sensitive, seed, settings.max_rows)
    features = FeatureMap(dataset, settings.sensitive, [train, test])
    common = dict(features=features, classifier=settings.classifier, seed=seed, quality_rows=settings.quality_rows,
                  device=settings.device)
    scores, seconds, synthetic, curves = {}, {}, {}, {}
    methods = [m for m in ROWS if m in settings.methods]
    if "fairdisco" in methods and REPRESENTATION not in methods:
        methods.insert(methods.index("fairdisco") + 1, REPRESENTATION)
    teacher = None
    if any(m in TEACHER_ROWS for m in methods):
        if progress:
            progress(f"seed {seed}: FairDisco teacher")
        teacher = study.fit_teacher(train, settings.study_settings([seed]), seed)
    for method in methods:
        if progress:
            progress(f"seed {seed}: {method}")
        if method == "fairdisco":
            records = study.teacher_records(teacher, train, settings.construction, settings.categorical_decoding)
            seconds[method] = teacher.model.timings_["teacher_seconds"]
            curves[method] = (teacher.model.teacher_history_, teacher.model.teacher_convergence_)
        elif method == REPRESENTATION:
            scores[(method, seed)] = study.representation_score(teacher, train, test, settings.dataset, settings.sensitive,
                                                                settings.classifier, seed)
            seconds[method] = teacher.model.timings_["teacher_seconds"]
            continue
        elif method in OURS:
            records = study.student_records(teacher, train, method.removeprefix("ours_"), settings.construction,
                                            settings.categorical_decoding)
            seconds[method] = teacher.model.timings_["teacher_seconds"] + teacher.model.timings_["student_seconds"]
            curves[method] = (teacher.model.student_history_, teacher.model.student_convergence_)
        else:
            fitted = make_method(method, settings, seed, teacher_generator(teacher) if method == "fldgm" else None)
            fitted.fit(teacher.view(train) if method == "fldgm" else train, dataset=dataset, sensitive=settings.sensitive)
            seconds[method] = float(fitted.fit_seconds_)
            curve = generator_curve(fitted)
            if curve is not None:
                curves[method] = (curve, getattr(fitted, "convergence_", None))
            if method in PREDICTORS:
                scores[(method, seed)] = score_predictions(fitted.predict(test), test, settings.dataset, settings.sensitive)
                continue
            records = fitted.sample(len(train))
            if method == "fldgm":
                records = teacher.back(records)
        synthetic[method] = records
        scores[(method, seed)] = study.score_rows(records, train, test, source_reading=method != "original", **common)
    return Repetition(scores, seconds, synthetic, curves)


def generator_curve(fitted: Any) -> pd.DataFrame | None:
    """A fitted generator's per-epoch history (``learning_curve_``, or its ``history_`` of per-epoch dicts);
    None for a method that does not train by epochs (CorrelationRemover, TabFairGDT, ...)."""
    curve = getattr(fitted, "learning_curve_", None)
    if isinstance(curve, pd.DataFrame) and len(curve):
        return curve
    history = getattr(fitted, "history_", None)
    if isinstance(history, list) and history and isinstance(history[0], dict):
        return pd.DataFrame(history)
    return None


def run_repetition(settings: ComparisonSettings, seed: int,
                   progress: Callable[[str], None] | None = None) -> tuple[list[dict], dict[str, pd.DataFrame]]:
    """One repetition of every method; returns (rows of (method, seed, metric, value), synthetic frames)."""
    rows, _, synthetic = _rows(score_repetition(settings, seed, progress), settings, seed)
    return rows, synthetic


def _rows(repetition: Repetition, settings: ComparisonSettings, seed: int) -> tuple[list[dict], dict, dict[str, pd.DataFrame]]:
    rows = []
    for (method, _), row in repetition.scores.items():
        values = {**row.metrics(settings.positive_label, settings.protocol), "fit_seconds": repetition.fit_seconds[method],
                  **(ending_metrics(*repetition.curves[method]) if method in repetition.curves else {})}
        rows += [{"method": method, "seed": seed, "metric": k, "value": float(v)} for k, v in values.items()]
    return rows, repetition.scores, repetition.synthetic


@dataclass
class ComparisonResult:
    """Every value of a comparison: ``table`` has columns method, seed, metric, value;
    ``scores`` maps (method, seed) to its ``RowScore`` (degeneracy reasons included); ``curves`` maps
    seed → method → (per-epoch history, ``Convergence`` or None) of every generator trained by epochs."""

    settings: ComparisonSettings
    table: pd.DataFrame
    synthetic: dict[int, dict[str, pd.DataFrame]] = field(default_factory=dict)
    scores: dict = field(default_factory=dict)
    curves: dict[int, dict[str, tuple[pd.DataFrame, Any]]] = field(default_factory=dict)

    def _methods(self, rows: str = "all") -> list[str]:
        chosen = rows_of(rows)
        return [m for m in ROWS if m in set(self.table.method) and m in chosen]

    def metrics(self, names: Iterable[str] | None = None) -> dict[str, list[float]]:
        """``"<method>/<metric>"`` → per-repetition values, for ``fairnb.runs.report``.

        ``names``: the metrics to keep (``None``: every metric recorded, module doc). Metrics that
        do not apply to a method (density of CorrelationRemover, …) are left out.
        """
        out: dict[str, list[float]] = {}
        table = self.table if names is None else self.table[self.table.metric.isin(list(names))]
        for method in self._methods():
            part = table[table.method == method]
            for metric in dict.fromkeys(part.metric):
                values = part[part.metric == metric].sort_values("seed")["value"]
                out[f"{method}/{metric}"] = [float(v) for v in values]
        return out

    def learning_curves(self, seed: int | None = None):
        """One panel per trained generator of repetition ``seed`` (default: the first): its training and
        validation criterion per epoch, the kept epoch marked (``fairnb.viz.curves.learning_curves``)."""
        from fairnb.viz.curves import learning_curves

        curves = self.curves.get(min(self.curves) if seed is None and self.curves else seed, {})
        ordered = [m for m in ROWS if m in curves]
        return learning_curves({LABELS.get(m, m): curves[m][0] for m in ordered},
                               {LABELS.get(m, m): curves[m][1] for m in ordered})

    def convergence(self) -> pd.DataFrame:
        """How every trained generator's training ended, per repetition: method, seed, the stated rule,
        epochs run, the kept epoch and what stopped it (the budget, or the rule)."""
        from fairnb.viz.curves import convergence_table

        frames = []
        for seed, curves in sorted(self.curves.items()):
            names = {}
            for method in (m for m in ROWS if m in curves):
                history, ending = curves[method]
                if ending is None:  # a fixed budget (e.g. TabFairGAN, following its authors' package), stated as such
                    ending = {"rule": f"a fixed budget of {len(history)} epochs", "epochs": len(history),
                              "best_epoch": len(history), "stopped": "budget", "criterion": ""}
                names[LABELS.get(method, method)] = ending
            frames.append(convergence_table(names).reset_index().assign(seed=seed))
        if not frames:
            return pd.DataFrame(columns=["generator", "seed", "rule", "epochs run", "kept epoch", "stopped by"])
        table = pd.concat(frames, ignore_index=True)
        return table[["generator", "seed", "rule", "epochs run", "kept epoch", "stopped by"]]

    def degenerate(self) -> pd.DataFrame:
        """Degenerate rows: method, seeds ("k of n"), reason (``fairnb.metrics.downstream.degeneracy``)."""
        from fairnb.paper000.study import degenerate_table

        return degenerate_table(self.scores, LABELS)

    def degenerate_count(self, method: str) -> tuple[int, int]:
        """(degenerate repetitions, repetitions with a flag) of ``method``."""
        flags = self.table[(self.table.method == method) & (self.table.metric == "degenerate")]["value"]
        return int((flags >= 0.5).sum()), int(len(flags))

    def label(self, method: str) -> str:
        """The row's name, with "(degenerate k/n)" when some of its repetitions are degenerate."""
        bad, n = self.degenerate_count(method)
        return LABELS[method] + (f" ⚠ degenerate {bad}/{n}" if bad else "")

    def summary(self, names: Iterable[str] = METRICS, rows: str = "all") -> pd.DataFrame:
        """Mean ± std per method (rows, in ``ROWS`` order: the paper's rows, then ``BEYOND_PAPER``) and
        metric (columns), as strings; rows with degenerate repetitions say so in their name.
        ``rows``: ``all``, ``paper`` (Table 1's rows only) or ``beyond`` (generators not in the paper)."""
        names = list(names)
        stats = self.table[self.table.metric.isin(names)].groupby(["method", "metric"])["value"].agg(["mean", "std", "count"])
        cells = stats.apply(lambda r: f"{r['mean']:.3f} ± {0.0 if np.isnan(r['std']) else r['std']:.3f}", axis=1).unstack("metric")
        order = [m for m in self._methods(rows) if m in cells.index]
        cells = cells.reindex(index=order, columns=[n for n in names if n in cells.columns]).fillna("n/a")
        cells.index = [self.label(m) for m in cells.index]
        cells.index.name = "method"
        return cells

    def codings(self, names: Iterable[str] = ("dpr", "eor", "accuracy", "recall", "f1"), rows: str = "all") -> pd.DataFrame:
        """Mean per method of each metric under both label codings side by side: columns
        (metric, coding), the headline coding first; ``rows`` as in ``summary``."""
        headline = self.settings.positive_label
        other = "unfavourable" if headline == "favourable" else "favourable"
        stats = self.table.groupby(["method", "metric"])["value"].mean()
        out = {}
        for name in names:
            for coding, key in ((headline, name), (other, f"{other}_{name}")):
                out[(name, coding)] = {self.label(m): stats.get((m, key), np.nan) for m in self._methods(rows)}
        frame = pd.DataFrame(out)
        frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["metric", "label coding"])
        frame.index.name = "method"
        return frame.dropna(how="all")


def run_comparison(settings: ComparisonSettings, seeds: Iterable[int], keep_synthetic: bool = False,
                   progress: Callable[[str], None] | None = None) -> ComparisonResult:
    """Repeat ``score_repetition`` for each seed (see module doc)."""
    rows: list[dict] = []
    kept: dict[int, dict[str, pd.DataFrame]] = {}
    scores: dict = {}
    curves: dict[int, dict[str, tuple[pd.DataFrame, Any]]] = {}
    for seed in seeds:
        outcome = score_repetition(settings, int(seed), progress)
        repetition, more, synthetic = _rows(outcome, settings, int(seed))
        rows += repetition
        scores.update(more)
        curves[int(seed)] = outcome.curves
        if keep_synthetic:
            kept[int(seed)] = synthetic
    return ComparisonResult(settings, pd.DataFrame(rows, columns=["method", "seed", "metric", "value"]), kept, scores, curves)


def settings_from_config(config) -> ComparisonSettings:
    """``ComparisonSettings`` from a notebook's resolved ``fairnb.runs.Config``."""
    return ComparisonSettings(
        dataset=config.dataset, sensitive=config.sensitive, max_rows=config.max_rows,
        tabfairgan_epochs=config.tabfairgan_epochs, decaf_epochs=config.decaf_epochs, fldgm_epochs=config.fldgm_epochs,
        fairdisco_epochs=config.fairdisco_epochs, batch_size=config.batch_size, classifier=config.classifier,
        positive_label=config.positive_label, device=config.device,
        teacher_encoding=teacher_encoding(config), training=config.training,
        **{name: getattr(config, name) for name in ("beta_exponent", "distill_epochs", "lam", "construction",
                                                         "categorical_decoding")
           if getattr(config, name, None) is not None})


def teacher_encoding(config) -> str:
    """The run's teacher input encoding: its ``teacher_encoding`` parameter, or for ``None`` (or a
    template without it) the profile's choice (``fairnb.paper000.study.teacher_encoding``)."""
    from fairnb.paper000.study import teacher_encoding as choose

    return choose(getattr(config, "teacher_encoding", None), getattr(config, "profile", None))


def means(result: ComparisonResult, names: Iterable[str] = METRICS) -> dict[str, float]:
    """``"<method>_<metric>"`` → mean over repetitions (for glue)."""
    return {f"{k.replace('/', '_')}": float(np.mean(v)) for k, v in result.metrics(names).items()}


def synthetic_preview(result: ComparisonResult, rows: int = 3) -> pd.DataFrame:
    """The first ``rows`` records of each generator (first repetition), stacked, for the page."""
    if not result.synthetic:
        return pd.DataFrame()
    first = result.synthetic[min(result.synthetic)]
    shown = GENERATORS + ("original",) + OURS + BEYOND_PAPER
    return pd.concat({LABELS[m]: frame.head(rows) for m in ROWS if m in first and m in shown for frame in [first[m]]})
