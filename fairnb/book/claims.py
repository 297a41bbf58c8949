"""The claims ledger: every headline claim of both papers, evaluated from the results records.

The claims are data: ``fairnb/paper000/reference/claims.csv`` and ``fairnb/paper002/reference/claims.csv``,
one row per (claim, metric) with columns

- ``id`` (``<paper>-<claim>.<part>``), ``paper``, ``claim`` (one sentence), ``source`` (where the
  paper says it), ``metric``;
- ``a`` and ``b``: the compared quantities, ``;``-separated references ``<template>:<metric name>``
  in which ``{metric}`` stands for the row's metric (``fair_synthesis:l1/{metric}`` is the metric
  ``l1/dpr`` of a ``fair_synthesis-*`` record). With several ``a`` and one ``b`` (or one ``a`` and
  several ``b``) every pair is a comparison; with several of both, each ``a`` is paired with the
  ``b`` of its own template (the row of the same run);
- ``direction`` (the claim says A is ``higher`` or ``lower``), ``rule`` (``difference``,
  ``relative``, ``trend``, ``across``), ``threshold`` (θ of the decision rule);
- ``scope``: the ``dataset/sensitive`` pairs the paper makes the claim for (one ledger row each);
  ``versus``: for ``across`` rows, the datasets the gain is compared with;
- ``coding``: ``both`` when the metric depends on which class is label 1 (paper 000's reference
  code makes the unfavourable outcome class 1), ``none`` otherwise; ``note``: how the comparison is made.

``evaluate`` turns each (row, scope, label coding) into one ledger row with the paired per-seed
statistics and a verdict by the rule of ``fairnb.metrics.claims`` (written down before any number
was looked at). A row that lacks what it needs says *not evaluated* and names exactly what is missing.
Paper-000 rows whose metric depends on the label coding are evaluated under both codings: the
favourable one (class 1 = '>50K', no recidivism) is the headline, the reference code's unfavourable
one is shown beside it.

**Methods the paper does not have never count.** A paper's claims are about the methods it compares.
Rows the book adds beyond a paper (``beyond_paper``: for paper 000, TabFairGDT) are reported by the
same runs but never enter its ledger: a ledger row that names one is refused (``check_paper_rows``,
called by ``ledger`` and ``evaluate``), and ``degenerate_rows`` does not list them.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from fairnb.metrics import claims as rule
from fairnb import records
from fairnb.records import of_template, read_records

PACKAGE = Path(__file__).resolve().parents[1]
LEDGERS = {"000": PACKAGE / "paper000" / "reference" / "claims.csv",
           "002": PACKAGE / "paper002" / "reference" / "claims.csv"}
LEDGER_COLUMNS = ["id", "paper", "claim", "source", "metric", "a", "b", "direction", "rule", "threshold", "scope",
                  "versus", "coding", "note"]
CODINGS = ("favourable", "unfavourable")
HEADLINE_CODING = "favourable"
NO_CODING = "n/a"
# templates whose method rows are scored by a downstream classifier (and, for generators, coverage)
CLASSIFIER_TEMPLATES = ("comparison", "fair_synthesis", "fair_classifier")
COLUMNS = ["id", "paper", "claim", "source", "scope", "metric", "label_coding", "rule", "threshold", "n",
           "mean_difference", "low", "high", "interval_kind", "verdict", "profile", "note", "how", "records"]
_COMPOSITE = re.compile(r"^mean\((?P<parts>[^)]*)\)$")


def ledger() -> pd.DataFrame:
    """Both papers' claims files, one row per (claim, metric), columns ``LEDGER_COLUMNS``
    (checked by ``check_paper_rows``)."""
    frames = [pd.read_csv(path, dtype=str, keep_default_na=False) for path in LEDGERS.values()]
    table = pd.concat(frames, ignore_index=True)[LEDGER_COLUMNS]
    table["threshold"] = table["threshold"].replace("", "0").astype(float)
    return check_paper_rows(table)


def beyond_paper(paper: str) -> tuple[str, ...]:
    """The methods the book's runs report for ``paper`` that the paper itself does not compare
    (paper 000: ``fairnb.paper000.comparison.BEYOND_PAPER`` and the runtime chapter's)."""
    if paper != "000":
        return ()
    from fairnb.paper000.comparison import BEYOND_PAPER
    from fairnb.paper000.runtime import BEYOND_PAPER as BEYOND_RUNTIME

    return tuple(dict.fromkeys(BEYOND_PAPER + BEYOND_RUNTIME))


def _method_of(prefix: str) -> str:
    return prefix.split("/", 1)[0]


def check_paper_rows(claims: pd.DataFrame) -> pd.DataFrame:
    """``claims`` unchanged, or ``ValueError`` naming each ledger row whose ``a`` or ``b`` refers to a
    method its paper does not compare (``beyond_paper``): such a method never counts toward, or
    against, the paper's claims."""
    bad = []
    for _, row in claims.iterrows():
        excluded = beyond_paper(str(row["paper"]))
        if not excluded:
            continue
        for ref in _refs(row["a"]) + _refs(row["b"]):
            method = _method_of(ref.prefix or ref.pattern)
            if method in excluded:
                bad.append(f"{row['id']} ({ref.template}:{ref.pattern})")
    if bad:
        raise ValueError("claims ledger rows refer to methods the paper does not compare (" + ", ".join(excluded)
                         + "): " + "; ".join(bad))
    return claims


# --------------------------------------------------------------------------- records


class Missing(Exception):
    """What a ledger row needs and the records do not have (the text after 'not evaluated: ');
    ``run``/``profile`` name the record that lacks it, when there is one."""

    def __init__(self, message: str, run: str | None = None, profile: str | None = None):
        super().__init__(message)
        self.run, self.profile = run, profile


@dataclass(frozen=True)
class Ref:
    template: str
    pattern: str

    @classmethod
    def parse(cls, text: str) -> "Ref":
        template, sep, pattern = text.strip().partition(":")
        if not sep or not template or not pattern:
            raise ValueError(f"claims ledger reference {text!r}: expected '<template>:<metric name>'")
        return cls(template, pattern)

    @property
    def prefix(self) -> str:
        """The method part of the name (``l1/`` of ``l1/{metric}``; empty for a plain name)."""
        return self.pattern.split("{metric}")[0] if "{metric}" in self.pattern else ""

    def label(self) -> str:
        return self.prefix.rstrip("/") or self.pattern


def _refs(text: str) -> list[Ref]:
    return [Ref.parse(part) for part in text.split(";") if part.strip()]


@dataclass
class Side:
    """Per-seed values of one reference in one record, with the seeds that are degenerate."""

    values: dict[int, float | None]
    degenerate: dict[int, str]
    run: str
    profile: str
    label: str = ""
    budget_ran_out: dict[int, bool] = field(default_factory=dict)  # seed → training ended by its budget, not its rule


def budget_note(side: Side, seeds: Iterable[int]) -> list[str]:
    """A note when ``side``'s generator ran out of its training budget (no early stop by its rule) at some of
    ``seeds``: its rows are not shown converged, so a verdict on them may be the budget's. Notes only: the
    decision rule is unchanged."""
    seeds = [s for s in seeds if s in side.budget_ran_out]
    ran_out = sum(side.budget_ran_out[s] for s in seeds)
    if not ran_out:
        return []
    return [f"{side.label}: training ran out of its budget at {ran_out} of {len(seeds)} seeds (not shown converged)"]


@dataclass
class Store:
    """Results records by template, read once (``fairnb.records.read_records``)."""

    folder: Path | str | None = None
    _cache: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def records(self, template: str) -> list[dict[str, Any]]:
        """The successful records of ``template`` (a single-run template's record is ``<template>.json``,
        so every record is read once and kept by the template its ``template`` field names)."""
        if "*" not in self._cache:
            self._cache["*"] = read_records(None, self.folder)
        if template not in self._cache:
            self._cache[template] = [r for r in self._cache["*"] if r.get("template") and of_template(r, template)]
        return self._cache[template]

    def find(self, template: str, scope: str) -> dict[str, Any]:
        dataset, _, sensitive = scope.partition("/")
        found = [r for r in self.records(template)
                 if (r.get("parameters") or {}).get("dataset", _default(template, "dataset")) == dataset
                 and (r.get("parameters") or {}).get("sensitive", _default(template, "sensitive")) == sensitive]
        if not found:
            raise Missing(f"no successful {template} record for {scope}")
        return found[-1]


@functools.lru_cache(maxsize=None)
def _defaults(template: str) -> dict[str, Any]:
    """The template's parameter defaults (empty when its notebook cannot be found or read)."""
    try:
        from fairnb.runs.manifest import template_file, template_parameters

        return {name: p.default for name, p in template_parameters(template_file(template)).items()}
    except (ValueError, OSError):
        return {}


def _default(template: str, name: str) -> Any:
    """The template's default value of parameter ``name`` (None when the template or parameter is unknown)."""
    return _defaults(template).get(name)


def _parameter(record: dict[str, Any], template: str, name: str) -> Any:
    parameters = record.get("parameters") or {}
    return parameters[name] if name in parameters else _default(template, name)


def plain_coding(record: dict[str, Any], template: str | None = None) -> str | None:
    """The label coding of a record's unprefixed metric names: the one rule, ``fairnb.records.plain_coding``
    (``template`` is not consulted: a template's default today is no evidence of what an older run used)."""
    return records.plain_coding(record)


def _coded(metric: str, coding: str | None, plain: str | None) -> str:
    return metric if coding is None or coding == plain else f"{coding}_{metric}"


def _values(record: dict[str, Any], name: str) -> list[float | None]:
    """Per-seed values of metric ``name``; ``Missing`` names what is absent."""
    run = record.get("run", "?")
    entry = (record.get("metrics") or {}).get(name)
    if not isinstance(entry, dict):
        raise Missing(f"{run} does not report {name}")
    values = entry.get("values")
    if values is None:
        if entry.get("n") == 1 and entry.get("mean") is not None:
            values = [entry["mean"]]  # one repetition: its mean is its value
        else:
            raise Missing(f"{run} has no per-seed values of {name} (recorded before values were kept)")
    values = [None if v is None or not math.isfinite(float(v)) else float(v) for v in values]
    if all(v is None for v in values):
        raise Missing(f"{run} reports {name} as missing")
    return values


def _metric_values(record: dict[str, Any], ref: Ref, metric: str, coding: str | None, plain: str | None) -> list[float | None]:
    """Values of ``ref`` for ``metric`` (a ``mean(a,b,…)`` metric is the per-seed mean of its parts)."""
    if "{metric}" not in ref.pattern:
        return _values(record, ref.pattern)
    match = _COMPOSITE.match(metric)
    parts = [p.strip() for p in match.group("parts").split(",")] if match else [metric]
    columns = [_values(record, ref.pattern.format(metric=_coded(p, coding, plain))) for p in parts]
    if len({len(c) for c in columns}) != 1:
        raise Missing(f"{record.get('run', '?')} reports the parts of {metric} with different repetitions")
    return [None if any(c[i] is None for c in columns) else float(np.mean([c[i] for c in columns]))
            for i in range(len(columns[0]))]


def record_codings(record: dict[str, Any], template: str, prefix: str) -> list[str | None]:
    """The label codings under which ``record`` reports method ``prefix``: the plain names' coding
    first, then every coding its prefixed names carry (``l1/favourable_dpr``)."""
    plain = plain_coding(record, template)
    names = list(record.get("metrics") or {})
    others = [c for c in CODINGS if c != plain and any(n.startswith(f"{prefix}{c}_") for n in names)]
    return [plain] + others


def degenerate_seeds(record: dict[str, Any], template: str, prefix: str, coding: str | None = None) -> dict[int, str]:
    """Seeds at which method ``prefix`` (``l1/``) of ``record`` is degenerate, with the reasons
    (rules in ``fairnb.metrics.claims``). Only templates that score a classifier are checked.

    ``coding``: check the metrics of that label coding only; ``None`` (what the ledger uses): a seed
    flagged under any coding the record reports is degenerate, since both codings score the same
    classifier.
    """
    if template not in CLASSIFIER_TEMPLATES or not prefix:
        return {}
    if coding is None:
        merged: dict[int, list[str]] = {}
        for each in record_codings(record, template, prefix):
            for seed, reasons in _degenerate_seeds(record, template, prefix, each).items():
                merged.setdefault(seed, []).extend(reasons)
        return {seed: "; ".join(dict.fromkeys(reasons)) for seed, reasons in merged.items()}
    return {seed: "; ".join(dict.fromkeys(reasons)) for seed, reasons in _degenerate_seeds(record, template, prefix, coding).items()}


def _degenerate_seeds(record: dict[str, Any], template: str, prefix: str, coding: str | None) -> dict[int, list[str]]:
    """Seed → reasons by the one rule (``fairnb.metrics.claims.degenerate_repetitions``); a reason read under one
    label coding names it when the record reports more than one."""
    plain = plain_coding(record, template)
    coding = coding or plain
    suffix = f" ({coding} coding)" if coding in CODINGS and len(record_codings(record, template, prefix)) > 1 else ""
    seed0 = int(_parameter(record, template, "seed") or 0)
    found = rule.degenerate_repetitions(record.get("metrics") or {}, prefix, plain, coding)
    return {seed0 + i: [r if r.startswith("collapsed generator") else r + suffix for r in reasons]
            for i, reasons in found.items()}


def row_degeneracy(record: dict[str, Any], template: str, prefix: str) -> tuple[int, int, str]:
    """(degenerate repetitions, repetitions, reasons) of method ``prefix`` (``l1/``) of ``record`` by the ledger's
    rule (``degenerate_seeds``, every label coding the record reports): the one rule by which the ledger, the
    landing page (``fairnb.book.overview``) and Table 1 (``table1``) flag a degenerate row."""
    found = degenerate_seeds(record, template, prefix)
    metrics = record.get("metrics") or {}
    n = max((len(records.per_seed(metrics[k])) for k in metrics if k.startswith(prefix)), default=0)
    reasons = dict.fromkeys(part for r in found.values() for part in _split(r))
    return len(found), max(n, len(found)), "; ".join(reason for reason, _ in _merged(dict.fromkeys(reasons, 1), sides=False))


def table1(results: Path | str | None = None, datasets: Iterable[str] = ("adult", "compas")) -> pd.DataFrame:
    """Paper 000's Table 1 (``fairnb.paper000.reproduction.table1``, same columns) with its degenerate rows found
    by the ledger's rule (``row_degeneracy``), so that a row is degenerate on the Table 1 page, on the landing
    page and in the ledger alike. ``results``: the records' folder (default ``results/``)."""
    from fairnb.paper000 import reproduction

    values = reproduction.ours(results)
    store = Store(results)
    by_run = {r.get("run"): r for template in set(values.template) for r in store.records(template)}
    flags = {}
    for run, template, method in values[["run", "template", "method"]].drop_duplicates().itertuples(index=False):
        record = by_run.get(run)
        prefixes = {name.rpartition("/")[0] for name in (record or {}).get("metrics") or {} if "/" in name}
        prefix = next((p for p in sorted(prefixes) if reproduction._method(template, p) == method), None)
        flags[(run, method)] = row_degeneracy(record, template, prefix + "/") if prefix else (0, 0, "")
    values[["degenerate_seeds", "n_seeds", "reason"]] = [list(flags[(r, m)]) for r, m in zip(values.run, values.method)]
    values = values.astype({"degenerate_seeds": int, "n_seeds": int})
    return reproduction.build_table(reproduction._paper_values(), values, datasets)


def _side(store: Store, ref: Ref, scope: str, metric: str, coding: str | None) -> Side:
    record = store.find(ref.template, scope)
    plain = plain_coding(record, ref.template)
    run, profile = record.get("run", "?"), str(record.get("profile") or "?")
    try:
        if coding is not None and plain is None:
            raise Missing(f"{run} does not record its label coding (no positive_label parameter, no metric under the "
                          "other coding)")
        values = _metric_values(record, ref, metric, coding, plain)
    except Missing as missing:
        raise Missing(str(missing), run, profile) from None
    seed0 = int(_parameter(record, ref.template, "seed") or 0)
    try:  # recorded by the comparison and budget pages for generators trained by epochs
        early = _values(record, ref.prefix + "stopped_early") if ref.prefix else []
    except Missing:
        early = []
    return Side({seed0 + i: v for i, v in enumerate(values)}, degenerate_seeds(record, ref.template, ref.prefix),
                run, profile, f"{ref.label()} in {run}",
                {seed0 + i: v is not None and v < 0.5 for i, v in enumerate(early)})


# --------------------------------------------------------------------------- comparisons


@dataclass
class Outcome:
    """One comparison (or one whole ledger row): verdict, interval, what was used and why."""

    verdict: str
    interval: rule.Interval | None = None
    label: str = ""
    notes: list[str] = field(default_factory=list)
    runs: dict[str, str] = field(default_factory=dict)  # run id → profile


def _split(reasons: str) -> list[str]:
    return [part for part in reasons.split("; ") if part]


_CODING_SUFFIX = re.compile(r" \((?P<coding>" + "|".join(CODINGS) + r") coding\)$")


def _merged(counted: dict[str, int], sides: bool = True) -> list[tuple[str, int]]:
    """Reasons ``"<method> in <run>: <why>[ (<coding> coding)]"`` (``sides=False``: ``"<why>[ (<coding> coding)]"``)
    with their counts, said once each: the codings of one side that share a reason and a count are named together,
    then the sides that share a reason, its codings and its count
    (``"l1 and fairdisco in fair_synthesis-adult-sex: <why> (both label codings)"``)."""
    by_side: dict[tuple[str, str, int], list[str]] = {}
    for part, count in counted.items():
        side, sep, why = part.partition(": ") if sides else ("", "", part)
        if not sep:
            side, why = "", part
        match = _CODING_SUFFIX.search(why)
        coding = match.group("coding") if match else ""
        why = why[:match.start()] if match else why
        by_side.setdefault((side, why, count), []).append(coding)
    by_reason: dict[tuple[str, tuple[str, ...], int], list[str]] = {}
    for (side, why, count), codings in by_side.items():
        by_reason.setdefault((why, tuple(sorted(set(codings))), count), []).append(side)
    out = []
    for (why, codings, count), sides in by_reason.items():
        codings = tuple(c for c in codings if c)
        suffix = (" (both label codings)" if len(codings) == len(CODINGS) else f" ({codings[0]} coding)" if codings else "")
        runs: dict[str, list[str]] = {}
        for side in sides:
            method, sep, run = side.rpartition(" in ")
            runs.setdefault(run if sep else "", []).append(method if sep else side)
        together: dict[tuple[str, ...], list[str]] = {}  # the same methods in several runs: named once
        for run, methods in runs.items():
            together.setdefault(tuple(dict.fromkeys(methods)), []).append(run)
        who = "; ".join(_listed(list(methods)) + (" in " + _listed([r for r in where if r]) if any(where) else "")
                        for methods, where in together.items())
        out.append(((f"{who}: " if who else "") + why + suffix, count))
    return out


def _listed(words: list[str]) -> str:
    words = list(dict.fromkeys(words))
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


_EXCLUDED = re.compile(r"^degenerate, excluded at (?P<count>\d+) of (?P<total>\d+) seeds: (?P<reason>.*)$")


def _exclusions(reasons: dict[int, list[str]], total: int) -> list[str]:
    """One note per distinct reason: which side, why, at how many of the seeds with values (``_said_once``
    later names the sides and codings that share a reason together)."""
    counted = Counter(part for found in reasons.values() for reason in found for part in _split(reason))
    return [f"degenerate, excluded at {count} of {total} seeds: {reason}" for reason, count in counted.items()]


def _said_once(notes: list[str]) -> list[str]:
    """``notes`` without repetition: each distinct note once, and the exclusion notes of ``_exclusions`` (from
    every comparison of a row) merged where they share a reason, its count and the seeds they count in, so a
    side excluded in three comparisons, or under both label codings, is named once."""
    notes = list(dict.fromkeys(notes))
    found = [(i, _EXCLUDED.match(n)) for i, n in enumerate(notes)]
    found = [(i, m) for i, m in found if m]
    if not found:
        return notes
    by_total: dict[int, dict[str, int]] = {}
    for _, m in found:
        parts = by_total.setdefault(int(m["total"]), {})
        parts[m["reason"]] = max(parts.get(m["reason"], 0), int(m["count"]))
    merged = [f"degenerate, excluded at {count} of {total} seeds: {reason}"
              for total, parts in by_total.items() for reason, count in _merged(parts)]
    first = found[0][0]
    skip = {i for i, _ in found}
    return [n for i, n in enumerate(notes[:first]) if i not in skip] + merged + [
        n for i, n in enumerate(notes) if i > first and i not in skip]


def _pairs(a: Side, b: Side, label: str) -> tuple[list[float | None], list[float | None], list[str], bool]:
    """Aligned values of the seeds both sides ran, without degenerate seeds; notes; and whether
    degeneracy removed every pair that had values."""
    seeds = sorted(set(a.values) & set(b.values))
    with_values = [s for s in seeds if a.values[s] is not None and b.values[s] is not None]
    reasons = {s: [f"{side.label}: {part}" for side in (a, b) if s in side.degenerate for part in _split(side.degenerate[s])]
               for s in with_values}
    reasons = {s: r for s, r in reasons.items() if r}
    kept = [s for s in with_values if s not in reasons]
    notes = _exclusions(reasons, len(with_values))
    if not seeds:
        notes.append(f"{label}: no seed in common")
    return [a.values[s] for s in kept], [b.values[s] for s in kept], notes, bool(with_values) and not kept


def _paired(a: Side, b: Side, label: str, direction: str, relative: bool, threshold: float) -> Outcome:
    xs, ys, notes, all_degenerate = _pairs(a, b, label)
    runs = {a.run: a.profile, b.run: b.profile}
    if all_degenerate:
        return Outcome(rule.DEGENERATE, None, label, notes, runs)
    differences = rule.paired_differences(xs, ys, direction, relative=relative)
    if relative and len(differences) < len(xs):
        notes.append(f"{label}: {len(xs) - len(differences)} seeds dropped (the reference value is 0)")
    interval = rule.t_interval(differences)
    verdict, reason = rule.decide(interval, threshold)
    used = sorted(set(a.values) & set(b.values))
    return Outcome(verdict, interval, label, [f"{label}: {reason}"] + notes + budget_note(a, used) + budget_note(b, used), runs)


def _trend(sides: list[tuple[float, Side]], label: str, direction: str, threshold: float) -> Outcome:
    seeds = sorted(set().union(*(s.values for _, s in sides)))
    slopes, notes, lost, excluded = [], [], 0, 0
    for seed in seeds:
        have = [(x, s) for x, s in sides if s.values.get(seed) is not None]
        kept = [(x, s.values[seed]) for x, s in have if seed not in s.degenerate]
        excluded += len(have) - len(kept)
        value = rule.slope([x for x, _ in kept], [v for _, v in kept])
        if math.isfinite(value):
            slopes.append(rule.sign(direction) * value)
        elif len({x for x, _ in have}) >= 2:
            lost += 1  # two settings had values, degeneracy left fewer
    runs = {s.run: s.profile for _, s in sides}
    if excluded:
        reasons = sorted({f"{s.label}: {part}" for _, s in sides for r in s.degenerate.values() for part in _split(r)})
        notes.append(f"degenerate, {excluded} (setting, seed) points excluded: "
                     + "; ".join(reason for reason, _ in _merged(dict.fromkeys(reasons, 1))))
    if not slopes and lost:
        return Outcome(rule.DEGENERATE, None, label, notes + [f"{label}: no seed keeps two settings"], runs)
    interval = rule.t_interval(slopes)
    verdict, reason = rule.decide(interval, threshold)
    return Outcome(verdict, interval, label, [f"{label}: per-seed slope, {reason}"] + notes, runs)


def _components(a: list[Ref], b: list[Ref]) -> list[tuple[Ref, Ref]]:
    if len(a) == 1:
        return [(a[0], r) for r in b]
    if len(b) == 1:
        return [(r, b[0]) for r in a]
    return [(r, next((s for s in b if s.template == r.template), b[0])) for r in a]


def _combine(outcomes: list[Outcome]) -> Outcome:
    """One outcome for a row: the verdict by ``rule.combine``; the interval shown is the deciding
    comparison's (the contradicted one with the lowest upper bound, else the one with the lowest lower bound)."""
    verdict = rule.combine(o.verdict for o in outcomes)
    scored = [o for o in outcomes if o.interval is not None and o.verdict != rule.DEGENERATE]
    shown = None
    if verdict == rule.CONTRADICTED:
        shown = min((o for o in scored if o.verdict == rule.CONTRADICTED), key=lambda o: o.interval.high)
    elif scored:
        shown = min(scored, key=lambda o: (o.interval.low if math.isfinite(o.interval.low) else -math.inf,
                                           o.interval.mean if math.isfinite(o.interval.mean) else -math.inf))
    notes = _said_once([n for o in outcomes for n in o.notes])
    left_out = [o.label for o in outcomes if o.verdict == rule.DEGENERATE]
    if left_out and len(outcomes) > 1:
        notes.insert(0, "left out as degenerate: " + ", ".join(left_out))
    runs = {k: v for o in outcomes for k, v in o.runs.items()}
    label = shown.label if shown is not None and len(outcomes) > 1 else ""
    return Outcome(verdict, shown.interval if shown is not None else None, label, notes, runs)


def _evaluate(row: pd.Series, scope: str, coding: str | None, store: Store) -> Outcome:
    metric, direction, threshold = row["metric"], row["direction"], float(row["threshold"])
    a, b = _refs(row["a"]), _refs(row["b"])
    if row["rule"] not in rule.RULES:
        raise ValueError(f"claims ledger row {row['id']}: unknown rule {row['rule']!r} (one of {', '.join(rule.RULES)})")
    versus = [s.strip() for s in row["versus"].split(";") if s.strip()]
    needed = [(r, w) for w in [scope] + versus for r in a[:1] + b[:1]] if row["rule"] == "across" else [(r, scope) for r in a + b]
    sides: dict[tuple[Ref, str], Side] = {}
    missing: list[str] = []
    runs: dict[str, str] = {}
    for ref, where in needed:
        try:
            sides[(ref, where)] = _side(store, ref, where, metric, coding)
            runs[sides[(ref, where)].run] = sides[(ref, where)].profile
        except Missing as reason:
            missing.append(str(reason))
            if reason.run is not None:
                runs[reason.run] = reason.profile or "?"
    if missing:  # every missing piece is named, nothing is scored
        return Outcome(rule.NOT_EVALUATED, None, "", ["not evaluated: " + "; ".join(dict.fromkeys(missing))], runs)
    if len(set(runs.values())) > 1:
        listing = ", ".join(f"{run}: {profile}" for run, profile in sorted(runs.items()))
        return Outcome(rule.NOT_EVALUATED, None, "", [f"not evaluated: records from different profiles ({listing})"], runs)
    if row["rule"] == "trend":
        return _trend([(float(r.prefix.rstrip("/").rsplit("/", 1)[-1]), sides[(r, scope)]) for r in a], "trend",
                      direction, threshold)
    outcomes = []
    if row["rule"] == "across":
        for other in versus:
            gains, notes = [], []
            for where in (scope, other):
                xs, ys, more, _ = _pairs(sides[(a[0], where)], sides[(b[0], where)], where)
                notes += more
                gains.append(rule.paired_differences(xs, ys, direction))
            interval = rule.welch_interval(gains[0], gains[1])
            verdict, reason = rule.decide(interval, threshold)
            if min(len(g) for g in gains) == 0 and any(n.startswith("degenerate") for n in notes):
                verdict = rule.DEGENERATE
            outcomes.append(Outcome(verdict, interval, f"vs {other}",
                                    [f"vs {other}: gain n = {len(gains[0])} ({scope}) and {len(gains[1])} ({other}), {reason}"]
                                    + notes, runs))
    else:
        for first, second in _components(a, b):
            outcomes.append(_paired(sides[(first, scope)], sides[(second, scope)], f"{first.label()} vs {second.label()}",
                                    direction, row["rule"] == "relative", threshold))
    return _combine(outcomes)


def evaluate(records_folder: Path | str | None = None, claims: pd.DataFrame | None = None) -> pd.DataFrame:
    """One ledger row per (claim row, scope, label coding), columns ``COLUMNS``.

    ``records_folder``: where the results records are (default ``results/``); ``claims``: the
    ledger (default ``ledger()``). ``mean_difference``, ``low`` and ``high`` are the mean and 95 %
    interval of the per-seed differences (ratios, slopes) of the deciding comparison; ``n`` the number
    of pairs it used; ``profile`` the profile of the records used; ``note`` what decided the verdict,
    what is missing, and which seeds were excluded as degenerate.
    """
    claims = ledger() if claims is None else check_paper_rows(claims)
    store = Store(records_folder)
    rows = []
    for _, row in claims.iterrows():
        codings: Iterable[str | None] = CODINGS if row["coding"] == "both" else (None,)
        for scope in [s.strip() for s in row["scope"].split(";") if s.strip()]:
            for coding in codings:
                outcome = _evaluate(row, scope, coding, store)
                interval = outcome.interval
                profiles = sorted(set(outcome.runs.values()))
                note = "; ".join(outcome.notes)
                if outcome.label:
                    note = f"shown: {outcome.label}; " + note
                rows.append({
                    "id": row["id"], "paper": row["paper"], "claim": row["claim"], "source": row["source"],
                    "scope": scope, "metric": row["metric"], "label_coding": coding or NO_CODING, "rule": row["rule"],
                    "threshold": float(row["threshold"]),
                    "n": interval.n if interval is not None else 0,
                    "mean_difference": interval.mean if interval is not None else math.nan,
                    "low": interval.low if interval is not None else math.nan,
                    "high": interval.high if interval is not None else math.nan,
                    "interval_kind": interval.kind if interval is not None else "",
                    "verdict": outcome.verdict, "profile": "+".join(profiles) if profiles else "—",
                    "note": note, "how": row["note"], "records": ", ".join(sorted(outcome.runs)),
                })
    return pd.DataFrame(rows, columns=COLUMNS)


# --------------------------------------------------------------------------- tables for the book
