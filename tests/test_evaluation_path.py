"""One evaluation path for every row of paper 000's Table 1.

- the comparison (baselines) and the stage-3 study (our method) give the same numbers for the rows
  they share — our student, FairDisco (decoded and representation), the original data — with the
  same seed, split and teacher;
- a constant classifier and a collapsed generator are flagged degenerate, by the run and by the
  claims ledger alike;
- every row uses the same features, whatever rows the feature map was built with.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import fairnb.data
from fairnb.metrics import claims as ledger_rule
from fairnb.metrics.downstream import (COLLAPSED_COVERAGE, NEAR_CONSTANT_RATE, FeatureMap, degeneracy, feature_columns,
                                       score_predictions, score_synthetic)
from fairnb.paper000 import comparison, study
from fairnb.paper000.settings import StudySettings

SETTINGS = dict(max_rows=300, fairdisco_epochs=1, distill_epochs=1, fldgm_epochs=1, batch_size=100)
STAGE3 = StudySettings(dataset="adult", sensitive="sex", seeds=(0,), teacher_epochs=1, student_epochs=1, max_rows=300,
                       batch_size=100, device="cpu")


@pytest.fixture(scope="module")
def both_paths():
    stage3 = study.synthesis_study(STAGE3, quality_losses=("l1",))
    settings = comparison.ComparisonSettings("adult", "sex", methods=("fairdisco", "fldgm", "original", "ours_l1"), **SETTINGS)
    return stage3, comparison.run_comparison(settings, [0])


def test_comparison_and_stage3_paths_give_equal_metrics(both_paths):
    stage3, compared = both_paths
    ours = study.report_metrics(stage3, "favourable")
    theirs = compared.metrics()
    rename = {"l1": "ours_l1"}
    checked = 0
    for name, values in ours.items():
        method, metric = name.split("/", 1)
        if study.is_ablation(method):  # the stage-3 page's ablations have no comparison row
            continue
        other = theirs[f"{rename.get(method, method)}/{metric}"]
        np.testing.assert_array_equal(values, other, err_msg=name)
        checked += 1
    # every row and reading the stage-3 study reports was compared: both codings, both protocols, density, flags
    assert checked == len([n for n in ours if not study.is_ablation(n.split("/")[0])]) > 100
    for method in ("ours_l1", "fairdisco", "fairdisco_representation", "original"):
        assert f"{method}/unfavourable_dpr" in theirs and f"{method}/degenerate" in theirs


def test_comparison_rows_share_the_teacher(both_paths):
    _, compared = both_paths
    metrics = compared.metrics()
    teacher = metrics["fairdisco/fit_seconds"][0]
    # FLDGMs diffuses the codes of the very teacher our student distils: its time includes that teacher's
    assert metrics["fldgm/fit_seconds"][0] >= teacher
    assert metrics["ours_l1/fit_seconds"][0] >= teacher
    assert metrics["fairdisco_representation/fit_seconds"][0] == teacher
    assert "fairdisco_representation/density" not in metrics  # no records, no density
    assert "original/source_density" not in metrics and "fldgm/source_density" in metrics
    assert list(compared.summary().index)[:2] == [compared.label("fldgm"), compared.label("fairdisco")]


def test_a_constant_classifier_is_degenerate_in_the_run_and_in_the_ledger():
    ds = fairnb.data.load("german")
    train, test = study.prepare_data("german", "sex", max_rows=200, seed=0)
    # constructed records: every record carries the favourable label, so any classifier is constant
    constant = train.assign(**{ds.target: 1})
    row = score_synthetic(constant, test, test, dataset="german", sensitive="sex", seed=0)
    assert row.degenerate and "single label" in row.reason and "near-constant" in row.reason
    assert row.codings["favourable"]["positive_rate_privileged"] == 1.0
    assert row.codings["unfavourable"]["positive_rate_unprivileged"] == 0.0  # the same predictions, other coding
    assert row.metrics("favourable")["degenerate"] == 1.0
    # a predictor that says "unfavourable" for everyone
    flat = score_predictions(np.zeros(len(test), dtype=int), test, "german", "sex")
    assert flat.degenerate and "near-constant" in flat.reason
    # the real data are not degenerate
    assert not score_synthetic(train, test, test, dataset="german", sensitive="sex", seed=0).degenerate
    # the ledger reads the run's record and flags the same repetition
    from fairnb.book.claims import degenerate_seeds

    scores = {("constant", 0): row, ("real", 0): score_synthetic(train, test, None, dataset="german", sensitive="sex", seed=0)}
    names = study.record_metrics(scores, "favourable")
    record = {"run": "fair_synthesis-german-sex", "parameters": {"positive_label": "favourable", "seed": 0},
              "metrics": {k: {"mean": float(np.mean(v)), "std": 0.0, "n": len(v), "values": v} for k, v in names.items()}}
    assert 0 in degenerate_seeds(record, "fair_synthesis", "constant/")
    assert degenerate_seeds(record, "fair_synthesis", "real/") == {}


def test_degeneracy_rule_is_the_ledgers():
    assert NEAR_CONSTANT_RATE == ledger_rule.NEAR_CONSTANT_RATE and COLLAPSED_COVERAGE == ledger_rule.COLLAPSED_COVERAGE
    assert degeneracy([0.01, 0.0]) and degeneracy([0.99, 1.0]) and not degeneracy([0.01, 0.3])
    assert degeneracy([0.3, 0.2], coverage=0.005)[0].startswith("collapsed generator")
    assert degeneracy([0.3, 0.2], coverage=0.5) == []
    for rates, coverage in (([0.01, 0.0], None), ([0.3, 0.2], 0.005), ([0.3, 0.2], 0.5), ([0.97, 0.99], 0.2)):
        expected = ledger_rule.near_constant(rates) or ledger_rule.collapsed(coverage)
        assert bool(degeneracy(rates, coverage)) == expected


def test_one_feature_set_for_every_row():
    from fairnb.paper000.baselines import classical

    ds = fairnb.data.load("german")
    train, test = study.prepare_data("german", "sex", max_rows=200, seed=0)
    # the other protected column enters the features, as in the baselines that build their own
    assert classical.feature_columns is feature_columns  # one rule for every classifier's features
    a = FeatureMap(ds, "sex", [train, test])
    b = FeatureMap(ds, "sex", [train.head(10)])
    np.testing.assert_array_equal(a(test), b(test))
    assert any(name.startswith("age_group") for name in a.feature_names)
    odd = train.head(3).assign(**{ds.categorical[0]: "not a category"})
    with pytest.raises(Exception, match=ds.categorical[0]):
        FeatureMap(ds, "sex", [odd])


def test_density_reference_is_held_out(both_paths):
    stage3, _ = both_paths
    scores = stage3.extras["scores"]
    l1 = scores[("l1", 0)]
    assert set(l1.quality) == {"density", "coverage"} and set(l1.source_quality) == {"density", "coverage"}
    assert scores[("original", 0)].source_quality == {}
    metrics = stage3.metrics
    ablations = {study.ablation_method("l1", c, d) for c, d in study.ABLATIONS[1:]}
    assert set(metrics.method) == {"original", "fairdisco", "fairdisco_representation", "l1"} | ablations
    assert {"degenerate", "degenerate_reason", "source_density"} <= set(metrics.columns)
    assert isinstance(study.degenerate_table(scores), pd.DataFrame)


def test_reference_binning_round_trip():
    ds = fairnb.data.load("adult")
    binning = study.ReferenceBinning(ds)
    view = binning.dataset
    assert view.numeric == [] and set(ds.numeric) <= set(view.categorical)
    frame = ds.frame.head(500)
    binned = binning.bin(frame)
    assert binned["capital-gain"].isin(["0", "1"]).all() and binned["age"].nunique() <= 8
    assert binned["education-num"].tolist() == frame["education-num"].astype(str).tolist()  # few values: kept as categories
    back = binning.unbin(binned)
    assert list(back.dtypes) == list(frame.dtypes)
    # every decoded value lies in the bin it came from
    pd.testing.assert_frame_equal(binning.bin(back), binned)
    assert study.teacher_encoding(None, "paper") == "binned" and study.teacher_encoding(None, "default") == "standard"
    with pytest.raises(Exception, match="teacher_encoding"):
        study.teacher_encoding("bins")


def test_binned_teacher_rows_come_back_in_the_data_schema():
    settings = comparison.ComparisonSettings("adult", "sex", methods=("fairdisco", "fldgm"), teacher_encoding="binned",
                                             **SETTINGS)
    result = comparison.run_comparison(settings, [0], keep_synthetic=True)
    train, _ = study.prepare_data("adult", "sex", max_rows=SETTINGS["max_rows"], seed=0)
    binning = study.ReferenceBinning(fairnb.data.load("adult"))
    for method in ("fairdisco", "fldgm"):
        records = result.synthetic[0][method]
        assert list(records.columns) == list(train.columns) and list(records.dtypes) == list(train.dtypes)
        assert set(records["capital-gain"]) <= set(binning.values["capital-gain"].values())
    assert "fairdisco_representation/dpr" in result.metrics()


def test_shap_share_and_lambda_sweep_are_recorded_per_seed(both_paths):
    stage3, _ = both_paths
    shares = study.shap_shares(stage3, "adult", "sex", methods=("original", "l1"), n_explain=100)
    assert set(shares) == {"original/shap_sensitive", "l1/shap_sensitive"}      # the claims ledger's 000-8 names
    assert all(len(v) == 1 and 0.0 <= v[0] <= 1.0 for v in shares.values())
    assert study.shap_share(pd.Series({"age": 3.0, "sex": 1.0}), "sex") == 0.25
    with pytest.raises(Exception, match="methods"):
        study.shap_shares(stage3, "adult", "sex", methods=("huber",))
    sweep = study.lambda_sweep(STAGE3.with_(seeds=(0, 1)), lams=[1.0, 10.0])
    values = study.sweep_metrics(sweep)
    assert {"lambda_sweep/1/dpr", "lambda_sweep/10/accuracy", "lambda_sweep/10/unfavourable_dpr",
            "lambda_sweep/1/degenerate", "lambda_sweep/1/positive_rate_privileged"} <= set(values)
    assert all(len(v) == 2 for v in values.values())   # one value per seed, for paired comparisons
    assert values["lambda_sweep/1/dpr"] == sweep.metrics[sweep.metrics.lam == 1.0].sort_values("seed").dpr.tolist()
