"""AIF360 0.6.1 as a test oracle for paper 002 (``pip install -e ".[peers]"``; skipped without aif360).

AIF360's classic API runs on numeric ``BinaryLabelDataset``s; each test builds one from the same
arrays our code receives (features without the sensitive attribute, label 1 favourable, group 1
privileged) and compares:

- the group metrics of ``fairnb.metrics`` with ``ClassificationMetric`` on the same predictions,
  unweighted and with instance weights (to 1e-12);
- our ``reweighing_weights`` with ``Reweighing``'s instance weights (to 1e-12);
- our ``CalibratedEqOdds`` with ``CalibratedEqOddsPostprocessing`` (cost constraint ``weighted``,
  same seed, same validation scores): mixing rates to 1e-12 and identical predictions;
- our ``MetaFairClassifier`` with AIF360's (τ = 0.8, ``fdr`` and ``sr``, same seed): identical
  predictions, decision values to 1e-9.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("aif360")
logging.getLogger().setLevel(logging.ERROR)  # aif360 logs every optional algorithm it cannot import

from aif360.algorithms.inprocessing import MetaFairClassifier as AifMetaFair  # noqa: E402
from aif360.algorithms.postprocessing import CalibratedEqOddsPostprocessing  # noqa: E402
from aif360.algorithms.preprocessing import Reweighing as AifReweighing  # noqa: E402
from aif360.datasets import BinaryLabelDataset  # noqa: E402
from aif360.metrics import ClassificationMetric  # noqa: E402

from fairnb.metrics.downstream import score as downstream_score  # noqa: E402
from fairnb.metrics.group import fairness_metrics  # noqa: E402
from fairnb.paper002.baselines import CalibratedEqOdds, MetaFairClassifier, reweighing_weights  # noqa: E402

pytestmark = pytest.mark.peers
GROUPS = {"unprivileged_groups": [{"a": 0}], "privileged_groups": [{"a": 1}]}


def _data(n: int, seed: int, d: int = 5):
    rng = np.random.default_rng(seed)
    a = (rng.random(n) < 0.6).astype(int)
    x = rng.normal(size=(n, d))
    x[:, 0] += a
    y = ((x[:, 1] + 0.8 * a + 0.5 * rng.normal(size=n)) > 0.5).astype(int)
    return x.astype(np.float32), y, a


def _dataset(x, y, a, weights=None, scores=None) -> BinaryLabelDataset:
    """A BinaryLabelDataset whose features are exactly ``x`` (AIF360 would otherwise also read a)."""
    frame = pd.DataFrame(np.asarray(x, dtype=np.float64), columns=[f"f{i}" for i in range(x.shape[1])])
    frame["a"], frame["y"] = a.astype(float), y.astype(float)
    ds = BinaryLabelDataset(df=frame, label_names=["y"], protected_attribute_names=["a"],
                            favorable_label=1.0, unfavorable_label=0.0)
    ds.features = np.asarray(x, dtype=np.float64)
    if weights is not None:
        ds.instance_weights = np.asarray(weights, dtype=np.float64)
    if scores is not None:
        ds.scores = np.asarray(scores, dtype=np.float64).reshape(-1, 1)
    return ds


def _predicted(ds: BinaryLabelDataset, pred: np.ndarray) -> BinaryLabelDataset:
    out = ds.copy(deepcopy=True)
    out.labels = pred.astype(np.float64).reshape(-1, 1)
    return out


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "instance weights"])
def test_group_metrics_match_classification_metric(weighted):
    x, y, a = _data(3000, 0)
    rng = np.random.default_rng(1)
    pred = np.where(rng.random(len(y)) < 0.8, y, 1 - y) * (rng.random(len(y)) < 0.9 + 0.05 * a)
    weights = rng.uniform(0.5, 3.0, len(y)) if weighted else None
    truth = _dataset(x, y, a, weights)
    cm = ClassificationMetric(truth, _predicted(truth, pred), **GROUPS)
    ours = fairness_metrics(y, pred, a, sample_weight=weights)

    def ba(privileged=None):
        return (cm.true_positive_rate(privileged) + cm.true_negative_rate(privileged)) / 2

    expected = {
        "eq_opp_diff": cm.equal_opportunity_difference(),
        "abs_eq_opp": abs(cm.equal_opportunity_difference()),
        "avg_odds_diff": cm.average_odds_difference(),
        "abs_avg_odds": cm.average_abs_odds_difference(),
        "spd": cm.statistical_parity_difference(),
        "abs_spd": abs(cm.statistical_parity_difference()),
        "balanced_accuracy": ba(),
        "abs_bal_acc_diff": abs(ba(False) - ba(True)),
    }
    for name, value in expected.items():
        assert ours[name] == pytest.approx(value, abs=1e-12), name
    if not weighted:  # paper 000's downstream ratios (fairlearn), unweighted by design
        scored = downstream_score(y, pred, np.where(a == 1, "privileged", "unprivileged"))
        di = cm.disparate_impact()
        assert scored["dpr"] == pytest.approx(min(di, 1 / di), abs=1e-12)
        tpr, fpr = (cm.true_positive_rate(False), cm.true_positive_rate(True)), (cm.false_positive_rate(False), cm.false_positive_rate(True))
        assert scored["eor"] == pytest.approx(min(min(tpr) / max(tpr), min(fpr) / max(fpr)), abs=1e-12)


def test_reweighing_weights_match_aif360():
    x, y, a = _data(2000, 2)
    transformed = AifReweighing(**GROUPS).fit_transform(_dataset(x, y, a))
    np.testing.assert_allclose(reweighing_weights(y, a), transformed.instance_weights, rtol=0, atol=1e-12)


def test_calibrated_eq_odds_matches_aif360():
    x, y, a = _data(2000, 3)
    xv, yv, av = _data(1500, 4)
    xt, yt, at = _data(3000, 5)
    ours = CalibratedEqOdds("weighted", seed=7).fit(x, y, sensitive_features=a, validation=(xv, yv, av))
    # AIF360 post-processes the same logistic regression's scores
    scores_val = ours.model_.predict_proba(xv)[:, 1]
    scores_test = ours.model_.predict_proba(xt)[:, 1]
    theirs = CalibratedEqOddsPostprocessing(cost_constraint="weighted", seed=7, **GROUPS)
    theirs.fit(_dataset(xv, yv, av), _dataset(xv, yv, av, scores=scores_val))
    assert ours.mix_rate_[1] == pytest.approx(max(theirs.priv_mix_rate, 0.0), abs=1e-12)
    assert ours.mix_rate_[0] == pytest.approx(max(theirs.unpriv_mix_rate, 0.0), abs=1e-12)
    assert max(ours.mix_rate_.values()) > 0.05  # the case is not trivial: one group's scores are mixed
    assert ours.base_rate_ == pytest.approx({0: theirs.base_rate_unpriv, 1: theirs.base_rate_priv}, abs=1e-12)
    predicted = theirs.predict(_dataset(xt, yt, at, scores=scores_test))
    np.testing.assert_allclose(ours.predict_proba(xt, sensitive_features=at), predicted.scores.ravel(), atol=1e-12)
    np.testing.assert_array_equal(ours.predict(xt, sensitive_features=at), predicted.labels.ravel().astype(int))


@pytest.mark.parametrize("kind", ["fdr", "sr"])
def test_meta_fair_classifier_matches_aif360(kind):
    x, y, a = _data(400, 6, d=4)
    xt, yt, at = _data(500, 7, d=4)
    ours = MetaFairClassifier(0.8, kind, seed=11).fit(x, y, sensitive_features=a)
    theirs = AifMetaFair(tau=0.8, sensitive_attr="a", type=kind, seed=11).fit(_dataset(x, y, a))
    np.testing.assert_allclose(ours.decision_function(xt, sensitive_features=at), theirs.model(xt.astype(np.float64)),
                               rtol=0, atol=1e-9)
    predicted = theirs.predict(_dataset(xt, yt, at)).labels.ravel().astype(int)
    np.testing.assert_array_equal(ours.predict(xt, sensitive_features=at), predicted)
