"""Paper-000 Table 1 reproduction: the reference file, the table builder and its marks."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

import fairnb.paper000.reproduction as repro  # noqa: E402
from fairnb.paper000.runtime import comparison_fit_seconds  # noqa: E402


def write_record(folder, run, template, parameters, metrics, status="ok"):
    record = {"run": run, "template": f"notebooks/{template}.ipynb", "parameters": parameters, "profile": "smoke",
              "status": status, "metrics": {k: {"mean": m, "std": s, "n": 3} for k, (m, s) in metrics.items()}}
    (folder / f"{run}.json").write_text(json.dumps(record))


@pytest.fixture()
def results(tmp_path):
    write_record(tmp_path, "comparison-adult-sex", "comparison", {"dataset": "adult", "sensitive": "sex"}, {
        "original/dpr": (0.80, 0.01),        # paper .32: marked
        "original/accuracy": (0.86, 0.02),   # paper .88: within 0.05
        "tabfairgan/dpr": (0.55, 0.10),      # paper .69: |−0.14| < 2 × 0.10: not marked
        "tabfairgan/density": (0.02, 0.001),
        "tabfairgan/fit_seconds": (12.0, 1.0),
        "decaf/split_dpr": (0.5, 0.0),       # another protocol: not a Table 1 cell
    })
    write_record(tmp_path, "comparison-compas-race", "comparison", {"dataset": "compas", "sensitive": "race"},
                 {"fldgm/dpr": (0.9, 0.02), "fldgm/accuracy": (0.6, 0.01)})
    write_record(tmp_path, "comparison-adult-race", "comparison", {"dataset": "adult", "sensitive": "race"},
                 {"original/dpr": (0.1, 0.0)}, status="failed")
    write_record(tmp_path, "fair_synthesis-adult-sex", "fair_synthesis", {"dataset": "adult", "sensitive": "sex"}, {
        "l1/dpr": (0.97, 0.01), "mse/accuracy": (0.70, 0.01), "l1/split_dpr": (0.2, 0.0), "fairdisco/dpr": (0.0, 0.0)})
    return tmp_path


def test_reference_file_holds_table1():
    ref = repro.reference()
    assert list(ref.columns) == ["method", "attribute", "metric", "value", "source"]
    assert len(ref) == 11 * 7 * 2 - 4 * 2 * 2  # density and coverage are n/a for four rows
    assert set(ref.method) == set(repro.METHODS) and set(ref.metric) == set(repro.METRICS)
    assert not ref.duplicated(["method", "attribute", "metric"]).any()
    value = lambda m, a, k: float(ref[(ref.method == m) & (ref.attribute == a) & (ref.metric == k)].value.iloc[0])  # noqa: E731
    # spot checks typed from the notes (Table 1, Gender/Race cells)
    assert value("tabfairgan", "race", "dpr") == 0.026
    assert value("decaf", "sex", "coverage") == 0.571
    assert value("fldgm", "sex", "density") == 1.26
    assert value("fairdisco", "race", "accuracy") == 0.812
    assert value("original", "race", "eor") == 0.0
    assert value("ours_l1", "sex", "recall") == 0.99
    assert value("ours_mse", "race", "coverage") == 0.67
    assert ref[(ref.method == "threshold_optimizer") & (ref.metric == "density")].empty


def test_paper_column_equals_the_data_file(results):
    table = repro.table1(results)
    ref = repro.reference()
    adult = table[table.dataset == "adult"].dropna(subset=["paper"])
    merged = adult.merge(ref, on=["method", "attribute", "metric"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    np.testing.assert_array_equal(merged.paper.to_numpy(), merged.value.to_numpy())
    assert table[table.dataset == "compas"].paper.isna().all()


def test_known_differences_are_marked(results):
    table = repro.table1(results).set_index(["dataset", "method", "attribute", "metric"])
    original_dpr = table.loc[("adult", "original", "sex", "dpr")]
    assert original_dpr.ours == 0.80 and original_dpr.difference == pytest.approx(0.48) and original_dpr.marked
    assert not table.loc[("adult", "original", "sex", "accuracy")].marked
    tabfairgan = table.loc[("adult", "tabfairgan", "sex", "dpr")]
    assert tabfairgan.tolerance == pytest.approx(0.20) and not tabfairgan.marked
    assert table.loc[("adult", "ours_l1", "sex", "dpr")].ours == 0.97
    assert table.loc[("adult", "ours_mse", "sex", "accuracy")].marked  # .70 vs .82
    # missing ours → not marked; failed runs and other protocols are ignored
    assert not table.loc[("adult", "decaf", "sex", "dpr")].marked
    assert np.isnan(table.loc[("adult", "original", "race", "dpr")].ours)
    assert ("adult", "decaf", "sex", "split_dpr") not in table.index
    assert np.isnan(table.loc[("adult", "fairdisco", "sex", "dpr")].ours)  # fair_synthesis' own fairdisco row is not used
    assert table.loc[("compas", "fldgm", "race", "dpr")].ours == 0.9


def test_wide_table_paragraphs_and_figure(results):
    table = repro.table1(results)
    wide = repro.wide(table)
    cell = wide.loc[("adult", "Original data", "sex"), "DPR"]
    assert cell.startswith("⚠") and "0.800" in cell and "+0.480" in cell
    assert "no run" in wide.loc[("adult", "Decaf", "sex"), "DPR"]
    text = repro.marked_markdown(table)
    assert "Original data, adult / sex" in text and "DPR 0.80 vs 0.32" in text
    summary = repro.agreement(table)
    assert summary["cells_marked"] == table.marked.sum() >= 2
    fig = repro.tradeoff_figure(table, "adult")
    assert len(fig.axes) == 2


def test_missing_results_give_a_note_not_a_crash(tmp_path, results):
    empty = repro.table1(tmp_path / "nothing")
    assert empty.ours.isna().all() and len(empty) == len(repro.reference())
    assert "comparison-adult-sex" in repro.missing_note(tmp_path / "nothing")
    assert repro.missing_runs(results) == ["comparison-adult-race", "comparison-compas-sex"]
    assert repro.marked_markdown(empty).startswith("No cell")
    repro.tradeoff_figure(empty, "compas")
    seconds = comparison_fit_seconds(results)
    assert seconds.loc[seconds.method == "tabfairgan", "mean"].item() == 12.0


def test_tolerance_rule():
    ref = pd.DataFrame([{"method": "original", "attribute": "sex", "metric": "dpr", "value": 0.30, "source": "t"}])
    ours = pd.DataFrame([{"dataset": "adult", "method": "original", "attribute": "sex", "metric": "dpr", "ours": 0.36,
                          "ours_std": 0.0, "n": 3, "profile": "x", "run": "r"}])
    assert bool(repro.build_table(ref, ours).marked.iloc[0])            # 0.06 > 0.05
    assert not bool(repro.build_table(ref, ours.assign(ours_std=0.04)).marked.iloc[0])  # 0.06 < 2 × 0.04
    assert not bool(repro.build_table(ref, ours.assign(ours=0.34)).marked.iloc[0])      # 0.04 < 0.05
