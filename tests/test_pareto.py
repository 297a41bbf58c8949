"""Beyond the paper: TabFairGDT's lamda sweep, the fairness–utility front of every generator and the
"is the method still worth it?" verdicts, on constructed results records (one small real sweep)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from fairnb.errors import ParameterError
from fairnb.metrics import claims as rule
from fairnb.paper000 import pareto

ROOT = Path(__file__).resolve().parents[1]
HAS_TABFAIRGDT = importlib.util.find_spec("tabfairgdt") is not None


def write(folder: Path, run: str, template: str, metrics: dict, parameters: dict | None = None, profile: str = "default",
          seconds: float = 5.0) -> None:
    entries = {name: {"mean": float(np.mean([v for v in values if v is not None])), "std": 0.0, "n": len(values),
                      "values": list(values)} for name, values in metrics.items()}
    dataset, _, sensitive = run.partition("-")[2].partition("-")
    params = {"dataset": dataset or "adult", "sensitive": sensitive or "sex"} | (parameters or {})
    record = {"run": run, "template": f"notebooks/x/01_{template}.ipynb", "parameters": params, "profile": profile,
              "device": "cpu", "seconds": seconds, "status": "ok", "metrics": entries}
    (folder / f"{run}.json").write_text(json.dumps(record))


def row(prefix: str, dpr, accuracy, degenerate=None, rates=(0.4, 0.3)) -> dict:
    """One method's recorded values (favourable coding plain, as the templates write them)."""
    n = len(dpr)
    out = {f"{prefix}/dpr": dpr, f"{prefix}/eor": dpr, f"{prefix}/accuracy": accuracy, f"{prefix}/f1": accuracy,
           f"{prefix}/unfavourable_dpr": [0.9] * n, f"{prefix}/coverage": [0.5] * n,
           f"{prefix}/positive_rate_privileged": [rates[0]] * n, f"{prefix}/positive_rate_unprivileged": [rates[1]] * n,
           f"{prefix}/degenerate": degenerate or [0.0] * n}
    return out


@pytest.fixture
def records(tmp_path):
    """adult/sex: ours (L1-KL) at DPR .80 / accuracy .80; TabFairGDT credibly better on both at lamda 1, credibly
    worse on both at lamda 0, a trade-off at 0.5, degenerate at every seed at 0.25; a comparison record with
    TabFairGDT's comparison row and a degenerate Decaf; a runtime record."""
    synthesis = {**row("l1", [0.80, 0.82, 0.81], [0.80, 0.81, 0.80]), **row("huber", [0.7, 0.7, 0.7], [0.79, 0.79, 0.8]),
                 **row("fairdisco", [0.6, 0.61, 0.6], [0.78, 0.78, 0.79]), **row("original", [0.3, 0.31, 0.3], [0.84, 0.84, 0.85]),
                 **row("lambda_sweep/1", [0.8, 0.82, 0.81], [0.8, 0.81, 0.8]),
                 **row("lambda_sweep/10", [0.9, 0.9, 0.91], [0.76, 0.77, 0.76])}
    write(tmp_path, "fair_synthesis-adult-sex", "fair_synthesis", synthesis)
    compared = {**row("tabfairgan", [0.5, 0.52, 0.5], [0.7, 0.71, 0.7]),
                **row("decaf", [1.0, 1.0, 1.0], [0.75, 0.75, 0.75], degenerate=[1.0, 1.0, 0.0]),
                **row("original", [0.3, 0.31, 0.3], [0.84, 0.84, 0.85]), **row("tabfairgdt", [0.7, 0.71, 0.7], [0.83, 0.83, 0.84])}
    write(tmp_path, "comparison-adult-sex", "comparison", compared)
    sweep = {**row("sweep/0", [0.50, 0.52, 0.51], [0.70, 0.71, 0.70]),
             **row("sweep/0.25", [1.0, 1.0, 1.0], [0.75, 0.76, 0.75], rates=(0.0, 0.01)),
             **row("sweep/0.5", [0.90, 0.91, 0.92], [0.70, 0.71, 0.69]),
             **row("sweep/1", [0.90, 0.93, 0.91], [0.85, 0.86, 0.85])}
    write(tmp_path, "pareto-adult-sex", "pareto", sweep)
    write(tmp_path, "runtime", "runtime", {"ours/measured_seconds": [10.0, 12.0, 11.0], "tabfairgdt/measured_seconds": [1.0, 1.0, 1.1],
                                            "ours/projected_seconds": [100.0, 110.0, 105.0],
                                            "tabfairgdt/projected_seconds": [1.0, 1.0, 1.1]},
          parameters={"dataset": "adult", "sensitive": "sex"})
    return tmp_path


def test_lamdas_are_checked_before_any_compute():
    assert pareto.check_lamdas([0, 0.5, 1]) == [0.0, 0.5, 1.0]
    for bad in ([], [1.5], [0.5, 0.5], "0.5", [True]):
        with pytest.raises(ParameterError, match="tabfairgdt_lamdas"):
            pareto.check_lamdas(bad)
    assert pareto.setting_name(0.25) == "0.25" and pareto.setting_name(1.0) == "1"


def test_points_read_every_generator_and_flag_degenerate_seeds(records):
    points = pareto.points("adult", "sex", records)
    families = list(dict.fromkeys(points.family))
    assert families[0] == "ours_lambda" and "tabfairgdt" in families and "decaf" in families
    ours = points[points.family == "ours_lambda"]
    assert list(dict.fromkeys(ours.setting)) == ["λ=1", "λ=10"]          # sorted numerically, not as text
    # the teacher our students distil comes from fair_synthesis, not from the comparison
    assert set(points[points.generator == "fairdisco"].run) == {"fair_synthesis-adult-sex"}
    # the run's flag and the near-constant rule both mark seeds degenerate
    assert points[points.generator == "decaf"].degenerate.tolist() == [True, True, False]
    assert points[(points.family == "tabfairgdt") & (points.setting == "lamda=0.25")].degenerate.all()
    # TabFairGDT's points come from its sweep; the comparison's single row is not drawn twice
    assert set(points[points.generator == "tabfairgdt"].run) == {"pareto-adult-sex"}
    assert "TabFairGDT (not in the paper)" in points[points.generator == "tabfairgdt"].family_label.iloc[0]


def test_front_leaves_out_degenerate_points(records):
    table = pareto.summary(pareto.points("adult", "sex", records))
    on_front = set(zip(table[table.pareto].family, table[table.pareto].setting))
    # Decaf (DPR 1.0) and TabFairGDT at 0.25 (DPR 1.0) are degenerate: never on the front, never read as fair
    assert ("decaf", "") not in on_front and ("tabfairgdt", "lamda=0.25") not in on_front
    assert ("tabfairgdt", "lamda=1") in on_front
    assert not table[table.degenerate].pareto.any()
    shown = pareto.summary_table(pareto.points("adult", "sex", records))
    assert shown.loc[shown.generator.str.startswith("Decaf"), "Pareto front"].iloc[0] == "degenerate 2 of 3"
    frame = pd.DataFrame({"dpr_mean": [0.5, 0.6, 0.4, 0.9], "accuracy_mean": [0.8, 0.7, 0.7, 0.9],
                          "degenerate": [False, False, False, True]})
    assert pareto.pareto_front(frame).tolist() == [True, True, False, False]


def test_worth_it_follows_the_ledger_rule(records):
    frame = pareto.worth_it("adult", "sex", records).set_index("lamda")
    assert frame.loc["1", "outcome"] == pareto.BETTER_BOTH
    assert frame.loc["0", "outcome"] == pareto.WORSE_BOTH
    assert frame.loc["0.5", "outcome"] == pareto.TRADE_OFF
    assert frame.loc["0.25", "outcome"] == rule.DEGENERATE and "left out as degenerate" in frame.loc["0.25", "note"]
    assert frame.loc["1", "dpr_difference"] == pytest.approx(np.mean([0.10, 0.11, 0.10]))
    assert frame.loc["1", "n"] == 3 and frame.loc["1", "profile"] == "default"
    text = pareto.worth_markdown(records)
    assert "At lamda 1 TabFairGDT is credibly fairer (DPR) *and* more accurate" in text
    assert "Degenerate (not read as results): lamda 0.25" in text
    assert "times as long" in text   # the runtime record's training times


def test_records_of_another_profile_are_not_paired(records):
    data = json.loads((records / "pareto-adult-sex.json").read_text())
    data["profile"] = "smoke"
    (records / "pareto-adult-sex.json").write_text(json.dumps(data))
    frame = pareto.worth_it("adult", "sex", records)
    assert frame.outcome.tolist() == [rule.NOT_EVALUATED] and "different profiles" in frame.note.iloc[0]
    assert "not evaluated" in pareto.worth_markdown(records)
    assert pareto.worth_it("compas", "race", records).outcome.tolist() == [rule.NOT_EVALUATED]


def test_time_comparison_reads_the_runtime_record(records):
    times = pareto.time_comparison(records).set_index("timing")
    assert times.loc["measured", "ratio"] == pytest.approx(np.exp(np.mean(np.log([10.0, 12.0, 11.0 / 1.1]))))
    assert times.loc["measured", "low"] < times.loc["measured", "ratio"] < times.loc["measured", "high"]
    assert times.loc["projected", "n"] == 3


def test_pareto_figure_draws_degenerate_points_hollow_and_grey(records):
    from fairnb.paper000.figures import DEGENERATE_COLOUR, pareto as draw

    table = pareto.summary(pareto.points("adult", "sex", records))
    fig = draw(table, title="adult / sex")
    ax = fig.axes[0]
    decaf = table[table.family == "decaf"].iloc[0]
    found = [line for line in ax.get_lines()
             if line.get_marker() in ("o", "D", "s") and len(line.get_xdata()) == 1
             and line.get_xdata()[0] == pytest.approx(decaf.dpr_mean)
             and line.get_ydata()[0] == pytest.approx(decaf.accuracy_mean)]
    assert found and all(line.get_markerfacecolor() == "none" for line in found)
    assert all(matplotlib.colors.same_color(line.get_color(), DEGENERATE_COLOUR) for line in found)


def test_lecture_files_are_generated_from_the_records(records, tmp_path):
    from fairnb.book import lectures

    out = tmp_path / "out"
    written = lectures.write_pareto(out, records)
    assert {p.name for p in written} == {"pareto-figure.md", "pareto-table.md", "pareto-time.md", "pareto-worth.md"}
    assert (out / "pareto.png").exists()
    assert "TabFairGDT fairer and more accurate" in (out / "pareto-table.md").read_text()
    assert "credibly fairer" in (out / "pareto-worth.md").read_text()
    empty = tmp_path / "empty"
    empty.mkdir()
    lectures.write_pareto(tmp_path / "none", empty)
    assert "fairnb run --only 'pareto-*'" in (tmp_path / "none" / "pareto-worth.md").read_text()


def test_comparison_and_runtime_lectures_list_tabfairgdt_last(records, tmp_path):
    from fairnb.book import lectures

    assert lectures.STAGES["comparison"].methods[-1] == ("tabfairgdt", "TabFairGDT (not in the paper)")
    assert lectures.STAGES["runtime"].methods[-1][0] == "tabfairgdt"
    lectures.write_lectures(tmp_path / "out", records)
    table = (tmp_path / "out" / "comparison-table.md").read_text()
    assert "TabFairGDT (not in the paper)" in table and "Decaf ⚠ degenerate 2/3" in table


def test_template_is_thin_registered_and_in_the_book():
    from fairnb.runs import manifest, params, profiles

    notebook = manifest.read_template(ROOT / "notebooks" / "paper000" / "09_pareto.md")
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert all(len(c.source.splitlines()) <= 10 for c in code)
    assert "tabfairgdt_lamdas" in params.PARAMS
    for name in profiles.PROFILES:
        assert pareto.check_lamdas(profiles.setting(name, "tabfairgdt_lamdas"))
    runs = {r.id for r in manifest.load_manifest()}
    assert {f"pareto-{d}-{s}" for d in ("adult", "compas") for s in ("sex", "race")} <= runs
    toc = (ROOT / "_toc.yml").read_text()
    assert toc.index("book/paper000/pareto") > toc.index("book/paper000/comparison") and "book/runs/pareto-*" in toc


@pytest.mark.skipif(not HAS_TABFAIRGDT, reason="tabfairgdt not installed")
def test_sweep_is_scored_like_the_comparison_row():
    from fairnb.paper000 import comparison

    settings = comparison.ComparisonSettings("adult", "sex", max_rows=300, methods=("tabfairgdt",))
    compared = comparison.run_comparison(settings, [0]).metrics()
    sweep = pareto.tabfairgdt_sweep("adult", "sex", [0.5, 1.0], [0], max_rows=300)
    values = pareto.sweep_metrics(sweep)
    for name in ("dpr", "accuracy", "unfavourable_eor", "split_f1", "coverage", "source_density", "degenerate"):
        assert values[f"sweep/0.5/{name}"] == compared[f"tabfairgdt/{name}"], name
    assert "sweep/1/dpr" in values and values["sweep/1/fit_seconds"][0] > 0
    assert list(pareto.sweep_table(sweep).index) == ["0.5", "1"]


def test_a_degenerate_student_gets_no_verdict_either_way(records):
    data = json.loads((records / "fair_synthesis-adult-sex.json").read_text())
    data["metrics"]["l1/degenerate"]["values"] = [1.0, 1.0, 1.0]
    (records / "fair_synthesis-adult-sex.json").write_text(json.dumps(data))
    frame = pareto.worth_it("adult", "sex", records)
    assert set(frame.outcome) == {rule.DEGENERATE} and set(frame.ours_degenerate) == {"3 of 3"}
    text = pareto.worth_markdown(records)
    assert "our L1-KL row is degenerate at 3 of 3 seeds" in text and "credibly fairer" not in text
