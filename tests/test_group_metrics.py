"""Group fairness metrics against hand-computed cases and AIF360's sign conventions."""

import numpy as np
import pytest

from fairnb.errors import ParameterError
from fairnb.metrics import fairness_metrics, group_rates

# Unprivileged group (0): 4 records; privileged group (1): 4 records.
#   group 0: y = 1 1 0 0, pred = 1 0 1 0 -> TPR 1/2, FPR 1/2, selection 2/4
#   group 1: y = 1 1 0 0, pred = 1 1 0 0 -> TPR 1,   FPR 0,   selection 2/4
Y = np.array([1, 1, 0, 0, 1, 1, 0, 0])
P = np.array([1, 0, 1, 0, 1, 1, 0, 0])
G = np.array([0, 0, 0, 0, 1, 1, 1, 1])


def test_rates_by_hand():
    rates = group_rates(Y, P, G)
    assert rates.loc[0, "tpr"] == pytest.approx(0.5) and rates.loc[0, "fpr"] == pytest.approx(0.5)
    assert rates.loc[1, "tpr"] == pytest.approx(1.0) and rates.loc[1, "fpr"] == pytest.approx(0.0)
    assert rates.loc[0, "balanced_accuracy"] == pytest.approx(0.5)
    assert rates.loc[1, "balanced_accuracy"] == pytest.approx(1.0)


def test_metrics_by_hand_and_aif360_signs():
    m = fairness_metrics(Y, P, G)
    # overall: TP 3 of 4 positives, FP 1 of 4 negatives -> BA = (0.75 + 0.75) / 2
    assert m["balanced_accuracy"] == pytest.approx(0.75)
    assert m["eq_opp_diff"] == pytest.approx(0.5 - 1.0)           # TPR_u - TPR_p
    assert m["avg_odds_diff"] == pytest.approx(((0.5 - 0) + (0.5 - 1)) / 2)  # = 0
    assert m["abs_avg_odds"] == pytest.approx((0.5 + 0.5) / 2)    # absolute terms do not cancel
    assert m["abs_eq_opp"] == pytest.approx(0.5)
    assert m["abs_bal_acc_diff"] == pytest.approx(0.5)
    assert m["spd"] == pytest.approx(0.0) and m["abs_spd"] == pytest.approx(0.0)


def test_statistical_parity_sign():
    # privileged group selected more often -> negative SPD (unprivileged - privileged)
    y = np.array([1, 0, 1, 0, 1, 0, 1, 0])
    p = np.array([0, 0, 0, 1, 1, 1, 1, 0])
    g = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    m = fairness_metrics(y, p, g)
    assert m["spd"] == pytest.approx(0.25 - 0.75)
    assert m["abs_spd"] == pytest.approx(0.5)


def test_weights_equal_duplicated_records():
    weights = np.array([2, 1, 1, 1, 1, 1, 3, 1])
    weighted = fairness_metrics(Y, P, G, sample_weight=weights)
    repeat = np.repeat(np.arange(8), weights)
    duplicated = fairness_metrics(Y[repeat], P[repeat], G[repeat])
    for name, value in duplicated.items():
        assert weighted[name] == pytest.approx(value), name
    assert weighted != fairness_metrics(Y, P, G)


def test_perfect_predictions_are_fair_and_accurate():
    m = fairness_metrics(Y, Y, G)
    assert m["balanced_accuracy"] == 1.0
    assert all(m[k] == 0 for k in ("abs_bal_acc_diff", "abs_avg_odds", "abs_eq_opp", "abs_spd"))


@pytest.mark.parametrize("y,p,g,match", [
    (Y, P[:-1], G, "shapes"),
    (Y, P + 1, G, "non-binary"),
    (Y, P, np.zeros(8, int), "group"),
    (np.array([1, 1, 1, 1, 1, 1, 0, 0]), P, G, "both labels"),
])
def test_bad_inputs_raise(y, p, g, match):
    with pytest.raises(ParameterError, match=match):
        fairness_metrics(y, p, g)


def test_bad_weights_raise():
    with pytest.raises(ParameterError, match="sample_weight"):
        fairness_metrics(Y, P, G, sample_weight=-np.ones(8))
