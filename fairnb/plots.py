"""Figures of the book (matplotlib/seaborn). Each function returns a ``matplotlib.figure.Figure``
so notebooks can ``glue`` it; none calls ``plt.show``. Figures are closed before they are returned
so the notebook backend does not display them a second time (a closed figure still renders).
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

TEACHER, STUDENT = "#e8772e", "#2e6fe8"  # orange / blue as in paper 000, Fig. 3


def _finish(fig: plt.Figure) -> plt.Figure:
    fig.tight_layout()
    plt.close(fig)
    return fig


def training_curves(history: pd.DataFrame, terms: Sequence[str], hue: str | None = None, title: str = "",
                    log_scale: Sequence[str] = ()) -> plt.Figure:
    """One panel per loss term against the epoch; one line per value of ``hue`` (e.g. quality_loss)."""
    fig, axes = plt.subplots(1, len(terms), figsize=(4.2 * len(terms), 3.2), squeeze=False)
    groups = [(None, history)] if hue is None else list(history.groupby(hue, sort=False))
    for ax, term in zip(axes[0], terms):
        for name, part in groups:
            ax.plot(part["epoch"], part[term], label=None if name is None else str(name))
        ax.set(xlabel="epoch", ylabel=term, title=term)
        if term in log_scale:
            ax.set_yscale("log")
        if hue is not None:
            ax.legend(fontsize=8, title=hue, title_fontsize=8)
    fig.suptitle(title)
    return _finish(fig)


def _sweep(metrics: pd.DataFrame, x: str, columns: Sequence[str], xlabel: str, title: str, logx: bool = False) -> plt.Figure:
    grouped = metrics.groupby(x)[list(columns)]
    mean, std = grouped.mean(), grouped.std(ddof=1).fillna(0.0)
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for column in columns:
        ax.errorbar(mean.index, mean[column], yerr=std[column], marker="o", capsize=3, label=column)
    ax.set(xlabel=xlabel, ylabel="value", title=title, ylim=(0, 1.05))
    if logx:
        ax.set_xscale("log")
    ax.legend(fontsize=8)
    return _finish(fig)


def beta_sweep(metrics: pd.DataFrame, columns: Sequence[str] = ("dpr", "eor", "accuracy")) -> plt.Figure:
    """DPR, EOR and accuracy (mean ± std over seeds) against beta_exponent (β = 10**exponent)."""
    return _sweep(metrics, "beta_exponent", columns, "beta_exponent (β = 10^exponent)", "Stage 1: fairness weight β")


def lambda_sweep(metrics: pd.DataFrame, columns: Sequence[str] = ("dpr", "eor", "accuracy", "coverage")) -> plt.Figure:
    """Fairness, utility and coverage (mean ± std over seeds) against the KL weight λ."""
    return _sweep(metrics, "lam", columns, "λ (KL weight)", "Stage 2: KL weight λ")


def latent_overlay(projections: dict[str, pd.DataFrame]) -> plt.Figure:
    """Teacher (orange) vs student (blue) codes, one panel per projection (e.g. {"PCA": …, "t-SNE": …})."""
    fig, axes = plt.subplots(1, len(projections), figsize=(4.6 * len(projections), 4.2), squeeze=False)
    for ax, (name, frame) in zip(axes[0], projections.items()):
        for source, colour in (("teacher z", TEACHER), ("student z'", STUDENT)):
            part = frame[frame.source == source]
            ax.scatter(part.x, part.y, s=8, alpha=0.6, color=colour, label=source)
        ax.set(title=name, xticks=[], yticks=[])
        ax.legend(fontsize=8)
    return _finish(fig)


def shap_comparison(original: pd.Series, synthetic: pd.Series, highlight: str | None = None, top: int = 12) -> plt.Figure:
    """Mean |SHAP| per feature, original vs synthetic data side by side (``highlight`` in red)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharex=True)
    for ax, series, title in ((axes[0], original, "original data"), (axes[1], synthetic, "fair synthetic data")):
        series = series.sort_values(ascending=True).tail(top)
        colours = ["#c0392b" if name == highlight else "#7f8c8d" for name in series.index]
        ax.barh(series.index, series.values, color=colours)
        ax.set(title=title, xlabel="mean |SHAP value| (log-odds)")
    return _finish(fig)


def group_rates(table: pd.DataFrame) -> plt.Figure:
    """Predicted-positive rate per group and method (bars), from columns ``positive_rate_*``."""
    rates = table[["positive_rate_privileged", "positive_rate_unprivileged"]]
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    x = np.arange(len(rates))
    ax.bar(x - 0.2, rates.iloc[:, 0], width=0.4, label="privileged")
    ax.bar(x + 0.2, rates.iloc[:, 1], width=0.4, label="unprivileged")
    ax.set_xticks(x, [str(i) for i in rates.index], rotation=30, ha="right", fontsize=8)
    ax.set(ylabel="P(ŷ = 1 | group)", ylim=(0, 1))
    ax.legend(fontsize=8)
    return _finish(fig)
