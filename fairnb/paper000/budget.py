"""Does a verdict of the paper-000 comparison depend on the training budget?

``budget_study`` repeats the headline comparison (our L1-KL student, FairDisco and the generator
baselines, scored by the one evaluation path of ``fairnb.paper000.comparison``) with every training
budget multiplied by each factor of ``multipliers``: the epoch budgets of the teacher, the students,
TabFairGAN, Decaf and FLDGMs' diffusion. The stopping rule itself (its patience) is unchanged: a
generator that its rule stopped before the budget ran out trains exactly as before at a larger budget
(the trained-model store gives it back instead of training it again), and one that ran out of budget
trains longer. At 1× the settings are the comparison page's, so its models come from the store.

``verdicts`` turns the per-seed values into paired comparisons: for each baseline and metric, the
mean over seeds of (ours − baseline) at each multiplier, and whether its sign — the verdict "ours is
higher / lower" — is the same at every budget.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from fairnb.errors import ParameterError
from fairnb.nn.train import progress

GENERATORS = ("ours_l1", "fairdisco", "fldgm", "tabfairgan", "decaf")
HEADLINE = ("dpr", "eor", "accuracy")
SCALED = ("fairdisco", "distill", "tabfairgan", "decaf", "fldgm")


def scaled_settings(settings, multiplier: float):
    """``settings`` (a ``ComparisonSettings``) with every epoch budget multiplied (at least 1 epoch)."""
    if isinstance(multiplier, bool) or not isinstance(multiplier, (int, float)) or not multiplier > 0:
        raise ParameterError("budget_multipliers", multiplier, "numbers > 0")
    return replace(settings, **{f"{name}_epochs": max(1, int(round(settings.epochs(name) * multiplier))) for name in SCALED})


def budget_study(settings, multipliers: Sequence[float], seeds: Iterable[int],
                 methods: Sequence[str] = GENERATORS) -> pd.DataFrame:
    """The comparison of ``methods`` at each budget multiple; columns multiplier, method, seed, metric, value."""
    from fairnb.paper000.comparison import run_comparison

    if not multipliers:
        raise ParameterError("budget_multipliers", multipliers, "a non-empty list of numbers > 0")
    seeds = list(seeds)
    frames = []
    for multiplier in progress(list(multipliers), "budget multiples", total=len(multipliers), enabled=None, leave=True):
        scaled = replace(scaled_settings(settings, multiplier), methods=tuple(methods))
        result = run_comparison(scaled, seeds)
        frames.append(result.table.assign(multiplier=float(multiplier)))
    return pd.concat(frames, ignore_index=True)[["multiplier", "method", "seed", "metric", "value"]]


def headline_table(table: pd.DataFrame, metrics: Sequence[str] = HEADLINE) -> pd.DataFrame:
    """Mean ± std over seeds per (method, metric) (rows) and multiplier (columns), as strings."""
    part = table[table.metric.isin(metrics)]
    stats = part.groupby(["method", "metric", "multiplier"], sort=False)["value"].agg(["mean", "std"])
    text = stats.apply(lambda r: f"{r['mean']:.3f} ± {0.0 if np.isnan(r['std']) else r['std']:.3f}", axis=1)
    out = text.unstack("multiplier")
    out.columns = [f"{m:g}×" for m in out.columns]
    return out


def verdicts(table: pd.DataFrame, ours: str = "ours_l1", metrics: Sequence[str] = HEADLINE) -> pd.DataFrame:
    """Paired differences (ours − baseline, mean over seeds) per baseline and metric at each multiplier,
    and ``same verdict``: whether the sign of the difference is the same at every budget (a difference
    smaller than 0.005 in absolute value counts as a tie)."""
    part = table[table.metric.isin(metrics)]
    wide = part.pivot_table(index=["multiplier", "seed", "metric"], columns="method", values="value")
    rows = []
    for baseline in [m for m in wide.columns if m != ours]:
        if ours not in wide.columns:
            break
        difference = (wide[ours] - wide[baseline]).groupby(level=["metric", "multiplier"]).mean()
        for metric in metrics:
            if metric not in difference.index.get_level_values("metric"):
                continue
            values = difference.xs(metric, level="metric")
            signs = {int(np.sign(v)) if abs(v) >= 0.005 else 0 for v in values}
            rows.append({"baseline": baseline, "metric": metric,
                         **{f"{m:g}×": float(v) for m, v in values.items()},
                         "same verdict": len(signs) == 1})
    return pd.DataFrame(rows)


def endings_table(table: pd.DataFrame) -> pd.DataFrame:
    """How each generator's training ended at each budget multiple: rows method, columns
    ``"<m>×"``, cells ``"<epochs run> ep., <k>/<n> stopped by its rule"`` (epochs: mean over seeds; a generator
    that no seed's rule stopped ran out of budget at that multiple — fixed budgets such as TabFairGAN's always do)."""
    from fairnb.paper000.comparison import LABELS

    epochs = table[table.metric == "epochs_run"].groupby(["method", "multiplier"], sort=False)["value"].mean()
    early = table[table.metric == "stopped_early"].groupby(["method", "multiplier"], sort=False)["value"].agg(["sum", "count"])
    if epochs.empty:
        return pd.DataFrame()
    cells = {(method, multiplier): f"{epochs[(method, multiplier)]:.0f} ep., {int(early.loc[(method, multiplier), 'sum'])}/"
                                   f"{int(early.loc[(method, multiplier), 'count'])} stopped by its rule"
             for method, multiplier in epochs.index}
    out = pd.Series(cells).unstack()
    out.columns = [f"{m:g}×" for m in out.columns]
    out.index = [LABELS.get(m, m) for m in out.index]
    out.index.name = "generator"
    return out


def report_values(table: pd.DataFrame, metrics: Sequence[str] = HEADLINE) -> dict[str, list[float]]:
    """``"x<multiplier>/<method>/<metric>"`` → per-seed values (seed order), for ``fairnb.runs.report``."""
    out: dict[str, list[float]] = {}
    part = table[table.metric.isin(tuple(metrics) + ("degenerate", "collapsed", "fit_seconds", "epochs_run", "stopped_early"))]
    for (multiplier, method, metric), group in part.groupby(["multiplier", "method", "metric"], sort=False):
        out[f"x{multiplier:g}/{method}/{metric}"] = group.sort_values("seed")["value"].astype(float).tolist()
    return out


def budget_figure(table: pd.DataFrame, metrics: Sequence[str] = HEADLINE):
    """One panel per metric: mean ± std over seeds of each method against the budget multiple (log scale)."""
    import matplotlib.pyplot as plt

    from fairnb.paper000.comparison import LABELS

    fig, axes = plt.subplots(1, len(metrics), figsize=(4.3 * len(metrics), 3.4), squeeze=False)
    part = table[table.metric.isin(metrics)]
    stats = part.groupby(["metric", "method", "multiplier"])["value"].agg(["mean", "std"]).fillna({"std": 0.0})
    for ax, metric in zip(axes[0], metrics):
        if metric not in stats.index.get_level_values("metric"):
            ax.axis("off")
            continue
        for method, rows in stats.loc[metric].groupby(level="method", sort=False):
            rows = rows.droplevel("method")
            ax.errorbar(rows.index, rows["mean"], yerr=rows["std"], marker="o", capsize=3, label=LABELS.get(method, method))
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted(set(part.multiplier)), [f"{m:g}×" for m in sorted(set(part.multiplier))])
        ax.set(xlabel="training budget (multiple of the profile's)", title=metric.upper() if len(metric) == 3 else metric)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    plt.close(fig)
    return fig
