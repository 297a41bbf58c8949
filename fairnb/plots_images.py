"""Figures for the images chapter: sample grids per subgroup (paper 000, Fig. 2), real vs generated,
teacher vs student latents (PCA / t-SNE), training curves.

Images are float arrays (n, c, h, w) in [0, 1]; grids are built with ``torchvision.utils.make_grid``.
Every function returns a matplotlib figure (or the grids it draws) and never shows it.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from fairnb.errors import ParameterError


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
    fig.tight_layout()
    return fig


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
    fig.tight_layout()
    return fig


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
    fig.tight_layout()
    return fig


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
    fig.tight_layout()
    return fig


def placeholder_figure(message: str):
    """A small figure that only says ``message`` (shown where a figure cannot be made, e.g. absent data)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 1.2))
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    ax.set_axis_off()
    return fig


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
