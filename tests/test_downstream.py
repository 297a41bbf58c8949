"""Downstream evaluation: fairlearn agreement, label conventions, protocols, seeding, errors."""

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_ratio, equalized_odds_ratio

import fairnb.data
from fairnb.errors import ParameterError
from fairnb.metrics import evaluate, evaluate_protocols, score, shap_importance
from fairnb.metrics.downstream import labels
from fairnb.paper000.study import prepare_data, report_metrics, synthesis_study


def test_score_hand_computed_and_equal_to_fairlearn():
    y_true = np.array([1, 0, 1, 0, 1, 0, 1, 1])
    y_pred = np.array([1, 0, 0, 0, 1, 1, 1, 1])
    group = np.array(["privileged"] * 4 + ["unprivileged"] * 4)
    out = score(y_true, y_pred, group)
    # predicted-positive rates 1/4 and 4/4 → DPR 0.25
    assert out["dpr"] == pytest.approx(0.25)
    assert out["positive_rate_privileged"] == 0.25 and out["positive_rate_unprivileged"] == 1.0
    assert out["dpr"] == demographic_parity_ratio(y_true, y_pred, sensitive_features=group)
    assert out["eor"] == equalized_odds_ratio(y_true, y_pred, sensitive_features=group)
    assert out["accuracy"] == pytest.approx(6 / 8)
    assert out["recall"] == pytest.approx(4 / 5)


def test_label_conventions_flip():
    ds = fairnb.data.load("german")
    frame = ds.frame.head(20)
    assert (labels(frame, ds, "favourable") + labels(frame, ds, "unfavourable") == 1).all()


@pytest.fixture(scope="module")
def split():
    return prepare_data("german", "sex", max_rows=300, seed=0)


def test_evaluate_same_seed_same_metrics_and_protocols(split):
    train, test = split
    a = evaluate(train, test, "german", "sex", "random_forest", "favourable", seed=4)
    b = evaluate(train, test, "german", "sex", "random_forest", "favourable", seed=4)
    assert a == b
    both = evaluate_protocols(train, test, "german", "sex", "xgboost", "unfavourable", seed=1)
    assert set(both) == {"synthetic_real", "synthetic_split"}
    assert 0 <= both["synthetic_split"]["dpr"] <= 1


@pytest.mark.parametrize("name,value", [("classifier", "svm"), ("positive_label", "good")])
def test_bad_choices_raise(split, name, value):
    train, test = split
    with pytest.raises(ParameterError, match=name):
        evaluate(train, test, "german", "sex", **{name: value})


def test_shap_importance_one_entry_per_column(split):
    train, _ = split
    importance = shap_importance(train, "german", "sex", n_explain=50)
    ds = fairnb.data.load("german")
    assert set(importance.index) == set(ds.categorical) | set(ds.numeric) | set(ds.sensitive)  # every protected column
    assert (importance >= 0).all() and importance.is_monotonic_decreasing


def test_synthesis_study_names_and_seeding():
    from fairnb.paper000.settings import StudySettings

    settings = StudySettings(dataset="german", sensitive="sex", seeds=(0,), teacher_epochs=1, student_epochs=1, max_rows=200,
                             batch_size=100, device="cpu")
    a = synthesis_study(settings, quality_losses=("l1",))
    b = synthesis_study(settings, quality_losses=("l1",))
    pd.testing.assert_frame_equal(a.metrics, b.metrics)
    names = report_metrics(a, "favourable")
    assert {"original/dpr", "l1/dpr", "l1/eor", "l1/accuracy", "l1/recall", "l1/f1", "l1/density", "l1/coverage",
            "fairdisco/dpr", "l1/split_dpr", "l1/unfavourable_dpr", "original/split_dpr", "l1/degenerate",
            "l1/source_density", "l1/source_coverage", "l1/positive_rate_privileged", "l1/unfavourable_positive_rate_privileged",
            "fairdisco_representation/dpr", "fairdisco_representation/degenerate", "original/density"} <= set(names)
    assert "l1/unfavourable_density" not in names and "original/source_density" not in names
    assert "fairdisco_representation/density" not in names and "fairdisco_representation/split_dpr" not in names
    assert all(len(v) == 1 for v in names.values())
    # the other coding reads the same predictions
    assert names["l1/unfavourable_positive_rate_privileged"][0] == pytest.approx(1 - names["l1/positive_rate_privileged"][0])
    # how the teacher's and the student's training ended (one epoch each: the budget ran out)
    assert names["fairdisco/epochs_run"] == [1.0] and names["l1/epochs_run"] == [1.0]
    assert names["fairdisco/stopped_early"] == [0.0] and names["l1/stopped_early"] == [0.0]
    assert "original/stopped_early" not in names


def test_conventions_score_the_same_predictions_both_ways(split):
    from fairnb.metrics import evaluate_conventions

    train, test = split
    both = evaluate_conventions(train, test, "german", "sex", "random_forest", seed=2)
    assert both["favourable"] == evaluate(train, test, "german", "sex", "random_forest", "favourable", seed=2)
    fav, unfav = both["favourable"], both["unfavourable"]
    assert fav["accuracy"] == pytest.approx(unfav["accuracy"])
    assert fav["positive_rate_privileged"] == pytest.approx(1 - unfav["positive_rate_privileged"])
    assert fav["base_rate_unprivileged"] == pytest.approx(1 - unfav["base_rate_unprivileged"])
