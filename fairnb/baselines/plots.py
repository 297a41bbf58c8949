"""Figures of the baseline comparison (paper 000): fairness–utility trade-off, metric bars, fit times.

Every function takes a ``ComparisonResult`` (``fairnb.baselines.comparison``) and returns a
matplotlib figure; error bars are ±1 standard deviation over repetitions.
"""

from __future__ import annotations

import numpy as np

from fairnb.baselines.comparison import LABELS, METHODS, ComparisonResult

_COLOURS = dict(zip(METHODS, ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#7f7f7f"]))


def _stats(result: ComparisonResult, metric: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    table = result.table[result.table.metric == metric]
    grouped = table.groupby("method")["value"]
    methods = [m for m in METHODS if m in grouped.groups]
    mean = np.array([grouped.get_group(m).mean() for m in methods])
    std = np.array([grouped.get_group(m).std(ddof=1) if len(grouped.get_group(m)) > 1 else 0.0 for m in methods])
    return methods, mean, std


def tradeoff(result: ComparisonResult, fairness: str = "dpr", utility: str = "accuracy"):
    """Scatter of ``fairness`` (x, e.g. DPR) against ``utility`` (y) per method with error bars."""
    import matplotlib.pyplot as plt

    methods_x, fx, sx = _stats(result, fairness)
    methods_y, uy, sy = _stats(result, utility)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for method in methods_x:
        if method not in methods_y:
            continue
        i, j = methods_x.index(method), methods_y.index(method)
        ax.errorbar(fx[i], uy[j], xerr=sx[i], yerr=sy[j], fmt="o", capsize=3, color=_COLOURS[method], label=LABELS[method])
    ax.set_xlabel(f"{fairness.upper()} (1 = parity)" if fairness in ("dpr", "eor") else fairness)
    ax.set_ylabel(f"{utility} on held-out real records")
    ax.set_xlim(-0.02, 1.05)
    ax.grid(alpha=0.3)
    ax.set_title(f"{result.settings.dataset}, sensitive = {result.settings.sensitive}")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.tight_layout()
    return fig


def metric_bars(result: ComparisonResult, metrics: tuple[str, ...] = ("dpr", "eor", "accuracy", "f1", "density", "coverage")):
    """One panel per metric: a bar per method (mean ± std); methods without the metric are absent."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(metrics), figsize=(2.4 * len(metrics), 3.6), sharey=False)
    for ax, metric in zip(np.atleast_1d(axes), metrics):
        methods, mean, std = _stats(result, metric)
        ax.bar(range(len(methods)), mean, yerr=std, capsize=3, color=[_COLOURS[m] for m in methods])
        ax.set_xticks(range(len(methods)), [LABELS[m] for m in methods], rotation=60, ha="right", fontsize=8)
        ax.set_title(metric)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def fit_seconds(result: ComparisonResult):
    """Bar chart of each method's training time in seconds (mean ± std over repetitions)."""
    import matplotlib.pyplot as plt

    methods, mean, std = _stats(result, "fit_seconds")
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.bar(range(len(methods)), mean, yerr=std, capsize=3, color=[_COLOURS[m] for m in methods])
    ax.set_xticks(range(len(methods)), [LABELS[m] for m in methods], rotation=30, ha="right")
    ax.set_ylabel("training time (s)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
