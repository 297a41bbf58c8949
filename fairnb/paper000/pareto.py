"""Beyond the paper: the fairness–utility front of every paper-000 generator, TabFairGDT included.

Paper 000 compares its method with generators of its time. TabFairGDT (Panagiotou et al. 2025) is a
fast tree-based fair generator the paper does not know; its ``lamda`` in [0, 1] trades utility for
demographic parity. This module answers "is the method still worth it?" with the book's own rules:

- ``tabfairgdt_sweep`` fits TabFairGDT at each ``lamda`` and seed on the split of our method's runs
  (``fairnb.paper000.study.prepare_data``) and scores its records with the one evaluation path
  (``fairnb.paper000.study.score_rows``, exactly as the comparison scores its rows, so the sweep's
  point at the comparison's ``lamda`` equals the comparison's TabFairGDT row); ``sweep_metrics``
  names its values ``sweep/<lamda>/<metric>`` for the run's record.
- ``points`` gathers every generator's per-seed (DPR, EOR, accuracy, F1) of one dataset and
  sensitive attribute from the results records: the baselines and the original data from the
  ``comparison`` run, our four students, the FairDisco teacher and our λ sweep
  (``lambda_sweep/<λ>/<metric>``) from the ``fair_synthesis`` run, TabFairGDT's sweep from the
  ``pareto`` run (or from the sweep just computed). Values use the favourable label coding
  (class 1 = '>50K', no recidivism); a (generator, seed) is *degenerate* when its run flags it or its
  group rates or coverage meet the rule of ``fairnb.metrics.downstream.degeneracy``.
- ``summary`` gives mean ± std per generator and setting, the degenerate repetitions, and which
  points lie on the Pareto front of the points that are not degenerate (no other point is at least
  as fair and as accurate, and better in one); ``fairnb.paper000.figures.pareto`` draws it.
- ``worth_it`` compares our L1-KL student (the Table-1 row, λ of its run) with TabFairGDT at each
  ``lamda``, seed by seed, as the claims ledger compares (``fairnb.metrics.claims``): paired
  differences TabFairGDT − ours of DPR and of accuracy, a 95 % t interval each, the ledger's decision
  rule, degenerate seeds left out, records of different profiles or seeds not paired.
  ``time_comparison`` does the same for training time (the runtime run's records).

None of this enters the paper's Table 1, the claims ledger or the landing page: TabFairGDT is not in
the paper (``fairnb.paper000.comparison.BEYOND_PAPER``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from fairnb.errors import ParameterError
from fairnb.paper000.study import LAMBDA_SWEEP
from fairnb.records import of_template, per_seed, plain_coding, read_records

FAIRNESS = ("dpr", "eor")
UTILITY = ("accuracy", "f1")
AXES = FAIRNESS + UTILITY
HEADLINE_CODING = "favourable"
CODINGS = ("favourable", "unfavourable")
SWEEP = "sweep"                  # TabFairGDT's lamda sweep in a pareto record: sweep/<lamda>/<metric>
OURS = "l1"                      # the student compared with TabFairGDT (the paper's headline row, L1-KL)
PREDICTORS = ("correlation_remover", "threshold_optimizer")

BETTER_BOTH = "TabFairGDT fairer and more accurate"
WORSE_BOTH = "ours fairer and more accurate"
TRADE_OFF = "trade-off"


def check_lamdas(lamdas: Sequence[float]) -> list[float]:
    """``lamdas`` as a non-empty list of distinct floats in [0, 1] (``ParameterError`` otherwise)."""
    if isinstance(lamdas, (str, bytes)) or not isinstance(lamdas, Iterable):
        raise ParameterError("tabfairgdt_lamdas", lamdas, "a non-empty list of floats in [0, 1]")
    values = list(lamdas)
    ok = values and all(not isinstance(v, bool) and isinstance(v, (int, float)) and 0.0 <= v <= 1.0 for v in values)
    if not ok or len(set(map(float, values))) != len(values):
        raise ParameterError("tabfairgdt_lamdas", lamdas, "a non-empty list of distinct floats in [0, 1]")
    return [float(v) for v in values]


def setting_name(value: float) -> str:
    """How a swept value is spelled in a metric name: ``0.25``, ``1`` (``f"{value:g}"``)."""
    return f"{float(value):g}"


# --------------------------------------------------------------------------- TabFairGDT's sweep


@dataclass
class Sweep:
    """TabFairGDT's sweep: ``scores`` ((``sweep/<lamda>``, seed) → ``RowScore``) and ``fit_seconds``
    (same keys → seconds), with the settings it ran under."""

    dataset: str
    sensitive: str
    lamdas: list[float]
    seeds: list[int]
    scores: dict
    fit_seconds: dict


def tabfairgdt_sweep(dataset: str, sensitive: str, lamdas: Sequence[float], seeds: Sequence[int], max_rows: int = 0,
                     classifier: str = "random_forest", device: str = "cpu", quality_rows: int = 10_000) -> Sweep:
    """TabFairGDT at each ``lamda`` and seed, scored like every row of the comparison (module doc)."""
    import fairnb.data
    from fairnb.metrics.downstream import CLASSIFIERS, FeatureMap
    from fairnb.paper000 import study
    from fairnb.paper000.baselines.tabfairgdt import TabFairGDT

    lamdas = check_lamdas(lamdas)
    if classifier not in CLASSIFIERS:
        raise ParameterError("classifier", classifier, ", ".join(CLASSIFIERS))
    ds = fairnb.data.load(dataset)
    ds.check_sensitive(sensitive)
    seeds = [int(s) for s in seeds]
    scores, seconds = {}, {}
    for seed in seeds:
        train, test = study.prepare_data(dataset, sensitive, max_rows, seed)
        features = FeatureMap(ds, sensitive, [train, test])
        for lamda in lamdas:
            key = (f"{SWEEP}/{setting_name(lamda)}", seed)
            model = TabFairGDT(lamda=lamda, seed=seed).fit(train, dataset=ds, sensitive=sensitive)
            seconds[key] = float(model.fit_seconds_)
            scores[key] = study.score_rows(model.sample(len(train)), train, test, features=features, classifier=classifier,
                                           seed=seed, quality_rows=quality_rows, device=device)
    return Sweep(dataset, sensitive, lamdas, seeds, scores, seconds)


def sweep_metrics(sweep: Sweep, positive_label: str = HEADLINE_CODING) -> dict[str, list[float]]:
    """``sweep/<lamda>/<metric>`` → per-seed values (the names of ``fairnb.paper000.study.record_metrics``
    under ``positive_label``, plus ``fit_seconds``), for ``fairnb.runs.report``."""
    from fairnb.paper000.study import record_metrics

    extra = {key: {"fit_seconds": value} for key, value in sweep.fit_seconds.items()}
    return record_metrics(sweep.scores, positive_label, extra=extra)


def sweep_table(sweep: Sweep, positive_label: str = HEADLINE_CODING) -> pd.DataFrame:
    """Mean ± std over seeds per ``lamda`` of DPR, EOR, accuracy, F1, density, coverage and fit
    seconds; a ``lamda`` with degenerate repetitions says so."""
    from fairnb.viz.format import mean_std

    values = sweep_metrics(sweep, positive_label)
    rows = []
    for lamda in sweep.lamdas:
        prefix = f"{SWEEP}/{setting_name(lamda)}/"
        row = {"lamda": setting_name(lamda)}
        for metric in AXES + ("density", "coverage", "fit_seconds"):
            column = np.array([np.nan if v is None else v for v in values.get(prefix + metric, [])], dtype=float)
            row[metric] = mean_std(float(np.nanmean(column)) if column.size and np.isfinite(column).any() else None,
                                   float(np.nanstd(column, ddof=1)) if np.isfinite(column).sum() > 1 else 0.0)
        flags = values.get(prefix + "degenerate", [])
        bad = sum(1 for v in flags if v is not None and v >= 0.5)
        row["degenerate"] = f"{bad} of {len(flags)}" if bad else ""
        rows.append(row)
    return pd.DataFrame(rows).set_index("lamda")


# --------------------------------------------------------------------------- records


@dataclass
class Source:
    """One record's per-seed values: ``metrics`` (name → list in seed order), its first ``seed``,
    ``profile``, ``run`` and the label coding of its unprefixed names (``plain``)."""

    run: str
    template: str
    profile: str
    seed: int
    plain: str
    metrics: dict[str, list[float | None]]
    parameters: dict[str, Any]

    def values(self, name: str) -> list[float | None] | None:
        entry = self.metrics.get(name)
        return None if entry is None else [None if v is None or not math.isfinite(float(v)) else float(v) for v in entry]

    def coded(self, prefix: str, metric: str, coding: str = HEADLINE_CODING) -> list[float | None] | None:
        """Per-seed values of ``<prefix>/<metric>`` under ``coding`` (``<prefix>/<coding>_<metric>`` when the
        record's plain names use the other coding)."""
        return self.values(f"{prefix}/{metric}" if coding == self.plain else f"{prefix}/{coding}_{metric}")


def _record_values(record: dict[str, Any]) -> dict[str, list[float | None]]:
    """Per-seed values of every metric of ``record`` (``fairnb.records.per_seed``; entries without any left out)."""
    return {name: values for name, entry in (record.get("metrics") or {}).items() if (values := per_seed(entry))}


def _source(record: dict[str, Any], template: str) -> Source:
    parameters = record.get("parameters") or {}
    return Source(str(record.get("run", "?")), template, str(record.get("profile") or "?"), int(parameters.get("seed", 0) or 0),
                  plain_coding(record), _record_values(record), parameters)


def find_record(template: str, dataset: str, sensitive: str, results: Path | str | None = None) -> Source | None:
    """The last successful record of ``template`` for (dataset, sensitive), as a ``Source`` (None if there is none)."""
    found = [r for r in read_records(template, results)
             if (r.get("parameters") or {}).get("dataset") == dataset and (r.get("parameters") or {}).get("sensitive") == sensitive]
    return _source(found[-1], template) if found else None


def record_note(dataset: str, sensitive: str, results: Path | str | None = None, profile: str | None = None) -> str:
    """Markdown naming the records the page reads for (dataset, sensitive) with their profiles, and what
    is missing or was run under another profile than ``profile`` (then it is not paired seed by seed)."""
    lines = []
    for template, what in (("fair_synthesis", "our method's λ sweep and Table-1 rows, the FairDisco teacher"),
                           ("comparison", "the paper's baselines and the original data")):
        source = find_record(template, dataset, sensitive, results)
        if source is None:
            lines.append(f"- **missing:** no successful `{template}-{dataset}-{sensitive}` record ({what}): run "
                         f"`fairnb run --only '{template}-{dataset}-{sensitive}'` first.")
            continue
        warning = "" if profile is None or source.profile == profile else f" — **another profile than this run's ({profile})**"
        lines.append(f"- `{source.run}` (profile {source.profile}): {what}{warning}.")
    return "Records read for the other generators' points:\n\n" + "\n".join(lines)


def sweep_source(sweep: Sweep, positive_label: str = HEADLINE_CODING, profile: str = "?", run: str = "this run") -> Source:
    """The sweep just computed, read like a record (for the pareto page before its record exists)."""
    return Source(run, "pareto", profile, min(sweep.seeds), positive_label, sweep_metrics(sweep, positive_label),
                  {"dataset": sweep.dataset, "sensitive": sweep.sensitive})


def _degenerate(source: Source, prefix: str) -> list[bool]:
    """Per-seed degeneracy of ``prefix`` in ``source``: the run's flag, or the rule on its recorded rates and coverage."""
    from fairnb.metrics.downstream import degeneracy

    flags = source.values(f"{prefix}/degenerate") or []
    rates = [source.coded(prefix, f"positive_rate_{g}", source.plain) or [] for g in ("privileged", "unprivileged")]
    coverage = source.values(f"{prefix}/coverage") or []
    n = max([len(flags), len(coverage), *(len(r) for r in rates)], default=0)
    out = []
    for i in range(n):
        flagged = i < len(flags) and flags[i] is not None and flags[i] >= 0.5
        found = degeneracy([r[i] if i < len(r) else None for r in rates], coverage[i] if i < len(coverage) else None)
        out.append(bool(flagged or found))
    return out


def _rows(source: Source, prefix: str, generator: str, family: str, family_label: str, setting: str = "",
          marker: str = "o", colour: str | None = None) -> list[dict[str, Any]]:
    columns = {metric: source.coded(prefix, metric) for metric in AXES}
    if columns["dpr"] is None or columns["accuracy"] is None:
        return []
    degenerate = _degenerate(source, prefix)
    n = len(columns["dpr"])
    rows = []
    for i in range(n):
        rows.append({"generator": generator, "family": family, "family_label": family_label, "setting": setting,
                     "seed": source.seed + i, "marker": marker, "colour": colour, "run": source.run, "profile": source.profile,
                     **{m: (v[i] if v is not None and i < len(v) else None) for m, v in columns.items()},
                     "degenerate": degenerate[i] if i < len(degenerate) else False})
    return rows


def _swept(source: Source, head: str) -> list[str]:
    """The settings swept under ``<head>/<setting>/`` in ``source``, in increasing order."""
    found = {name.split("/")[1] for name in source.metrics if name.startswith(head + "/") and name.count("/") >= 2}
    return sorted(found, key=float)


def points(dataset: str, sensitive: str, results: Path | str | None = None, sweep: Source | None = None) -> pd.DataFrame:
    """Per-seed points of every generator of (dataset, sensitive), from the records (module doc).

    Columns: generator, family (one line or marker group), family_label, setting (the swept value,
    empty for single points), seed, marker, colour, run, profile, ``AXES`` (favourable coding) and
    degenerate. ``sweep``: TabFairGDT's sweep of this run (otherwise read from the ``pareto`` record).
    """
    from fairnb.paper000 import comparison
    from fairnb.paper000.figures import method_colour
    from fairnb.paper000.study import METHOD_LABELS

    rows: list[dict[str, Any]] = []
    synthesis = find_record("fair_synthesis", dataset, sensitive, results)
    compared = find_record("comparison", dataset, sensitive, results)
    gdt = sweep if sweep is not None else find_record("pareto", dataset, sensitive, results)
    if synthesis is not None:
        loss = str(synthesis.parameters.get("quality_loss", OURS))
        colour = method_colour(f"ours_{loss}")
        label = f"{METHOD_LABELS.get(loss, loss)}, λ sweep"
        for setting in _swept(synthesis, LAMBDA_SWEEP):
            rows += _rows(synthesis, f"{LAMBDA_SWEEP}/{setting}", f"ours_{loss}", "ours_lambda", label, f"λ={setting}",
                          "o", colour)
        for loss_name in ("l1", "huber", "mse", "mean_difference"):
            rows += _rows(synthesis, loss_name, f"ours_{loss_name}", f"ours_{loss_name}",
                          f"{comparison.LABELS[f'ours_{loss_name}']} (Table 1 row)", "", "o", method_colour(f"ours_{loss_name}"))
        rows += _rows(synthesis, "fairdisco", "fairdisco", "fairdisco", comparison.LABELS["fairdisco"], "", "o",
                      method_colour("fairdisco"))
    if compared is not None:
        for method in comparison.METHODS:
            if method == "fairdisco" and synthesis is not None:
                continue  # the teacher our students distil (fair_synthesis) rather than the comparison's own
            label = comparison.LABELS[method] + (" (not a generator)" if method in PREDICTORS else "")
            rows += _rows(compared, method, method, method, label, "", "s" if method in PREDICTORS else "o",
                          method_colour(method))
        if gdt is None:
            for method in comparison.BEYOND_PAPER:
                rows += _rows(compared, method, method, method, comparison.LABELS[method], "", "D", method_colour(method))
    if gdt is not None:
        for setting in _swept(gdt, SWEEP):
            rows += _rows(gdt, f"{SWEEP}/{setting}", "tabfairgdt", "tabfairgdt",
                          f"{comparison.LABELS['tabfairgdt']}, lamda sweep", f"lamda={setting}", "D", method_colour("tabfairgdt"))
    columns = ["generator", "family", "family_label", "setting", "seed", "marker", "colour", "run", "profile", *AXES, "degenerate"]
    return pd.DataFrame(rows, columns=columns)


def pareto_front(frame: pd.DataFrame, fairness: str = "dpr", utility: str = "accuracy") -> np.ndarray:
    """Boolean mask of the rows of ``frame`` (columns ``<metric>_mean`` and ``degenerate``) on the
    Pareto front of the rows that are not degenerate: no other such row is at least as high on both
    and higher on one. Degenerate rows are never on it."""
    x = frame[f"{fairness}_mean"].to_numpy(dtype=float)
    y = frame[f"{utility}_mean"].to_numpy(dtype=float)
    fine = ~frame["degenerate"].to_numpy(dtype=bool) & np.isfinite(x) & np.isfinite(y)
    front = np.zeros(len(frame), dtype=bool)
    for i in np.flatnonzero(fine):
        others = fine.copy()
        others[i] = False
        dominated = others & (x >= x[i]) & (y >= y[i]) & ((x > x[i]) | (y > y[i]))
        front[i] = not dominated.any()
    return front


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (family, setting): label, mean and std of ``AXES``, n, degenerate (any repetition),
    ``degenerate_seeds`` ("k of n") and ``pareto`` (``pareto_front``), in the order of ``frame``."""
    if frame.empty:
        return pd.DataFrame(columns=["family", "setting", "generator", "family_label", "marker", "colour", "n", "degenerate",
                                     "degenerate_seeds", "pareto", *(f"{m}_{s}" for m in AXES for s in ("mean", "std"))])
    rows = []
    for (family, setting), part in frame.groupby(["family", "setting"], sort=False):
        first = part.iloc[0]
        bad = int(part.degenerate.astype(bool).sum())
        row = {"family": family, "setting": setting, "generator": first.generator, "family_label": first.family_label,
               "marker": first.marker, "colour": first.colour, "n": int(len(part)), "degenerate": bad > 0,
               "degenerate_seeds": f"{bad} of {len(part)}" if bad else "", "profile": first.profile}
        for metric in AXES:
            values = pd.to_numeric(part[metric], errors="coerce")
            row[f"{metric}_mean"] = float(values.mean()) if values.notna().any() else math.nan
            row[f"{metric}_std"] = float(values.std(ddof=1)) if values.notna().sum() > 1 else 0.0
        rows.append(row)
    out = pd.DataFrame(rows)
    out["pareto"] = pareto_front(out)
    return out


def summary_table(frame: pd.DataFrame) -> pd.DataFrame:
    """``summary`` for the page: generator and setting, DPR, EOR, accuracy, F1 as mean ± std, n, whether
    the point is on the Pareto front, and "degenerate k of n" where it is (then it is not a result)."""
    from fairnb.viz.format import mean_std

    table = summary(frame)
    rows = []
    for r in table.itertuples():
        row = {"generator": r.family_label, "setting": r.setting or "—"}
        for metric in AXES:
            row[metric.upper() if metric in FAIRNESS else metric] = mean_std(getattr(r, f"{metric}_mean"), getattr(r, f"{metric}_std"))
        row["n"] = r.n
        row["Pareto front"] = "degenerate " + r.degenerate_seeds if r.degenerate else ("yes" if r.pareto else "")
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- is the method still worth it?


@dataclass
class Pairing:
    """Why two records can or cannot be paired seed by seed (the claims ledger's conditions)."""

    ok: bool
    reason: str = ""


def pairing(first: Source | None, second: Source | None, names: tuple[str, str]) -> Pairing:
    """Both records exist, share the profile, and (where both state them) the training rows and classifier."""
    missing = [name for source, name in zip((first, second), names) if source is None]
    if missing:
        return Pairing(False, "no successful " + " or ".join(missing) + " record")
    if first.profile != second.profile:
        return Pairing(False, f"records from different profiles ({first.run}: {first.profile}, {second.run}: {second.profile})")
    for name in ("max_rows", "classifier"):
        a, b = first.parameters.get(name), second.parameters.get(name)
        if a is not None and b is not None and a != b:
            return Pairing(False, f"{name} differs ({first.run}: {a}, {second.run}: {b})")
    return Pairing(True)


@dataclass
class Paired:
    """Per-seed differences other − ours over the seeds both ran with values, degenerate seeds left out;
    how many of the ``common`` seeds were degenerate on our side and on the other's."""

    differences: np.ndarray
    common: int
    ours_degenerate: int
    other_degenerate: int


def _paired(ours: Source, ours_prefix: str, other: Source, other_prefix: str, metric: str) -> Paired | None:
    """``Paired`` differences of ``metric`` (favourable coding); None when either side does not report it."""
    a, b = other.coded(other_prefix, metric), ours.coded(ours_prefix, metric)
    if a is None or b is None:
        return None
    bad_a, bad_b = _degenerate(other, other_prefix), _degenerate(ours, ours_prefix)
    seeds_a = {other.seed + i: (v, i < len(bad_a) and bad_a[i]) for i, v in enumerate(a)}
    seeds_b = {ours.seed + i: (v, i < len(bad_b) and bad_b[i]) for i, v in enumerate(b)}
    common = sorted(s for s in set(seeds_a) & set(seeds_b) if seeds_a[s][0] is not None and seeds_b[s][0] is not None)
    kept = [s for s in common if not (seeds_a[s][1] or seeds_b[s][1])]
    return Paired(np.array([seeds_a[s][0] - seeds_b[s][0] for s in kept], dtype=float), len(common),
                  sum(bool(seeds_b[s][1]) for s in common), sum(bool(seeds_a[s][1]) for s in common))


def worth_it(dataset: str, sensitive: str, results: Path | str | None = None, sweep: Source | None = None,
             metrics: tuple[str, str] = ("dpr", "accuracy")) -> pd.DataFrame:
    """TabFairGDT at each ``lamda`` against our L1-KL student (Table-1 row), seed by seed (module doc).

    One row per ``lamda``: for each of ``metrics`` the mean difference TabFairGDT − ours with its 95 %
    interval and the ledger's verdict on "TabFairGDT is higher" (``supported``: credibly higher,
    ``contradicted``: credibly lower, ``inconclusive``); ``outcome`` combines them
    (``BETTER_BOTH``, ``WORSE_BOTH``, ``TRADE_OFF``, ``inconclusive``, ``degenerate``, ``not evaluated``);
    ``ours_degenerate`` and ``tabfairgdt_degenerate`` count the seeds at which each side is degenerate
    ("k of n"); ``note`` says which seeds were left out and why.
    """
    from fairnb.metrics import claims as rule

    ours = find_record("fair_synthesis", dataset, sensitive, results)
    gdt = sweep if sweep is not None else find_record("pareto", dataset, sensitive, results)
    columns = ["dataset", "sensitive", "lamda", *(f"{m}_{k}" for m in metrics for k in ("difference", "low", "high", "verdict")),
               "n", "outcome", "ours_degenerate", "tabfairgdt_degenerate", "profile", "note"]
    pair = pairing(ours, gdt, ("fair_synthesis", "pareto"))
    if not pair.ok:
        return pd.DataFrame([{"dataset": dataset, "sensitive": sensitive, "lamda": "—", "n": 0,
                              "outcome": rule.NOT_EVALUATED, "profile": "—", "note": pair.reason}], columns=columns)
    rows = []
    for setting in _swept(gdt, SWEEP):
        row: dict[str, Any] = {"dataset": dataset, "sensitive": sensitive, "lamda": setting, "profile": ours.profile}
        verdicts, notes, n = [], [], 0
        for metric in metrics:
            paired = _paired(ours, OURS, gdt, f"{SWEEP}/{setting}", metric)
            if paired is None:
                verdicts.append(rule.NOT_EVALUATED)
                notes.append(f"{metric}: not reported")
                continue
            row["ours_degenerate"] = f"{paired.ours_degenerate} of {paired.common}" if paired.ours_degenerate else ""
            row["tabfairgdt_degenerate"] = f"{paired.other_degenerate} of {paired.common}" if paired.other_degenerate else ""
            left_out = [f"ours degenerate at {paired.ours_degenerate}" if paired.ours_degenerate else "",
                        f"TabFairGDT degenerate at {paired.other_degenerate}" if paired.other_degenerate else ""]
            if any(left_out):
                notes.append(f"seeds left out as degenerate ({', '.join(t for t in left_out if t)} of {paired.common})")
            if not paired.common:
                verdicts.append(rule.NOT_EVALUATED)
                notes.append(f"{metric}: no seed in common")
                continue
            if not len(paired.differences):
                verdicts.append(rule.DEGENERATE)
                continue
            interval = rule.t_interval(paired.differences)
            verdict, reason = rule.decide(interval)
            row.update({f"{metric}_difference": interval.mean, f"{metric}_low": interval.low, f"{metric}_high": interval.high,
                        f"{metric}_verdict": verdict})
            verdicts.append(verdict)
            n = max(n, interval.n)
        row["n"] = n
        row["outcome"] = _outcome(verdicts)
        row["note"] = "; ".join(dict.fromkeys(notes))
        rows.append(row)
    if not rows:
        return pd.DataFrame([{"dataset": dataset, "sensitive": sensitive, "lamda": "—", "n": 0, "outcome": rule.NOT_EVALUATED,
                              "profile": ours.profile, "note": f"{gdt.run} reports no TabFairGDT sweep"}], columns=columns)
    return pd.DataFrame(rows, columns=columns)


def _outcome(verdicts: list[str]) -> str:
    from fairnb.metrics import claims as rule

    if rule.NOT_EVALUATED in verdicts:
        return rule.NOT_EVALUATED
    if rule.DEGENERATE in verdicts:
        return rule.DEGENERATE
    if all(v == rule.SUPPORTED for v in verdicts):
        return BETTER_BOTH
    if all(v == rule.CONTRADICTED for v in verdicts):
        return WORSE_BOTH
    if rule.SUPPORTED in verdicts and rule.CONTRADICTED in verdicts and rule.INCONCLUSIVE not in verdicts:
        return TRADE_OFF
    return rule.INCONCLUSIVE


def worth_it_table(frame: pd.DataFrame) -> pd.DataFrame:
    """``worth_it`` (one or several runs) for the page: differences with their intervals, verdicts, outcome."""
    def cell(row: pd.Series, metric: str) -> str:
        mean, low, high = row.get(f"{metric}_difference"), row.get(f"{metric}_low"), row.get(f"{metric}_high")
        if mean is None or not np.isfinite(mean):
            return "—"
        if low is None or not (np.isfinite(low) and np.isfinite(high)):
            return f"{mean:+.3f} ({row.get(f'{metric}_verdict')})"
        return f"{mean:+.3f} [{low:+.3f}, {high:+.3f}] ({row.get(f'{metric}_verdict')})"

    metrics = [c[: -len("_difference")] for c in frame.columns if c.endswith("_difference")]
    out = pd.DataFrame({"dataset": frame["dataset"], "sensitive": frame["sensitive"], "TabFairGDT lamda": frame["lamda"]})
    for metric in metrics:
        out[f"{metric.upper() if metric in FAIRNESS else metric}: TabFairGDT − ours [95 % CI]"] = [cell(r, metric) for _, r in frame.iterrows()]
    out["n"] = frame["n"]
    out["outcome"] = frame["outcome"]
    out["degenerate seeds (ours / TabFairGDT)"] = [f"{a or '—'} / {b or '—'}" for a, b in
                                                   zip(frame["ours_degenerate"].fillna(""), frame["tabfairgdt_degenerate"].fillna(""))]
    out["profile"] = frame["profile"]
    out["note"] = frame["note"].fillna("")
    return out


def time_comparison(results: Path | str | None = None) -> pd.DataFrame:
    """Training time of our method (teacher + student) against TabFairGDT from the runtime run's
    record: per timing (measured at the run's epochs, projected to the publications' epochs) the mean
    seconds of each, the per-seed ratio T_ours / T_TabFairGDT as a geometric mean with its 95 % interval
    (a t interval of the log ratios, exponentiated: times on a shared machine vary by factors, not by
    amounts), n and profile. Empty when no runtime record reports both."""
    from fairnb.metrics import claims as rule

    records = [r for r in read_records(None, results)
               if r.get("template") and of_template(r, "runtime") and r.get("status") == "ok"]
    rows = []
    for record in records[-1:]:
        source = _source(record, "runtime")
        for timing in ("measured", "projected"):
            ours, gdt = source.values(f"ours/{timing}_seconds"), source.values(f"tabfairgdt/{timing}_seconds")
            if not ours or not gdt:
                continue
            logs = [math.log(a / b) for a, b in zip(ours, gdt) if a and b and a > 0 and b > 0]
            interval = rule.t_interval(logs)
            rows.append({"timing": timing, "ours_seconds": float(np.mean([v for v in ours if v is not None])),
                         "tabfairgdt_seconds": float(np.mean([v for v in gdt if v is not None])),
                         "ratio": math.exp(interval.mean) if interval.n else math.nan,
                         "low": math.exp(interval.low) if math.isfinite(interval.low) else math.nan,
                         "high": math.exp(interval.high) if math.isfinite(interval.high) else math.nan, "n": interval.n,
                         "profile": source.profile, "run": source.run,
                         "dataset": source.parameters.get("dataset", "adult"), "sensitive": source.parameters.get("sensitive", "sex")})
    return pd.DataFrame(rows, columns=["timing", "ours_seconds", "tabfairgdt_seconds", "ratio", "low", "high", "n", "profile",
                                       "run", "dataset", "sensitive"])


def _count_outcomes(frame: pd.DataFrame) -> str:
    counts = frame["outcome"].value_counts()
    return ", ".join(f"{int(n)} {outcome}" for outcome, n in counts.items())


def worth_markdown(results: Path | str | None = None, runs: Iterable[tuple[str, str]] | None = None,
                   sweep: Source | None = None) -> str:
    """The lecture's "Is the method still worth it?" text, generated from the records: per run the
    outcomes of ``worth_it`` and the settings where TabFairGDT is credibly fairer and more accurate,
    then the training times (``time_comparison``). Every number comes from the records (``sweep``:
    TabFairGDT's sweep of the one run in ``runs``, before its record exists)."""
    from fairnb.metrics import claims as rule

    runs = list(runs) if runs is not None else recorded_runs(results)
    if not runs:
        return ("No `pareto` run has a record yet: run `fairnb run --only 'pareto-*'` (after the `comparison` and "
                "`fair_synthesis` runs), then rebuild the book.")
    paragraphs = []
    for dataset, sensitive in runs:
        frame = worth_it(dataset, sensitive, results, sweep=sweep if len(runs) == 1 else None)
        name = f"**{dataset} / {sensitive}**"
        if (frame.outcome == rule.NOT_EVALUATED).all():
            paragraphs.append(f"{name} — not evaluated: {'; '.join(dict.fromkeys(frame.note))}.")
            continue
        better = frame[frame.outcome == BETTER_BOTH].lamda.tolist()
        worse = frame[frame.outcome == WORSE_BOTH].lamda.tolist()
        ours_bad = [v for v in frame.ours_degenerate.fillna("") if v]
        if ours_bad and (frame.outcome == rule.DEGENERATE).all():
            paragraphs.append(f"{name} (profile {frame.profile.iloc[0]}): our L1-KL row is degenerate at {ours_bad[0]} seeds "
                              "(a near-constant downstream classifier or collapsed records), so it cannot be compared: "
                              "no verdict either way.")
            continue
        pairs = int(frame.n.max()) if frame.n.notna().any() else 0
        text = (f"{name} (profile {frame.profile.iloc[0]}; at most {pairs} paired seed{'' if pairs == 1 else 's'}): of "
                f"{len(frame)} TabFairGDT settings, {_count_outcomes(frame)}.")
        if better:
            text += (f" At lamda {', '.join(better)} TabFairGDT is credibly fairer (DPR) *and* more accurate than our "
                     "L1-KL student: there our method is not worth it on these two axes.")
        elif worse:
            text += (f" At lamda {', '.join(worse)} our L1-KL student is credibly fairer and more accurate; no setting "
                     "of TabFairGDT is credibly better on both.")
        else:
            text += " No TabFairGDT setting is credibly better than our L1-KL student on both DPR and accuracy."
        degenerate = frame[frame.outcome == rule.DEGENERATE].lamda.tolist()
        if degenerate:
            text += f" Degenerate (not read as results): lamda {', '.join(degenerate)}."
        paragraphs.append(text)
    times = time_comparison(results)
    if times.empty:
        paragraphs.append("No runtime record times both our method and TabFairGDT yet: run `fairnb run --only 'runtime'`.")
    else:
        for row in times.itertuples():
            interval = ("" if not (np.isfinite(row.low) and np.isfinite(row.high))
                        else f", 95 % interval {row.low:.1f}–{row.high:.1f}")
            what = "at the run's epochs" if row.timing == "measured" else "projected to the publications' epochs"
            paragraphs.append(
                f"Training time ({row.dataset} / {row.sensitive}, {what}, profile {row.profile}, n = {row.n}): our "
                f"teacher + student take {row.ours_seconds:.1f} s and TabFairGDT {row.tabfairgdt_seconds:.1f} s, so our "
                f"method takes {row.ratio:.1f} times as long (geometric mean of the per-seed ratios{interval}).")
    paragraphs.append("Verdicts follow the claims ledger's rule (paired per-seed differences, 95 % t interval, "
                      "degenerate seeds left out) for each setting separately, with no correction for comparing several "
                      "settings; TabFairGDT's own best setting is chosen after seeing the results, so a favourable "
                      "outcome at one lamda among several is weaker evidence than a single pre-stated comparison.")
    return "\n\n".join(paragraphs)


def recorded_runs(results: Path | str | None = None) -> list[tuple[str, str]]:
    """(dataset, sensitive) of every successful ``pareto`` record, in run order."""
    found = []
    for record in read_records("pareto", results):
        parameters = record.get("parameters") or {}
        key = (str(parameters.get("dataset")), str(parameters.get("sensitive")))
        if key not in found:
            found.append(key)
    return found


def front_figure(results: Path | str | None = None, runs: Iterable[tuple[str, str]] | None = None):
    """One panel per (dataset, sensitive) with a ``pareto`` record: ``fairnb.paper000.figures.pareto``
    of its points. None when there is nothing to draw."""
    import matplotlib.pyplot as plt

    from fairnb.paper000.figures import pareto as draw

    runs = list(runs) if runs is not None else recorded_runs(results)
    panels = [(d, s, summary(points(d, s, results))) for d, s in runs]
    panels = [p for p in panels if not p[2].empty]
    if not panels:
        return None
    columns = min(2, len(panels))
    rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6.2 * columns, 4.3 * rows), squeeze=False)
    for ax, (dataset, sensitive, table) in zip(axes.flat, panels):
        draw(table, ax=ax, title=f"{dataset}, sensitive = {sensitive} (profile {table.profile.iloc[0]})")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    handles = {}
    for ax in axes.flat:
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
    fig.legend(handles.values(), handles.keys(), loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=7.5,
               title="circled: Pareto front\n◆: not in the paper", title_fontsize=7.5)
    fig.tight_layout()
    plt.close(fig)
    return fig
