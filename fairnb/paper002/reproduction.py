"""Paper 002 reproduction tables: the paper's values next to ours, from results records.

The paper's values live in ``fairnb/paper002/reference/figures.csv`` (one row per value, with its source).
Ours come from ``results/<run>.json`` records written by ``fairnb run``:
``fair_classifier-<dataset>-<sensitive>`` runs report ``"<method>/<metric>"`` and
``"sweep/<ratio>/<metric>"``; ``fair_translation-<dataset>-<sensitive>`` runs report ``fid_*``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fairnb.metrics.agreement import PAPER_002_FLOOR, within
from fairnb.metrics.claims import degenerate_repetitions
from fairnb.records import per_seed, plain_coding, read_records

REFERENCE = Path(__file__).resolve().parent / "reference" / "figures.csv"
COLUMNS = ["dataset", "sensitive", "method", "metric", "paper", "ours", "ours_std", "n", "difference", "degenerate", "source",
           "note"]


def reference() -> pd.DataFrame:
    """The paper's values: dataset, sensitive, method, metric, value, source, note."""
    return pd.read_csv(REFERENCE, dtype={"note": str}, keep_default_na=False, na_values={"value": [""]})


def ours(results: Path | str | None = None) -> pd.DataFrame:
    """Our values: dataset, sensitive, method, metric, ours (mean), ours_std, n, degenerate (``"k of n"`` repetitions
    degenerate by the ledger's one rule, ``fairnb.metrics.claims.degenerate_repetitions``; empty when none), profile."""
    rows = []
    for template in ("fair_classifier", "fair_translation"):
        for record in read_records(template, results):
            degenerate: dict[str, str] = {}  # method -> its "k of n", judged once per (record, method)
            params = record.get("parameters", {})
            dataset, sensitive = params.get("dataset", "adult"), params.get("sensitive", "sex")
            for name, value in record.get("metrics", {}).items():
                if template == "fair_translation":
                    mapping = {"fid_translated": ("ours", "fid"), "fid_noise": ("noise", "fid")}
                    if name not in mapping:
                        continue
                    method, metric = mapping[name]
                else:
                    method, _, metric = name.rpartition("/")
                if method not in degenerate:
                    degenerate[method] = _degenerate(record, method) if template == "fair_classifier" else ""
                rows.append({"dataset": dataset, "sensitive": sensitive, "method": method, "metric": metric,
                             "ours": value.get("mean"), "ours_std": value.get("std"), "n": value.get("n"),
                             "degenerate": degenerate[method],
                             "profile": record.get("profile")})
    return pd.DataFrame(rows, columns=["dataset", "sensitive", "method", "metric", "ours", "ours_std", "n", "degenerate",
                                       "profile"])


def _degenerate(record: dict, method: str) -> str:
    """``"k of n"`` repetitions of ``method`` in ``record`` that are degenerate, with the reasons; ``""`` when none."""
    metrics = record.get("metrics") or {}
    found = degenerate_repetitions(metrics, f"{method}/", plain_coding(record))
    if not found:
        return ""
    n = max((len(per_seed(v)) for k, v in metrics.items() if k.startswith(f"{method}/")), default=len(found))
    reasons = "; ".join(dict.fromkeys(r for rs in found.values() for r in rs))
    return f"{len(found)} of {n}: {reasons}"


def comparison(results: Path | str | None = None) -> pd.DataFrame:
    """Every paper value with ours beside it (NaN where we have no run), difference = ours − paper."""
    ref = reference().rename(columns={"value": "paper"})
    table = ref.merge(ours(results), on=["dataset", "sensitive", "method", "metric"], how="left")
    table["difference"] = table["ours"] - table["paper"]
    table["degenerate"] = table["degenerate"].fillna("")
    return table[COLUMNS + ["profile"]]


def classifier_comparison(results: Path | str | None = None) -> pd.DataFrame:
    """Rows of ``comparison`` for the classifier metrics (paper Fig. 2): Ours and Baseline."""
    table = comparison(results)
    return table[(table.metric != "fid") & ~table.method.str.startswith("sweep/")].reset_index(drop=True)


def fid_comparison(results: Path | str | None = None) -> pd.DataFrame:
    table = comparison(results)
    return table[table.metric == "fid"].reset_index(drop=True)


def sweep_comparison(results: Path | str | None = None) -> pd.DataFrame:
    table = comparison(results)
    return table[table.method.str.startswith("sweep/")].reset_index(drop=True)


def agreement_summary(table: pd.DataFrame) -> dict[str, float]:
    """compared (cells with both values), median |difference|, cells within max(2 std, 0.01)."""
    both = table.dropna(subset=["paper", "ours"])
    if both.empty:
        return {"compared": 0.0, "median_abs_difference": float("nan"), "within_two_std": 0.0}
    agreeing = int(within(both["difference"], both["ours_std"], PAPER_002_FLOOR).sum())
    return {"compared": float(len(both)), "median_abs_difference": float(both["difference"].abs().median()),
            "within_two_std": float(agreeing)}


def styled(table: pd.DataFrame):
    """Display form: ours as ``mean ± std``, numbers to three decimals, missing values as ``–``."""
    show = table.copy()
    # non-breaking spaces: "0.724 ± 0.000" never wraps inside a cell; data set and attribute share one column
    show["ours"] = [("–" if pd.isna(m) else f"{m:.3f}\u00a0±\u00a0{s:.3f}") for m, s in zip(show["ours"], show["ours_std"].fillna(0))]
    show.insert(0, "data", show.pop("dataset") + "/" + show.pop("sensitive"))
    show = show.drop(columns=["ours_std", "source"])
    return show.style.format({"paper": "{:.3f}", "difference": "{:+.3f}", "n": "{:.0f}"}, na_rep="–").hide(axis="index")
