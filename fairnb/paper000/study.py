"""The experiments of paper 000's chapters, as functions the notebooks call in one line each.

Every function is seeded (repetition r uses ``seed + r``) and returns tidy DataFrames.
``construction`` and ``categorical_decoding`` say how a record is built from a code
(``fairnb.paper000.construction``; the paper's reading and sampled categories by default).
Functions:
``beta_sweep`` (stage 1), ``distillation_study`` (stage 2), ``synthesis_study`` and
``lambda_sweep`` (stage 3, the Table-1 rows; ``sweep_metrics`` names the λ sweep's values
``lambda_sweep/<λ>/<metric>`` for the record), ``shap_shares`` (the share of the SHAP importance
that falls on the sensitive attribute, per seed: ``<method>/shap_sensitive``).

**One evaluation path.** Every row is scored by ``fairnb.metrics.downstream.score_synthetic``
(or, for the FairDisco representation, ``score_features``): the same classifier, the same held-out
real test rows, the same features, both label codings, density and coverage against held-out real
rows, and the degeneracy check. The teacher, the students and their records are made by
``fit_teacher``, ``teacher_records``, ``student_records`` and ``representation_score``, which the
baselines' comparison (``fairnb.paper000.comparison``) calls too: with the same seed, split and
settings both paths give the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch

import fairnb.data
from fairnb.data.splits import stratified_split
from fairnb.errors import ParameterError
from fairnb.nn.device import single_thread_on_cpu
from fairnb.nn.train import ending_metrics
from fairnb.metrics.density import encoded_records, tabular_density_coverage
from fairnb.metrics.downstream import (POSITIVE_LABELS, UTILITY_FAIRNESS, FeatureMap, Reference, RowScore, score_features,
                                       score_synthetic)
from fairnb.data.encoder import CATEGORICAL_DECODINGS
from fairnb.paper000.construction import CONSTRUCTION_LABELS, CONSTRUCTIONS, DECODING_LABELS
from fairnb.paper000 import names
from fairnb.paper000.distill import QUALITY_LOSSES, check_lam
from fairnb.paper000.fairdisco import check_beta_exponent
from fairnb.paper000.pipeline import FairLatentDistillation, rule_kwargs
from fairnb.paper000.settings import TEACHER_ENCODINGS, StudySettings, teacher_encoding  # noqa: F401 (the studies' settings)

REPRESENTATION = names.REPRESENTATION
LAMBDA_SWEEP = "lambda_sweep"  # our λ sweep's values in a record: lambda_sweep/<λ>/<metric>
# the stage-3 study's method names (a student by its loss) and their labels, from the one names module
METHOD_LABELS = {m: names.method_label(m) for m in ("original", "fairdisco", REPRESENTATION) + names.QUALITY_LOSSES}
FIDELITY = ("density", "coverage", "source_density", "source_coverage")
# the stage-3 ablations: (construction, categorical decoding), the book's choice first
ABLATIONS = tuple((c, d) for c in CONSTRUCTIONS for d in CATEGORICAL_DECODINGS)


def ablation_method(quality_loss: str, construction: str, categorical_decoding: str) -> str:
    """The record's method name of a stage-3 ablation of ``quality_loss``'s student, e.g. ``l1_source_group_argmax``
    (the book's choice, ``random_group`` with ``sample``, is the plain loss name)."""
    parts = [quality_loss] + ([construction] if construction != "random_group" else []) \
        + ([categorical_decoding] if categorical_decoding != "sample" else [])
    return "_".join(parts)


def is_ablation(method: str) -> bool:
    """True for a stage-3 ablation's method name (``ablation_method``), which Table 1 does not show."""
    return method.endswith("_argmax") or "_source_group" in method


def ablation_label(quality_loss: str, construction: str, categorical_decoding: str) -> str:
    """How the stage-3 page names an ablation row."""
    return f"{METHOD_LABELS.get(quality_loss, quality_loss)}: {CONSTRUCTION_LABELS[construction]}, {DECODING_LABELS[categorical_decoding]}"


def prepare_data(dataset: str, sensitive: str, max_rows: int = 0, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded 80/20 train/test split (stratified by label × group), then at most ``max_rows`` training rows.

    ``max_rows`` = 0 keeps every training row; otherwise a stratified sample of that size (the
    test part is never reduced).
    """
    ds = fairnb.data.load(dataset)
    train_rows, test_rows = fairnb.data.split(ds, sensitive, fairnb.data.PAPER_000, seed)
    if max_rows and max_rows < len(train_rows):
        strata = (2 * ds.labels() + ds.is_privileged(sensitive))[train_rows]
        keep = stratified_split(strata, (max_rows / len(train_rows), 1 - max_rows / len(train_rows)), seed)[0]
        train_rows = train_rows[keep]
    return ds.frame.iloc[train_rows].reset_index(drop=True), ds.frame.iloc[test_rows].reset_index(drop=True)


def _encoded_features(dataset: str, real: pd.DataFrame, *others: pd.DataFrame) -> list[np.ndarray]:
    """One-hot + min-max encoding of the feature columns, for density/coverage (``encoded_records``)."""
    return encoded_records(dataset, real, *others)


def quality(real: pd.DataFrame, synthetic: pd.DataFrame, dataset: str, max_rows: int = 10_000, seed: int = 0,
            device: str = "cpu") -> dict[str, float]:
    """Density and coverage (k = 5) of ``synthetic`` against ``real`` on one-hot + min-max features
    (``fairnb.metrics.density.tabular_density_coverage``). The studies pass held-out real rows."""
    return tabular_density_coverage(real, synthetic, dataset, max_rows=max_rows, seed=seed, device=device)


# --------------------------------------------------------------------------- FairDisco's input encoding

# The FairDisco reference code's binning of numeric columns (its utils.loadAdult / loadCompas / loadGerman):
# ("cut", k) k equal-width bins over the whole dataset; ("median", None) 1[x > median]; ("clip", c) min(x, c) as
# a category. Any other integer column with few values is a category of its own values (as the reference keeps
# education-num); any other numeric column gets 8 equal-width bins.
REFERENCE_BINS = {
    "adult": {"age": ("cut", 8), "hours-per-week": ("cut", 8), "capital-gain": ("median", None),
              "capital-loss": ("median", None)},
    "compas": {"age": ("cut", 5), "priors_count": ("clip", 9)},
    "german": {"duration": ("cut", 5), "credit_amount": ("cut", 5), "age": ("cut", 5)},
}
FEW_VALUES = 20


class ReferenceBinning:
    """The reference code's encoding of FairDisco's input: every numeric column binned into categories
    (``REFERENCE_BINS``), so each column is reconstructed by a cross-entropy as in the reference.

    ``dataset`` is the binned view (numeric columns turned categorical) that the teacher is fitted on;
    ``bin`` maps records to it, ``unbin`` maps decoded records back to the dataset's schema, each
    bin to the median of the dataset's values in it (rounded for integer columns).
    """

    def __init__(self, dataset: fairnb.data.TabularDataset):
        import dataclasses

        self.source = dataset
        self.rules: dict[str, tuple[str, Any]] = {}
        self.values: dict[str, dict[str, float]] = {}
        spec = REFERENCE_BINS.get(dataset.name, {})
        for column in dataset.numeric:
            values = dataset.frame[column].to_numpy(dtype=np.float64)
            rule = spec.get(column)
            if rule is None:
                rule = ("value", None) if column in dataset.integer and len(np.unique(values)) <= FEW_VALUES else ("cut", 8)
            if rule[0] == "cut":
                edges = np.histogram_bin_edges(values, bins=rule[1])
                rule = ("edges", edges)
            elif rule[0] == "median":
                rule = ("threshold", float(np.median(values)))
            self.rules[column] = rule
            labels = self._labels(column, values)
            self.values[column] = pd.Series(values).groupby(labels).median().to_dict()
        binned = self.bin(dataset.frame)
        self.dataset = dataclasses.replace(dataset, frame=binned, categorical=list(dataset.categorical) + list(dataset.numeric),
                                           numeric=[], integer=[])

    def _labels(self, column: str, values: np.ndarray) -> np.ndarray:
        kind, parameter = self.rules[column]
        if kind == "edges":
            codes = np.clip(np.searchsorted(parameter, values, side="right") - 1, 0, len(parameter) - 2)
        elif kind == "threshold":
            codes = (values > parameter).astype(np.int64)
        elif kind == "clip":
            codes = np.minimum(values, parameter)
        else:
            codes = values
        return np.array([f"{int(c)}" if float(c).is_integer() else f"{c:g}" for c in codes], dtype=object)

    def bin(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with each numeric column replaced by its bin (a string category)."""
        out = frame.copy()
        for column in self.rules:
            out[column] = self._labels(column, frame[column].to_numpy(dtype=np.float64))
        return out

    def unbin(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Decoded records back in the dataset's schema: each bin becomes the median of the dataset's values in it."""
        out = frame.copy()
        for column in self.rules:
            values = frame[column].astype(str).map(self.values[column]).to_numpy(dtype=np.float64)
            if column in self.source.integer:
                values = np.rint(values)
            out[column] = values.astype(self.source.frame[column].dtype)
        return out


# --------------------------------------------------------------------------- shared by the stage-3 study and the comparison


@dataclass
class Teacher:
    """A trained FairDisco teacher (``model``, a ``FairLatentDistillation`` after ``fit_teacher``) with
    its encoded training features ``x`` and group codes ``s``, and the ``binning`` of its input
    (``None``: numeric columns standardised)."""

    model: FairLatentDistillation
    x: np.ndarray
    s: np.ndarray
    binning: ReferenceBinning | None = None

    def view(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` as the teacher reads it."""
        return self.binning.bin(frame) if self.binning else frame

    def back(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Decoded records back in the dataset's schema."""
        return self.binning.unbin(frame) if self.binning else frame


def fit_teacher(train: pd.DataFrame, settings: StudySettings, seed: int, *, encoding: str | None = None) -> Teacher:
    """The FairDisco teacher of one repetition (``seed``) under ``settings``.

    The stage-3 study and the comparison both call this, so with the same seed, split and settings
    their FairDisco rows, FairDisco-representation rows, FLDGMs and our students share one teacher.
    ``encoding`` (default ``settings.encoding``): ``standard`` (numeric columns standardised and
    reconstructed by a squared error) or ``binned`` (the reference code's bins, ``ReferenceBinning``).
    """
    encoding = teacher_encoding(settings.encoding if encoding is None else encoding)
    model = FairLatentDistillation(batch_size=settings.batch_size, beta_exponent=settings.beta_exponent,
                                   teacher_epochs=settings.teacher_epochs, student_epochs=settings.require("student_epochs"),
                                   lam=settings.lam, seed=seed, device=settings.device, construction=settings.construction,
                                   categorical_decoding=settings.categorical_decoding, **rule_kwargs(settings.training))
    binning = ReferenceBinning(fairnb.data.load(settings.dataset)) if encoding == "binned" else None
    x, s = model.prepare(binning.bin(train) if binning else train, dataset=binning.dataset if binning else settings.dataset,
                         sensitive=settings.sensitive)
    model.fit_teacher(x, s)
    return Teacher(model, x, s, binning)


def teacher_records(teacher: Teacher, train: pd.DataFrame, construction: str = "random_group",
                    categorical_decoding: str = "sample") -> pd.DataFrame:
    """The FairDisco row's records: one record D(z, s'), z ~ E(x, s), per training record
    (``fairnb.paper000.construction``)."""
    return teacher.back(teacher.model.transform(teacher.view(train), use="teacher", construction=construction,
                                                categorical_decoding=categorical_decoding))


def student_records(teacher: Teacher, train: pd.DataFrame, quality_loss: str, construction: str = "random_group",
                    categorical_decoding: str = "sample", lam: float | None = None) -> pd.DataFrame:
    """Train the student of ``quality_loss`` on the teacher; one record D(E'(x, s), s') per training record."""
    teacher.model.fit_student(teacher.x, teacher.s, quality_loss=quality_loss, lam=lam)
    return decoded_records(teacher, train, construction, categorical_decoding)


def decoded_records(teacher: Teacher, train: pd.DataFrame, construction: str = "random_group",
                    categorical_decoding: str = "sample") -> pd.DataFrame:
    """The current student's records of ``train`` (after ``student_records``), built as asked: the same
    codes (same seed) decoded under another construction or categorical decoding, for the ablations."""
    return teacher.back(teacher.model.transform(teacher.view(train), construction=construction,
                                                categorical_decoding=categorical_decoding))


@torch.no_grad()
def teacher_codes(teacher: Teacher, frame: pd.DataFrame, seed: int) -> np.ndarray:
    """Codes z ~ q(z | x, s) of the teacher for ``frame``'s records (n, z_dim), seeded: what the
    FairDisco reference code's ``encode`` returns."""
    model = teacher.model
    x = model.encoder_.transform(teacher.view(frame))
    s = fairnb.data.group_codes(frame, model.dataset_, model.sensitive_)
    torch.manual_seed(seed)
    return model.teacher_.sample_latent(x, s).cpu().numpy()


def representation_score(teacher: Teacher, train: pd.DataFrame, test: pd.DataFrame, dataset: str,
                         sensitive: str, classifier: str = "random_forest", seed: int = 0) -> RowScore:
    """The 'FairDisco (representation)' row: a classifier trained on the teacher's codes of the
    training records predicts the held-out real test records from their codes (as the FairDisco
    reference code evaluates a fair representation; no records, hence no density or coverage)."""
    ds = fairnb.data.load(dataset)
    y = train[ds.target].to_numpy().astype(np.int64)
    return score_features(teacher_codes(teacher, train, seed), y, teacher_codes(teacher, test, seed + 1), test, dataset,
                          sensitive, classifier, seed)


def score_rows(frame: pd.DataFrame, train: pd.DataFrame, test: pd.DataFrame, *, features: FeatureMap, classifier: str,
               seed: int, source_reading: bool = True, split: bool = True, quality_rows: int = 10_000,
               device: str = "cpu") -> RowScore:
    """``score_synthetic`` as every paper-000 table calls it: the classifier predicts the held-out
    ``test`` rows and density/coverage compare ``frame`` with them; ``source_reading`` adds the old
    reading against the ``train`` rows the records were made from (``source_density``/``source_coverage``;
    off for the original data, which are those rows); ``split`` adds the reference's protocol. The
    dataset and the audited attribute are the feature map's."""
    return score_synthetic(frame, test, Reference(test, quality_rows, device), dataset=features.dataset.name,
                           sensitive=features.sensitive, classifier=classifier, seed=seed, features=features,
                           source=Reference(train, quality_rows, device) if source_reading else None, split=split)


def record_metrics(scores: dict[tuple[str, int], RowScore], headline: str, protocol: str = "synthetic_real",
                   extra: dict[tuple[str, int], dict[str, float]] | None = None) -> dict[str, list[float]]:
    """``"<method>/<name>"`` → per-seed values (seed order) from ``RowScore.metrics``: the names
    both the stage-3 study and the comparison report (see ``report_metrics``)."""
    by_method: dict[str, dict[int, dict[str, float]]] = {}
    for (method, seed), row in scores.items():
        values = row.metrics(headline, protocol)
        values.update((extra or {}).get((method, seed), {}))
        by_method.setdefault(method, {})[seed] = values
    out: dict[str, list[float]] = {}
    for method, seeds in by_method.items():
        order = sorted(seeds)
        names = dict.fromkeys(n for seed in order for n in seeds[seed])
        for name in names:
            out[f"{method}/{name}"] = [float(seeds[seed].get(name, float("nan"))) for seed in order]
    return out


def degenerate_table(scores: dict[tuple[str, int], RowScore], labels: dict[str, str] | None = None) -> pd.DataFrame:
    """Degenerate rows: method, seeds ("k of n"), reason (empty when no row is degenerate)."""
    rows = []
    methods = list(dict.fromkeys(m for m, _ in scores))
    for method in methods:
        mine = {seed: row for (m, seed), row in scores.items() if m == method}
        bad = {seed: row.reason for seed, row in mine.items() if row.degenerate}
        if bad:
            parts = dict.fromkeys(part for reason in bad.values() for part in reason.split("; "))
            rows.append({"method": (labels or {}).get(method, method), "seeds": f"{len(bad)} of {len(mine)}",
                         "reason": "; ".join(parts)})
    return pd.DataFrame(rows, columns=["method", "seeds", "reason"])


@dataclass
class Study:
    """Results of one experiment: a tidy metrics table, training histories and extras."""

    metrics: pd.DataFrame
    histories: pd.DataFrame = field(default_factory=pd.DataFrame)
    extras: dict = field(default_factory=dict)


def beta_sweep(settings: StudySettings, *, beta_exponents: Sequence[int], dcov_estimator: str = "posterior") -> Study:
    """Stage 1 alone: for each β exponent and seed of ``settings``, train FairDisco and score its records.

    The synthetic set is one record D(z, s'), z ~ E(x, s), per training record, built as every Table-1 row is
    (``settings.construction``) and scored like one (``score_rows``; class 1 = ``settings.positive_label``).
    Returns metrics per (beta_exponent, seed) with density, coverage, where the fairness comes from
    (``latent_dependence``), the degeneracy flag, the final training dCov² and the stage-1 histories.
    """
    single_thread_on_cpu(settings.device)
    exponents = [check_beta_exponent(b) for b in beta_exponents]
    rows, histories = [], []
    for seed in settings.seeds:
        train, test = prepare_data(settings.dataset, settings.sensitive, settings.max_rows, seed)
        features = FeatureMap(fairnb.data.load(settings.dataset), settings.sensitive, [train, test])
        for exponent in exponents:
            model = FairLatentDistillation(batch_size=settings.batch_size, beta_exponent=exponent, dcov_estimator=dcov_estimator,
                                           teacher_epochs=settings.teacher_epochs, seed=seed, device=settings.device,
                                           **rule_kwargs(settings.training))
            x, s = model.prepare(train, dataset=settings.dataset, sensitive=settings.sensitive)
            model.fit_teacher(x, s)
            synthetic = teacher_records(Teacher(model, x, s), train, settings.construction, settings.categorical_decoding)
            row = score_rows(synthetic, train, test, features=features, classifier=settings.classifier, seed=seed,
                             source_reading=False, split=False, quality_rows=settings.quality_rows, device=settings.device)
            last = model.teacher_history_.iloc[-1]
            rows.append({"beta_exponent": exponent, "seed": seed, **row.codings[settings.positive_label], **row.quality,
                         **latent_dependence(model, train, test, seed),
                         "degenerate": row.degenerate, "degenerate_reason": row.reason, "fairness": last["fairness"],
                         "reconstruction": last["reconstruction"], "seconds": model.timings_["teacher_seconds"]})
            histories.append(model.teacher_history_.assign(beta_exponent=exponent, seed=seed))
    return Study(pd.DataFrame(rows), pd.concat(histories, ignore_index=True))


LATENT_DEPENDENCE = ("latent_dcov2", "auc_sampled", "auc_mean")


@torch.no_grad()
def latent_dependence(model: FairLatentDistillation, train: pd.DataFrame, test: pd.DataFrame, seed: int,
                      max_rows: int = 2000) -> dict[str, float]:
    """Where a teacher's fairness comes from, on held-out rows: ``latent_dcov2``, the exact squared distance
    covariance between sampled codes z ~ q(z | x, s) and the one-hot group (``fairnb.metrics.dcov.dcov2``, at
    most ``max_rows`` seeded test rows); ``auc_sampled`` and ``auc_mean``, the ROC AUC of predicting the
    group from the sampled codes and from the posterior means (``fairnb.metrics.latent.group_auc``; a
    classifier fitted on the training rows' codes). 0.5 is no group information."""
    from fairnb.metrics.dcov import dcov2
    from fairnb.metrics.latent import group_auc

    codes = {}
    for part, frame in (("train", train), ("test", test)):
        x, s = model._inputs(frame)
        mean, logvar = model.teacher_.encode(x, s)
        torch.manual_seed(seed + 11)
        sampled = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
        codes[part] = (mean.cpu().numpy(), sampled.cpu().numpy(), s)
    (mean_train, sampled_train, s_train), (mean_test, sampled_test, s_test) = codes["train"], codes["test"]
    rows = np.random.default_rng(seed).permutation(len(s_test))[:max_rows]
    dependence = dcov2(torch.as_tensor(sampled_test[rows], dtype=torch.float64),
                       torch.nn.functional.one_hot(torch.as_tensor(s_test[rows]), 2).to(torch.float64))
    return {"latent_dcov2": float(dependence), "auc_sampled": group_auc(sampled_train, s_train, sampled_test, s_test, seed),
            "auc_mean": group_auc(mean_train, s_train, mean_test, s_test, seed)}


def distillation_study(settings: StudySettings, *, quality_losses: Sequence[str] = QUALITY_LOSSES) -> Study:
    """Stage 2 on the first seed of ``settings``: one teacher, one student per quality loss.

    Returns final distillation metrics per loss (``distance`` = mean ‖z − z'‖ on the test part),
    the stage-2 histories, and in ``extras``: teacher/student codes of the test part per loss,
    the test frame's group codes and the parameter counts.
    """
    single_thread_on_cpu(settings.device)
    seed = settings.seeds[0]
    train, test = prepare_data(settings.dataset, settings.sensitive, settings.max_rows, seed)
    model = FairLatentDistillation(batch_size=settings.batch_size, beta_exponent=settings.beta_exponent,
                                   teacher_epochs=settings.teacher_epochs, student_epochs=settings.require("student_epochs"),
                                   lam=settings.lam, seed=seed, device=settings.device, **rule_kwargs(settings.training))
    x, s = model.prepare(train, dataset=settings.dataset, sensitive=settings.sensitive)
    model.fit_teacher(x, s)
    rows, histories, latents = [], [], {}
    for loss in quality_losses:
        model.fit_student(x, s, quality_loss=loss)
        z, z_student = model.latents(test, sample=False)
        latents[loss] = (z, z_student)
        rows.append({"quality_loss": loss, "distance": float(np.linalg.norm(z - z_student, axis=1).mean()),
                     "mean_gap": float(np.abs(z.mean(0) - z_student.mean(0)).sum()),
                     "seconds": model.timings_["student_seconds"]})
        histories.append(model.student_history_.assign(quality_loss=loss))
    extras = {"latents": latents, "parameter_counts": model.parameter_counts(),
              "teacher_history": model.teacher_history_, "teacher_seconds": model.timings_["teacher_seconds"]}
    return Study(pd.DataFrame(rows), pd.concat(histories, ignore_index=True), extras)


def _tidy(scores: dict[tuple[str, int], RowScore], positive_labels: Sequence[str]) -> pd.DataFrame:
    """One row per (method, seed, protocol, positive_label) of ``scores``, with density, coverage,
    their old reading (``source_*``) and the degeneracy flag and reason on every row."""
    rows = []
    for (method, seed), row in scores.items():
        common = {**row.quality, **{f"source_{k}": v for k, v in row.source_quality.items()},
                  "degenerate": row.degenerate, "degenerate_reason": row.reason}
        for protocol, by_coding in (("synthetic_real", row.codings), ("synthetic_split", row.split)):
            for label in positive_labels:
                if label in by_coding:
                    rows.append({"method": method, "seed": seed, "protocol": protocol, "positive_label": label,
                                 **by_coding[label], **common})
    return pd.DataFrame(rows)


def synthesis_study(settings: StudySettings, *, quality_losses: Sequence[str] = QUALITY_LOSSES,
                    positive_labels: Sequence[str] | None = None, ablations: bool = True) -> Study:
    """Stage 3, the Table-1 rows: per seed of ``settings``, one teacher (``fit_teacher``) and one student per quality loss.

    Methods: ``original`` (the real training part itself), ``fairdisco`` (the teacher's records),
    ``fairdisco_representation`` (a classifier on the teacher's codes), and each quality loss
    (``x_fair = D(E'(x, s), s')``). Every row is scored by ``score_rows`` (module doc): both label
    codings of one classifier, both protocols, density and coverage against the held-out test rows
    (and, for generated records, against the training rows they came from), the degeneracy check.
    ``ablations``: also score the first loss's codes decoded the other ways (``ABLATIONS``).
    ``positive_labels`` (default: the headline coding, then the other) are the codings of the tidy table.
    Returns one row per (method, seed, protocol, positive_label); ``extras``: ``scores`` ((method, seed) →
    ``RowScore``), ``synthetic`` (the first seed's frames, with ``real``), ``synthetic_by_seed`` (seed → the
    same frames for every seed), ``timings``.
    """
    single_thread_on_cpu(settings.device)
    positive_labels = tuple(positive_labels or (settings.positive_label, settings.other_label))
    for label in positive_labels:
        if label not in POSITIVE_LABELS:
            raise ParameterError("positive_label", label, ", ".join(POSITIVE_LABELS))
    ds = fairnb.data.load(settings.dataset)
    decoding = (settings.construction, settings.categorical_decoding)
    scores: dict[tuple[str, int], RowScore] = {}
    frames, by_seed, timings = {}, {}, []
    for seed in settings.seeds:
        train, test = prepare_data(settings.dataset, settings.sensitive, settings.max_rows, seed)
        features = FeatureMap(ds, settings.sensitive, [train, test])
        teacher = fit_teacher(train, settings, seed)
        synthetic = {"fairdisco": teacher_records(teacher, train, *decoding)}
        variants = {}
        for loss in quality_losses:
            synthetic[loss] = student_records(teacher, train, loss, *decoding)
            if ablations and loss == quality_losses[0]:
                variants = {ablation_method(loss, c, d): decoded_records(teacher, train, c, d) for c, d in ABLATIONS
                            if (c, d) != decoding}
            timings.append({"seed": seed, "quality_loss": loss, "teacher_seconds": teacher.model.timings_["teacher_seconds"],
                            "student_seconds": teacher.model.timings_["student_seconds"],
                            **{f"teacher_{k}": v for k, v in ending_metrics(teacher.model.teacher_history_,
                                                                            teacher.model.teacher_convergence_).items()},
                            **{f"student_{k}": v for k, v in ending_metrics(teacher.model.student_history_,
                                                                            teacher.model.student_convergence_).items()}})
        by_seed[seed] = {"real": train, **synthetic}
        if seed == settings.seeds[0]:
            frames = by_seed[seed]
        common = dict(features=features, classifier=settings.classifier, seed=seed, quality_rows=settings.quality_rows,
                      device=settings.device)
        scores[("original", seed)] = score_rows(train, train, test, source_reading=False, **common)
        scores[("fairdisco", seed)] = score_rows(synthetic["fairdisco"], train, test, **common)
        scores[(REPRESENTATION, seed)] = representation_score(teacher, train, test, settings.dataset, settings.sensitive,
                                                              settings.classifier, seed)
        for loss in quality_losses:
            scores[(loss, seed)] = score_rows(synthetic[loss], train, test, **common)
        for method, records in variants.items():
            scores[(method, seed)] = score_rows(records, train, test, **common)
    return Study(_tidy(scores, positive_labels), extras={"scores": scores, "synthetic": frames, "synthetic_by_seed": by_seed,
                                                         "timings": pd.DataFrame(timings)})


def lambda_sweep(settings: StudySettings, *, lams: Sequence[float], quality_loss: str = "l1") -> Study:
    """Stage 2–3 for each KL weight λ (one teacher per seed of ``settings``): fairness, utility and quality per
    λ, scored like every Table-1 row (``score_rows``; class 1 = ``settings.positive_label``)."""
    single_thread_on_cpu(settings.device)
    lams = [check_lam(lam) for lam in lams]
    scores: dict[tuple[str, int], RowScore] = {}
    ds = fairnb.data.load(settings.dataset)
    rows = []
    for seed in settings.seeds:
        train, test = prepare_data(settings.dataset, settings.sensitive, settings.max_rows, seed)
        features = FeatureMap(ds, settings.sensitive, [train, test])
        teacher = fit_teacher(train, settings, seed)
        for lam in lams:
            synthetic = student_records(teacher, train, quality_loss, settings.construction, settings.categorical_decoding,
                                        lam=lam)
            row = score_rows(synthetic, train, test, features=features, classifier=settings.classifier, seed=seed,
                             source_reading=False, split=False, quality_rows=settings.quality_rows, device=settings.device)
            rows.append({"lam": lam, "seed": seed, **row.codings[settings.positive_label], **row.quality,
                         "degenerate": row.degenerate, "degenerate_reason": row.reason})
            scores[(f"{LAMBDA_SWEEP}/{lam:g}", seed)] = row
    return Study(pd.DataFrame(rows), extras={"scores": scores, "positive_label": settings.positive_label})


def sweep_metrics(sweep: Study) -> dict[str, list[float]]:
    """Per-seed values of a ``lambda_sweep`` for ``fairnb.runs.report``: ``lambda_sweep/<λ>/<metric>``
    (λ as ``f"{λ:g}"``) with the names of ``record_metrics`` under the sweep's ``positive_label``
    (both codings, density, coverage, group rates, ``degenerate``). The Pareto page reads them."""
    return record_metrics(sweep.extras["scores"], sweep.extras["positive_label"])


def shap_share(importance: pd.Series, sensitive: str) -> float:
    """The share of the total mean |SHAP| (``fairnb.metrics.shap_importance``) that falls on ``sensitive``."""
    total = float(importance.sum())
    return float(importance.get(sensitive, 0.0)) / total if total > 0 else float("nan")


def shap_shares(study: Study, dataset: str, sensitive: str, methods: Sequence[str] = ("original", "l1"),
                n_explain: int = 1000) -> dict[str, list[float]]:
    """``<method>/shap_sensitive`` → per-seed share of the SHAP importance on ``sensitive``
    (``shap_share`` of ``fairnb.metrics.shap_importance``, an XGBoost model on the method's records,
    seeded by the repetition's seed), for the original data (``original``: the training rows) and
    each of ``methods``' synthetic records of ``synthesis_study``. Paper 000, Fig. 4: the sensitive
    attribute should lose importance in the synthetic data."""
    from fairnb.metrics.downstream import shap_importance

    by_seed = study.extras["synthetic_by_seed"]
    out: dict[str, list[float]] = {}
    for method in methods:
        key = "real" if method == "original" else method
        if any(key not in frames for frames in by_seed.values()):
            raise ParameterError("methods", method, "original or a quality loss of the study: "
                                 + ", ".join(k for k in next(iter(by_seed.values())) if k != "real"))
        out[f"{method}/shap_sensitive"] = [shap_share(shap_importance(by_seed[seed][key], dataset, sensitive, seed, n_explain), sensitive)
                                           for seed in sorted(by_seed)]
    return out


def summary_table(metrics: pd.DataFrame, by: Sequence[str], columns: Sequence[str] = UTILITY_FAIRNESS + ("density", "coverage")) -> pd.DataFrame:
    """Mean ± std over seeds as strings, one row per group of ``by`` (for the book's tables)."""
    columns = [c for c in columns if c in metrics.columns]
    grouped = metrics.groupby(list(by), sort=False)[columns]
    mean, std = grouped.mean(), grouped.std(ddof=1).fillna(0.0)
    text = {c: [f"{a:.3f} ± {b:.3f}" if a == a else "n/a" for a, b in zip(mean[c], std[c])] for c in columns}
    return pd.DataFrame(text, index=mean.index)


def _label(metrics: pd.DataFrame, method: str) -> str:
    flags = metrics[metrics.method == method].drop_duplicates("seed")["degenerate"].astype(bool)
    bad = int(flags.sum())
    return METHOD_LABELS.get(method, method) + (f" ⚠ degenerate {bad}/{len(flags)}" if bad else "")


def synthesis_table(study: Study, positive_label: str, protocol: str = "synthetic_real",
                    columns: Sequence[str] = UTILITY_FAIRNESS) -> pd.DataFrame:
    """Mean ± std per method of ``columns`` under one label coding and protocol; rows with degenerate
    repetitions say so in their name (for the stage-3 page)."""
    metrics = study.metrics
    part = metrics[(metrics.protocol == protocol) & (metrics.positive_label == positive_label)
                   & ~metrics.method.map(is_ablation)]
    table = summary_table(part, ["method"], columns)
    table.index = [_label(metrics, m) for m in table.index]
    table.index.name = f"method ({positive_label} coding)"
    return table


def ablation_table(study: Study, positive_label: str, quality_loss: str = "l1",
                   columns: Sequence[str] = ("dpr", "eor", "accuracy", "recall", "coverage")) -> pd.DataFrame:
    """The stage-3 ablations of ``quality_loss``'s student (``ABLATIONS``: construction × categorical decoding,
    the same codes decoded four ways), next to the original data; mean ± std, headline protocol, class 1 =
    ``positive_label``. Rows in ``ABLATIONS`` order (the book's choice first); empty without ablations."""
    metrics = study.metrics
    part = metrics[(metrics.protocol == "synthetic_real") & (metrics.positive_label == positive_label)]
    names = {ablation_method(quality_loss, c, d): ablation_label(quality_loss, c, d) for c, d in ABLATIONS}
    present = [m for m in names if m in set(part.method)]
    if len(present) < 2:
        return pd.DataFrame()
    table = summary_table(part[part.method.isin(present + ["original"])], ["method"], columns)
    table = table.loc[["original"] + present]
    flags = {m: _label(metrics, m).removeprefix(METHOD_LABELS.get(m, m)) for m in ["original"] + present}
    table.index = [METHOD_LABELS["original"] + flags["original"]] + [names[m] + flags[m] for m in present]
    table.index.name = f"records ({positive_label} coding)"
    return table


def fidelity_table(study: Study) -> pd.DataFrame:
    """Density and coverage per method: against held-out real rows, and against the training rows the
    records were made from (``source_*``, the reference setup's reading), mean ± std."""
    metrics = study.metrics
    part = metrics[(metrics.protocol == "synthetic_real") & ~metrics.method.map(is_ablation)].drop_duplicates(["method", "seed"])
    table = summary_table(part, ["method"], [c for c in FIDELITY if c in part.columns])
    table = table[[c for c in table.columns]].loc[[m for m in table.index if m != REPRESENTATION]]
    table.index = [_label(metrics, m) for m in table.index]
    table.index.name = "method"
    return table.rename(columns={"density": "density (held-out rows)", "coverage": "coverage (held-out rows)",
                                 "source_density": "density (source rows)", "source_coverage": "coverage (source rows)"})


def record_endings(timings: pd.DataFrame) -> dict[str, list[float]]:
    """How each trained row's training ended, per seed (seed order): ``fairdisco/epochs_run`` and
    ``fairdisco/stopped_early`` from the teacher, ``<quality loss>/…`` from that loss's student."""
    if timings is None or timings.empty or "teacher_stopped_early" not in timings:
        return {}
    out: dict[str, list[float]] = {}
    teachers = timings.drop_duplicates("seed").sort_values("seed")
    for name in ("epochs_run", "stopped_early"):
        out[f"fairdisco/{name}"] = teachers[f"teacher_{name}"].astype(float).tolist()
        for loss, part in timings.groupby("quality_loss", sort=False):
            out[f"{loss}/{name}"] = part.sort_values("seed")[f"student_{name}"].astype(float).tolist()
    return out


def report_metrics(study: Study, positive_label: str) -> dict[str, list[float]]:
    """Per-repetition metrics for ``fairnb.runs.report`` (``record_metrics``; the comparison reports the same names).

    Names, per method (``original``, ``fairdisco``, ``fairdisco_representation`` and the quality losses):
    ``<method>/<metric>`` — train on the method's rows, test on held-out real rows, class 1 =
    ``positive_label`` (the headline); ``<method>/<other coding>_<metric>`` (e.g.
    ``l1/unfavourable_dpr``) — the same predictions under the other label coding;
    ``<method>/split_<metric>`` — the reference's synthetic-split protocol, headline coding;
    ``positive_rate_<group>``/``base_rate_<group>`` (both codings, same prefixes);
    ``density``/``coverage`` — against held-out real rows; ``source_density``/``source_coverage`` —
    against the training rows the records were made from; ``degenerate`` — 1 where the row is
    degenerate (``fairnb.metrics.downstream.degeneracy``), else 0; ``epochs_run``/``stopped_early`` — how the
    teacher (``fairdisco``) and each student's training ended (``record_endings``).
    """
    if positive_label not in POSITIVE_LABELS:
        raise ParameterError("positive_label", positive_label, ", ".join(POSITIVE_LABELS))
    return {**record_metrics(study.extras["scores"], positive_label), **record_endings(study.extras.get("timings"))}
