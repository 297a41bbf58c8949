"""Learning curves and stopping rules of trained generators, for every page that trains one.

``learning_curves({name: history})`` draws one panel per generator: its training criterion and,
where it was measured, the validation criterion the stopping rule watched, with the kept (best)
epoch marked. ``convergence_table({name: convergence})`` states each generator's rule and what
happened (epochs run, best epoch, why it stopped). Histories are the per-epoch DataFrames the
generators keep (``teacher_history_``, ``student_history_``, ``learning_curve_``, a translator's
``history_``); a ``Convergence`` is ``fairnb.nn.train.Convergence`` (or its ``as_dict()``).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd

# (training column, validation column) pairs, the first present in a history is drawn
CRITERIA: Sequence[tuple[str, str]] = (("loss", "val_loss"), ("generator_loss", "val_moment_distance"),
                                       ("criterion", "val_criterion"), ("L_rec", "val_criterion"))


def _as_dict(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return dict(value)
    return value.as_dict()


def _columns(history: pd.DataFrame) -> tuple[str | None, str | None]:
    for train, val in CRITERIA:
        if train in history.columns or val in history.columns:
            return (train if train in history.columns else None), (val if val in history.columns else None)
    numeric = [c for c in history.columns if c not in ("epoch", "step", "seconds") and pd.api.types.is_numeric_dtype(history[c])]
    return (numeric[0] if numeric else None), None


def learning_curves(histories: Mapping[str, pd.DataFrame], convergences: Mapping[str, Any] | None = None,
                    x: str = "epoch", title: str = "", log_scale: bool = False) -> plt.Figure:
    """One panel per generator: training and validation criterion against ``x`` (``epoch``, or ``step``
    when a history is indexed by it), the best epoch marked (dashed) when ``convergences`` names it."""
    items = [(name, history) for name, history in histories.items() if history is not None and len(history)]
    if not items:
        from fairnb.viz.figures import placeholder_figure

        return placeholder_figure("no training history")
    columns = min(3, len(items))
    rows = -(-len(items) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.3 * columns, 3.1 * rows), squeeze=False)
    for ax, (name, history) in zip(axes.flat, items):
        frame = history.reset_index() if history.index.name in ("epoch", "step") else history
        axis = x if x in frame.columns else ("step" if "step" in frame.columns else "epoch")
        train, val = _columns(frame)
        if train is not None:
            ax.plot(frame[axis], frame[train], label=f"training {train}", lw=1.2)
        if val is not None:
            twin = ax.twinx() if train is not None and not val.endswith(train) else ax
            twin.plot(frame[axis], frame[val], color="#c44e52", label=f"validation {val.removeprefix('val_')}", lw=1.2)
            if twin is not ax:
                twin.tick_params(axis="y", labelcolor="#c44e52")
                twin.legend(fontsize=7, loc="upper center")
        info = _as_dict((convergences or {}).get(name))
        if info and info.get("criterion"):
            best = info["best_epoch"]
            position = frame[axis].iloc[min(best, len(frame)) - 1] if axis != "epoch" else best
            ax.axvline(position, color="grey", ls="--", lw=0.9)
            ax.set_title(f"{name}\n(kept: {'check' if axis == 'step' else 'epoch'} {best}, {info['stopped']} stop)", fontsize=9)
        else:
            ax.set_title(name, fontsize=9)
        ax.set_xlabel(axis)
        if log_scale:
            ax.set_yscale("symlog")
        ax.legend(fontsize=7, loc="upper right")
    for ax in list(axes.flat)[len(items):]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.close(fig)
    return fig


def convergence_table(convergences: Mapping[str, Any]) -> pd.DataFrame:
    """One row per generator: its stated rule, epochs run, kept epoch, why it stopped."""
    rows = []
    for name, value in convergences.items():
        info = _as_dict(value)
        if info is None:
            rows.append({"generator": name, "rule": "not recorded", "epochs run": None, "kept epoch": None, "stopped by": None})
            continue
        stopped = "the stopping rule" if info["stopped"] == "early" else "the budget"
        if info["stopped"] != "early" and info.get("criterion") and info["best_epoch"] == info["epochs"]:
            stopped += " (criterion still improving)"
        rows.append({"generator": name, "rule": info["rule"], "epochs run": info["epochs"], "kept epoch": info["best_epoch"],
                     "stopped by": stopped})
    return pd.DataFrame(rows, columns=["generator", "rule", "epochs run", "kept epoch", "stopped by"]).set_index("generator")
