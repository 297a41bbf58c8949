"""The experiments of paper 000's chapters, as functions the notebooks call in one line each.

Every function is seeded (repetition r uses ``seed + r``) and returns tidy DataFrames.
``decode_sensitive`` chooses the group fed to the decoder (see ``FairLatentDistillation.transform``).
Functions:
``beta_sweep`` (stage 1), ``distillation_study`` (stage 2), ``synthesis_study`` and
``lambda_sweep`` (stage 3, the Table-1 rows).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

import fairnb.data
from fairnb.data.splits import stratified_split
from fairnb.errors import ParameterError
from fairnb.nn.device import single_thread_on_cpu
from fairnb.metrics.density import density_coverage
from fairnb.metrics.downstream import POSITIVE_LABELS, FeatureMap, evaluate, evaluate_conventions, labels
from fairnb.paper000.distill import QUALITY_LOSSES, check_lam
from fairnb.paper000.fairdisco import check_beta_exponent
from fairnb.paper000.pipeline import FairLatentDistillation

UTILITY_FAIRNESS = ("dpr", "eor", "accuracy", "recall", "f1")


def prepare_data(dataset: str, sensitive: str, fit_rows: int = 0, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded 80/20 train/test split (stratified by label × group), then at most ``fit_rows`` training rows.

    ``fit_rows`` = 0 keeps every training row; otherwise a stratified sample of that size (the
    test part is never reduced).
    """
    ds = fairnb.data.load(dataset)
    train_rows, test_rows = fairnb.data.split(ds, sensitive, fairnb.data.PAPER_000, seed)
    if fit_rows and fit_rows < len(train_rows):
        strata = (2 * ds.labels() + ds.is_privileged(sensitive))[train_rows]
        keep = stratified_split(strata, (fit_rows / len(train_rows), 1 - fit_rows / len(train_rows)), seed)[0]
        train_rows = train_rows[keep]
    return ds.frame.iloc[train_rows].reset_index(drop=True), ds.frame.iloc[test_rows].reset_index(drop=True)


def _encoded_features(dataset: str, real: pd.DataFrame, *others: pd.DataFrame) -> list[np.ndarray]:
    """One-hot + min-max encoding of the feature columns (domains and ranges of the whole dataset), for density/coverage."""
    encoder = fairnb.data.encoder_for(fairnb.data.load(dataset), scaling="minmax").fit(fairnb.data.load(dataset).frame)
    return [encoder.transform(real)] + [np.clip(encoder.transform(o), 0.0, 1.0) for o in others]


def quality(real: pd.DataFrame, synthetic: pd.DataFrame, dataset: str, max_rows: int = 10_000, seed: int = 0,
            device: str = "cpu") -> dict[str, float]:
    """Density and coverage (k = 5) of ``synthetic`` against ``real`` on one-hot + min-max features.

    Both sets are cut to the same number of seeded rows (at most ``max_rows``), as the reference.
    """
    rng = np.random.default_rng(seed)
    n = min(len(real), len(synthetic), max_rows)
    real = real.iloc[rng.choice(len(real), n, replace=False)]
    synthetic = synthetic.iloc[rng.choice(len(synthetic), n, replace=False)]
    r, f = _encoded_features(dataset, real, synthetic)
    return density_coverage(r, f, k=5, device=device)


@dataclass
class Study:
    """Results of one experiment: a tidy metrics table, training histories and extras."""

    metrics: pd.DataFrame
    histories: pd.DataFrame = field(default_factory=pd.DataFrame)
    extras: dict = field(default_factory=dict)


def beta_sweep(dataset: str, sensitive: str, beta_exponents: Sequence[int], epochs: int, seeds: Sequence[int],
               fit_rows: int = 0, batch_size: int = 2048, dcov_estimator: str = "posterior", classifier: str = "random_forest",
               positive_label: str = "favourable", device: str = "cpu", decode_sensitive: str = "source") -> Study:
    """Stage 1 alone: for each β exponent and seed, train FairDisco and score its reconstructions.

    The synthetic set is D(z, s), z ~ E(x, s), for every training record; a classifier trained on
    it is scored on the real test part. Returns metrics per (beta_exponent, seed) with the final
    training dCov² and the stage-1 histories.
    """
    single_thread_on_cpu(device)
    exponents = [check_beta_exponent(b) for b in beta_exponents]
    rows, histories = [], []
    for seed in seeds:
        train, test = prepare_data(dataset, sensitive, fit_rows, seed)
        features = FeatureMap(fairnb.data.load(dataset), sensitive, [train, test])
        for exponent in exponents:
            model = FairLatentDistillation(batch_size=batch_size, beta_exponent=exponent, dcov_estimator=dcov_estimator,
                                           teacher_epochs=epochs, seed=seed, device=device)
            model.fit_teacher(*model.prepare(train, dataset=dataset, sensitive=sensitive))
            synthetic = model.transform(train, use="teacher", decode_sensitive=decode_sensitive)
            scores = evaluate(synthetic, test, dataset, sensitive, classifier, positive_label, seed, features)
            last = model.teacher_history_.iloc[-1]
            rows.append({"beta_exponent": exponent, "seed": seed, **scores, "fairness": last["fairness"],
                         "reconstruction": last["reconstruction"], "seconds": model.timings_["teacher_seconds"]})
            histories.append(model.teacher_history_.assign(beta_exponent=exponent, seed=seed))
    return Study(pd.DataFrame(rows), pd.concat(histories, ignore_index=True))


def distillation_study(dataset: str, sensitive: str, teacher_epochs: int, student_epochs: int, seed: int = 0,
                       fit_rows: int = 0, batch_size: int = 2048, beta_exponent: int = 7, lam: float = 1.0,
                       quality_losses: Sequence[str] = QUALITY_LOSSES, device: str = "cpu") -> Study:
    """Stage 2: one teacher, one student per quality loss.

    Returns final distillation metrics per loss (``distance`` = mean ‖z − z'‖ on the test part),
    the stage-2 histories, and in ``extras``: teacher/student codes of the test part per loss,
    the test frame's group codes and the parameter counts.
    """
    single_thread_on_cpu(device)
    train, test = prepare_data(dataset, sensitive, fit_rows, seed)
    model = FairLatentDistillation(batch_size=batch_size, beta_exponent=beta_exponent, teacher_epochs=teacher_epochs,
                                   student_epochs=student_epochs, lam=lam, seed=seed, device=device)
    x, s = model.prepare(train, dataset=dataset, sensitive=sensitive)
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


def _scores(method: str, seed: int, protocols: dict[str, dict[str, float]], positive_label: str, extra: dict) -> list[dict]:
    return [{"method": method, "seed": seed, "protocol": protocol, "positive_label": positive_label, **values, **extra}
            for protocol, values in protocols.items()]


def synthesis_study(dataset: str, sensitive: str, teacher_epochs: int, student_epochs: int, seeds: Sequence[int],
                    fit_rows: int = 0, batch_size: int = 2048, beta_exponent: int = 7, lam: float = 1.0,
                    quality_losses: Sequence[str] = QUALITY_LOSSES, classifier: str = "random_forest",
                    positive_labels: Sequence[str] = POSITIVE_LABELS, device: str = "cpu", decode_sensitive: str = "source") -> Study:
    """Stage 3, the Table-1 rows: per seed, one teacher and one student per quality loss.

    Methods: ``original`` (classifier on the real training part), ``fairdisco`` (teacher
    reconstructions), and each quality loss (``x_fair = D(E'(x, s), s)``). Train-synthetic /
    test-real is scored under every label convention in ``positive_labels`` (one classifier,
    see ``evaluate_conventions``); the synthetic-split protocol under the first (the headline)
    only. Synthetic methods also get density and coverage against the real training part. Returns one row per (method, seed,
    protocol, positive_label); ``extras["synthetic"]`` holds the first seed's synthetic frames.
    """
    single_thread_on_cpu(device)
    check_lam(lam)
    for label in positive_labels:
        if label not in POSITIVE_LABELS:
            raise ParameterError("positive_label", label, ", ".join(POSITIVE_LABELS))
    ds = fairnb.data.load(dataset)
    rows, frames, timings = [], {}, []
    for seed in seeds:
        train, test = prepare_data(dataset, sensitive, fit_rows, seed)
        features = FeatureMap(ds, sensitive, [train, test])
        model = FairLatentDistillation(batch_size=batch_size, beta_exponent=beta_exponent, teacher_epochs=teacher_epochs,
                                       student_epochs=student_epochs, lam=lam, seed=seed, device=device)
        x, s = model.prepare(train, dataset=dataset, sensitive=sensitive)
        model.fit_teacher(x, s)
        synthetic = {"fairdisco": model.transform(train, use="teacher", decode_sensitive=decode_sensitive)}
        for loss in quality_losses:
            model.fit_student(x, s, quality_loss=loss)
            synthetic[loss] = model.transform(train, decode_sensitive=decode_sensitive)
            timings.append({"seed": seed, "quality_loss": loss, "teacher_seconds": model.timings_["teacher_seconds"],
                            "student_seconds": model.timings_["student_seconds"]})
        if seed == seeds[0]:
            frames = {"real": train, **synthetic}
        headline = positive_labels[0]
        for method, frame in [("original", train), *synthetic.items()]:
            # train on synthetic, test on real: one classifier, scored under every convention asked for
            by_label = evaluate_conventions(frame, test, dataset, sensitive, classifier, seed, features)
            dens = {} if method == "original" else quality(train, frame, dataset, seed=seed, device=device)
            for label in positive_labels:
                rows += _scores(method, seed, {"synthetic_real": by_label[label]}, label, dens if label == headline else {})
            if method != "original":
                # the reference protocol: a 70/30 split of the synthetic set itself (headline convention)
                part_train, part_test = train_test_split(frame, test_size=0.3, random_state=seed,
                                                         stratify=labels(frame, ds, headline))
                split = evaluate(part_train, part_test, dataset, sensitive, classifier, headline, seed, features)
                rows += _scores(method, seed, {"synthetic_split": split}, headline, dens)
    return Study(pd.DataFrame(rows), extras={"synthetic": frames, "timings": pd.DataFrame(timings)})


def lambda_sweep(dataset: str, sensitive: str, lams: Sequence[float], teacher_epochs: int, student_epochs: int,
                 seeds: Sequence[int], fit_rows: int = 0, batch_size: int = 2048, beta_exponent: int = 7, quality_loss: str = "l1",
                 classifier: str = "random_forest", positive_label: str = "favourable", device: str = "cpu", decode_sensitive: str = "source") -> Study:
    """Stage 2–3 for each KL weight λ (one teacher per seed): fairness, utility and quality per λ."""
    single_thread_on_cpu(device)
    lams = [check_lam(lam) for lam in lams]
    rows = []
    for seed in seeds:
        train, test = prepare_data(dataset, sensitive, fit_rows, seed)
        features = FeatureMap(fairnb.data.load(dataset), sensitive, [train, test])
        model = FairLatentDistillation(batch_size=batch_size, beta_exponent=beta_exponent, teacher_epochs=teacher_epochs,
                                       student_epochs=student_epochs, quality_loss=quality_loss, seed=seed, device=device)
        x, s = model.prepare(train, dataset=dataset, sensitive=sensitive)
        model.fit_teacher(x, s)
        for lam in lams:
            model.fit_student(x, s, lam=lam)
            synthetic = model.transform(train, decode_sensitive=decode_sensitive)
            scores = evaluate(synthetic, test, dataset, sensitive, classifier, positive_label, seed, features)
            rows.append({"lam": lam, "seed": seed, **scores, **quality(train, synthetic, dataset, seed=seed, device=device)})
    return Study(pd.DataFrame(rows))


def summary_table(metrics: pd.DataFrame, by: Sequence[str], columns: Sequence[str] = UTILITY_FAIRNESS + ("density", "coverage")) -> pd.DataFrame:
    """Mean ± std over seeds as strings, one row per group of ``by`` (for the book's tables)."""
    columns = [c for c in columns if c in metrics.columns]
    grouped = metrics.groupby(list(by), sort=False)[columns]
    mean, std = grouped.mean(), grouped.std(ddof=1).fillna(0.0)
    text = {c: [f"{a:.3f} ± {b:.3f}" if a == a else "n/a" for a, b in zip(mean[c], std[c])] for c in columns}
    return pd.DataFrame(text, index=mean.index)


def report_metrics(study: Study, positive_label: str) -> dict[str, list[float]]:
    """Per-repetition metrics for ``fairnb.runs.report``.

    Names: ``<method>/<metric>`` for train-on-synthetic / test-on-real with class 1 =
    ``positive_label`` (the headline); ``<method>/split_<metric>`` for the reference's
    synthetic-split protocol (same convention); ``<method>/<other convention>_<metric>`` (e.g.
    ``l1/favourable_dpr``) for train-synthetic / test-real under the other label convention.
    Methods: ``original``, ``fairdisco`` and the quality losses.
    """
    out: dict[str, list[float]] = {}
    for (method, protocol, label), part in study.metrics.groupby(["method", "protocol", "positive_label"], sort=False):
        if label != positive_label and protocol != "synthetic_real":
            continue
        prefix = "split_" if protocol == "synthetic_split" else ("" if label == positive_label else f"{label}_")
        for metric in UTILITY_FAIRNESS + ("density", "coverage"):
            if metric in part and part[metric].notna().all():
                out[f"{method}/{prefix}{metric}"] = [float(v) for v in part.sort_values("seed")[metric]]
    return out
