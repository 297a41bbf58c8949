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

import csv
from dataclasses import dataclass
from pathlib import Path
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


REFERENCE = Path(__file__).resolve().parent / "reference" / "departures.csv"


def read_departures(path: Path = REFERENCE) -> tuple[Departure, ...]:
    """The departures, one per row of ``reference/departures.csv`` (name, setting, book, alternative, source, reason)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return tuple(Departure(**row) for row in csv.DictReader(handle))


DEPARTURES = read_departures()
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
        train, test = stage3.prepare_data(settings.dataset, settings.sensitive, settings.max_rows, seed)
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
