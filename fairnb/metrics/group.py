"""Group fairness metrics of binary predictions, in AIF360's sign conventions.

Conventions (AIF360 ``ClassificationMetric``): label 1 is the favourable outcome and the
"positive" class of every rate; group 1 is privileged, group 0 unprivileged; a signed
difference is *unprivileged − privileged*. Rates are built on fairlearn's per-group
``MetricFrame`` with sklearn primitives and accept optional sample weights (MEPS survey
weights): a weighted rate counts each record with its weight, as AIF360's instance weights do.

Headline numbers follow the paper 002 definitions (all absolute values):

- ``balanced_accuracy`` = ½(TPR + TNR) over all records.
- ``abs_bal_acc_diff`` = |BA_u − BA_p| = ½|(TPR_u − FPR_u) − (TPR_p − FPR_p)|.
- ``abs_avg_odds`` = ½(|FPR_u − FPR_p| + |TPR_u − TPR_p|)  (AIF360 ``average_abs_odds_difference``).
- ``abs_eq_opp`` = |TPR_u − TPR_p|  (equal opportunity).
- ``abs_spd`` = |P(Ŷ=1 | u) − P(Ŷ=1 | p)|  (statistical parity / demographic parity).

The signed AIF360 values (``avg_odds_diff``, ``eq_opp_diff``, ``spd``) are reported too.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
from sklearn.metrics import balanced_accuracy_score

from fairnb.errors import ParameterError

HEADLINE = ("balanced_accuracy", "abs_bal_acc_diff", "abs_avg_odds", "abs_eq_opp", "abs_spd")
SIGNED = ("avg_odds_diff", "eq_opp_diff", "spd")
METRIC_NAMES = HEADLINE + SIGNED
METRIC_LABELS = {
    "balanced_accuracy": "balanced accuracy",
    "abs_bal_acc_diff": "|Δ balanced accuracy|",
    "abs_avg_odds": "|average odds difference| (equalised odds)",
    "abs_eq_opp": "|equal opportunity difference|",
    "abs_spd": "|statistical parity difference|",
    "avg_odds_diff": "average odds difference (u − p)",
    "eq_opp_diff": "equal opportunity difference (u − p)",
    "spd": "statistical parity difference (u − p)",
}


def _check(y_true: Sequence[int], y_pred: Sequence[int], group: Sequence[int],
           sample_weight: Sequence[float] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    y_true, y_pred, group = (np.asarray(v) for v in (y_true, y_pred, group))
    n = len(y_true)
    if y_true.ndim != 1 or y_pred.shape != (n,) or group.shape != (n,):
        raise ParameterError("y_true/y_pred/group", f"shapes {y_true.shape}, {y_pred.shape}, {group.shape}", "three 1-d arrays of equal length")
    for name, values in (("y_true", y_true), ("y_pred", y_pred), ("group", group)):
        if not np.isin(values, (0, 1)).all():
            raise ParameterError(name, sorted(set(np.unique(values).tolist()) - {0, 1})[:3], "only 0 and 1", "non-binary values")
    if set(np.unique(group)) != {0, 1}:
        raise ParameterError("group", np.unique(group).tolist(), "both groups 0 (unprivileged) and 1 (privileged) present")
    for g in (0, 1):
        present = set(np.unique(y_true[group == g]))
        if present != {0, 1}:
            raise ParameterError("y_true", f"group {g} has only labels {sorted(present)}", "both labels in each group (rates undefined otherwise)")
    weight = None
    if sample_weight is not None:
        weight = np.asarray(sample_weight, dtype=float)
        if weight.shape != (n,) or not np.all(np.isfinite(weight)) or (weight < 0).any() or weight.sum() <= 0:
            raise ParameterError("sample_weight", f"array of shape {weight.shape}", f"({n},) finite, non-negative, not all zero")
    return y_true.astype(int), y_pred.astype(int), group.astype(int), weight


def group_rates(y_true: Sequence[int], y_pred: Sequence[int], group: Sequence[int],
                sample_weight: Sequence[float] | None = None) -> pd.DataFrame:
    """Per-group TPR, FPR, selection rate and balanced accuracy.

    Args:
        y_true, y_pred: int arrays (n,) in {0, 1}, 1 = favourable.
        group: int array (n,), 1 = privileged, 0 = unprivileged.
        sample_weight: optional non-negative weights (n,).

    Returns:
        DataFrame indexed by group (0, 1) with columns tpr, fpr, selection_rate, balanced_accuracy.
    """
    y_true, y_pred, group, weight = _check(y_true, y_pred, group, sample_weight)
    metrics = {"tpr": true_positive_rate, "fpr": false_positive_rate, "selection_rate": selection_rate}
    kwargs = {"sample_params": {name: {"sample_weight": weight} for name in metrics}} if weight is not None else {}
    frame = MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred, sensitive_features=pd.Series(group, name="group"), **kwargs)
    table = frame.by_group.astype(float)
    table["balanced_accuracy"] = (table["tpr"] + 1.0 - table["fpr"]) / 2.0
    return table


def fairness_metrics(y_true: Sequence[int], y_pred: Sequence[int], group: Sequence[int],
                     sample_weight: Sequence[float] | None = None) -> dict[str, float]:
    """Every metric of ``METRIC_NAMES`` for one set of predictions (see module doc)."""
    rates = group_rates(y_true, y_pred, group, sample_weight)
    u, p = rates.loc[0], rates.loc[1]
    d_tpr, d_fpr = u["tpr"] - p["tpr"], u["fpr"] - p["fpr"]
    weight = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    return {
        "balanced_accuracy": float(balanced_accuracy_score(np.asarray(y_true), np.asarray(y_pred), sample_weight=weight)),
        "abs_bal_acc_diff": float(abs(u["balanced_accuracy"] - p["balanced_accuracy"])),
        "abs_avg_odds": float((abs(d_fpr) + abs(d_tpr)) / 2.0),
        "abs_eq_opp": float(abs(d_tpr)),
        "abs_spd": float(abs(u["selection_rate"] - p["selection_rate"])),
        "avg_odds_diff": float((d_fpr + d_tpr) / 2.0),
        "eq_opp_diff": float(d_tpr),
        "spd": float(u["selection_rate"] - p["selection_rate"]),
    }
