"""Figures of the book (matplotlib/seaborn). Each function returns a ``matplotlib.figure.Figure``
so notebooks can ``glue`` it; none calls ``plt.show``. Figures are closed before they are returned
so the notebook backend does not display them a second time (a closed figure still renders).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from fairnb.errors import ParameterError
from fairnb.viz.figures import placeholder_figure  # noqa: F401  (the images page's placeholder)
from fairnb.paper000.comparison import BEYOND_PAPER, LABELS, ROWS, ComparisonResult

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


# --- the baseline comparison (Table 1): error bars are ±1 standard deviation over repetitions ---
# Rows of the paper first, generators the paper does not compare with (``BEYOND_PAPER``) after a separator, drawn
# as diamonds. A row with a degenerate repetition is drawn hollow and grey, never as a result.
_COLOURS = dict(zip(ROWS, ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#c44e52", "#8172b3", "#937860", "#7f7f7f",
                           "#1f4e9c", "#3a7fd0", "#6aa2e0", "#9fc3ec", "#17becf"]))
DEGENERATE_COLOUR = "#9e9e9e"


def method_colour(method: str) -> str:
    """The colour of a comparison row in every figure (grey for unknown rows)."""
    return _COLOURS.get(method, "#555555")


def _stats(result: ComparisonResult, metric: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    table = result.table[result.table.metric == metric]
    grouped = table.groupby("method")["value"]
    methods = [m for m in ROWS if m in grouped.groups]
    mean = np.array([grouped.get_group(m).mean() for m in methods])
    std = np.array([grouped.get_group(m).std(ddof=1) if len(grouped.get_group(m)) > 1 else 0.0 for m in methods])
    return methods, mean, std


def _legend_label(result: ComparisonResult, method: str) -> str:
    bad, n = result.degenerate_count(method)
    return LABELS[method] + (f" — degenerate {bad}/{n}" if bad else "")


def tradeoff(result: ComparisonResult, fairness: str = "dpr", utility: str = "accuracy"):
    """Scatter of ``fairness`` (x, e.g. DPR) against ``utility`` (y) per method with error bars.

    Rows with a degenerate repetition are hollow grey markers labelled "degenerate k/n" (their
    ratios are not a result); generators the paper does not compare with are diamonds, listed last.
    """
    import matplotlib.pyplot as plt

    methods_x, fx, sx = _stats(result, fairness)
    methods_y, uy, sy = _stats(result, utility)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for method in methods_x:
        if method not in methods_y:
            continue
        i, j = methods_x.index(method), methods_y.index(method)
        degenerate = result.degenerate_count(method)[0] > 0
        colour = DEGENERATE_COLOUR if degenerate else method_colour(method)
        ax.errorbar(fx[i], uy[j], xerr=sx[i], yerr=sy[j], fmt="D" if method in BEYOND_PAPER else "o", capsize=3,
                    color=colour, mfc="none" if degenerate else colour, ms=7, label=_legend_label(result, method))
    ax.set_xlabel(f"{fairness.upper()} (1 = parity)" if fairness in ("dpr", "eor") else fairness)
    ax.set_ylabel(f"{utility} on held-out real records")
    ax.set_xlim(-0.02, 1.05)
    ax.grid(alpha=0.3)
    ax.set_title(f"{result.settings.dataset}, sensitive = {result.settings.sensitive}")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=8,
              title="hollow grey: degenerate\n◆: not in the paper", title_fontsize=8)
    return _finish(fig)


def _bars(ax, result: ComparisonResult, methods: list[str], mean: np.ndarray, std: np.ndarray, mark_degenerate: bool) -> None:
    """Bars in row order; degenerate rows hatched grey (when ``mark_degenerate``); a dashed line before
    the first row the paper does not have."""
    for k, method in enumerate(methods):
        degenerate = mark_degenerate and result.degenerate_count(method)[0] > 0
        ax.bar(k, mean[k], yerr=std[k], capsize=3, color="white" if degenerate else method_colour(method),
               edgecolor=DEGENERATE_COLOUR if degenerate else method_colour(method), hatch="///" if degenerate else None)
    beyond = [k for k, m in enumerate(methods) if m in BEYOND_PAPER]
    if beyond and beyond[0] > 0:
        ax.axvline(beyond[0] - 0.5, color="#555555", ls="--", lw=0.8)
    labels = [(LABELS[m] + (" (degenerate)" if mark_degenerate and result.degenerate_count(m)[0] else "")) for m in methods]
    ax.set_xticks(range(len(methods)), labels, rotation=60, ha="right", fontsize=8)


def metric_bars(result: ComparisonResult, metrics: tuple[str, ...] = ("dpr", "eor", "accuracy", "f1", "density", "coverage")):
    """One panel per metric: a bar per method (mean ± std); methods without the metric are absent.
    Rows with a degenerate repetition are hatched grey and say so; rows the paper does not have
    follow a dashed line."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(metrics), figsize=(2.4 * len(metrics), 3.6), sharey=False)
    for ax, metric in zip(np.atleast_1d(axes), metrics):
        methods, mean, std = _stats(result, metric)
        _bars(ax, result, methods, mean, std, mark_degenerate=True)
        ax.set_title(metric)
        ax.grid(axis="y", alpha=0.3)
    return _finish(fig)


def fit_seconds(result: ComparisonResult):
    """Bar chart of each method's training time in seconds (mean ± std over repetitions); rows the
    paper does not have follow a dashed line."""
    import matplotlib.pyplot as plt

    methods, mean, std = _stats(result, "fit_seconds")
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    _bars(ax, result, methods, mean, std, mark_degenerate=False)
    ax.set_ylabel("training time (s)")
    ax.grid(axis="y", alpha=0.3)
    return _finish(fig)


def pareto(points: pd.DataFrame, fairness: str = "dpr", utility: str = "accuracy", title: str = "", ax=None):
    """Fairness (x) against utility (y) of every generator, mean ± std over repetitions.

    ``points``: the summary of ``fairnb.paper000.pareto.summary`` (one row per generator and setting,
    columns ``generator``, ``family``, ``setting``, ``family_label``, ``marker``, ``colour``,
    ``<metric>_mean``, ``<metric>_std``, ``degenerate``, ``pareto``). A family with several settings (our
    λ sweep, TabFairGDT's ``lamda`` sweep) is a line through its settings that are not degenerate, each
    point annotated with its setting; single points are markers. Points with a degenerate repetition
    are hollow and grey, never joined to a line and never on the front; points on the Pareto front of
    the other points are circled. The legend has one entry per family (its own colour and marker) and
    one for degenerate points. With ``ax`` the panel is drawn there and the axes are returned.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(7.4, 4.8))
    fx, fy = f"{fairness}_mean", f"{utility}_mean"
    any_degenerate = False
    for family, part in points.groupby("family", sort=False):
        first = part.iloc[0]
        colour = first.get("colour")
        colour = colour if isinstance(colour, str) and colour else method_colour(str(first.generator))
        marker = first.get("marker")
        marker = marker if isinstance(marker, str) and marker else "o"
        fine = part[~part.degenerate.astype(bool)]
        if len(part) > 1 and len(fine) > 1:
            ax.plot(fine[fx], fine[fy], color=colour, lw=1.2, alpha=0.8, zorder=2)
        for row in part.itertuples():
            degenerate = bool(row.degenerate)
            any_degenerate |= degenerate
            shown = DEGENERATE_COLOUR if degenerate else colour
            ax.errorbar(getattr(row, fx), getattr(row, fy), xerr=getattr(row, f"{fairness}_std"),
                        yerr=getattr(row, f"{utility}_std"), fmt=marker, capsize=2, ms=6, zorder=3,
                        color=shown, mfc="none" if degenerate else shown)
            if row.setting:
                ax.annotate(str(row.setting), (getattr(row, fx), getattr(row, fy)), textcoords="offset points",
                            xytext=(4, 4), fontsize=6.5, color=shown)
            if getattr(row, "pareto", False) and not degenerate:
                ax.scatter([getattr(row, fx)], [getattr(row, fy)], s=170, facecolors="none", edgecolors="black",
                           linewidths=0.8, zorder=4)
        ax.add_line(Line2D([], [], color=colour, marker=marker, ls="-" if len(part) > 1 else "", label=str(first.family_label)))
    if any_degenerate:
        ax.add_line(Line2D([], [], color=DEGENERATE_COLOUR, marker="o", mfc="none", ls="", label="degenerate (not a result)"))
    ax.set_xlabel(f"{fairness.upper()} (1 = parity)" if fairness in ("dpr", "eor") else fairness)
    ax.set_ylabel(f"{utility} on held-out real records")
    ax.set_xlim(-0.02, 1.05)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=9)
    if own:
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=7.5,
                  title="circled: Pareto front\n◆: not in the paper", title_fontsize=7.5)
        return _finish(fig)
    return ax


# --- the images chapter: images are float arrays (n, c, h, w) in [0, 1], grids from torchvision.utils.make_grid ---
def subgroup_grids(images: np.ndarray, target: np.ndarray, sensitive: np.ndarray, per_group: int = 8,
                   seed: int = 0, nrow: int = 8, targets: Sequence[int] | None = None) -> dict[tuple[int, int], torch.Tensor]:
    """One ``make_grid`` of up to ``per_group`` seeded images for every (target, sensitive) subgroup.

    Args:
        images: (n, c, h, w) in [0, 1]; target, sensitive: int arrays (n,).
        targets: target classes to include (default: every class present).

    Returns:
        {(target, sensitive): grid tensor (c, H, W)} for every subgroup with at least one image,
        in sorted order; an empty subgroup gets no grid.
    """
    from torchvision.utils import make_grid

    images, target, sensitive = np.asarray(images), np.asarray(target), np.asarray(sensitive)
    if images.ndim != 4 or target.shape != (len(images),) or sensitive.shape != (len(images),):
        raise ParameterError("images", f"shapes {images.shape}, {target.shape}, {sensitive.shape}", "(n, c, h, w) images with (n,) target and sensitive")
    if not isinstance(per_group, int) or per_group < 1:
        raise ParameterError("per_group", per_group, "a positive int")
    rng = np.random.default_rng(seed)
    classes = sorted(np.unique(target).tolist()) if targets is None else list(targets)
    grids = {}
    for t in classes:
        for s in sorted(np.unique(sensitive).tolist()):
            index = np.flatnonzero((target == t) & (sensitive == s))
            if len(index) == 0:
                continue
            chosen = np.sort(rng.choice(index, size=min(per_group, len(index)), replace=False))
            grids[(int(t), int(s))] = make_grid(torch.as_tensor(images[chosen], dtype=torch.float32), nrow=nrow, padding=1, pad_value=1.0)
    return grids


def _show(ax, grid: torch.Tensor) -> None:
    array = grid.permute(1, 2, 0).clamp(0, 1).numpy()
    ax.imshow(array if array.shape[2] == 3 else array[:, :, 0], cmap=None if array.shape[2] == 3 else "gray")
    ax.set_xticks([])
    ax.set_yticks([])


def subgroup_grid_figure(grids: Mapping[tuple[int, int], torch.Tensor], target_labels: Mapping[int, str],
                         sensitive_labels: Mapping[int, str], target_name: str = "target",
                         sensitive_name: str = "sensitive", title: str = ""):
    """Panels laid out as rows = target classes, columns = sensitive groups (Fig. 2 has the two
    Smiling columns); each panel is one grid of ``subgroup_grids``. Missing subgroups stay blank."""
    import matplotlib.pyplot as plt

    if not grids:
        raise ParameterError("grids", "{}", "at least one subgroup grid")
    rows = sorted({t for t, _ in grids})
    cols = sorted({s for _, s in grids})
    first = next(iter(grids.values()))
    aspect = first.shape[2] / first.shape[1]
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(3.4 * len(cols), 3.4 / aspect * len(rows) + 0.6), squeeze=False)
    for i, t in enumerate(rows):
        for j, s in enumerate(cols):
            ax = axes[i, j]
            if (t, s) in grids:
                _show(ax, grids[(t, s)])
            else:
                ax.set_axis_off()
            if i == 0:
                ax.set_title(f"{sensitive_name} = {sensitive_labels[s]}", fontsize=10)
            if j == 0:
                ax.set_ylabel(f"{target_name} = {target_labels[t]}", fontsize=9, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title)
    return _finish(fig)


def real_vs_generated_figure(real: np.ndarray, generated: Mapping[str, np.ndarray], n: int = 8, title: str = ""):
    """Rows: the first ``n`` real images, then the image generated from each of them by each
    method in ``generated`` (e.g. {"teacher D(E(x), s)": …, "student D(E'(x), s)": …}), aligned by column."""
    import matplotlib.pyplot as plt
    from torchvision.utils import make_grid

    real = np.asarray(real)
    rows = {"real x": real[:n], **{name: np.asarray(images)[:n] for name, images in generated.items()}}
    for name, images in rows.items():
        if images.shape[1:] != real.shape[1:]:
            raise ParameterError("generated", f"{name}: shape {images.shape[1:]}", f"{real.shape[1:]}, like real", "wrong shape")
    fig, axes = plt.subplots(len(rows), 1, figsize=(1.0 * min(n, len(real)) + 1.5, 1.25 * len(rows) + 0.4), squeeze=False)
    for ax, (name, images) in zip(axes[:, 0], rows.items()):
        _show(ax, make_grid(torch.as_tensor(images, dtype=torch.float32), nrow=n, padding=1, pad_value=1.0))
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title)
    return _finish(fig)


def latent_figure(projections: Mapping[str, pd.DataFrame], title: str = ""):
    """Scatter of teacher z vs student z' codes, one panel per projection (``{"PCA": frame, "t-SNE": frame}``,
    frames from ``fairnb.metrics.project_latents``: columns x, y, source). Overlap = good distillation."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, axes = plt.subplots(1, len(projections), figsize=(4.2 * len(projections), 3.8), squeeze=False)
    for ax, (name, frame) in zip(axes[0], projections.items()):
        sns.scatterplot(data=frame, x="x", y="y", hue="source", s=10, alpha=0.6, ax=ax,
                        palette={"teacher z": "tab:orange", "student z'": "tab:blue"}, linewidth=0)
        ax.set(title=name, xlabel="component 1", ylabel="component 2")
    if title:
        fig.suptitle(title)
    return _finish(fig)


def training_figure(histories: Mapping[str, pd.DataFrame], terms: Mapping[str, Sequence[str]]):
    """Per-epoch loss terms of each stage: ``histories`` {stage: history frame}, ``terms`` {stage: columns}.
    Each term gets its own panel (their scales differ by orders of magnitude); log y axis where positive."""
    import matplotlib.pyplot as plt

    panels = [(stage, term) for stage, columns in terms.items() for term in columns if term in histories[stage]]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.8 * len(panels), 2.8), squeeze=False)
    for ax, (stage, term) in zip(axes[0], panels):
        frame = histories[stage]
        ax.plot(frame["epoch"], frame[term], marker="o", ms=3)
        if (frame[term] > 0).all():
            ax.set_yscale("log")
        ax.set(title=f"{stage}: {term}", xlabel="epoch")
    return _finish(fig)


def glued_figure(key: str, name: str, caption: str) -> Any:
    """A Markdown output holding ``{glue:figure} key`` with label ``name`` and ``caption``.

    A template's markdown cells are the same in every run, so a static ``:name:`` would repeat on
    each run page of the template (a duplicate-label warning). Emitted as an output (the book
    renders Markdown outputs as MyST), the label can carry the run's parameters, e.g.
    ``fig-images-subgroups-colour-mnist``, and other pages can ``{numref}`` it.
    """
    from IPython.display import Markdown

    label = "".join(c if c.isalnum() or c == "-" else "-" for c in name.lower())
    return Markdown(f"```{{glue:figure}} {key}\n:name: {label}\n\n{caption.strip()}\n```")
