"""Paper-002 reproduction tables: paper values with sources, ours read from results records."""

import json

import numpy as np
import pytest

import fairnb.paper002.reproduction as repro


def test_reference_values_have_sources():
    ref = repro.reference()
    assert len(ref) > 0 and ref["source"].str.len().min() > 0
    assert ref["value"].notna().all()
    assert set(ref.metric) >= {"balanced_accuracy", "abs_eq_opp", "abs_avg_odds", "abs_bal_acc_diff", "fid"}


def test_comparison_reads_records(tmp_path):
    record = {"run": "fair_classifier-adult-sex", "status": "ok", "profile": "smoke",
              "parameters": {"dataset": "adult", "sensitive": "sex"},
              "metrics": {"ours/balanced_accuracy": {"mean": 0.75, "std": 0.01, "n": 3},
                          "sweep/0.8/abs_eq_opp": {"mean": 0.2, "std": 0.0, "n": 3}}}
    (tmp_path / "fair_classifier-adult-sex.json").write_text(json.dumps(record))
    failed = dict(record, status="failed", metrics={"baseline/balanced_accuracy": {"mean": 0.1, "std": 0, "n": 1}})
    (tmp_path / "fair_classifier-adult-race.json").write_text(json.dumps(failed))
    table = repro.comparison(tmp_path)
    row = table[(table.dataset == "adult") & (table.method == "ours") & (table.metric == "balanced_accuracy")].iloc[0]
    assert row["ours"] == 0.75 and row["difference"] == pytest.approx(0.75 - row["paper"])
    # failed runs are ignored; cells without a run stay empty
    base = table[(table.dataset == "adult") & (table.method == "baseline") & (table.metric == "balanced_accuracy")].iloc[0]
    assert np.isnan(base["ours"])
    summary = repro.agreement_summary(table)
    assert summary["compared"] == 1.0


def test_empty_results_give_an_empty_summary(tmp_path):
    summary = repro.agreement_summary(repro.comparison(tmp_path))
    assert summary["compared"] == 0.0 and np.isnan(summary["median_abs_difference"])


def test_a_constant_classifier_is_flagged_degenerate_on_the_reproduction_page(tmp_path):
    """Paper 002's constant baseline (balanced accuracy 0.500 in every repetition) is named by the ledger's rule."""
    record = {"run": "fair_classifier-adult-sex", "status": "ok", "profile": "smoke",
              "parameters": {"dataset": "adult", "sensitive": "sex"},
              "metrics": {"baseline/balanced_accuracy": {"mean": 0.5, "std": 0.0, "n": 3, "values": [0.5, 0.5, 0.5]},
                          "ours/balanced_accuracy": {"mean": 0.75, "std": 0.01, "n": 3, "values": [0.74, 0.75, 0.76]}}}
    (tmp_path / "fair_classifier-adult-sex.json").write_text(json.dumps(record))
    table = repro.comparison(tmp_path)
    adult = table[(table.dataset == "adult") & (table.metric == "balanced_accuracy")].set_index("method")
    assert adult.loc["baseline", "degenerate"].startswith("3 of 3: chance-level classifier")
    assert adult.loc["ours", "degenerate"] == ""
