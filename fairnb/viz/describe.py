"""Describe a dataset for the book: size, feature table, base rates per group, sample images.

Used by ``notebooks/data/01_datasets.md``. Every function returns a table or a figure; nothing here
trains a model.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd


def notice(title: str, text: str, kind: str = "warning") -> Any:
    """An admonition box for notebook output (renders as a Sphinx admonition in the book)."""
    from IPython.display import HTML

    return HTML(f'<div class="admonition {kind}"><p class="admonition-title">{html.escape(title)}</p>'
                f"<p>{html.escape(text)}</p></div>")


def try_load(name: str, **options: Any) -> tuple[Any, str | None]:
    """``(dataset, None)`` or, for user-supplied data that is absent, ``(None, message)``."""
    from fairnb.data import load
    from fairnb.errors import DataNotFoundError

    try:
        return load(name, **options), None
    except DataNotFoundError as missing:
        return None, str(missing)


def overview(dataset: Any) -> pd.DataFrame:
    """One-row-per-fact table: records, features, target, sensitive attributes, source."""
    if dataset.kind == "tabular":
        facts = {
            "records": f"{len(dataset.frame):,}",
            "features": f"{len(dataset.features)} ({len(dataset.categorical)} categorical, {len(dataset.numeric)} numeric)",
            "target (1 = favourable)": f"{dataset.target}: 1 = {dataset.target_labels[1]}, 0 = {dataset.target_labels[0]}",
            "sensitive (privileged value)": ", ".join(f"{s} ({dataset.privileged[s]})" for s in dataset.sensitive),
            "source": dataset.source,
        }
    else:
        n, channels, height, width = dataset.images.shape
        facts = {
            "images": f"{n:,} ({(dataset.split == 'train').sum():,} train, {(dataset.split == 'test').sum():,} test)",
            "image size": f"{channels} × {height} × {width}",
            "target": dataset.target_name,
            "sensitive": f"{dataset.sensitive_name} ({', '.join(dataset.sensitive_labels.values())})",
            "source": dataset.source,
        }
    return pd.DataFrame({"value": facts}).rename_axis("fact")


def base_rates(dataset: Any) -> pd.DataFrame:
    """Share of favourable labels per group of every sensitive attribute (tabular datasets).

    Columns: sensitive, group, privileged (bool), records, favourable_rate (fraction in [0, 1]).
    For image datasets: share of each target class per sensitive group.
    """
    if dataset.kind != "tabular":
        frame = pd.DataFrame({"sensitive": dataset.sensitive_name,
                              "group": [dataset.sensitive_labels[int(s)] for s in dataset.sensitive],
                              "target": dataset.target})
        table = frame.groupby(["sensitive", "group"])["target"].value_counts(normalize=True).rename("share").reset_index()
        return table
    rows = []
    labels = dataset.labels()
    for column in dataset.sensitive:
        values = dataset.frame[column].to_numpy()
        for group in sorted(pd.unique(values)):
            mask = values == group
            rows.append({"sensitive": column, "group": group, "privileged": group == dataset.privileged[column],
                         "records": int(mask.sum()), "favourable_rate": float(labels[mask].mean())})
    return pd.DataFrame(rows)


def base_rate_figure(dataset: Any, rates: pd.DataFrame | None = None):
    """Seaborn bar chart of favourable-label rate per group, one panel per sensitive attribute."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    rates = base_rates(dataset) if rates is None else rates
    if dataset.kind != "tabular":
        fig, ax = plt.subplots(figsize=(7, 3.2))
        sns.barplot(data=rates, x="target", y="share", hue="group", ax=ax)
        ax.set(xlabel=dataset.target_name, ylabel=f"share within {dataset.sensitive_name} group",
               title=f"{dataset.name}: target distribution per {dataset.sensitive_name}")
        fig.tight_layout()
        return fig
    panels = rates["sensitive"].unique()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.2), squeeze=False)
    for ax, column in zip(axes[0], panels):
        part = rates[rates["sensitive"] == column].copy()
        part["group"] = part["group"].astype(str) + np.where(part["privileged"], " (priv.)", "")
        sns.barplot(data=part, x="group", y="favourable_rate", ax=ax, color="tab:blue")
        ax.set(title=column, xlabel="", ylabel=f"P({dataset.target} = 1)", ylim=(0, 1))
        ax.tick_params(axis="x", rotation=15)
    fig.suptitle(f"{dataset.name}: favourable-label rate per group")
    fig.tight_layout()
    return fig


def sample_grid(dataset: Any, per_group: int = 8, seed: int = 0):
    """A figure with ``per_group`` random images for each (target, sensitive) subgroup.

    For many-class targets (Colour-MNIST digits) only the first four classes are shown.
    """
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    classes = sorted(np.unique(dataset.target))[:4]
    groups = [(t, s) for t in classes for s in sorted(np.unique(dataset.sensitive))]
    fig, axes = plt.subplots(len(groups), 1, figsize=(per_group * 0.9, len(groups) * 1.05), squeeze=False)
    for ax, (t, s) in zip(axes[:, 0], groups):
        index = np.flatnonzero((dataset.target == t) & (dataset.sensitive == s))
        chosen = rng.choice(index, size=min(per_group, len(index)), replace=False) if len(index) else []
        strip = np.concatenate([dataset.images[i].transpose(1, 2, 0) for i in chosen], axis=1) if len(chosen) else np.zeros((8, 8, 3), np.uint8)
        ax.imshow(strip)
        ax.set_axis_off()
        ax.set_title(f"{dataset.target_name} = {dataset.target_labels[int(t)]}, {dataset.sensitive_name} = {dataset.sensitive_labels[int(s)]}",
                     fontsize=8, loc="left")
    fig.tight_layout()
    return fig
