"""The landing page's table and figure: the papers' headline claims next to our runs.

Both come from the two reproduction modules (which read ``results/``), so nothing here is
typed by hand: ``headline_table`` picks the cells that carry each paper's main claim and
``agreement_figure`` plots every compared cell, paper value against ours.

A cell of a **degenerate** row (a near-constant classifier or collapsed records in some repetition) is not a
result: the headline table says "degenerate" instead of a value and a difference, the figure draws it hollow
and grey, and the share within tolerance leaves it out. Degenerate rows are found by the claims ledger's rule
(``fairnb.book.claims.row_degeneracy``), for both papers, so this page, Table 1 and the ledger flag the same rows. Only the papers' own rows are read (generators the book adds
beyond a paper, such as TabFairGDT, are not cells of its tables).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fairnb.book import claims
from fairnb.metrics.agreement import FLOORS, within
from fairnb.paper002 import reproduction as paper002

# (paper, dataset, method, attribute, metric, claim) — the cells behind each headline claim.
HEADLINES = [
    ("000", "adult", "original", "sex", "dpr", "original data: low demographic parity ratio"),
    ("000", "adult", "ours_l1", "sex", "dpr", "L1-KL synthetic data: DPR close to 1"),
    ("000", "adult", "ours_l1", "sex", "eor", "L1-KL synthetic data: EOR close to 1"),
    ("000", "adult", "ours_l1", "sex", "accuracy", "L1-KL synthetic data: accuracy kept"),
    ("000", "adult", "fldgm", "sex", "dpr", "FLDGMs (strongest baseline): DPR"),
    ("002", "adult", "baseline", "sex", "abs_eq_opp", "plain classifier: equal-opportunity gap"),
    ("002", "adult", "ours", "sex", "abs_eq_opp", "fair classifier: smaller equal-opportunity gap"),
    ("002", "adult", "ours", "sex", "balanced_accuracy", "fair classifier: balanced accuracy kept"),
    ("002", "compas", "ours", "sex", "abs_eq_opp", "COMPAS fair classifier: equal-opportunity gap"),
    ("002", "german", "ours", "sex", "abs_eq_opp", "German fair classifier: equal-opportunity gap"),
]


def compared_cells(results: Path | str | None = None) -> pd.DataFrame:
    """Every cell with a paper value, from both papers: paper, dataset, method, attribute, metric, paper,
    ours, ours_std, degenerate (True for a cell of a degenerate row, whose value is not a result) and
    degenerate_seeds ("k of n")."""
    first = claims.table1(results).assign(paper_id="000")
    second = _flag_002(paper002.comparison(results), results).rename(columns={"sensitive": "attribute"}).assign(paper_id="002")
    columns = ["paper_id", "dataset", "method", "attribute", "metric", "paper", "ours", "ours_std", "degenerate",
               "degenerate_seeds"]
    cells = pd.concat([first[columns], second[columns]], ignore_index=True)
    cells["degenerate"] = cells["degenerate"].fillna(False).astype(bool)
    cells["degenerate_seeds"] = cells["degenerate_seeds"].fillna("")
    return cells.dropna(subset=["paper"]).reset_index(drop=True)


def _flag_002(table: pd.DataFrame, results: Path | str | None) -> pd.DataFrame:
    """Paper 002's cells with ``degenerate`` and ``degenerate_seeds`` by the ledger's rule, applied to the
    ``fair_classifier`` record of the cell's dataset and attribute (FID cells come from the translator: no
    classifier, never degenerate)."""
    store = claims.Store(results)
    flags = []
    for dataset, sensitive, method, metric in table[["dataset", "sensitive", "method", "metric"]].itertuples(index=False):
        bad = n = 0
        if metric != "fid":
            try:
                bad, n, _ = claims.row_degeneracy(store.find("fair_classifier", f"{dataset}/{sensitive}"),
                                                  "fair_classifier", f"{method}/")
            except claims.Missing:
                pass
        flags.append((bad > 0, f"{bad} of {n}" if bad else ""))
    return table.assign(degenerate=[f[0] for f in flags], degenerate_seeds=[f[1] for f in flags])


def headline_table(results: Path | str | None = None) -> pd.DataFrame:
    """The cells of ``HEADLINES`` with the paper's value, ours (mean ± std) and the difference; a cell of
    a degenerate row says "degenerate (k of n repetitions)" instead of a value and has no difference."""
    cells = compared_cells(results).set_index(["paper_id", "dataset", "method", "attribute", "metric"])
    rows = []
    for paper_id, dataset, method, attribute, metric, claim in HEADLINES:
        key = (paper_id, dataset, method, attribute, metric)
        cell = cells.loc[key] if key in cells.index else None
        if isinstance(cell, pd.DataFrame):
            cell = cell.iloc[0]
        paper = None if cell is None else cell["paper"]
        ours = None if cell is None or pd.isna(cell["ours"]) else cell["ours"]
        std = None if cell is None or pd.isna(cell["ours_std"]) else cell["ours_std"]
        degenerate = cell is not None and bool(cell["degenerate"])
        if ours is None:
            shown = "not run"
        elif degenerate:
            shown = f"degenerate ({cell['degenerate_seeds']} repetitions)" if cell["degenerate_seeds"] else "degenerate"
        else:
            shown = f"{ours:.3f} ± {std or 0:.3f}"
        rows.append({"paper": paper_id, "claim": claim, "dataset": dataset, "sensitive": attribute, "metric": metric,
                     "paper value": paper, "ours": shown,
                     "difference": None if ours is None or paper is None or degenerate else round(ours - paper, 3)})
    return pd.DataFrame(rows)


def styled(table: pd.DataFrame):
    """``headline_table`` for the page, narrow enough for the text column at 1280 px: the paper's id leads the
    claim, dataset and attribute are one column (``adult/sex``), a metric name may break after an underscore, three
    decimals, "–" where there is no value, and a mean ± std never broken inside (non-breaking spaces)."""
    shown = pd.DataFrame({
        "claim": table["paper"] + ": " + table["claim"], "where": table["dataset"] + "/" + table["sensitive"],
        "metric": table["metric"].str.replace("_", "_\u200b", regex=False),  # may break after an underscore
        "paper": table["paper value"],
        "ours": table["ours"].str.replace(" ± ", "\u00a0±\u00a0", regex=False), "difference": table["difference"]})
    style = shown.style.format({"paper": "{:.3f}", "difference": "{:+.3f}"}, na_rep="–").hide(axis="index")
    style = style.set_properties(subset=["claim"], **{"min-width": "11em", "text-align": "left"})
    return style.set_properties(subset=["where", "paper", "difference"], **{"white-space": "nowrap"})


def agreement_figure(results: Path | str | None = None):
    """Scatter of paper value (x) against ours (y, ± std) for every compared cell; the diagonal is
    agreement. Cells of degenerate rows are hollow grey circles, counted apart in the legend."""
    import matplotlib.pyplot as plt

    cells = compared_cells(results).dropna(subset=["ours"])
    shown = cells.metric.isin(["dpr", "eor", "accuracy", "recall", "f1", "coverage", "balanced_accuracy", "abs_eq_opp",
                               "abs_avg_odds", "abs_bal_acc_diff"])
    fig, ax = plt.subplots(figsize=(5.2, 5))
    for (paper_id, label), colour in zip((("000", "paper 000 (Table 1)"), ("002", "paper 002 (Fig. 2, FID)")), ("tab:blue", "tab:orange")):
        part = cells[(cells.paper_id == paper_id) & shown & ~cells.degenerate]
        ax.errorbar(part["paper"], part["ours"], yerr=part["ours_std"].fillna(0), fmt="o", ms=4, alpha=0.7,
                    color=colour, label=f"{label}: {len(part)} cells")
    degenerate = cells[shown & cells.degenerate]
    if len(degenerate):
        ax.scatter(degenerate["paper"], degenerate["ours"], s=22, facecolors="none", edgecolors="#9e9e9e",
                   label=f"degenerate rows (not results): {len(degenerate)} cells")
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--")
    ax.set(xlim=(-0.03, 1.03), ylim=(-0.03, 1.03), xlabel="paper's value", ylabel="ours (mean ± std)",
           title="Every compared metric in [0, 1]")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def share_within_tolerance(cells: pd.DataFrame) -> float:
    """Share of ``compared_cells`` where ours agrees with the paper (``fairnb.metrics.agreement``,
    each paper with its own floor), cells of degenerate rows left out; NaN when nothing was compared."""
    if "degenerate" in cells:
        cells = cells[~cells["degenerate"].fillna(False).astype(bool)]
    if cells.empty:
        return float("nan")
    floors = cells["paper_id"].map(FLOORS).to_numpy(dtype=float)
    agree = [bool(within(o - p, s, f)) for o, p, s, f in zip(cells.ours, cells.paper, cells.ours_std, floors)]
    return float(sum(agree) / len(agree))
