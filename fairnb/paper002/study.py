"""Paper 002 end to end: data preparation, one repetition of every method, aggregation.

A repetition with seed s: split the dataset 70/15/15 (stratified by label × group, seed s),
optionally cap the training split at ``max_rows`` rows (stratified), build max-abs scaled
features (one-hot categoricals + numerics; the sensitive attribute is *not* a feature; the
scaler is fitted on the training split only), train the translator, then the fair classifier
("ours"), the ratio sweep, and the baselines, and score every method on the test split.

Every entry point takes one ``StudySettings`` (built once from the run configuration with
``StudySettings.from_config``) and keyword-only arguments.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from fairnb.paper002.baselines import (LAFTR, AdversarialDebiasing, CalibratedEqOdds, DisparateImpactRemover,
                                       MetaFairClassifier, PlainClassifier, Reweighing)
from fairnb.data import PAPER_002, TabularDataset, TabularEncoder, split, stratified_split
from fairnb.errors import ParameterError, one_of
from fairnb.nn.device import single_thread_on_cpu
from fairnb.viz.figures import placeholder_figure  # noqa: F401  (the notebooks' placeholder)
from fairnb.metrics.fid import NOISE_SIGMA, frechet_distance, maxabs_scale, noise_reference
from fairnb.metrics.group import HEADLINE, METRIC_NAMES, fairness_metrics
from fairnb.paper002.classifier import RATIO_SWEEP, ClassifierSettings, FairClassifier
from fairnb.paper002.translator import FairTranslator, TranslatorSettings

# the paper's arms: ours fine-tunes on the real rows chosen by ``ClassifierSettings.balance`` (default:
# every (a, y) cell upsampled, the paper's "balanced real data"); the other two arms fine-tune the same
# pre-trained C on every cell cut to the smallest ("downsampled") and on all training rows ("unbalanced")
ARMS = {"ours": None, "downsampled": "downsample", "unbalanced": "none"}
METHODS = ("ours", "downsampled", "unbalanced", "baseline", "reweighing", "disparate_impact_remover",
           "calibrated_eq_odds", "meta_fair_classifier", "adversarial_debiasing", "laftr")
METHOD_LABELS = {
    "ours": "Ours (fair data)", "downsampled": "Ours, downsampled real + pairs", "unbalanced": "Ours, all real rows + pairs",
    "baseline": "Baseline (C on real)", "reweighing": "Reweighing",
    "disparate_impact_remover": "Disparate impact remover", "calibrated_eq_odds": "Calibrated eq. odds",
    "meta_fair_classifier": "Meta fair classifier", "adversarial_debiasing": "Adversarial debiasing", "laftr": "LAFTR",
}
SWEEP_LABELS = [f"{r:g}" for r in RATIO_SWEEP] + ["no TL"]
RATES = ("positive_rate_unprivileged", "positive_rate_privileged")


# --------------------------------------------------------------------------- data


class MaxAbsDesign:
    """Design matrix of paper 002: one-hot categoricals + numerics, each column divided by its
    maximum absolute training value (scikit-learn's MaxAbsScaler), with a readable inverse.

    The one-hot *domain* (which categories exist) comes from the whole dataset's schema so that
    rare categories absent from a small training split do not break the test split; the scale
    comes from the training rows only.
    """

    def __init__(self, dataset: TabularDataset, sensitive: str):
        dataset.check_sensitive(sensitive)
        others = [c for c in dataset.sensitive if c != sensitive]
        self.categorical = list(dataset.categorical) + others
        self.numeric = list(dataset.numeric)
        self.integer = set(dataset.integer)
        self._onehot = TabularEncoder(self.categorical, [], scaling="minmax").fit(dataset.frame)

    def fit(self, frame: pd.DataFrame) -> "MaxAbsDesign":
        raw = self._raw(frame)
        self.scale_ = maxabs_scale(raw)
        width = self._onehot.width
        self.range_ = (raw[:, width:].min(axis=0), raw[:, width:].max(axis=0))
        return self

    def _raw(self, frame: pd.DataFrame) -> np.ndarray:
        onehot = self._onehot.transform(frame)
        numeric = frame[self.numeric].to_numpy(dtype=np.float64)
        return np.concatenate([onehot, numeric], axis=1)

    @property
    def feature_names(self) -> list[str]:
        return self._onehot.feature_names + self.numeric

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Float32 (n, d) features; training columns lie in [-1, 1]."""
        return (self._raw(frame) / self.scale_).astype(np.float32)

    def inverse_transform(self, x: np.ndarray) -> pd.DataFrame:
        """Readable records: arg-max category per one-hot block, numerics un-scaled (rounded when integer)."""
        raw = np.asarray(x, dtype=np.float64) * self.scale_
        width = self._onehot.width
        frame = self._onehot.inverse_transform(raw[:, :width]) if width else pd.DataFrame(index=range(len(raw)))
        for j, column in enumerate(self.numeric):
            # generated values may leave the observed range (e.g. an age of 6): clip to the training range
            values = np.clip(raw[:, width + j], self.range_[0][j], self.range_[1][j])
            frame[column] = np.rint(values).astype(np.int64) if column in self.integer else values
        return frame


@dataclass
class Prepared:
    """One repetition's data, per split ("train", "val", "test"): features (n, d) float32, labels y
    and sensitive features (n,) int (1 = favourable, 1 = privileged), optional survey weights (n,)."""

    design: MaxAbsDesign
    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    sensitive_features: dict[str, np.ndarray]
    w: dict[str, np.ndarray | None]
    frames: dict[str, pd.DataFrame] = field(repr=False)

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(X, y, sensitive_features) of split ``name``."""
        return self.x[name], self.y[name], self.sensitive_features[name]


def prepare(dataset: TabularDataset, *, sensitive: str, seed: int, max_rows: int = 0) -> Prepared:
    """70/15/15 split with seed ``seed``; training split capped at ``max_rows`` (0 = all)."""
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 0:
        raise ParameterError("max_rows", max_rows, "an int >= 0 (0 = all)")
    train, val, test = split(dataset, sensitive, fractions=PAPER_002, seed=seed)
    if 0 < max_rows < len(train):
        strata = 2 * dataset.labels()[train] + dataset.is_privileged(sensitive)[train]
        keep, _ = stratified_split(strata, (max_rows / len(train), 1 - max_rows / len(train)), seed)
        train = train[keep]
    design = MaxAbsDesign(dataset, sensitive).fit(dataset.frame.iloc[train])
    labels, groups = dataset.labels(), dataset.is_privileged(sensitive)
    parts = {"train": train, "val": val, "test": test}
    frames = {k: dataset.frame.iloc[v].reset_index(drop=True) for k, v in parts.items()}
    weights = {k: (dataset.frame[dataset.weights].to_numpy(dtype=float)[v] if dataset.weights else None) for k, v in parts.items()}
    return Prepared(design, {k: design.transform(frames[k]) for k in parts}, {k: labels[v] for k, v in parts.items()},
                    {k: groups[v] for k, v in parts.items()}, weights, frames)


# --------------------------------------------------------------------------- one repetition


@dataclass(frozen=True)
class StudySettings:
    """Everything one paper-002 study needs besides the data, built once from the run configuration.

    Attributes:
        translator: the VAE-GAN translator's settings.
        classifier: the classifier C's settings (also the plain baseline's).
        adversarial_epochs: epochs of adversarial debiasing.
        laftr_epochs: epochs of LAFTR.
        sweep: also fine-tune at every share of real rows of ``RATIO_SWEEP`` and train "no TL".
        max_rows: cap on the training rows of a repetition (stratified sample; 0 = all).
        device: torch device.
        methods: the methods trained, a subset of ``METHODS``.
        reuse_models: take a translator trained before with the same settings, rows and code from the
            trained-model store (a run's ``reuse_models``, its profile's value by default).
    """

    translator: TranslatorSettings = field(default_factory=TranslatorSettings)
    classifier: ClassifierSettings = field(default_factory=ClassifierSettings)
    adversarial_epochs: int = 50
    laftr_epochs: int = 100
    sweep: bool = True
    max_rows: int = 0
    device: str = "cpu"
    methods: tuple[str, ...] = METHODS
    reuse_models: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.translator, TranslatorSettings):
            raise ParameterError("translator", type(self.translator).__name__, "a TranslatorSettings")
        if not isinstance(self.classifier, ClassifierSettings):
            raise ParameterError("classifier", type(self.classifier).__name__, "a ClassifierSettings")
        for name in ("adversarial_epochs", "laftr_epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ParameterError(name, value, "an int >= 1")
        if isinstance(self.max_rows, bool) or not isinstance(self.max_rows, int) or self.max_rows < 0:
            raise ParameterError("max_rows", self.max_rows, "an int >= 0 (0 = all)")
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise ParameterError("methods", list(self.methods), "a non-empty subset of: " + ", ".join(METHODS))

    @classmethod
    def from_config(cls, config: Any, *, sweep: bool = True) -> "StudySettings":
        """The settings of a run from its resolved ``fairnb.runs.Config`` (parameters the template
        does not define keep their defaults here)."""
        values = dict(getattr(config, "values", {}))
        translator = TranslatorSettings(
            epochs=values["translator_epochs"], steps=values.get("translator_steps") or 0,
            hidden=values["translator_hidden"], lr=values["translator_lr"],
            check_every=values.get("translator_check_every") or 0, patience=values.get("translator_patience") or 0,
            lambda_rec=values.get("lambda_rec", 10.0), lambda_kld=values.get("lambda_kld", 0.1),
            lambda_cls=values.get("lambda_cls", 1.0), lambda_gp=values.get("lambda_gp", 10.0), n_critic=values.get("n_critic", 6),
        )
        classifier = ClassifierSettings(
            epochs=values.get("classifier_epochs", 10), dropout=values.get("classifier_dropout", 0.7),
            real_ratio=values.get("real_ratio", 0.5), balance=values.get("finetune_balance", "upsample"),
        )
        return cls(translator, classifier, adversarial_epochs=values.get("adversarial_epochs", 50),
                   laftr_epochs=values.get("laftr_epochs", 100), sweep=sweep, max_rows=values.get("max_rows", 0),
                   device=values.get("device", "cpu"), reuse_models=bool(getattr(config, "training", None) and config.training.reuse))


def score(pred: np.ndarray, data: Prepared, part: str = "test") -> dict[str, float]:
    """Every metric of ``METRIC_NAMES`` on a split, each group's predicted-positive rate (``RATES``: a
    near-constant classifier shows here), and with survey weights also ``weighted_*`` values."""
    y, s = data.y[part], data.sensitive_features[part]
    out = fairness_metrics(y, pred, s)
    out |= {name: float(pred[s == g].mean()) for g, name in enumerate(RATES)}
    if data.w[part] is not None:
        out |= {f"weighted_{k}": v for k, v in fairness_metrics(y, pred, s, sample_weight=data.w[part]).items() if k in HEADLINE}
    return out


def make_baseline(name: str, *, settings: StudySettings, seed: int):
    """A fresh, unfitted baseline by method name."""
    device = settings.device
    if name == "baseline":
        return PlainClassifier(settings.classifier, seed=seed, device=device)
    if name == "reweighing":
        return Reweighing(seed=seed)
    if name == "disparate_impact_remover":
        return DisparateImpactRemover(1.0, seed=seed)
    if name == "calibrated_eq_odds":
        return CalibratedEqOdds("weighted", seed=seed)
    if name == "meta_fair_classifier":
        return MetaFairClassifier(tau=0.8, kind="fdr", seed=seed)
    if name == "adversarial_debiasing":
        return AdversarialDebiasing(epochs=settings.adversarial_epochs, alpha=0.1, seed=seed, device=device)
    if name == "laftr":
        return LAFTR(epochs=settings.laftr_epochs, seed=seed, device=device)
    raise ParameterError("method", name, one_of(METHODS))


def train_translator(data: Prepared, *, settings: TranslatorSettings, seed: int, device: str,
                     reuse: bool | None = None) -> FairTranslator:
    """The translator trained on the training split of ``data`` (its validation split feeds the
    validation criterion and the stopping rule).

    With ``reuse`` (None or False: train afresh; a study passes ``StudySettings.reuse_models``) it comes from the
    trained-model store (``fairnb.nn.store``) when one with the same
    settings, seed, device kind, training and validation rows and translator source was trained
    before (e.g. by the fair-translation page for the fair-classifier page; a translator its rule
    stopped early also serves a larger step budget); otherwise it is trained here and stored.
    ``reused_`` on the returned translator says which.
    """
    from fairnb.nn import losses as losses_module, train as train_module
    from fairnb.nn.store import ModelStore, array_checksum
    from fairnb.paper002 import translator as translator_module

    single_thread_on_cpu(device)
    x, y, s = data.part("train")
    validation = data.part("val")
    model = FairTranslator(settings, device=device, seed=seed)
    if not reuse:
        model.fit(x, y, sensitive_features=s, validation=validation)
        model.reused_ = False
        return model

    def train() -> tuple[dict, dict]:
        model.fit(x, y, sensitive_features=s, validation=validation)
        return model.state(), model.metadata()

    key = {"model": "FairTranslator", **asdict(settings), "seed": int(seed), "device": torch.device(device).type}
    state, metadata, hit = ModelStore().get_or_train(key, array_checksum(x, y, s, *validation),
                                                     (translator_module, losses_module, train_module), train,
                                                     budget="steps" if settings.steps else None)
    if hit:
        model.load(state, metadata)
    model.reused_ = hit
    return model


def run_repetition(dataset: TabularDataset, *, sensitive: str, seed: int, settings: StudySettings) -> dict[str, Any]:
    """Train and score every method of ``settings.methods`` once. Returns {"metrics": {method: {metric:
    value}}, "sweep": {ratio label: metrics}, "seconds": {method: s}, "translator": FairTranslator,
    "data": Prepared, "classifier": FairClassifier}."""
    device = settings.device
    single_thread_on_cpu(device)
    data = prepare(dataset, sensitive=sensitive, seed=seed, max_rows=settings.max_rows)
    x, y, s = data.part("train")
    validation = data.part("val")
    x_test, s_test = data.x["test"], data.sensitive_features["test"]
    metrics: dict[str, dict[str, float]] = {}
    seconds: dict[str, float] = {}
    translator = train_translator(data, settings=settings.translator, seed=seed, device=device, reuse=settings.reuse_models)
    started = time.perf_counter()
    ours = FairClassifier(settings.classifier, translator=translator, device=device, seed=seed).fit(
        x, y, sensitive_features=s, validation=validation)
    # a translator from the store counts with its original training time
    seconds["ours"] = translator.fit_seconds_ + time.perf_counter() - started
    metrics["ours"] = score(ours.predict(x_test, sensitive_features=s_test), data)
    balance = settings.classifier.balance
    for arm, arm_balance in ARMS.items():
        if arm == "ours" or arm not in settings.methods:
            continue
        started = time.perf_counter()
        model = ours if arm_balance == balance else ours.with_finetuning(
            x, y, sensitive_features=s, validation=validation, balance=arm_balance)
        seconds[arm] = time.perf_counter() - started
        metrics[arm] = score(model.predict(x_test, sensitive_features=s_test), data)
    sweep: dict[str, dict[str, float]] = {}
    if settings.sweep:
        for ratio in RATIO_SWEEP:
            model = ours.with_finetuning(x, y, sensitive_features=s, validation=validation, real_ratio=ratio)
            sweep[f"{ratio:g}"] = score(model.predict(x_test, sensitive_features=s_test), data)
        # "no TL" (paper Fig. 3): C trained on balanced real rows only, without synthetic pre-training
        no_tl = ours.with_finetuning(x, y, sensitive_features=s, validation=validation, pretrain=False, real_ratio=1.0,
                                     balance=balance if balance != "none" else "upsample")
        sweep["no TL"] = score(no_tl.predict(x_test, sensitive_features=s_test), data)
    for name in settings.methods:
        if name in ARMS:
            continue
        started = time.perf_counter()
        model = make_baseline(name, settings=settings, seed=seed).fit(x, y, sensitive_features=s, validation=validation)
        seconds[name] = time.perf_counter() - started
        metrics[name] = score(model.predict(x_test, sensitive_features=s_test), data)
    return {"metrics": metrics, "sweep": sweep, "seconds": seconds, "translator": translator, "data": data, "classifier": ours}


def run_repetitions(dataset: TabularDataset, *, sensitive: str, seeds: list[int], settings: StudySettings,
                    progress: bool = True) -> list[dict[str, Any]]:
    """``run_repetition`` for each seed (a tqdm bar when ``progress``)."""
    from fairnb.nn.train import progress as progress_bar

    iterator = progress_bar(seeds, "repetitions", total=len(seeds), enabled=None if progress else False, leave=True)
    return [run_repetition(dataset, sensitive=sensitive, seed=s, settings=settings) for s in iterator]


# --------------------------------------------------------------------------- aggregation


def long_table(results: list[dict[str, Any]], key: str = "metrics") -> pd.DataFrame:
    """Per-repetition values: columns repetition, method, metric, value."""
    rows = []
    for r, result in enumerate(results):
        for method, values in result[key].items():
            for metric, value in values.items():
                rows.append({"repetition": r, "method": method, "metric": metric, "value": value})
    return pd.DataFrame(rows, columns=["repetition", "method", "metric", "value"])


def summary_table(results: list[dict[str, Any]], key: str = "metrics", metrics: tuple[str, ...] = HEADLINE) -> pd.DataFrame:
    """mean ± std per method (rows) and metric (columns), as strings ``0.812 ± 0.004``."""
    table = long_table(results, key)
    table = table[table.metric.isin(metrics)]
    agg = table.groupby(["method", "metric"], sort=False)["value"].agg(["mean", "std"]).fillna({"std": 0.0})
    text = agg.apply(lambda r: f"{r['mean']:.3f} ± {r['std']:.3f}", axis=1).unstack("metric")
    return text[[m for m in metrics if m in text.columns]]


def report_values(results: list[dict[str, Any]]) -> dict[str, list[float]]:
    """``"<method>/<metric>"`` → per-repetition values, for ``fairnb.runs.report``."""
    out: dict[str, list[float]] = {}
    for key, prefix in (("metrics", ""), ("sweep", "sweep_")):
        table = long_table(results, key)
        for (method, metric), group in table.groupby(["method", "metric"], sort=False):
            if metric in METRIC_NAMES or metric in RATES or metric.startswith("weighted_"):
                name = f"{prefix}{method}/{metric}" if not prefix else f"sweep/{method}/{metric}"
                out[name] = group.sort_values("repetition")["value"].tolist()
    return out


def empty_report(methods: tuple[str, ...] = METHODS) -> dict[str, list[float]]:
    """The same metric names with no values (data not available): recorded as missing."""
    return {f"{m}/{k}": [float("nan")] for m in methods for k in METRIC_NAMES}


# --------------------------------------------------------------------------- translation views


def translation_table(translator: FairTranslator, data: Prepared, rows: int = 3, seed: int = 0,
                      columns: list[str] | None = None) -> pd.DataFrame:
    """Real test records and their translations into each (a, y) domain, decoded to readable values.

    Index: (record, domain) where domain is "real (a=…, y=…)" or "→ a=…, y=…".
    """
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(data.x["test"]), size=min(rows, len(data.x["test"])), replace=False)
    x = data.x["test"][pick]
    # real rows shown as recorded (not decoded), so clipping to the training range never alters them
    real = data.frames["test"].iloc[pick][data.design.categorical + data.design.numeric].reset_index(drop=True)
    translated = translator.translate_all(x)
    blocks = []
    for i, row in enumerate(pick):
        label = f"real (a={data.sensitive_features['test'][row]}, y={data.y['test'][row]})"
        blocks.append(real.iloc[[i]].assign(record=i + 1, domain=label))
        for (ta, ty), values in translated.items():
            blocks.append(data.design.inverse_transform(values[[i]]).assign(record=i + 1, domain=f"→ a={ta}, y={ty}"))
    table = pd.concat(blocks, ignore_index=True).set_index(["record", "domain"])
    return table[columns] if columns else table


def fid_scores(translator: FairTranslator, data: Prepared, dataset_name: str, seed: int = 0) -> dict[str, float]:
    """FID of the test split vs (i) translations of the test rows into random domains, (ii) a balanced
    synthetic sample of the same size, and (iii) the noise reference (σ from the paper, 0.25 elsewhere)."""
    x = data.x["test"]
    rng = np.random.default_rng(seed)
    target_sensitive = rng.integers(0, 2, len(x))
    translated = translator.translate(x, target_sensitive=target_sensitive, target_y=rng.integers(0, 2, len(x)))
    sampled, _, _ = translator.sample(max(1, len(x) // 4), seed=seed)
    sigma = NOISE_SIGMA.get(dataset_name, 0.25)
    return {"fid_translated": frechet_distance(x, translated), "fid_sampled": frechet_distance(x, sampled),
            "fid_noise": noise_reference(x, sigma, seed), "noise_sigma": sigma}


def translator_curves(histories: list[pd.DataFrame]) -> pd.DataFrame:
    """Long table step × term × repetition of translator training histories (``step``: batches trained at
    the end of each row's block; ``epoch`` and ``seconds`` are not terms)."""
    frames = [h.reset_index().drop(columns=["epoch", "seconds"], errors="ignore").melt(id_vars="step", var_name="term")
              .assign(repetition=r) for r, h in enumerate(histories)]
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- notebook helpers


def run_translations(dataset: TabularDataset, *, sensitive: str, seeds: list[int], settings: StudySettings) -> list[dict[str, Any]]:
    """Train (or take from the trained-model store) one translator per seed; each entry: translator,
    data, fid scores, D's agreement on test, ``collapse`` (``fairnb.metrics.collapse.collapse_check`` of
    the test rows translated into random domains, decoded, against the real test rows)."""
    from fairnb.metrics.collapse import collapse_check
    from fairnb.nn.train import progress

    out = []
    for seed in progress(seeds, "repetitions", total=len(seeds), enabled=None, leave=True):
        data = prepare(dataset, sensitive=sensitive, seed=seed, max_rows=settings.max_rows)
        translator = train_translator(data, settings=settings.translator, seed=seed, device=settings.device,
                                      reuse=settings.reuse_models)
        agreement = translator.domain_agreement(data.x["test"], seed=seed)
        rng = np.random.default_rng(seed)
        x_test = data.x["test"]
        translated = translator.translate(x_test, target_sensitive=rng.integers(0, 2, len(x_test)),
                                          target_y=rng.integers(0, 2, len(x_test)))
        columns = data.design.categorical + data.design.numeric
        collapse = collapse_check(data.frames["test"], data.design.inverse_transform(translated), dataset, columns=columns)
        out.append({"translator": translator, "data": data, "fid": fid_scores(translator, data, dataset.name, seed),
                    "agreement": agreement, "collapse": collapse,
                    "seconds_per_epoch": translator.fit_seconds_ / float(translator.history_["epoch"].iloc[-1])})
    return out


def translator_convergence(results: list[dict[str, Any]]) -> pd.DataFrame:
    """The stopping rule and what it did for each repetition's translator (``fairnb.viz.curves.convergence_table``),
    with whether it came from the trained-model store and, for ``run_translations``' results, the collapse check's verdict."""
    from fairnb.viz.curves import convergence_table

    table = convergence_table({f"repetition {r}": result["translator"].convergence_ for r, result in enumerate(results)})
    table["steps"] = [result["translator"].steps_ for result in results]
    table["from the model store"] = [bool(getattr(result["translator"], "reused_", False)) for result in results]
    if all("collapse" in result for result in results):
        table["collapsed"] = [result["collapse"].reason or "no" for result in results]
    return table


def headline(results: list[dict[str, Any]]) -> dict[str, float]:
    """Means over repetitions of ``<method>_<metric>`` for gluing (NaN when there are no results)."""
    out = {f"{m}_{k}": float("nan") for m in METHODS for k in HEADLINE}
    if results:
        table = long_table(results).groupby(["method", "metric"])["value"].mean()
        out |= {f"{m}_{k}": float(v) for (m, k), v in table.items() if k in HEADLINE}
    return out

