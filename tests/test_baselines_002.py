"""Paper-002 baselines: hand-checked definitions, fit/predict on a small sample, clear errors."""

import numpy as np
import pytest

from fairnb.paper002.baselines import (BASELINES, LAFTR, AdversarialDebiasing, Baseline002, CalibratedEqOdds,
                                       DisparateImpactRemover, MetaFairClassifier, PlainClassifier, QuantileRepair,
                                       Reweighing, fairness_ratio, reweighing_weights, wass_adversary_loss,
                                       weighted_cost)
from fairnb.errors import ParameterError
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
    repaired = QuantileRepair(1.0).fit(x, a).transform(x, a)
    # full repair: both groups share one distribution, halfway between (median of two = mean)
    assert repaired[a == 0].mean() == pytest.approx(repaired[a == 1].mean(), abs=0.05)
    assert repaired.mean() == pytest.approx(1.5, abs=0.1)
    # ranks within each group are preserved
    assert np.all(np.diff(repaired[a == 0][np.argsort(x[a == 0, 0]), 0]) >= -1e-12)
    untouched = QuantileRepair(0.0).fit(x, a).transform(x, a)
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
    ceo = CalibratedEqOdds(seed=0).fit_scores(scores, y, a)
    # unpriv cost = 0.5*0.5*0.5 + 0.5*0.5*0.5 = 0.25; priv trivial (scores 0.5) = 0.25 -> mix 1.0
    assert ceo.mix_rate_[0] == 0.0 and ceo.mix_rate_[1] == pytest.approx(1.0)
    adjusted = ceo.adjust(scores, a)
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


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_every_baseline_fits_and_predicts(name):
    x, y, a = _sample()
    kwargs = {"epochs": 3} if name in ("adversarial_debiasing", "laftr") else {}
    if name == "baseline":
        kwargs = {"settings": ClassifierSettings(epochs=3, hidden=16)}
    model = BASELINES[name](**kwargs)
    assert isinstance(model, Baseline002)
    model.fit(x[:300], y[:300], a[:300], validation=(x[300:], y[300:], a[300:]))
    pred = model.predict(x[300:], a[300:])
    assert pred.shape == (100,) and set(np.unique(pred)) <= {0, 1}


def test_reweighing_reduces_statistical_parity_gap():
    x, y, a = _sample(2000)
    from sklearn.linear_model import LogisticRegression

    plain = LogisticRegression(max_iter=1000).fit(x, y).predict(x)
    fair = Reweighing().fit(x, y, a).predict(x, a)
    gap = lambda p: abs(p[a == 1].mean() - p[a == 0].mean())
    assert gap(fair) < gap(plain)


def test_meta_fair_classifier_meets_its_constraint_on_training_data():
    x, y, a = _sample(1000)
    model = MetaFairClassifier(tau=0.8, kind="sr").fit(x, y, a)
    assert model.met_constraint_ and model.train_ratio_ >= 0.8


def test_errors():
    x, y, a = _sample(50)
    with pytest.raises(ParameterError, match="validation"):
        CalibratedEqOdds().fit(x, y, a)
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
    with pytest.raises(ParameterError, match="group 1"):
        Reweighing().fit(x, y, np.zeros(50, int))
    with pytest.raises(RuntimeError, match="not fitted"):
        PlainClassifier().predict(x, a)
    model = Reweighing().fit(x, y, a)
    with pytest.raises(ParameterError, match="columns"):
        model.predict(x[:, :3], a)


def test_pipeline_on_meps_fixture_scales_on_train_and_reports_weighted_metrics(tmp_path):
    import fairnb.data
    from conftest import write_meps_fixture
    from fairnb.paper002.study import Budget, prepare, report_values, run_repetition
    from fairnb.paper002.translator import TranslatorSettings

    dataset = fairnb.data.load("meps", data_path=str(write_meps_fixture(tmp_path, rows=500)))
    data = prepare(dataset, "RACE", seed=0)
    # max-abs scaling fitted on the training split: training columns lie in [-1, 1], 1 reached
    assert np.abs(data.x["train"]).max() == pytest.approx(1.0)
    assert not any(name.startswith("RACE") for name in data.design.feature_names)
    budget = Budget(TranslatorSettings(epochs=1, hidden=8), ClassifierSettings(epochs=1, hidden=8), 1, 1, sweep=False)
    result = run_repetition(dataset, "RACE", 0, budget)
    values = report_values([result])
    assert "ours/abs_eq_opp" in values and "laftr/weighted_abs_eq_opp" in values
    assert all(len(v) == 1 for v in values.values())
