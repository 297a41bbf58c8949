"""Paper 000 Table 1: the paper's values next to ours, from the runs' results records.

The paper's values (Adult only; the COMPAS table is in a supplement that is not available) live
in ``fairnb/paper000/reference/table1.csv``: one row per value with columns method, attribute,
metric, value, source. Ours come from ``results/<run>.json`` records
(``{"run", "template", "parameters", "profile", "status", "metrics": {name: {"mean", "std", "n", "values"}}}``):

- ``fair_synthesis-<dataset>-<sensitive>`` runs (our method's stage 3) report
  ``"<quality_loss>/<metric>"`` (l1, huber, mse, mean_difference; our rows ``ours_<loss>``) and,
  from the same teacher, ``"fairdisco/<metric>"`` and ``"fairdisco_representation/<metric>"``:
  the FairDisco rows are read from these records, so they come from the teacher the students distil;
- ``comparison-<dataset>-<sensitive>`` runs report ``"<method>/<metric>"`` for the baselines
  (``fairnb.paper000.comparison.METHODS``) and the original data. Where a row is missing from the
  preferred record, the other template's record is used. The comparison records also report
  generators the paper does not compare with (``fairnb.paper000.comparison.BEYOND_PAPER``:
  TabFairGDT); they are not rows of Table 1 and are never read here (only ``METHODS`` are).

Every row was scored by one function (``fairnb.metrics.downstream.score_synthetic``), see
``fairnb.paper000.comparison``.

**Label coding.** The headline column uses the favourable coding (class 1 = '>50K', no
recidivism), as AIF360 and the glossary define the metrics; the reference code's inverted coding
(class 1 = '<=50K', recidivism) is a second column beside it for every label-dependent metric
(DPR, EOR, accuracy, recall, F1). Density and coverage do not depend on the coding; they are
measured against held-out real rows, and the old reading (against the rows the records were made
from) is kept beside them (``ours_source``).

**Marks.** A cell is *marked* when |ours − paper| exceeds the tolerance max(2 · our std, 0.05): two
of our standard deviations, but never less than 0.05 (the paper prints ± .01 on nearly every cell,
which is not a measured spread; see the notes). A row with a degenerate repetition
(``fairnb.metrics.claims.degenerate_repetitions``, the ledger's rule: near-constant classifier or collapsed generator) is
*degenerate*: named wherever it appears, never marked and never counted in the agreement numbers.

**Explanations** (``CAUSES``) are conditions on method, metric, sign of the difference,
attribute, profile and the data; a marked cell gets the text of every condition that holds, and
*unexplained* when none does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from fairnb.metrics.agreement import PAPER_000_FLOOR, tolerance
from fairnb.metrics.claims import degenerate_repetitions
from fairnb.metrics.downstream import COLLAPSED_COVERAGE, NEAR_CONSTANT_RATE
from fairnb.paper000 import names
from fairnb.paper000.names import (CODING_LABELS, CODINGS, HEADLINE_CODING, METHOD_LABELS, METRIC_LABELS, OURS, QUALITY_LOSSES,
                                   REFERENCE_CODING, REPRESENTATION)
from fairnb.records import per_seed, plain_coding, read_records

REFERENCE = Path(__file__).resolve().parent / "reference" / "table1.csv"
METRICS = ("dpr", "eor", "accuracy", "recall", "f1", "density", "coverage")
CODED = ("dpr", "eor", "accuracy", "recall", "f1")  # depend on which outcome is class 1
QUALITY = ("density", "coverage")
METHODS = tuple(m for m in names.ROWS if m not in names.BEYOND_PAPER)
# the paper's row each of our rows is compared with (the paper has one FairDisco row, density 'n/a')
PAPER_ROW = {REPRESENTATION: "fairdisco"}
# the template whose record provides a row first (the other one is the fallback)
SYNTHESIS_ROWS = ("fairdisco", REPRESENTATION) + OURS
EXPECTED_RUNS = tuple(f"comparison-{d}-{s}" for d in ("adult", "compas") for s in ("sex", "race"))
MIN_TOLERANCE = PAPER_000_FLOOR
COLUMNS = ["dataset", "method", "attribute", "metric", "paper", "ours", "ours_std", "n", "difference", "tolerance",
           "marked", "coding", "ours_reference", "ours_reference_std", "difference_reference", "marked_reference",
           "ours_source", "ours_source_std", "degenerate", "degenerate_seeds", "reason", "status", "explanation",
           "profile", "run", "source"]
UNEXPLAINED = "unexplained"


def reference() -> pd.DataFrame:
    """The paper's values: method, attribute, metric, value, source (Adult, Table 1)."""
    return pd.read_csv(REFERENCE)


def _paper_values() -> pd.DataFrame:
    """``reference()`` plus a copy of the paper's row for each of our rows in ``PAPER_ROW``."""
    ref = reference()
    extra = [ref[ref.method == paper].assign(method=ours, source=lambda f: f.source + f" (compared with our {METHOD_LABELS[ours]} row)")
             for ours, paper in PAPER_ROW.items()]
    return pd.concat([ref, *extra], ignore_index=True)


# --------------------------------------------------------------------------- records


def _method(template: str, prefix: str) -> str | None:
    """The Table-1 method of a record's metric prefix (None when it is not a row: a method the paper
    does not compare, such as TabFairGDT, a sweep point, …)."""
    if template == "fair_synthesis":
        if prefix in QUALITY_LOSSES:
            return f"ours_{prefix}"
        return prefix if prefix in ("fairdisco", REPRESENTATION, "original") else None
    return prefix if prefix in METHODS else None


def _reading(rest: str, plain: str | None, held_out: bool) -> tuple[str, str] | None:
    """(metric, reading) of a metric name after its method prefix; reading is a coding, ``held_out`` or ``source``
    (``None`` for an unprefixed coded name of a record that does not say its coding: ``fairnb.records.plain_coding``)."""
    if rest in CODED:
        return (rest, plain) if plain else None
    for coding in CODINGS:
        if rest.startswith(f"{coding}_") and rest[len(coding) + 1:] in CODED:
            return rest[len(coding) + 1:], coding
    if rest in QUALITY:
        # records written before density/coverage moved to held-out rows measured them against the source rows
        return rest, "held_out" if held_out else "source"
    if rest.startswith("source_") and rest[7:] in QUALITY:
        return rest[7:], "source"
    return None


def degenerate_seeds(metrics: dict[str, Any], prefix: str, plain: str | None = None) -> tuple[int, int, str]:
    """(degenerate repetitions, repetitions, reasons) of method ``prefix`` in a record's metrics, by the ledger's
    one rule (``fairnb.metrics.claims.degenerate_repetitions``: the run's flag, the group rates, the coverage)."""
    found = degenerate_repetitions(metrics, prefix + "/", plain)
    n = max((len(per_seed(v)) for k, v in metrics.items() if k.startswith(prefix + "/")), default=0)
    return len(found), max(n, len(found)), "; ".join(dict.fromkeys(r for rs in found.values() for r in rs))


def ours(results: Path | str | None = None, templates: Iterable[str] = ("comparison", "fair_synthesis")) -> pd.DataFrame:
    """Our values, one row per (dataset, method, attribute, metric, reading) with the reading
    (``favourable``, ``unfavourable``, ``held_out``, ``source``), ours (mean), ours_std, n, the
    row's degenerate repetitions (``degenerate_seeds`` of ``n_seeds``) and reason, profile, run and
    template. A row present in both templates' records is taken from the preferred one
    (``SYNTHESIS_ROWS`` from ``fair_synthesis``, the rest from ``comparison``)."""
    rows = []
    for template in templates:
        for record in read_records(template, results):
            parameters = record.get("parameters", {})
            metrics = record.get("metrics") or {}
            plain = plain_coding(record)
            held_out = any(name.endswith(("/degenerate", "/source_density", "/source_coverage")) for name in metrics)
            prefixes = dict.fromkeys(name.rpartition("/")[0] for name in metrics if "/" in name)
            for prefix in prefixes:
                method = _method(template, prefix)
                if method is None:
                    continue
                bad, n_seeds, reason = degenerate_seeds(metrics, prefix, plain)
                for name, value in metrics.items():
                    if not name.startswith(prefix + "/") or not isinstance(value, dict) or value.get("mean") is None:
                        continue
                    reading = _reading(name[len(prefix) + 1:], plain, held_out)
                    if reading is None:
                        continue
                    preferred = (template == "fair_synthesis") == (method in SYNTHESIS_ROWS)
                    rows.append({"dataset": parameters.get("dataset", "adult"), "method": method,
                                 "attribute": parameters.get("sensitive", "sex"), "metric": reading[0], "reading": reading[1],
                                 "ours": float(value["mean"]), "ours_std": float(value.get("std") or 0.0),
                                 "n": int(value.get("n") or 1), "degenerate_seeds": bad, "n_seeds": n_seeds, "reason": reason,
                                 "profile": record.get("profile"), "run": record.get("run"), "template": template,
                                 "_rank": 0 if preferred else 1})
    columns = ["dataset", "method", "attribute", "metric", "reading", "ours", "ours_std", "n", "degenerate_seeds", "n_seeds",
               "reason", "profile", "run", "template"]
    frame = pd.DataFrame(rows, columns=columns + ["_rank"])
    frame = frame.astype({"ours": float, "ours_std": float, "n": int, "degenerate_seeds": int, "n_seeds": int})
    frame = frame.sort_values("_rank", kind="stable").drop_duplicates(["dataset", "method", "attribute", "metric", "reading"])
    return frame[columns].reset_index(drop=True)


# --------------------------------------------------------------------------- explanations


@dataclass(frozen=True)
class Cause:
    """One condition under which a marked cell has a known likely cause.

    Empty tuples mean "any"; ``sign`` is ``+`` (ours above the paper), ``-`` or empty;
    ``profiles_not`` lists profiles under which the condition does not hold; ``when`` is a test on
    the cell (a row of ``build_table``) and the whole table. ``text`` may use ``{…}`` fields of the
    cell plus ``other`` (the value ``when`` found).
    """

    name: str
    text: str
    methods: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    sign: str = ""
    attributes: tuple[str, ...] = ()
    profiles_not: tuple[str, ...] = ()
    when: Callable[[pd.Series, pd.DataFrame], float | bool | None] | None = None

    def holds(self, cell: pd.Series, table: pd.DataFrame) -> tuple[bool, Any]:
        if self.methods and cell.method not in self.methods or self.metrics and cell.metric not in self.metrics:
            return False, None
        if self.attributes and cell.attribute not in self.attributes or str(cell.profile) in self.profiles_not:
            return False, None
        if self.sign and (cell.difference > 0) != (self.sign == "+"):
            return False, None
        if self.when is None:
            return True, None
        found = self.when(cell, table)
        return (found is not None and found is not False), found


def _near(value: float, cell: pd.Series) -> bool:
    return value == value and abs(value - cell.paper) <= cell.tolerance


def _reference_coding_agrees(cell: pd.Series, table: pd.DataFrame) -> float | None:
    return cell.ours_reference if _near(cell.ours_reference, cell) else None


def _source_reading_agrees(cell: pd.Series, table: pd.DataFrame) -> float | None:
    return cell.ours_source if _near(cell.ours_source, cell) else None


def _representation_agrees(cell: pd.Series, table: pd.DataFrame) -> float | None:
    other = table[(table.dataset == cell.dataset) & (table.method == REPRESENTATION) & (table.attribute == cell.attribute)
                  & (table.metric == cell.metric)]
    if other.empty or other.degenerate.iloc[0]:
        return None
    value = other.ours.iloc[0]
    return value if _near(value, cell) else None


def _paper_near_zero(cell: pd.Series, table: pd.DataFrame) -> bool:
    return cell.paper <= 0.05


CAUSES: tuple[Cause, ...] = (
    Cause("coding", "Under the reference code's coding (class 1 = '<=50K') our value is {other:.2f}, within the tolerance "
                    "of the paper's: the paper's cell most likely uses that coding.",
          metrics=CODED, when=_reference_coding_agrees),
    Cause("source rows", "Measured against the rows the records were made from (the reading the reference setup gives), our "
                         "value is {other:.2f}, within the tolerance of the paper's: the paper most likely measured against "
                         "those rows; against held-out real rows it is {ours:.2f}.",
          metrics=QUALITY, when=_source_reading_agrees),
    Cause("representation", "A classifier on FairDisco's latent code (our FairDisco (representation) row) scores {other:.2f}, "
                            "within the tolerance: the paper's FairDisco row most likely measured the representation, not "
                            "decoded records.",
          methods=("fairdisco",), metrics=CODED, when=_representation_agrees),
    Cause("race groups", "The paper's value is near 0: FairX passes Adult's five race values, and a ratio over five groups "
                         "is far smaller than over our two (White vs non-White).",
          metrics=("dpr", "eor"), sign="+", attributes=("race",), when=_paper_near_zero),
    Cause("decaf edges", "Our Decaf removes the sensitive attribute's edges at generation (DECAF-DP); FairX generated "
                         "without removing any edge, which keeps the data's bias (a lower ratio in the paper).",
          methods=("decaf",), metrics=("dpr", "eor"), sign="+"),
    Cause("threshold utility", "FairX reports the ThresholdOptimizer's utility from a separate, unconstrained XGBoost model; "
                               "we score the post-processed predictions, which trade utility for parity.",
          methods=("threshold_optimizer",), metrics=("accuracy", "recall", "f1"), sign="-"),
    Cause("short training (GANs)", "Under the '{profile}' profile the generator trains for a fraction of its publication's "
                                   "epochs (a possible cause, not tested here; the paper profile restores them).",
          methods=("tabfairgan", "decaf", "fldgm"), profiles_not=("paper",)),
    Cause("short training (teacher)", "Under the '{profile}' profile the FairDisco teacher and the students train for a "
                                      "fraction of the reference's 1000 + 200 epochs, which moves fairness and fidelity "
                                      "(a possible cause, not tested here).",
          methods=("fairdisco", REPRESENTATION) + OURS, metrics=("dpr", "eor", "density", "coverage"), profiles_not=("paper",)),
    Cause("mean difference", "The paper does not define the mean-difference loss; our definition may differ from the authors'.",
          methods=("ours_mean_difference",)),
)


def explain(cell: pd.Series, table: pd.DataFrame) -> str:
    """The explanation of a cell: the degeneracy reason for a degenerate row; for a marked cell the
    text of every ``CAUSES`` condition that holds, or ``unexplained``; empty otherwise."""
    if cell.degenerate:
        return f"degenerate row ({cell.degenerate_seeds}): {cell.reason}; not read as a result."
    if not cell.marked:
        return ""
    texts = []
    for cause in CAUSES:
        ok, other = cause.holds(cell, table)
        if ok:
            fields = {**cell.to_dict(), "other": other if isinstance(other, float) else float("nan")}
            texts.append(cause.text.format(**fields))
    return " ".join(texts) if texts else UNEXPLAINED


# --------------------------------------------------------------------------- the table


def build_table(reference_values: pd.DataFrame, our_values: pd.DataFrame, datasets: Iterable[str] = ("adult", "compas"),
                min_tolerance: float = MIN_TOLERANCE) -> pd.DataFrame:
    """One row per (dataset, method, attribute, metric) with a paper value or one of ours.

    Columns ``COLUMNS``: ``ours`` is the headline reading (favourable coding; held-out real rows
    for density and coverage) and ``coding`` says which coding it uses (``none`` for density and
    coverage); ``ours_reference`` the reference code's coding; ``ours_source`` density/coverage
    against the source rows; ``difference`` = ours − paper (and ``difference_reference``);
    ``tolerance`` = max(2 · ours_std, ``min_tolerance``); ``marked`` where |difference| > tolerance
    in a row that is not degenerate (``marked_reference`` likewise); ``degenerate`` when any
    repetition of the row is (``degenerate_seeds`` "k of n", ``reason``); ``status`` one of
    ``degenerate`` (every cell of a degenerate row, an undefined value included), ``marked``, ``agrees``,
    ``no run``, ``no paper value``; ``explanation`` (``explain``). The paper's values are for Adult; other datasets have ours only.
    """
    datasets = list(datasets)
    keys = ["dataset", "method", "attribute", "metric"]
    ref = reference_values.rename(columns={"value": "paper"}).assign(dataset="adult")
    if "reading" not in our_values:  # a plain (dataset, method, attribute, metric, ours, ours_std) frame: the headline reading
        our_values = our_values.assign(reading=np.where(our_values.metric.isin(QUALITY), "held_out", HEADLINE_CODING))
    for column, default in (("degenerate_seeds", 0), ("n_seeds", 0), ("reason", ""), ("run", None), ("profile", None)):
        if column not in our_values:
            our_values = our_values.assign(**{column: default})

    def reading(name: str, suffix: str) -> pd.DataFrame:
        part = our_values[our_values.reading == name][keys + ["ours", "ours_std", "n"]]
        return part.rename(columns={"ours": f"ours{suffix}", "ours_std": f"ours{suffix}_std", "n": f"n{suffix}"})

    headline = pd.concat([reading(HEADLINE_CODING, ""), reading("held_out", "")], ignore_index=True)
    rows = our_values.drop_duplicates(keys[:3])[keys[:3] + ["degenerate_seeds", "n_seeds", "reason", "profile", "run"]]
    table = ref.merge(headline, on=keys, how="outer")
    table = table.merge(reading(REFERENCE_CODING, "_reference").drop(columns="n_reference"), on=keys, how="left")
    table = table.merge(reading("source", "_source").drop(columns="n_source"), on=keys, how="left")
    table = table.merge(rows, on=keys[:3], how="left")
    table = table[table.dataset.isin(datasets)].copy()
    table["coding"] = np.where(table.metric.isin(QUALITY), "none", HEADLINE_CODING)
    table["degenerate"] = table["degenerate_seeds"].fillna(0).astype(int) > 0
    table["degenerate_seeds"] = [f"{int(b)} of {int(n)}" if b == b and n == n and b else ""
                                 for b, n in zip(table.degenerate_seeds, table.n_seeds)]
    table["reason"] = table["reason"].fillna("")
    table["difference"] = table["ours"] - table["paper"]
    table["difference_reference"] = table["ours_reference"] - table["paper"]
    table["tolerance"] = tolerance(table["ours_std"], min_tolerance)
    reference_tolerance = tolerance(table["ours_reference_std"], min_tolerance)
    table["marked"] = ((table["difference"].abs() > table["tolerance"]) & ~table["degenerate"]).fillna(False).astype(bool)
    table["marked_reference"] = ((table["difference_reference"].abs() > reference_tolerance)
                                 & ~table["degenerate"]).fillna(False).astype(bool)
    table["status"] = np.select(
        [table.degenerate, table.ours.isna(), table.paper.isna(), table.marked],
        ["degenerate", "no run", "no paper value", "marked"], default="agrees")
    order = {m: i for i, m in enumerate(METHODS)}
    table["_m"] = table["method"].map(order).fillna(len(order))
    table["_k"] = table["metric"].map({m: i for i, m in enumerate(METRICS)})
    table["_d"] = table["dataset"].map({d: i for i, d in enumerate(datasets)})
    table = table.sort_values(["_d", "_m", "attribute", "_k"], ascending=[True, True, False, True]).reset_index(drop=True)
    table["explanation"] = [explain(row, table) for _, row in table.iterrows()]
    for column in COLUMNS:
        if column not in table:
            table[column] = np.nan
    return table[COLUMNS].reset_index(drop=True)


def table1(results: Path | str | None = None, datasets: Iterable[str] = ("adult", "compas")) -> pd.DataFrame:
    """``build_table`` on the reference file (with ``PAPER_ROW`` copies) and the results records in ``results``."""
    return build_table(_paper_values(), ours(results), datasets)


def method_label(table: pd.DataFrame, dataset: str, method: str, attribute: str) -> str:
    """The row's display name, with "⚠ degenerate k of n" when it is degenerate."""
    rows = table[(table.dataset == dataset) & (table.method == method) & (table.attribute == attribute) & table.degenerate]
    label = METHOD_LABELS.get(method, method)
    return label + (f" ⚠ degenerate {rows.degenerate_seeds.iloc[0].replace(' of ', '/')}" if len(rows) else "")


def _number(value: float, std: float | None = None) -> str:
    if value != value:
        return "–"
    return f"{value:.3f}" if std is None or std != std else f"{value:.3f} ± {std:.3f}"


def _signed(value: float) -> str:
    return "–" if value != value else f"{value:+.3f}"


def display_table(table: pd.DataFrame, dataset: str = "adult", attribute: str | None = None) -> pd.DataFrame:
    """The page's table: one row per (method, metric) with a paper value or one of ours; columns
    paper, ours and difference under the favourable coding, then under the reference code's coding,
    density/coverage against the source rows, and the cell's status. Degenerate rows say so in
    their name."""
    part = table[(table.dataset == dataset) & ((table.attribute == attribute) if attribute else True)]
    part = part[part.paper.notna() | part.ours.notna()]
    fav, ref = "favourable coding", "reference coding"
    rows = []
    for r in part.itertuples():
        rows.append({
            "attribute": r.attribute, "method": method_label(table, r.dataset, r.method, r.attribute),
            "metric": METRIC_LABELS[r.metric],
            "paper": "–" if r.paper != r.paper else f"{r.paper:.3g}",
            f"ours, {fav}": _number(r.ours, r.ours_std),
            f"ours − paper, {fav}": _signed(r.difference),
            f"ours, {ref}": "·" if r.coding == "none" else _number(r.ours_reference, r.ours_reference_std),
            f"ours − paper, {ref}": "·" if r.coding == "none" else _signed(r.difference_reference),
            "vs source rows": _number(r.ours_source) if r.metric in QUALITY else "·",
            "status": r.status,
        })
    frame = pd.DataFrame(rows)
    if attribute and not frame.empty:
        frame = frame.drop(columns="attribute")
    return frame


STATUS_STYLES = {"marked": "background-color: #fde2e1; font-weight: bold", "degenerate": "background-color: #fff3cd",
                 "agrees": "background-color: #dff0d8", "no run": "color: #777777", "no paper value": "color: #777777"}


DIFFERENCE_STYLES = {"marked": "background-color: #fde2e1; font-weight: bold", "agrees": "background-color: #dff0d8"}
DEGENERATE_STYLE = "background-color: #fff3cd; color: #6b5900"


def styled(table: pd.DataFrame, dataset: str = "adult", attribute: str | None = None):
    """``display_table`` as a pandas Styler for the page, narrow enough for the main column: two
    header rows (which coding a column uses above, ours / ours − paper below), no index, the status
    shown by colour (difference cells red when marked, green when they agree; degenerate rows
    shaded), density/coverage against the source rows left to ``source_table``."""
    frame = display_table(table, dataset, attribute)
    if frame.empty:
        return frame.style.hide(axis="index")
    status = frame.pop("status")
    frame = frame.drop(columns=["vs source rows"])
    groups = {"favourable coding": "favourable coding (headline)", "reference coding": "reference code's coding"}
    columns = [(next((label for key, label in groups.items() if name.endswith(key)), ""), name.split(",")[0])
               for name in frame.columns]
    shown = frame.copy()
    shown.columns = pd.MultiIndex.from_tuples(columns)
    headline = ("favourable coding (headline)", "ours − paper")
    reference_columns = [c for c in shown.columns if c[0] == "reference code's coding"]

    def colours(row: pd.Series) -> list[str]:
        state = status.loc[row.name]
        if state == "degenerate":
            return [DEGENERATE_STYLE] * len(row)
        return [DIFFERENCE_STYLES.get(state, "") if column == headline else
                ("color: #999999" if column in reference_columns and row[column] == "·" else "") for column in row.index]

    style = shown.style.hide(axis="index").apply(colours, axis=1)
    return style.set_properties(**{"white-space": "nowrap", "font-size": "0.8em", "padding": "0.1em 0.35em"})


def source_table(table: pd.DataFrame, dataset: str = "adult") -> pd.DataFrame:
    """Density and coverage per row with a value of ours: the paper's value, ours against held-out
    real rows (the headline) and against the rows the records were made from (the old reading)."""
    part = table[(table.dataset == dataset) & table.metric.isin(QUALITY) & (table.ours.notna() | table.ours_source.notna())]
    rows = [{"method": method_label(table, r.dataset, r.method, r.attribute), "attribute": r.attribute,
             "metric": METRIC_LABELS[r.metric], "paper": "–" if r.paper != r.paper else f"{r.paper:.3g}",
             "held-out rows": _number(r.ours, r.ours_std), "source rows": _number(r.ours_source, r.ours_source_std)}
            for r in part.itertuples()]
    return pd.DataFrame(rows, columns=["method", "attribute", "metric", "paper", "held-out rows", "source rows"])


def wide(table: pd.DataFrame) -> pd.DataFrame:
    """Rows (dataset, method, attribute), columns metrics; each cell ``ours ± std`` under the headline
    reading, prefixed by ⚠ when marked and ⊘ when the row is degenerate (a compact overview)."""
    if table.empty:
        return pd.DataFrame(columns=[METRIC_LABELS[m] for m in METRICS])

    def cell(row: pd.Series) -> str:
        text = "no run" if pd.isna(row.ours) else f"{row.ours:.3f} ± {row.ours_std:.3f}"
        return ("⊘ " if row.degenerate else "⚠ " if row.marked else "") + text

    cells = table.assign(cell=table.apply(cell, axis=1), method=table.method.map(lambda m: METHOD_LABELS.get(m, m)))
    out = cells.pivot_table(index=["dataset", "method", "attribute"], columns="metric", values="cell", aggfunc="first", sort=False)
    out = out.reindex(columns=[m for m in METRICS if m in out.columns]).fillna("n/a")
    out.columns = [METRIC_LABELS[m] for m in out.columns]
    return out


def marked_paragraphs(table: pd.DataFrame) -> list[str]:
    """One generated paragraph per (dataset, method, attribute) with marked cells or a degenerate row:
    each cell with its coding, values and difference, and its explanation (``explain``)."""
    paragraphs = []
    chosen = table[(table.marked | table.degenerate) & table.paper.notna() & table.ours.notna()]
    for (dataset, method, attribute), group in chosen.groupby(["dataset", "method", "attribute"], sort=False):
        name = f"**{METHOD_LABELS.get(method, method)}, {dataset} / {attribute}**"
        if group.degenerate.iloc[0]:
            paragraphs.append(f"{name} — degenerate in {group.degenerate_seeds.iloc[0]} repetitions "
                              f"({group.reason.iloc[0]}): its cells are not compared and count toward no verdict.")
            continue
        compared = int(table[(table.dataset == dataset) & (table.method == method) & (table.attribute == attribute)].paper.notna().sum())
        by_explanation: dict[str, list[str]] = {}
        for r in group.itertuples():
            coding = "no label coding" if r.coding == "none" else "favourable coding"
            by_explanation.setdefault(r.explanation, []).append(
                f"{METRIC_LABELS[r.metric]} ({coding}) {r.ours:.2f} vs {r.paper:.3g} ({r.difference:+.2f})")
        text = " ".join(f"{'; '.join(cells)} — {why}" + ("" if why.endswith(".") else ".") for why, cells in by_explanation.items())
        paragraphs.append(f"{name} — {len(group)} of {compared} paper cells differ by more than the tolerance. {text}")
    return paragraphs


def marked_markdown(table: pd.DataFrame) -> str:
    """``marked_paragraphs`` joined as markdown (a sentence when nothing is marked)."""
    paragraphs = marked_paragraphs(table)
    if not paragraphs:
        return "No cell with both a paper value and one of ours differs by more than the tolerance, and no row is degenerate."
    return "\n\n".join(paragraphs)


def missing_runs(results: Path | str | None = None, expected: Iterable[str] = EXPECTED_RUNS) -> list[str]:
    """Expected comparison runs without a successful results record."""
    present = {r.get("run") for r in read_records("comparison", results)}
    return [run for run in expected if run not in present]


def agreement(table: pd.DataFrame) -> dict[str, float]:
    """Headline numbers (favourable coding, degenerate rows left out): cells compared, cells marked,
    median |difference|; the same count of marks under the reference code's coding; and the number
    of compared cells left out because their row is degenerate."""
    both = table.dropna(subset=["paper", "ours"])
    fair = both[~both.degenerate]
    coded = fair[fair.coding != "none"].dropna(subset=["ours_reference"])
    return {"cells_compared": float(len(fair)), "cells_marked": float(fair.marked.sum()),
            "median_abs_difference": float(fair.difference.abs().median()) if len(fair) else float("nan"),
            "cells_compared_reference_coding": float(len(coded)),
            "cells_marked_reference_coding": float(coded.marked_reference.sum()),
            "cells_degenerate": float(both.degenerate.sum())}


def difference_figure(table: pd.DataFrame, dataset: str = "adult"):
    """Ours − paper for every compared cell (favourable coding; density and coverage against held-out
    rows), one panel per attribute: colour = the difference in units of its tolerance (white: agrees),
    the difference printed in the cell; cells of degenerate rows grey, hatched and labelled, not coloured."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    data = table[(table.dataset == dataset) & table.paper.notna()]
    attributes = [a for a in ("sex", "race") if a in set(data.attribute)] or ["sex"]
    methods = [m for m in METHODS if m in set(data.method)]
    # one panel per attribute, stacked, at the text column's width (about 6.6 in): labels stay readable on the page
    height = 0.32 * max(len(methods), 4) + 0.9
    fig, axes = plt.subplots(len(attributes), 1, figsize=(6.6, height * len(attributes)), squeeze=False, sharex=True)
    axes = axes.T
    norm = TwoSlopeNorm(vmin=-4, vcenter=0, vmax=4)
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="#eeeeee")
    image = None
    for ax, attribute in zip(axes[0], attributes):
        part = data[data.attribute == attribute]
        grid = np.full((len(methods), len(METRICS)), np.nan)
        for r in part.itertuples():
            if r.ours == r.ours and not r.degenerate:
                grid[methods.index(r.method), METRICS.index(r.metric)] = r.difference / r.tolerance
        image = ax.imshow(np.ma.masked_invalid(np.clip(grid, -4, 4)), cmap=cmap, norm=norm, aspect="auto")
        for r in part.itertuples():
            i, j = methods.index(r.method), METRICS.index(r.metric)
            if r.ours != r.ours:
                text, colour = "no run", "#777777"
            elif r.degenerate:
                text, colour = "degen.", "#555555"
                ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="#bbbbbb", lw=0))
            else:
                text = f"{r.difference:+.2f}"
                colour = "white" if abs(grid[i, j]) > 2.5 else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour)
        ax.set_xticks(range(len(METRICS)), [METRIC_LABELS[m] for m in METRICS], fontsize=9)
        ax.set_yticks(range(len(methods)), [METHOD_LABELS.get(m, m) for m in methods], fontsize=9)
        ax.set_title(f"{dataset}, sensitive = {attribute} (favourable coding)", fontsize=10)
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8, label="(ours − paper) / tolerance")
    plt.close(fig)  # shown through glue, not as the cell's output
    return fig


def tradeoff_figure(table: pd.DataFrame, dataset: str = "adult"):
    """DPR (x) vs accuracy (y) of every method, favourable coding, one panel per attribute: ours as
    filled markers with ±1 std error bars (an ✕ for a degenerate row), the paper's values as hollow
    markers joined to ours by a thin line."""
    import matplotlib.pyplot as plt

    attributes = ["sex", "race"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, len(METHODS)))
    data = table[table.dataset == dataset]
    for ax, attribute in zip(axes, attributes):
        rows = data[data.attribute == attribute]
        for i, method in enumerate(METHODS):
            dpr = rows[(rows.method == method) & (rows.metric == "dpr")]
            acc = rows[(rows.method == method) & (rows.metric == "accuracy")]
            if dpr.empty or acc.empty:
                continue
            d, a = dpr.iloc[0], acc.iloc[0]
            label = METHOD_LABELS[method] + (" (degenerate)" if d.degenerate else "")
            if not (pd.isna(d.ours) or pd.isna(a.ours)):
                ax.errorbar(d.ours, a.ours, xerr=d.ours_std, yerr=a.ours_std, fmt="X" if d.degenerate else "o",
                            color=colours[i], label=label, capsize=3)
                label = None
            if not (pd.isna(d.paper) or pd.isna(a.paper)):
                ax.scatter(d.paper, a.paper, facecolors="none", edgecolors=colours[i], s=60, label=label)
                if label is None:
                    ax.plot([d.paper, d.ours], [a.paper, a.ours], color=colours[i], lw=0.7, alpha=0.6)
        ax.set_title(f"{dataset}, sensitive = {attribute}")
        ax.set_xlabel("DPR (favourable coding; 1 = parity)")
        ax.set_xlim(-0.02, 1.05)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy (held-out real records)")
    handles, labels = axes[0].get_legend_handles_labels()
    more_h, more_l = axes[1].get_legend_handles_labels()
    seen = dict(zip(labels, handles))
    seen.update({l: h for h, l in zip(more_h, more_l) if l not in seen})
    fig.legend(seen.values(), seen.keys(), loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False,
               title="filled: ours (± std)\nhollow: paper")
    fig.tight_layout()
    plt.close(fig)  # shown through glue, not as the cell's output
    return fig


def missing_note(results: Path | str | None = None) -> str:
    """A markdown note naming the runs whose results are missing (empty when none is)."""
    missing = missing_runs(results)
    ours_runs = [r.get("run") for r in read_records("fair_synthesis", results)]
    lines = []
    if missing:
        lines.append("**Missing results:** no successful record for " + ", ".join(f"`{m}`" for m in missing)
                     + ". Their cells show *no run*; execute them with `fairnb run --only 'comparison-*'`.")
    if not ours_runs:
        lines.append("**Missing results:** no `fair_synthesis-*` run has a record, so the rows of our method and of "
                     "FairDisco are empty; execute them with `fairnb run --only 'fair_synthesis-*'`.")
    return "\n\n".join(lines)


def rules() -> dict[str, float]:
    """The thresholds the page states (for glue): tolerance floor, near-constant rate, collapse coverage."""
    return {"tolerance_floor": MIN_TOLERANCE, "near_constant_rate": NEAR_CONSTANT_RATE,
            "collapsed_coverage": COLLAPSED_COVERAGE}


def preprocessing_notes() -> pd.DataFrame:
    """The preprocessing choices the paper does not state and how we made them (for the page)."""
    rows = [
        ("FairDisco's numeric columns", "standardised (mean 0, std 1) and reconstructed by a squared error; the "
         "reference code's bins under the paper profile (parameter teacher_encoding)",
         "binned (age, hours-per-week and log fnlwgt into 8 equal-width bins; capital gain/loss above the median) and "
         "reconstructed by a cross-entropy per column"),
        ("protected columns in FairDisco's input", "neither the audited nor the other protected column",
         "the other protected column stays in the input (only the audited one is removed)"),
        ("protected columns in the classifier's features", "both (the audited one and the other), for every row",
         "every column but the target (FairX)"),
        ("label coding", "headline: class 1 = favourable (>50K, no recidivism); reference coding beside it",
         "class 1 = '<=50K' for Adult"),
        ("density/coverage reference", "held-out real rows (the test split); the reading against the source rows beside it",
         "not stated; FairX has no density/coverage code"),
        ("evaluation protocol", "train on the method's rows, test on held-out real rows; the synthetic-split protocol "
         "recorded as split_<metric>", "a 70/30 split of the synthetic set itself (FairX tutorial)"),
    ]
    return pd.DataFrame(rows, columns=["choice", "ours", "reference code"])
