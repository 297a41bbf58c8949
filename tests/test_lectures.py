"""Stage lectures: the Pythia skeleton in order, "Try this" commands that the runner accepts, and the
cross-dataset tables built from results records (never typed)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from fairnb.book import lectures
from fairnb.runs import manifest

ROOT = Path(__file__).resolve().parents[1]
LECTURE_PAGES = {
    "fair_representation": "book/paper000/fair_representation.md",
    "distillation": "book/paper000/distillation.md",
    "fair_synthesis": "book/paper000/fair_synthesis.md",
    "comparison": "book/paper000/comparison.md",
    "runtime": "book/paper000/runtime.md",
    "images": "book/images/index.md",
    "fair_translation": "book/paper002/fair_translation.md",
    "fair_classifier": "book/paper002/fair_classifier.md",
}
SKELETON = ["Overview", "Prerequisites", "Compute time", "The method", "Results", "Try this", "Summary", "What's next"]


@pytest.mark.parametrize("stage, page", LECTURE_PAGES.items())
def test_lecture_has_the_skeleton_in_order(stage, page):
    headings = re.findall(r"^## (.+)$", (ROOT / page).read_text(), flags=re.M)
    assert headings == SKELETON, f"{page}: second-level headings {headings}"


@pytest.mark.parametrize("stage, page", LECTURE_PAGES.items())
def test_lecture_includes_its_generated_table_figure_and_time(stage, page):
    text = (ROOT / page).read_text()
    for part in ("table", "figure", "time"):
        assert f"generated/lectures/{stage}-{part}.md" in text, f"{page} does not include {stage}-{part}.md"
    assert stage in lectures.STAGES


@pytest.mark.parametrize("stage, page", LECTURE_PAGES.items())
def test_try_this_commands_are_accepted_by_the_runner(stage, page):
    text = (ROOT / page).read_text().split("## Try this", 1)[1].split("## Summary", 1)[0]
    commands = [line for line in text.splitlines() if line.startswith("fairnb run")]
    assert commands, f"{page}: no command under Try this"
    runs = {r.id: r for r in manifest.load_manifest()}
    for command in commands:
        words = shlex.split(command)
        only = words[words.index("--only") + 1]
        chosen = manifest.select(list(runs.values()), [only])
        overrides = {}
        for i, word in enumerate(words):
            if word == "-p":
                from fairnb.runs.params import parse_cli_value
                overrides[words[i + 1]] = parse_cli_value(words[i + 1], words[i + 2])
        for run in chosen:
            manifest.check_overrides(run, overrides)  # raises ParameterError on a bad command


def _record(folder: Path, run: str, template: str, parameters: dict, metrics: dict, seconds: float = 10.0) -> None:
    record = {"run": run, "template": f"notebooks/x/01_{template}.ipynb", "parameters": parameters, "profile": "smoke",
              "device": "cpu", "seconds": seconds, "status": "ok",
              "metrics": {k: {"mean": v[0], "std": v[1], "n": 3} for k, v in metrics.items()}}
    (folder / f"{run}.json").write_text(json.dumps(record))


def test_tables_put_every_run_side_by_side(tmp_path):
    results, out = tmp_path / "results", tmp_path / "out"
    results.mkdir()
    _record(results, "fair_classifier-adult-sex", "fair_classifier", {"dataset": "adult", "sensitive": "sex"},
            {"baseline/balanced_accuracy": (0.8, 0.01), "ours/balanced_accuracy": (0.79, 0.02), "ours/abs_eq_opp": (0.03, 0.005)})
    _record(results, "fair_classifier-compas-race", "fair_classifier", {"dataset": "compas", "sensitive": "race"},
            {"baseline/balanced_accuracy": (0.66, 0.01)}, seconds=50.0)
    lectures.write_lectures(out, results)
    table = (out / "fair_classifier-table.md").read_text()
    assert "0.790 ±\u00a00.020" in table  # never broken between ± and the std
    table = table.replace("\u00a0", " ")
    assert "0.790 ± 0.020" in table and "0.030 ± 0.005" in table and "0.660 ± 0.010" in table
    assert "compas" in table and "adult" in table and "profile: smoke" in table
    assert (out / "fair_classifier.png").exists()
    time = (out / "fair_classifier-time.md").read_text()
    assert "2 runs" in time and "1.0 minutes" in time and "10–50 s" in time


def test_a_stage_without_records_says_how_to_create_them(tmp_path):
    lectures.write_lectures(tmp_path / "out", tmp_path)
    text = (tmp_path / "out" / "comparison-table.md").read_text()
    assert "fairnb run --only 'comparison*'" in text
    assert not (tmp_path / "out" / "comparison.png").exists()


def test_every_shown_method_line_exists_in_the_package():
    """``literalinclude`` with ``:pyobject:`` must name a function, class or method that exists."""
    import ast

    missing = []
    for page in sorted((ROOT / "book").rglob("*.md")):
        for source, target in re.findall(r"```\{literalinclude\} (\S+)\n(?::[a-z]+: .*\n)*?:pyobject: (\S+)", page.read_text()):
            tree = ast.parse((page.parent / source).resolve().read_text())
            scope, found = tree.body, None
            for part in target.split("."):
                found = next((n for n in scope if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == part), None)
                if found is None:
                    break
                scope = found.body
            if found is None:
                missing.append(f"{page.relative_to(ROOT)}: {source} has no {target}")
    assert not missing, missing
