"""Where the book departs from paper 000, and what each departure costs: measured, one setting at a time.

Every setting that can move a Table-1 row and that the book chooses differently from the paper's text or
its reference code (or where the paper is silent) is a ``Departure``: what the book does, the alternative
(the paper's or the reference code's reading where one exists), where that reading comes from and one line
on why the book chooses as it does. ``departures_study`` scores one row — the L1-KL student by default — with
the book's choices and then with exactly one setting changed, per seed, on the same split, teacher and
classifier seed; the effect of a departure is the paired per-seed difference *alternative − book* of DPR,
EOR and accuracy, under both label codings. ``effects_table`` gives the mean difference with its 95 %
paired t interval (``fairnb.metrics.claims.t_interval``).

Settings measured (``MEASURED``): the stage-3 construction, the categorical decoding, the label coding, the
teacher's numeric encoding (a second, binned teacher per seed), the classifier's feature set, the downstream
classifier and the test protocol. ``training_rows`` (every training row instead of the profile's sample)
trains a third teacher on all rows and is measured only when asked for; the epoch budgets are measured by
the budget page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

import fairnb.data
from fairnb.errors import ParameterError, one_of
from fairnb.metrics.claims import t_interval
from fairnb.metrics.downstream import CLASSIFIERS, POSITIVE_LABELS, FeatureMap, RowScore
from fairnb.nn.device import single_thread_on_cpu
from fairnb.paper000 import study as stage3
from fairnb.paper000.settings import StudySettings

METRICS = ("dpr", "eor", "accuracy")
BOOK = "book"


@dataclass(frozen=True)
class Departure:
    """One setting where the book's choice differs from the paper's (or where the paper is silent)."""

    name: str
    setting: str
    book: str
    alternative: str
    source: str
    reason: str


DEPARTURES = (
    Departure("construction", "stage-3 record construction",
              "decoded as a group drawn independently of the record (data's shares), written into its sensitive column",
              "decoded as the source record's group, its sensitive value and label copied (the book's earlier reading)",
              "paper §4.3: x_fair ∼ D_θ(z'); the stage-3 code is not released",
              "the paper decodes from the fair latent and finds the sensitive feature negligible in the records (Fig. 4); a copied value cannot be"),
    Departure("categorical_decoding", "decoded categorical columns", "sampled from the decoder's softmax",
              "arg-max category", "the paper is silent; FairDisco's reference code reports reconstructions",
              "a generator samples; arg-max gives every record its column's most likely category"),
    Departure("label_coding", "class 1 of the classifier", "the favourable outcome (AIF360's convention)",
              "the unfavourable outcome (the reference code codes Adult's '<=50K' as 1)", "reference code utils.py",
              "DPR and EOR are defined with the favourable outcome as positive; the same predictions are read both ways"),
    Departure("teacher_encoding", "FairDisco's numeric inputs", "standardised, reconstructed by a squared error",
              "binned, reconstructed by a cross-entropy (the reference code)", "reference code utils.py (bins every numeric)",
              "records keep numeric values instead of bin medians; the paper profile uses the reference's bins"),
    Departure("feature_set", "the classifier's features", "every feature and both protected columns",
              "without the audited sensitive column", "the reference code includes the sensitive column, as the book does",
              "the paper scores records as they are; the alternative shows how much the sensitive column itself moves the row"),
    Departure("classifier", "downstream classifier", "random forest (paper §5.2)", "XGBoost (the reference code)",
              "paper §5.2; reference code metrics/fairness", "the paper names random forests"),
    Departure("protocol", "rows the classifier is tested on", "held-out real rows (train on synthetic, test on real)",
              "a 70/30 split of the synthetic records themselves (the reference tutorial)", "reference tutorial notebook",
              "a fair-data claim is about real people; a split of the synthetic set tests the generator against itself"),
    Departure("training_rows", "training rows", "the profile's stratified sample", "every training row (the paper)",
              "paper §5.3", "CPU time: the default profile trains on a sample so the book builds in about an hour"),
)
NAMES = tuple(d.name for d in DEPARTURES)
MEASURED = tuple(n for n in NAMES if n != "training_rows")


def check_departures(names: Sequence[str]) -> tuple[str, ...]:
    names = tuple(names)
    unknown = [n for n in names if n not in NAMES]
    if unknown or not names:
        raise ParameterError("departures", list(names), "a non-empty subset of " + one_of(NAMES))
    return names


def _values(row: RowScore, coding: str, protocol: str = "synthetic_real") -> dict[str, float]:
    by_coding = row.codings if protocol == "synthetic_real" else row.split
    return {m: float(by_coding[coding][m]) for m in METRICS}


def departures_study(settings: StudySettings, *, quality_loss: str = "l1", departures: Sequence[str] = MEASURED) -> pd.DataFrame:
    """Score ``quality_loss``'s records with the book's choices (``settings``) and with each departure, per seed.

    Returns a tidy frame: one row per (departure, seed, coding) with ``book_<metric>`` and ``alternative_<metric>``
    for ``METRICS``, ``difference_<metric>`` (alternative − book) and ``degenerate`` (either side degenerate,
    ``fairnb.metrics.downstream``'s rule). The book's side is the row of ``fairnb.paper000.study`` with the same
    seed: same split, teacher (from the trained-model store when a run trained it) and classifier seed.
    """
    single_thread_on_cpu(settings.device)
    departures = check_departures(departures)
    ds = fairnb.data.load(settings.dataset)
    other_classifier = next(c for c in CLASSIFIERS if c != settings.classifier)
    decoding = (settings.construction, settings.categorical_decoding)
    rows = []
    for seed in settings.seeds:
        train, test = stage3.prepare_data(settings.dataset, settings.sensitive, settings.fit_rows, seed)
        features = FeatureMap(ds, settings.sensitive, [train, test])
        common = dict(seed=seed, source_reading=False, quality_rows=settings.quality_rows, device=settings.device)
        teacher = stage3.fit_teacher(train, settings, seed)
        records = stage3.student_records(teacher, train, quality_loss, *decoding)
        book = stage3.score_rows(records, train, test, classifier=settings.classifier, features=features, **common)

        def score(frame: pd.DataFrame, rows_: pd.DataFrame = train, **changes) -> RowScore:
            options = {"classifier": settings.classifier, "features": features, "split": False, **changes}
            return stage3.score_rows(frame, rows_, test, **common, **options)

        for name in departures:
            if name == "construction":
                alternative = score(stage3.decoded_records(teacher, train, "source_group", settings.categorical_decoding))
            elif name == "categorical_decoding":
                alternative = score(stage3.decoded_records(teacher, train, settings.construction, "argmax"))
            elif name == "teacher_encoding":
                binned = stage3.fit_teacher(train, settings, seed, encoding="binned")
                alternative = score(stage3.student_records(binned, train, quality_loss, *decoding))
            elif name == "feature_set":
                alternative = score(records, features=FeatureMap(ds, settings.sensitive, [train, test], exclude=[settings.sensitive]))
            elif name == "classifier":
                alternative = score(records, classifier=other_classifier)
            elif name == "training_rows":
                every, _ = stage3.prepare_data(settings.dataset, settings.sensitive, 0, seed)
                whole = stage3.fit_teacher(every, settings, seed)
                alternative = score(stage3.student_records(whole, every, quality_loss, *decoding), every)
            else:  # label_coding and protocol read the book's own classifier another way
                alternative = book
            for coding in POSITIVE_LABELS:
                mine = _values(book, coding)
                if name == "label_coding":
                    theirs = _values(book, next(c for c in POSITIVE_LABELS if c != coding))
                elif name == "protocol":
                    theirs = _values(book, coding, "synthetic_split")
                else:
                    theirs = _values(alternative, coding)
                rows.append({"departure": name, "seed": seed, "coding": coding,
                             **{f"book_{m}": mine[m] for m in METRICS}, **{f"alternative_{m}": theirs[m] for m in METRICS},
                             **{f"difference_{m}": theirs[m] - mine[m] for m in METRICS},
                             "degenerate": bool(book.degenerate or alternative.degenerate)})
    return pd.DataFrame(rows)


def effects_table(frame: pd.DataFrame, coding: str) -> pd.DataFrame:
    """One row per departure under ``coding``: the book's and the alternative's mean, and the paired mean
    difference with its 95 % interval, for each of ``METRICS``; the reason and the source beside them."""
    if coding not in POSITIVE_LABELS:
        raise ParameterError("coding", coding, one_of(POSITIVE_LABELS))
    by_name = {d.name: d for d in DEPARTURES}
    out = []
    for name, part in frame[frame.coding == coding].groupby("departure", sort=False):
        departure = by_name[name]
        row = {"departure": departure.setting, "book": departure.book, "alternative": departure.alternative}
        for metric in METRICS:
            interval = t_interval(part[f"difference_{metric}"])
            row[f"Δ {metric.upper() if metric != 'accuracy' else 'accuracy'}"] = \
                f"{interval.mean:+.3f} [{interval.low:+.3f}, {interval.high:+.3f}]" if interval.n > 1 else f"{interval.mean:+.3f}"
        bad = int(part.degenerate.sum())
        row["n"] = f"{len(part)}" + (f" ({bad} degenerate)" if bad else "")
        row["why the book's choice"] = departure.reason
        row["paper or reference"] = departure.source
        out.append(row)
    return pd.DataFrame(out)


def report_values(frame: pd.DataFrame) -> dict[str, list[float]]:
    """Per-seed values for ``fairnb.runs.report``: ``book/<coding>_<metric>`` and ``<departure>/<coding>_<metric>``
    (the alternative's value), seed order."""
    out: dict[str, list[float]] = {}
    for (name, coding), part in frame.groupby(["departure", "coding"], sort=False):
        part = part.sort_values("seed")
        for metric in METRICS:
            out[f"{name}/{coding}_{metric}"] = part[f"alternative_{metric}"].tolist()
            out.setdefault(f"{BOOK}/{coding}_{metric}", part[f"book_{metric}"].tolist())
    return out
