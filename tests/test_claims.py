"""The claims ledger: the decision rule on constructed cases, and ``fairnb.book.claims.evaluate`` on
a folder of constructed results records (no notebook is executed)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fairnb.book import claims as ledger_page
from fairnb.book import ledger_page as page
from fairnb.metrics import claims as rule
from fairnb.runs.manifest import read_template

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- the decision rule


def decide(differences, threshold=0.0):
    return rule.decide(rule.t_interval(differences), threshold)[0]


def test_clear_win_is_supported():
    assert decide([0.10, 0.12, 0.11, 0.09, 0.10]) == rule.SUPPORTED


def test_clear_loss_is_contradicted():
    assert decide([-0.10, -0.12, -0.11, -0.09, -0.10]) == rule.CONTRADICTED


def test_overlap_is_inconclusive():
    assert decide([0.10, -0.10, 0.05, -0.08, 0.02]) == rule.INCONCLUSIVE


def test_one_repetition_is_inconclusive_whatever_its_size():
    verdict, reason = rule.decide(rule.t_interval([5.0]))
    assert verdict == rule.INCONCLUSIVE and "too few repetitions" in reason
    assert rule.decide(rule.t_interval([]))[0] == rule.INCONCLUSIVE
    assert rule.decide(rule.t_interval([None, float("nan"), 0.3]))[0] == rule.INCONCLUSIVE  # one finite value


def test_threshold_moves_the_line():
    # balanced accuracy a little lower than the plain classifier's: within a 0.02 margin, not better
    slightly_lower = [-0.010, -0.006, -0.012, -0.008]
    assert decide(slightly_lower, threshold=-0.02) == rule.SUPPORTED
    assert decide(slightly_lower, threshold=0.0) == rule.CONTRADICTED
    # "about 10 % better" read as at least 5 %: a credible 2 % gain is below that line
    assert decide([0.02, 0.021, 0.019], threshold=0.05) == rule.CONTRADICTED


def test_identical_differences_give_a_point_interval():
    interval = rule.t_interval([0.0, 0.0, 0.0])
    assert interval.low == interval.high == 0.0
    assert rule.decide(interval)[0] == rule.INCONCLUSIVE  # exactly on the threshold
    assert decide([0.01, 0.01, 0.01]) == rule.SUPPORTED


def test_t_interval_matches_the_textbook_formula():
    interval = rule.t_interval([1.0, 2.0, 3.0])
    half = stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)
    assert interval.mean == pytest.approx(2.0)
    assert (interval.low, interval.high) == pytest.approx((2.0 - half, 2.0 + half))
    assert interval.n == 3 and interval.kind == "t 95%"


def test_welch_interval_is_unpaired_and_matches_scipy():
    a, b = [0.10, 0.12, 0.14, 0.11], [0.02, 0.05, 0.01]
    interval = rule.welch_interval(a, b)
    expected = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (interval.low, interval.high) == pytest.approx((expected.low, expected.high))
    assert interval.n == 3 and "Welch" in interval.kind
    assert rule.decide(interval)[0] == rule.SUPPORTED
    assert rule.decide(rule.welch_interval([0.1], [0.0, 0.01]))[0] == rule.INCONCLUSIVE


def test_paired_differences_follow_direction_and_drop_missing_pairs():
    a, b = [0.9, None, 0.7, 0.8], [0.8, 0.5, float("nan"), 0.6]
    assert rule.paired_differences(a, b, "higher") == pytest.approx([0.1, 0.2])
    assert rule.paired_differences(a, b, "lower") == pytest.approx([-0.1, -0.2])
    with pytest.raises(ValueError, match="equal lengths"):
        rule.paired_differences([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="direction"):
        rule.paired_differences([1.0], [1.0], "better")


def test_relative_rule_compares_ratios_per_seed():
    ours, theirs = [1.10, 0.66, 2.2], [1.0, 0.6, 2.0]   # 10 % better at every seed, on three scales
    ratios = rule.paired_differences(ours, theirs, "higher", relative=True)
    assert ratios == pytest.approx([0.1, 0.1, 0.1])
    assert rule.decide(rule.t_interval(ratios), threshold=0.05)[0] == rule.SUPPORTED
    # a zero reference has no ratio: that pair is dropped
    assert rule.paired_differences([1.0, 1.0], [0.0, 0.5], "higher", relative=True) == pytest.approx([1.0])
    # runtime: (T_other - T_ours) / T_ours, the other method ~23 % slower
    assert rule.paired_differences([12.3, 24.6], [10.0, 20.0], "higher", relative=True) == pytest.approx([0.23, 0.23])


def test_trend_rule_uses_the_per_seed_slope():
    x = [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert rule.slope(x, [1 + 2 * v for v in x]) == pytest.approx(2.0)
    assert math.isnan(rule.slope([0.5, 0.5], [1.0, 2.0]))          # one setting: no slope
    assert rule.slope([0, 1, 2], [0.0, None, 4.0]) == pytest.approx(2.0)
    rising = [rule.slope(x, [0.6 + 0.05 * v + noise for v, noise in zip(x, offsets)])
              for offsets in ([0, 0.002, -0.001, 0, 0.001, 0], [0.001, 0, 0, -0.002, 0, 0.001], [0, 0, 0.001, 0, 0, -0.001])]
    assert decide(rising) == rule.SUPPORTED
    assert decide([-s for s in rising]) == rule.CONTRADICTED


def test_combine_needs_every_comparison():
    assert rule.combine([rule.SUPPORTED, rule.SUPPORTED]) == rule.SUPPORTED
    assert rule.combine([rule.SUPPORTED, rule.INCONCLUSIVE]) == rule.INCONCLUSIVE
    assert rule.combine([rule.SUPPORTED, rule.CONTRADICTED, rule.INCONCLUSIVE]) == rule.CONTRADICTED
    assert rule.combine([rule.SUPPORTED, rule.DEGENERATE]) == rule.SUPPORTED      # a degenerate competitor counts neither way
    assert rule.combine([rule.DEGENERATE, rule.DEGENERATE]) == rule.DEGENERATE
    assert rule.combine([rule.CONTRADICTED, rule.NOT_EVALUATED]) == rule.NOT_EVALUATED
    assert rule.combine([]) == rule.NOT_EVALUATED


def test_degeneracy_rules():
    assert rule.near_constant([0.01, 0.0])
    assert rule.near_constant([0.99, 0.995])
    assert not rule.near_constant([0.01, 0.99])          # maximal disparity, not a constant classifier
    assert not rule.near_constant([0.3, 0.4])
    assert not rule.near_constant([None])
    assert rule.chance_level(0.5) and rule.chance_level(0.509) and not rule.chance_level(0.52)
    assert rule.extreme_recall(0.001) and rule.extreme_recall(0.995) and not rule.extreme_recall(0.6)
    assert rule.collapsed(0.0) and not rule.collapsed(0.2) and not rule.collapsed(None)


# --------------------------------------------------------------------------- the ledger files


def test_ledger_rows_are_well_formed():
    table = ledger_page.ledger()
    assert table["id"].is_unique
    assert set(table["paper"]) == {"000", "002"}
    assert set(table["rule"]) <= set(rule.RULES)
    assert set(table["direction"]) <= set(rule.DIRECTIONS)
    assert set(table["coding"]) <= {"both", "none"}
    from fairnb.runs.manifest import template_file

    for _, row in table.iterrows():
        assert re.fullmatch(r"\d{3}-\d+\.\w+", row["id"]), row["id"]
        assert row["claim"] and row["source"] and row["metric"]
        for scope in (row["scope"] + ";" + row["versus"]).split(";"):
            assert not scope or re.fullmatch(r"\w+/\w+", scope), (row["id"], scope)
        refs = ledger_page._refs(row["a"]) + ledger_page._refs(row["b"])
        assert refs and (row["b"] or row["rule"] == "trend"), row["id"]
        for ref in refs:
            template_file(ref.template)  # raises when no notebook has that name
        if row["rule"] == "across":
            assert row["versus"], row["id"]


def test_ledger_covers_every_claim_of_the_issue():
    groups = set(ledger_page.ledger()["id"].str.split(".").str[0])
    assert groups == {f"000-{i}" for i in range(1, 10)} | {f"002-{i}" for i in range(1, 8)}
    table = ledger_page.ledger().set_index("id")
    assert table.loc["002-1.balanced_accuracy", "threshold"] == -0.02
    assert table.loc["000-4.accuracy", "threshold"] == pytest.approx(0.05)       # "about 10 %" → at least 5 %
    assert table.loc["002-3.translated", "threshold"] == -rule.CLOSE_TOLERANCE


# --------------------------------------------------------------------------- evaluate on constructed records


def write(folder: Path, run: str, template: str, metrics: dict, parameters: dict | None = None, profile: str = "default",
          with_values: bool = True) -> None:
    entries = {}
    for name, values in metrics.items():
        finite = [float(v) for v in values if v is not None]
        entry = {"mean": float(np.mean(finite)) if finite else None,
                 "std": float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0, "n": len(values)}
        if with_values:
            entry["values"] = list(values)
        entries[name] = entry
    dataset, _, sensitive = run.partition("-")[2].partition("-")
    params = {"dataset": dataset or "adult", "sensitive": sensitive or "sex"} | (parameters or {})
    record = {"run": run, "template": f"notebooks/x/01_{template}.ipynb", "parameters": params, "profile": profile,
              "status": "ok", "metrics": entries}
    (folder / f"{run}.json").write_text(json.dumps(record))


def rows(claim_ids):
    table = ledger_page.ledger()
    return table[table["id"].isin(claim_ids)].reset_index(drop=True)


def healthy(method_values, extra=None):
    """Metrics of one fair_synthesis method: given values plus rates that are not degenerate."""
    n = len(next(iter(method_values.values())))
    out = dict(method_values)
    for coding in ("", "favourable_"):
        out.setdefault(f"{coding}positive_rate_privileged", [0.4] * n)
        out.setdefault(f"{coding}positive_rate_unprivileged", [0.3] * n)
    out.update(extra or {})
    return out


def synthesis_metrics(methods: dict[str, dict[str, list]]) -> dict[str, list]:
    return {f"{method}/{name}": values for method, metrics in methods.items() for name, values in healthy(metrics).items()}


def test_evaluate_win_loss_and_both_label_codings(tmp_path):
    # unfavourable coding (the record's plain names): the student is clearly fairer; favourable: clearly less fair
    write(tmp_path, "fair_synthesis-adult-sex", "fair_synthesis", synthesis_metrics({
        "l1": {"dpr": [0.95, 0.96, 0.94], "favourable_dpr": [0.50, 0.52, 0.51]},
        "fairdisco": {"dpr": [0.80, 0.82, 0.81], "favourable_dpr": [0.70, 0.71, 0.69]},
    }))
    frame = ledger_page.evaluate(tmp_path, rows(["000-1.dpr"]))
    adult_sex = frame[frame.scope == "adult/sex"].set_index("label_coding")
    assert adult_sex.loc["unfavourable", "verdict"] == rule.SUPPORTED
    assert adult_sex.loc["favourable", "verdict"] == rule.CONTRADICTED
    assert adult_sex.loc["unfavourable", "mean_difference"] == pytest.approx(0.14)
    assert adult_sex.loc["unfavourable", "n"] == 3 and adult_sex.loc["unfavourable", "profile"] == "default"
    assert adult_sex.loc["unfavourable", "interval_kind"] == "t 95%"
    assert adult_sex.loc["unfavourable", "low"] > 0
    # the record for adult/race does not exist: named, not scored
    race = frame[frame.scope == "adult/race"]
    assert set(race.verdict) == {rule.NOT_EVALUATED}
    assert "no successful fair_synthesis record for adult/race" in race.note.iloc[0]


def test_overlapping_results_are_inconclusive(tmp_path):
    write(tmp_path, "fair_synthesis-adult-sex", "fair_synthesis", synthesis_metrics({
        "l1": {"accuracy": [0.80, 0.78, 0.83], "favourable_accuracy": [0.80, 0.78, 0.83]},
        "fairdisco": {"accuracy": [0.79, 0.81, 0.80], "favourable_accuracy": [0.79, 0.81, 0.80]},
    }))
    frame = ledger_page.evaluate(tmp_path, rows(["000-2.accuracy"]))
    assert set(frame[frame.scope == "adult/sex"].verdict) == {rule.INCONCLUSIVE}


def test_missing_metric_is_named_never_guessed(tmp_path):
    write(tmp_path, "fair_synthesis-adult-sex", "fair_synthesis", synthesis_metrics({
        "l1": {"dpr": [0.9, 0.9]}, "fairdisco": {"dpr": [0.8, 0.8]}}))
    frame = ledger_page.evaluate(tmp_path, rows(["000-1.dpr"]))
    favourable = frame[(frame.scope == "adult/sex") & (frame.label_coding == "favourable")].iloc[0]
    assert favourable.verdict == rule.NOT_EVALUATED
    assert favourable.note == ("not evaluated: fair_synthesis-adult-sex does not report l1/favourable_dpr; "
                               "fair_synthesis-adult-sex does not report fairdisco/favourable_dpr")
    assert math.isnan(favourable.mean_difference) and favourable.n == 0
    assert favourable.profile == "default"   # the record it found still names its profile


def test_old_records_without_values_are_not_paired(tmp_path):
    write(tmp_path, "fair_synthesis-adult-sex", "fair_synthesis", synthesis_metrics({
        "l1": {"density": [1.0, 1.1, 1.2]}, "fairdisco": {"density": [0.5, 0.6, 0.7]}}), with_values=False)
    frame = ledger_page.evaluate(tmp_path, rows(["000-3.density"]))
    assert set(frame.verdict) == {rule.NOT_EVALUATED}
    assert "no per-seed values" in frame[frame.scope == "adult/sex"].note.iloc[0]


def test_degenerate_rows_never_count(tmp_path):
    # l1's classifier predicts the positive class for (almost) nobody in every group at seeds 0 and 1
    l1 = healthy({"dpr": [1.0, 1.0, 0.97, 0.96, 0.98]},
                 {"positive_rate_privileged": [0.001, 0.0, 0.4, 0.4, 0.4], "positive_rate_unprivileged": [0.0, 0.01, 0.3, 0.3, 0.3]})
    fairdisco = healthy({"dpr": [0.5, 0.5, 0.80, 0.81, 0.79]})
    write(tmp_path, "fair_synthesis-adult-sex", "fair_synthesis",
          {f"l1/{k}": v for k, v in l1.items()} | {f"fairdisco/{k}": v for k, v in fairdisco.items()})
    frame = ledger_page.evaluate(tmp_path, rows(["000-1.dpr"]))
    row = frame[(frame.scope == "adult/sex") & (frame.label_coding == "unfavourable")].iloc[0]
    assert row.verdict == rule.SUPPORTED and row.n == 3           # seeds 0 and 1 dropped
    assert row.mean_difference == pytest.approx(np.mean([0.97 - 0.80, 0.96 - 0.81, 0.98 - 0.79]))
    assert "degenerate, excluded at 2 of 5 seeds" in row.note and "near-constant classifier" in row.note
    # every seed degenerate: the verdict says so instead of scoring it
    write(tmp_path, "fair_synthesis-adult-sex", "fair_synthesis",
          {f"l1/{k}": v for k, v in healthy({"dpr": [1.0, 1.0]}, {"positive_rate_privileged": [0.0, 0.0],
                                                                     "positive_rate_unprivileged": [0.0, 0.0]}).items()}
          | {f"fairdisco/{k}": v for k, v in healthy({"dpr": [0.5, 0.6]}).items()})
    frame = ledger_page.evaluate(tmp_path, rows(["000-1.dpr"]))
    assert frame[(frame.scope == "adult/sex") & (frame.label_coding == "unfavourable")].verdict.iloc[0] == rule.DEGENERATE
    listed = page.degenerate_rows(tmp_path)
    assert {"fair_synthesis-adult-sex"} == set(listed.run) and "l1" in set(listed.method)


def test_chance_level_and_collapsed_generators_are_degenerate(tmp_path):
    write(tmp_path, "fair_classifier-adult-sex", "fair_classifier", {
        "ours/abs_eq_opp": [0.0, 0.0], "ours/balanced_accuracy": [0.5, 0.5],
        "baseline/abs_eq_opp": [0.1, 0.12], "baseline/balanced_accuracy": [0.75, 0.76]})
    frame = ledger_page.evaluate(tmp_path, rows(["002-1.abs_eq_opp"]))
    row = frame[frame.scope == "adult/sex"].iloc[0]
    assert row.verdict == rule.DEGENERATE and "chance-level classifier" in row.note
    record = {"run": "comparison-adult-sex", "parameters": {"seed": 3}, "metrics": {
        "decaf/coverage": {"mean": 0.0, "n": 2, "std": 0.0, "values": [0.0, 0.3]},
        "decaf/recall": {"mean": 0.5, "n": 2, "std": 0.0, "values": [0.5, 0.5]}}}
    assert ledger_page.degenerate_seeds(record, "comparison", "decaf/") == {3: "collapsed generator: coverage < 0.01"}


def test_runtime_relative_claim_reads_the_single_runtime_record(tmp_path):
    write(tmp_path, "runtime", "runtime", {"ours/projected_seconds": [100.0, 110.0, 90.0],
                                           "fldgm/projected_seconds": [130.0, 141.0, 118.0]},
          parameters={"dataset": "adult", "sensitive": "sex"})
    frame = ledger_page.evaluate(tmp_path, rows(["000-7.fldgm", "000-7.decaf"])).set_index("id")
    assert frame.loc["000-7.fldgm", "verdict"] == rule.SUPPORTED            # ~29 % more time, claim read as ≥ 11.5 %
    assert frame.loc["000-7.fldgm", "mean_difference"] == pytest.approx(np.mean([0.30, 31 / 110, 28 / 90]))
    assert frame.loc["000-7.decaf", "note"] == "not evaluated: runtime does not report decaf/projected_seconds"


def test_trend_and_best_of_sweep(tmp_path):
    ratios = ["0", "0.2", "0.4", "0.6", "0.8", "1"]
    metrics = {}
    for i, r in enumerate(ratios):
        metrics[f"sweep/{r}/balanced_accuracy"] = [0.60 + 0.01 * i, 0.61 + 0.01 * i, 0.59 + 0.012 * i]
        gap = [0.10, 0.11, 0.10] if r != "0.8" else [0.05, 0.06, 0.05]
        for m in ("abs_avg_odds", "abs_bal_acc_diff", "abs_spd"):
            metrics[f"sweep/{r}/{m}"] = gap
        # the equal-opportunity gap rises at seed 0, falls at seed 1, stays flat at seed 2
        metrics[f"sweep/{r}/abs_eq_opp"] = [0.10 + 0.01 * i, 0.15 - 0.01 * i, 0.12 + 0.001 * (-1) ** i]
    write(tmp_path, "fair_classifier-compas-sex", "fair_classifier", metrics)
    frame = ledger_page.evaluate(tmp_path, rows(["002-4.balanced_accuracy", "002-4.abs_eq_opp", "002-5.fairness"]))
    compas = frame[frame.scope == "compas/sex"].set_index("id")
    assert compas.loc["002-4.balanced_accuracy", "verdict"] == rule.SUPPORTED
    assert compas.loc["002-4.balanced_accuracy", "mean_difference"] == pytest.approx(np.mean([0.05, 0.05, 0.06]))
    assert compas.loc["002-4.abs_eq_opp", "verdict"] == rule.INCONCLUSIVE   # slopes of both signs
    assert compas.loc["002-5.fairness", "verdict"] == rule.SUPPORTED
    assert "sweep/0.8 vs" in compas.loc["002-5.fairness", "note"]
    assert set(frame[frame.scope == "meps/RACE"].verdict) == {rule.NOT_EVALUATED}


def test_across_datasets_is_unpaired(tmp_path):
    for dataset, gain in (("compas", 0.08), ("adult", 0.02), ("german", 0.01)):
        write(tmp_path, f"fair_classifier-{dataset}-sex", "fair_classifier", {
            "ours/abs_eq_opp": [0.02, 0.03, 0.025, 0.02], "ours/balanced_accuracy": [0.7] * 4,
            "baseline/abs_eq_opp": [0.02 + gain + e for e in (0.0, 0.01, 0.0, 0.005)], "baseline/balanced_accuracy": [0.72] * 4})
    frame = ledger_page.evaluate(tmp_path, rows(["002-2.abs_eq_opp"])).set_index("scope")
    assert frame.loc["compas/sex", "verdict"] == rule.SUPPORTED
    assert "Welch" in frame.loc["compas/sex", "interval_kind"]
    assert frame.loc["meps/RACE", "verdict"] == rule.NOT_EVALUATED
    assert "no successful fair_classifier record for meps/RACE" in frame.loc["meps/RACE", "note"]


def test_records_of_different_profiles_are_not_paired(tmp_path):
    write(tmp_path, "fair_synthesis-adult-sex", "fair_synthesis",
          synthesis_metrics({"l1": {"density": [1.0, 1.1]}}), profile="default")
    write(tmp_path, "comparison-adult-sex", "comparison",
          synthesis_metrics({"tabfairgan": {"density": [0.1, 0.1]}, "decaf": {"density": [0.2, 0.3]}}), profile="smoke")
    frame = ledger_page.evaluate(tmp_path, rows(["000-6.density"]))
    row = frame[frame.scope == "adult/sex"].iloc[0]
    assert row.verdict == rule.NOT_EVALUATED and "different profiles" in row.note


def test_missing_values_of_unavailable_data_are_named(tmp_path):
    write(tmp_path, "fair_translation-adult-sex", "fair_translation",
          {"fid_translated": [None, None], "fid_noise": [None, None], "fid_sampled": [3.0, 3.1]})
    frame = ledger_page.evaluate(tmp_path, rows(["002-3.translated"]))
    row = frame[frame.scope == "adult/sex"].iloc[0]
    assert row.note == ("not evaluated: fair_translation-adult-sex reports fid_translated as missing; "
                        "fair_translation-adult-sex reports fid_noise as missing")


def test_full_ledger_on_an_empty_folder_and_the_tables(tmp_path):
    frame = ledger_page.evaluate(tmp_path)
    assert list(frame.columns) == ledger_page.COLUMNS
    assert set(frame.verdict) == {rule.NOT_EVALUATED} and set(frame.profile) == {"—"}
    # paper 000's label-dependent rows appear once per coding
    assert set(frame[frame.id == "000-1.dpr"].label_coding) == {"favourable", "unfavourable"}
    assert set(frame[frame.id == "000-6.density"].label_coding) == {"n/a"}
    counts = page.counts(frame)
    assert counts["not_evaluated"] == counts["rows"] == len(frame) and counts["supported"] == 0
    table = page.verdict_table(frame)
    assert list(table.columns) == ["verdicts", "claim", "reference coding", "profile"]  # the verdicts first
    assert len(table) == 16 and table.claim.iloc[0].startswith("000-1: ")
    assert len(page.detail_table(frame)) == len(frame)
    html = page.styled(page.detail_table(frame)).to_html()
    assert "min-width" in html
    assert page.degenerate_rows(tmp_path).empty
    # the page: one compact table of claims, verdicts in its first column; every ledger row folded under its claim
    compact = page.verdict_html(frame)
    assert re.search(r"<thead><tr><th>verdicts</th><th>claim</th>", compact) and compact.count("<tr>") == len(table) + 1
    folded = page.ledger_html(frame)
    assert folded.count("<details") == len(table) and folded.count('<td class="fairnb-verdict-cell') == len(frame)
    assert re.search(r"<thead><tr><th>verdict</th>", folded)


def test_claims_template_is_a_thin_page_without_outputs():
    notebook = read_template(ROOT / "notebooks" / "book" / "03_claims.md")
    parameters = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1 and "profile" in parameters[0].source and "seed" in parameters[0].source
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert any("fairnb.runs.report" in c.source for c in code)
    assert "book/runs/claims\n" in (ROOT / "_toc.yml").read_text()


def test_a_degenerate_competitor_is_left_out_not_counted(tmp_path):
    write(tmp_path, "fair_synthesis-adult-sex", "fair_synthesis",
          synthesis_metrics({"l1": {"density": [1.0, 1.1, 1.05], "coverage": [0.9, 0.92, 0.91]}}))
    write(tmp_path, "comparison-adult-sex", "comparison", synthesis_metrics({
        "tabfairgan": {"density": [0.1, 0.12, 0.11], "coverage": [0.3, 0.3, 0.31]},
        "decaf": {"density": [5.0, 5.0, 5.0], "coverage": [0.0, 0.001, 0.0]}}))   # collapsed at every seed
    frame = ledger_page.evaluate(tmp_path, rows(["000-6.density"]))
    row = frame[frame.scope == "adult/sex"].iloc[0]
    assert row.verdict == rule.SUPPORTED and row.n == 3
    assert row.note.startswith("shown: l1 vs tabfairgan; left out as degenerate: l1 vs decaf")
    assert "collapsed generator" in row.note


def test_a_seed_degenerate_under_one_coding_is_left_out_under_both(tmp_path):
    # seed 0: recall 0.001 when class 1 is the favourable outcome (near-constant), 0.97 the other way round
    l1 = {"dpr": [0.99, 0.95, 0.96, 0.97], "recall": [0.97, 0.7, 0.7, 0.7],
          "favourable_dpr": [0.0, 0.6, 0.62, 0.61], "favourable_recall": [0.001, 0.5, 0.5, 0.5]}
    fairdisco = {"dpr": [0.5, 0.8, 0.8, 0.8], "recall": [0.7] * 4,
                 "favourable_dpr": [0.5, 0.5, 0.5, 0.5], "favourable_recall": [0.5] * 4}
    write(tmp_path, "fair_synthesis-adult-sex", "fair_synthesis",
          {f"l1/{k}": v for k, v in l1.items()} | {f"fairdisco/{k}": v for k, v in fairdisco.items()})
    frame = ledger_page.evaluate(tmp_path, rows(["000-1.dpr"]))
    adult = frame[frame.scope == "adult/sex"].set_index("label_coding")
    assert list(adult.n) == [3, 3]
    assert "(favourable coding)" in adult.loc["unfavourable", "note"]
    listed = page.degenerate_rows(tmp_path)
    assert list(listed[listed.method == "l1"].coding) == ["favourable"]


def test_needs_lists_what_each_template_must_report(tmp_path):
    write(tmp_path, "fair_synthesis-adult-sex", "fair_synthesis",
          synthesis_metrics({"l1": {"dpr": [0.9, 0.9]}, "fairdisco": {"dpr": [0.8, 0.8]}}))
    table = page.needs(tmp_path, rows(["000-1.dpr", "002-7.abs_eq_opp"])).set_index("metric")
    assert table.loc["l1/dpr", "status"] == "reported"
    assert table.loc["l1/favourable_dpr", "status"] == "missing in fair_synthesis-adult-sex"
    assert table.loc["l1/positive_rate_<group>", "status"] == "reported"
    assert table.loc["downsampled/abs_eq_opp", "status"] == "no record"
    assert table.loc["downsampled/abs_eq_opp", "template"] == "fair_classifier"


def test_a_record_that_does_not_say_its_label_coding_is_not_guessed(tmp_path):
    # no positive_label parameter and no metric under the other coding: the template default is no evidence
    write(tmp_path, "fair_synthesis-adult-sex", "fair_synthesis",
          {"l1/dpr": [0.9, 0.91, 0.9], "fairdisco/dpr": [0.8, 0.8, 0.8], "l1/density": [1.0, 1.01, 1.0],
           "huber/density": [0.9] * 3, "mse/density": [0.9] * 3, "mean_difference/density": [0.9] * 3})
    frame = ledger_page.evaluate(tmp_path, rows(["000-1.dpr", "000-3.density"]))
    coded = frame[(frame.id == "000-1.dpr") & (frame.scope == "adult/sex")]
    assert set(coded.verdict) == {rule.NOT_EVALUATED}
    assert "does not record its label coding" in coded.note.iloc[0]
    assert frame[(frame.id == "000-3.density") & (frame.scope == "adult/sex")].verdict.iloc[0] == rule.SUPPORTED
    # the same record with its coding stated is read
    write(tmp_path, "fair_synthesis-adult-sex", "fair_synthesis", {"l1/dpr": [0.9, 0.91, 0.9], "fairdisco/dpr": [0.8] * 3},
          parameters={"positive_label": "favourable"})
    frame = ledger_page.evaluate(tmp_path, rows(["000-1.dpr"]))
    sex = frame[frame.scope == "adult/sex"].set_index("label_coding")
    assert sex.loc["favourable", "verdict"] == rule.SUPPORTED
    assert "does not report l1/unfavourable_dpr" in sex.loc["unfavourable", "note"]


def test_a_method_the_paper_does_not_compare_never_counts(tmp_path):
    # TabFairGDT (not in paper 000) is the fairest row of the comparison run and degenerate at one seed: neither
    # fact reaches the ledger, and a ledger row that names it is refused
    write(tmp_path, "comparison-adult-sex", "comparison", synthesis_metrics({
        "original": {"dpr": [0.30, 0.31, 0.29], "favourable_dpr": [0.30, 0.31, 0.29]},
        "tabfairgan": {"dpr": [0.50, 0.52, 0.51], "favourable_dpr": [0.50, 0.52, 0.51]},
        "tabfairgdt": {"dpr": [0.99, 0.98, 0.97], "favourable_dpr": [0.99, 0.98, 0.97]}})
        | {"tabfairgdt/degenerate": [1.0, 0.0, 0.0]})
    frame = ledger_page.evaluate(tmp_path, rows(["000-5.dpr"]))
    assert not frame.note.str.contains("tabfairgdt").any() and not frame.records.str.contains("tabfairgdt").any()
    assert "tabfairgdt" not in set(page.degenerate_rows(tmp_path).method)
    assert "tabfairgdt" in ledger_page.beyond_paper("000") and ledger_page.beyond_paper("002") == ()
    named = rows(["000-5.dpr"]).assign(a="comparison:tabfairgdt/{metric}")
    with pytest.raises(ValueError, match="000-5.dpr.*tabfairgdt"):
        ledger_page.evaluate(tmp_path, named)
    runtime = rows(["000-7.fldgm"]).assign(a="runtime:tabfairgdt/{metric}")
    with pytest.raises(ValueError, match="does not compare"):
        ledger_page.check_paper_rows(runtime)
    # the ledger files themselves never name it
    assert not ledger_page.ledger()[["a", "b"]].apply(lambda c: c.str.contains("tabfairgdt")).any().any()


def test_a_method_the_paper_does_not_compare_is_no_table1_cell_and_not_on_the_landing_page(tmp_path):
    from fairnb.book import overview
    from fairnb.paper000 import reproduction

    write(tmp_path, "comparison-adult-sex", "comparison", synthesis_metrics({
        "original": {"dpr": [0.30, 0.31, 0.29], "accuracy": [0.84, 0.85, 0.84]},
        "tabfairgdt": {"dpr": [0.99, 0.98, 0.97], "accuracy": [0.83, 0.84, 0.83]}}))
    table = reproduction.table1(tmp_path)
    assert "tabfairgdt" not in set(table.method) and "original" in set(table.method)
    assert "tabfairgdt" not in set(reproduction.ours(tmp_path).method)
    assert "tabfairgdt" not in set(overview.compared_cells(tmp_path).method)
    assert not overview.headline_table(tmp_path).claim.str.contains("TabFairGDT").any()


def test_landing_page_names_degenerate_cells_instead_of_reading_them(tmp_path):
    from fairnb.book import overview

    # the L1-KL student's classifier is near-constant at one of three seeds: its headline cells are not results
    write(tmp_path, "fair_synthesis-adult-sex", "fair_synthesis", synthesis_metrics({
        "l1": {"dpr": [0.99, 0.98, 0.97], "accuracy": [0.76, 0.75, 0.76]},
        "original": {"dpr": [0.30, 0.31, 0.29], "accuracy": [0.84, 0.85, 0.84]}})
        | {"l1/degenerate": [1.0, 0.0, 0.0]}, parameters={"positive_label": "favourable"})
    table = overview.headline_table(tmp_path).set_index(["claim"])
    cell = table.loc["L1-KL synthetic data: DPR close to 1"]
    assert cell["ours"] == "degenerate (1 of 3 repetitions)" and pd.isna(cell["difference"])
    assert table.loc["original data: low demographic parity ratio", "ours"].startswith("0.300 ± ")
    cells = overview.compared_cells(tmp_path)
    sex = cells[cells.attribute == "sex"]
    assert sex[sex.method == "ours_l1"].degenerate.all() and not sex[sex.method == "original"].degenerate.any()
    share = overview.share_within_tolerance(cells.dropna(subset=["ours"]))
    kept = cells.dropna(subset=["ours"])
    assert share == pytest.approx(overview.share_within_tolerance(kept[~kept.degenerate]))
    fig = overview.agreement_figure(tmp_path)
    assert any("degenerate rows (not results)" in t.get_text() for t in fig.axes[0].get_legend().get_texts())


def test_a_generator_that_ran_out_of_budget_is_noted_and_the_verdict_unchanged(tmp_path):
    l1 = healthy({"dpr": [0.97, 0.96, 0.98]})
    fairdisco = healthy({"dpr": [0.80, 0.81, 0.79]})
    write(tmp_path, "fair_synthesis-adult-sex", "fair_synthesis",
          {f"l1/{k}": v for k, v in l1.items()} | {f"fairdisco/{k}": v for k, v in fairdisco.items()})
    before = ledger_page.evaluate(tmp_path, rows(["000-1.dpr"]))
    write(tmp_path, "fair_synthesis-adult-sex", "fair_synthesis",
          {f"l1/{k}": v for k, v in l1.items()} | {f"fairdisco/{k}": v for k, v in fairdisco.items()}
          | {"l1/stopped_early": [1.0, 1.0, 1.0], "fairdisco/stopped_early": [0.0, 1.0, 0.0]})
    after = ledger_page.evaluate(tmp_path, rows(["000-1.dpr"]))
    pick = (after.scope == "adult/sex") & (after.label_coding == "unfavourable")
    assert list(after[pick].verdict) == list(before[(before.scope == "adult/sex") & (before.label_coding == "unfavourable")].verdict)
    note = after[pick].note.iloc[0]
    assert "fairdisco in fair_synthesis-adult-sex: training ran out of its budget at 2 of 3 seeds" in note
    assert "l1 in fair_synthesis-adult-sex: training ran out" not in note


def test_the_ledger_says_each_note_once(tmp_path):
    # every seed of both sides is near-constant (recall ~0, no group rates) under both label codings
    methods = {m: {"dpr": [0.9, 0.8, 0.7], "eor": [0.9, 0.8, 0.7], "recall": [0.001] * 3,
                   "favourable_dpr": [0.5, 0.6, 0.7], "favourable_eor": [0.5, 0.6, 0.7], "favourable_recall": [0.001] * 3}
               for m in ("l1", "fairdisco")}
    write(tmp_path, "fair_synthesis-adult-sex", "fair_synthesis",
          {f"{m}/{k}": v for m, values in methods.items() for k, v in values.items()})
    frame = ledger_page.evaluate(tmp_path, rows(["000-1.dpr", "000-1.eor"]))
    sex = frame[frame.scope == "adult/sex"]
    assert set(sex.verdict) == {rule.DEGENERATE} and len(sex) == 4
    for note in sex.note:  # both sides and both codings in one sentence
        assert note.count("near-constant classifier") == 1 and "l1 and fairdisco in fair_synthesis-adult-sex" in note
        assert "(both label codings)" in note and "excluded at 3 of 3 seeds" in note
    folded = page.ledger_html(frame)
    assert folded.count("near-constant classifier") == 1
    assert folded.count(html_escape(sex.note.iloc[0])) == 1  # four rows, one note
    assert folded.count('href="#note-000-1-1"') == 4


def html_escape(text):
    import html

    return html.escape(text)


def test_landing_page_table1_and_ledger_flag_degenerate_rows_by_one_rule(tmp_path):
    from fairnb.book import overview
    from fairnb.paper000 import reproduction

    # no group rates recorded: the ledger's rule reads the recall (near-constant at one of three seeds)
    write(tmp_path, "fair_synthesis-adult-sex", "fair_synthesis", {
        "l1/dpr": [0.99, 0.98, 0.97], "l1/accuracy": [0.76, 0.75, 0.76], "l1/recall": [0.001, 0.5, 0.5],
        "original/dpr": [0.30, 0.31, 0.29], "original/accuracy": [0.84, 0.85, 0.84], "original/recall": [0.5, 0.5, 0.5]},
        parameters={"positive_label": "favourable"})
    write(tmp_path, "fair_classifier-adult-sex", "fair_classifier", {
        "baseline/abs_eq_opp": [0.1, 0.1, 0.1], "baseline/positive_rate_privileged": [0.001, 0.3, 0.3],
        "baseline/positive_rate_unprivileged": [0.001, 0.2, 0.2],
        "ours/abs_eq_opp": [0.02, 0.03, 0.02], "ours/positive_rate_privileged": [0.3] * 3,
        "ours/positive_rate_unprivileged": [0.25] * 3})
    listed = page.degenerate_rows(tmp_path)
    assert set(zip(listed.run, listed.method)) == {("fair_synthesis-adult-sex", "l1"), ("fair_classifier-adult-sex", "baseline")}
    table = ledger_page.table1(tmp_path)
    assert list(table.columns) == list(reproduction.table1(tmp_path).columns)
    flagged = table[table.degenerate].drop_duplicates(["method", "attribute"])
    assert list(flagged.method) == ["ours_l1"] and set(flagged.degenerate_seeds) == {"1 of 3"}
    assert "recall" in flagged.reason.iloc[0]
    cells = overview.compared_cells(tmp_path)
    assert cells[cells.degenerate].groupby("paper_id").method.unique().map(list).to_dict() == {"000": ["ours_l1"],
                                                                                               "002": ["baseline"]}
    headline = overview.headline_table(tmp_path).set_index("claim")
    assert headline.loc["plain classifier: equal-opportunity gap", "ours"] == "degenerate (1 of 3 repetitions)"
    assert headline.loc["L1-KL synthetic data: DPR close to 1", "ours"] == "degenerate (1 of 3 repetitions)"
    assert headline.loc["fair classifier: smaller equal-opportunity gap", "ours"].startswith("0.023 ± ")
    assert "0.023\u00a0±\u00a0" in overview.styled(overview.headline_table(tmp_path)).to_html()  # never broken inside


def test_the_ledger_page_says_how_much_it_could_decide():
    import pandas as pd

    frame = pd.DataFrame({"verdict": [rule.SUPPORTED, rule.INCONCLUSIVE, rule.INCONCLUSIVE, rule.NOT_EVALUATED],
                          "n": [3, 3, 3, 0]})
    note = page.power_note(frame)
    assert "Decided: 1 of 3 evaluated" in note and "± 4.30 standard errors" in note and "too few to decide" in note
    assert page.power_note(frame[frame.verdict == rule.NOT_EVALUATED]) == ""
    assert "too few" not in page.power_note(frame[frame.verdict == rule.SUPPORTED])
