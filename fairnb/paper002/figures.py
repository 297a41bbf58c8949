"""Figures of the paper-002 notebooks (matplotlib). Each function returns a ``Figure``."""

from __future__ import annotations

from typing import Any


import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fairnb.paper002.study import METHOD_LABELS, SWEEP_LABELS, long_table
from fairnb.metrics.group import METRIC_LABELS

FAIRNESS = ("abs_eq_opp", "abs_avg_odds", "abs_bal_acc_diff", "abs_spd")
TERMS = (("L_rec", "L_like", "val_L_rec"), ("L_prior",), ("L_dis", "critic_wasserstein"), ("L_trns", "critic_cls", "val_L_trns"),
         ("agreement_a", "agreement_y", "val_agreement_a"), ("val_criterion",))


def translator_curves_figure(curves: pd.DataFrame) -> plt.Figure:
    """The translator's loss terms against the batches trained (mean over repetitions, band = min..max);
    ``val_*`` terms are measured on held-out validation rows, ``val_criterion`` is what the stopping rule watches.

    ``curves``: long table with columns step (or epoch), term, value, repetition (``translator_curves``).
    """
    axis = "step" if "step" in curves.columns else "epoch"
    fig, axes = plt.subplots(1, len(TERMS), figsize=(3.2 * len(TERMS), 3.0))
    for ax, terms in zip(axes, TERMS):
        for term in terms:
            part = curves[curves.term == term]
            if part.empty:
                continue
            stats = part.groupby(axis)["value"].agg(["mean", "min", "max"])
            ax.plot(stats.index, stats["mean"], label=term, ls="--" if term.startswith("val_") else "-")
            ax.fill_between(stats.index, stats["min"], stats["max"], alpha=0.2)
        ax.set_xlabel("batches" if axis == "step" else "epoch")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    axes[-2].axhline(0.5, color="grey", lw=0.8, ls=":")
    axes[-2].set_ylabel("D reads requested domain")
    fig.tight_layout()
    plt.close(fig)  # shown through glue only, not again by the inline backend
    return fig


def _mean_std(results: list[dict[str, Any]], key: str) -> pd.DataFrame:
    table = long_table(results, key)
    return table.groupby(["method", "metric"], sort=False)["value"].agg(["mean", "std"]).fillna({"std": 0.0})


def tradeoff_figure(results: list[dict[str, Any]]) -> plt.Figure:
    """Balanced accuracy (y) against each absolute fairness gap (x), one marker per method, error bars = std.

    Lower x is fairer; higher y is more accurate: the upper-left corner is best.
    """
    stats = _mean_std(results, "metrics")
    methods = list(dict.fromkeys(stats.index.get_level_values("method")))
    fig, axes = plt.subplots(1, len(FAIRNESS), figsize=(4.0 * len(FAIRNESS), 3.6), sharey=True)
    markers = "o*sD^vP<>X"
    for ax, metric in zip(axes, FAIRNESS):
        for i, method in enumerate(methods):
            x, y = stats.loc[(method, metric)], stats.loc[(method, "balanced_accuracy")]
            ax.errorbar(x["mean"], y["mean"], xerr=x["std"], yerr=y["std"], fmt=markers[i % len(markers)],
                        ms=10 if method == "ours" else 6, capsize=2, label=METHOD_LABELS.get(method, method))
        ax.set_xlabel(METRIC_LABELS[metric])
    axes[0].set_ylabel("balanced accuracy")
    axes[-1].legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    plt.close(fig)  # shown through glue only, not again by the inline backend
    return fig


def sweep_figure(results: list[dict[str, Any]]) -> plt.Figure:
    """Ratio sweep: balanced accuracy and the fairness gaps against the share of real rows in
    fine-tuning, plus "no TL" (no synthetic pre-training); error bars = std over repetitions."""
    stats = _mean_std(results, "sweep")
    labels = [label for label in SWEEP_LABELS if label in set(stats.index.get_level_values("method"))]
    x = np.arange(len(labels))
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
    ba = stats.xs("balanced_accuracy", level="metric").loc[labels]
    axes[0].errorbar(x, ba["mean"], yerr=ba["std"], fmt="o-", capsize=2)
    axes[0].set_ylabel("balanced accuracy")
    for metric in FAIRNESS:
        part = stats.xs(metric, level="metric").loc[labels]
        axes[1].errorbar(x, part["mean"], yerr=part["std"], fmt="o-", capsize=2, label=METRIC_LABELS[metric])
    axes[1].set_ylabel("absolute gap (lower is fairer)")
    axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    for ax in axes:
        ax.set_xticks(x, labels)
        ax.set_xlabel("share of real rows in fine-tuning batches")
    fig.tight_layout()
    plt.close(fig)  # shown through glue only, not again by the inline backend
    return fig


def fid_figure(fid: pd.DataFrame) -> plt.Figure:
    """FID of translations and of sampled synthetic rows next to the noise reference (lower = closer).

    ``fid``: one row per repetition, columns fid_translated, fid_sampled, fid_noise.
    """
    columns = ["fid_noise", "fid_translated", "fid_sampled"]
    names = ["real + noise\n(reference)", "translated\nrecords", "sampled\nsynthetic"]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.bar(names, fid[columns].mean(), yerr=fid[columns].std(ddof=1).fillna(0), capsize=3, color=["grey", "C0", "C1"])
    ax.set_ylabel("Fréchet distance to test split")
    fig.tight_layout()
    plt.close(fig)  # shown through glue only, not again by the inline backend
    return fig
