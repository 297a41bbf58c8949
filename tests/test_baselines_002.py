"""Paper-002 baselines: hand-checked definitions, a study on a MEPS fixture. The protocol (fit/predict,
errors, determinism, behaviour) is checked for every classifier in ``test_classifiers_002.py``."""

import numpy as np
import pytest

from fairnb.errors import ParameterError
from fairnb.paper002.baselines import (LAFTR, AdversarialDebiasing, CalibratedEqOdds, DisparateImpactRemover,
                                       MetaFairClassifier, QuantileRepair, fairness_ratio, reweighing_weights,
                                       wass_adversary_loss, weighted_cost)
from fairnb.paper002.classifier import ClassifierSettings


def test_reweighing_weights_by_hand():
    # a: 0 0 0 1 | y: 1 0 0 1  -> P(a=0)=3/4, P(y=1)=1/2, P(a=0,y=1)=1/4 -> w = 3/4*1/2/(1/4) = 3/2
    a = np.array([0, 0, 0, 1])
    y = np.array([1, 0, 0, 1])
    w = reweighing_weights(y, a)
    # (a=0, y=0): 3/4 * 1/2 / (2/4) = 3/4; (a=1, y=1): 1/4 * 1/2 / (1/4) = 1/2
    np.testing.assert_allclose(w, [1.5, 0.75, 0.75, 0.5])


def test_reweighing_makes_label_independent_of_group():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, 1000)
    y = (rng.random(1000) < np.where(a == 1, 0.7, 0.3)).astype(int)
    w = reweighing_weights(y, a)
    rates = [np.average(y[a == g], weights=w[a == g]) for g in (0, 1)]
    assert rates[0] == pytest.approx(rates[1]) == pytest.approx(y.mean())


def test_quantile_repair_equalises_group_distributions():
    rng = np.random.default_rng(0)
    a = np.repeat([0, 1], 500)
    x = np.concatenate([rng.normal(0, 1, 500), rng.normal(3, 1, 500)])[:, None]
    repaired = QuantileRepair(1.0).fit(x, sensitive_features=a).transform(x, sensitive_features=a)
    # full repair: both groups share one distribution, halfway between (median of two = mean)
    assert repaired[a == 0].mean() == pytest.approx(repaired[a == 1].mean(), abs=0.05)
    assert repaired.mean() == pytest.approx(1.5, abs=0.1)
    # ranks within each group are preserved
    assert np.all(np.diff(repaired[a == 0][np.argsort(x[a == 0, 0]), 0]) >= -1e-12)
    untouched = QuantileRepair(0.0).fit(x, sensitive_features=a).transform(x, sensitive_features=a)
    np.testing.assert_allclose(untouched, x)


def test_weighted_cost_by_hand():
    scores = np.array([0.2, 0.4, 0.9, 0.7])
    y = np.array([0, 0, 1, 1])
    # GFPR = mean(0.2, 0.4) = 0.3; GFNR = mean(0.1, 0.3) = 0.2; base = 0.5
    assert weighted_cost(scores, y) == pytest.approx(0.5 * 0.3 * 0.5 + 0.5 * 0.2 * 0.5)


def test_calibrated_eq_odds_mixes_the_cheaper_group():
    # privileged group's scores are perfect (cost 0), unprivileged noisy: privileged gets degraded
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    a = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    scores = np.array([0.4, 0.6, 0.6, 0.4, 0.0, 1.0, 0.0, 1.0])
    ceo = CalibratedEqOdds(seed=0).fit_scores(scores, y, sensitive_features=a)
    # unpriv cost = 0.5*0.5*0.5 + 0.5*0.5*0.5 = 0.25; priv trivial (scores 0.5) = 0.25 -> mix 1.0
    assert ceo.mix_rate_[0] == 0.0 and ceo.mix_rate_[1] == pytest.approx(1.0)
    adjusted = ceo.adjust(scores, sensitive_features=a)
    np.testing.assert_allclose(adjusted[a == 1], 0.5)
    np.testing.assert_allclose(adjusted[a == 0], scores[a == 0])


def test_fairness_ratio_by_hand():
    y = np.array([1, 0, 1, 0])
    pred = np.array([1, 1, 1, 0])
    a = np.array([0, 0, 1, 1])
    assert fairness_ratio(pred, y, a, "sr") == pytest.approx(0.5)       # 1.0 vs 0.5
    assert fairness_ratio(pred, y, a, "fdr") == pytest.approx(0.0)      # 0.5 vs 0.0


def test_wass_adversary_loss_is_group_balanced():
    import torch

    a = torch.tensor([0, 0, 0, 1])
    a_hat = torch.tensor([0.0, 0.0, 0.0, 0.0])
    # group 0 error 0, group 1 error 1 -> balanced mean 0.5 (an unbalanced mean would be 0.25)
    assert wass_adversary_loss(a_hat, a).item() == pytest.approx(0.5)


def _sample(n=400, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    x = rng.random((n, 6)).astype(np.float32)
    x[:, 0] = np.clip(x[:, 0] * 0.5 + 0.5 * a, 0, 1)       # a proxy for the group
    y = ((x[:, 1] + 0.3 * a + 0.1 * rng.normal(size=n)) > 0.6).astype(int)
    return x, y, a


def test_meta_fair_classifier_keeps_a_grid_point_meeting_the_relaxed_constraint():
    # Celis et al. as AIF360: the kept interval's training predictions have γ >= τ − 0.2
    x, y, a = _sample(600)
    model = MetaFairClassifier(tau=0.8, kind="sr").fit(x, y, sensitive_features=a)
    assert model.interval_ != (0.0, 0.0) and model.train_ratio_ >= 0.6
    assert model.train_accuracy_ > 0.6


def test_setting_errors_name_the_parameter():
    with pytest.raises(ParameterError, match="cost_constraint"):
        CalibratedEqOdds("accuracy")
    with pytest.raises(ParameterError, match="repair_level"):
        DisparateImpactRemover(1.5)
    with pytest.raises(ParameterError, match="kind"):
        MetaFairClassifier(kind="acc")
    with pytest.raises(ParameterError, match="fair_coeff"):
        LAFTR(fair_coeff=-1)
    with pytest.raises(ParameterError, match="epochs"):
        AdversarialDebiasing(epochs=0)


def test_pipeline_on_meps_fixture_scales_on_train_and_reports_weighted_metrics(tmp_path, monkeypatch):
    import fairnb.data
    from conftest import write_meps_fixture
    from fairnb.paper002.study import StudySettings, prepare, report_values, run_repetition
    from fairnb.paper002.translator import TranslatorSettings

    monkeypatch.setenv("FAIRNB_MEPS_ROWS", "any")  # a generated sample, not the whole HC-181 file
    dataset = fairnb.data.load("meps", data_path=str(write_meps_fixture(tmp_path, rows=500)))
    data = prepare(dataset, sensitive="RACE", seed=0)
    # max-abs scaling fitted on the training split: training columns lie in [-1, 1], 1 reached
    assert np.abs(data.x["train"]).max() == pytest.approx(1.0)
    assert not any(name.startswith("RACE") for name in data.design.feature_names)
    settings = StudySettings(TranslatorSettings(epochs=1, hidden=8), ClassifierSettings(epochs=1, hidden=8),
                             adversarial_epochs=1, laftr_epochs=1, sweep=False)
    result = run_repetition(dataset, sensitive="RACE", seed=0, settings=settings)
    values = report_values([result])
    assert "ours/abs_eq_opp" in values and "laftr/weighted_abs_eq_opp" in values
    # the paper's arms and each group's predicted-positive rate (to spot a near-constant classifier)
    assert {"downsampled/abs_eq_opp", "unbalanced/balanced_accuracy", "baseline/positive_rate_privileged"} <= set(values)
    assert all(len(v) == 1 for v in values.values())
