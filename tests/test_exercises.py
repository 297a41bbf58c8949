"""Exercises (``book/exercises.yml``): each command is one the runner accepts, each ``look_at`` entry names a run
that the command selects and a glued output or heading of that run's template, and solutions type no numbers
(fast); each command, executed under the smoke profile, gives pages that show every ``look_at`` entry (slow).

The slow test (``test_book.test_exercise_command_under_smoke_shows_what_it_asks_for``, beside the smoke run it starts
from) runs the commands in copies of the session's smoke-run repository (``run_exercises``), two at once — commands
that share a run one after another in the same copy —, each with one worker, so nothing is written to the working
tree's results or pages. A command given twice runs once.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml

from fairnb.book.pages import template_outline
from fairnb.runs import manifest
from fairnb.runs.params import parse_cli_value

ROOT = Path(__file__).resolve().parents[1]
SPEC = yaml.safe_load((ROOT / "book" / "exercises.yml").read_text())
EXERCISES = [exercise for part in SPEC["parts"] for exercise in part["exercises"]]
TITLES = [exercise["title"] for exercise in EXERCISES]
RUNS = {run.id: run for run in manifest.load_manifest()}
RECORD = "application/papermill.record/"
HEADING = re.compile(r"^#+\s+(.+?)\s*$", flags=re.M)  # mime prefix of a glued output in an executed page


def parse_command(command: str) -> tuple[list[str], dict[str, Any]]:
    """The ``--only`` patterns and ``-p`` overrides of a ``fairnb run`` command."""
    words = shlex.split(command)
    assert words[:2] == ["fairnb", "run"], f"not a 'fairnb run' command: {command}"
    patterns = [words[i + 1] for i, w in enumerate(words) if w == "--only"]
    overrides = {words[i + 1]: parse_cli_value(words[i + 1], words[i + 2]) for i, w in enumerate(words) if w in ("-p", "--parameter")}
    return patterns, overrides


def _check_command(command: str) -> list[manifest.Run]:
    """The runs a command selects; ``ParameterError`` on an override the runner would refuse."""
    patterns, overrides = parse_command(command)
    runs = manifest.select(list(RUNS.values()), patterns)
    for run in runs:
        manifest.check_overrides(run, overrides)
    return runs


# ------------------------------------------------------------------ the exercise source (fast)


@pytest.mark.parametrize("exercise", EXERCISES, ids=TITLES)
def test_command_is_accepted_by_the_runner(exercise):
    assert exercise.get("command"), "no command"
    assert _check_command(exercise["command"]), f"{exercise['command']} selects no run"


@pytest.mark.parametrize("exercise", EXERCISES, ids=TITLES)
def test_look_at_names_what_the_command_produces(exercise):
    selected = {run.id for run in _check_command(exercise["command"])}
    items = exercise.get("look_at") or []
    assert items, "no look_at entries"
    for item in items:
        assert set(item) in ({"run", "glue"}, {"run", "heading"}), f"{item}: needs run and one of glue or heading"
        assert item["run"] in selected, f"{item['run']} is not selected by {exercise['command']}"
        path = RUNS[item["run"]].template_path
        headings, glued = template_outline(path)
        if "glue" in item:
            assert item["glue"] in glued, f"{path.relative_to(ROOT)} glues no {item['glue']!r}"
            assert item["glue"] in path.read_text()
        else:
            assert item["heading"] in headings, f"{path.relative_to(ROOT)} has no heading {item['heading']!r}"


@pytest.mark.parametrize("exercise", EXERCISES, ids=TITLES)
def test_solution_states_no_number(exercise):
    """A solution says what to look for and how to read it from the page, not a predicted number."""
    from test_prose_numbers import CONVENTIONS, prose_numbers

    numbers = [n for n in prose_numbers(exercise["solution"]) if n not in CONVENTIONS]
    assert not numbers, f"typed numbers in the solution (point to the page instead): {numbers}"


# ------------------------------------------------------------------ the commands under the smoke profile (slow)


def glued_output(page: nbformat.NotebookNode, name: str) -> dict[str, Any] | None:
    """The payload (mime type → value, prefix removed) of the output glued as ``name``, or None."""
    for cell in page.cells:
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get("scrapbook", {}).get("name") == name:
                return {k.removeprefix(RECORD): v for k, v in output.get("data", {}).items()}
    return None


def section_outputs(page: nbformat.NotebookNode, heading: str) -> list[dict[str, Any]] | None:
    """Display outputs of the code cells between the markdown heading ``heading`` and the next heading, or None
    when the page has no such heading."""
    found, outputs = False, []
    for cell in page.cells:
        if cell.cell_type == "markdown":
            headings = HEADING.findall(cell.source)
            if found and headings:
                break
            found = found or heading in headings
        elif found:
            outputs += [o.get("data", {}) for o in cell.get("outputs", []) if o.get("output_type") in ("display_data", "execute_result")]
    return outputs if found else None


def shows_something(data: dict[str, Any]) -> bool:
    """An image, a table or a value that is not empty or NaN."""
    if data.get("image/png") or data.get("image/svg+xml") or data.get("text/html"):
        return True
    text = "".join(data.get("text/plain", "")).strip().strip("'\"")
    return bool(text) and text.lower() not in ("nan", "none")


LANES = 2  # commands run in this many copies of the repository at once (a smoke run waits on kernels and imports)


def command_key(command: str) -> tuple:
    patterns, overrides = parse_command(command)
    return tuple(sorted(patterns)), tuple(sorted((k, repr(v)) for k, v in overrides.items()))


def lanes_of(commands: list[str], lanes: int = LANES) -> list[list[str]]:
    """Distinct ``commands`` split into ``lanes`` lists: commands that share a run id stay in one lane, in their
    order (one run's page is overwritten by the next command that runs it), lanes balanced by the number of runs."""
    distinct = list({command_key(c): c for c in commands}.values())
    groups: list[tuple[set[str], list[str]]] = []
    for command in distinct:
        ids = {run.id for run in _check_command(command)}
        touching = [g for g in groups if g[0] & ids]
        merged = (set(ids).union(*(g[0] for g in touching)), [c for g in touching for c in g[1]] + [command])
        groups = [g for g in groups if g not in touching] + [merged]
    out: list[list[str]] = [[] for _ in range(lanes)]
    load = [0] * lanes
    for ids, group in sorted(groups, key=lambda g: -len(g[0])):
        lane = load.index(min(load))
        out[lane] += sorted(group, key=distinct.index)
        load[lane] += len(ids)
    return [lane for lane in out if lane]


def test_commands_that_share_a_run_share_a_lane():
    lanes = lanes_of([e["command"] for e in EXERCISES])
    seen: dict[str, int] = {}
    for number, lane in enumerate(lanes):
        for command in lane:
            for run in _check_command(command):
                assert seen.setdefault(run.id, number) == number, f"{run.id} runs in two lanes"
    assert sorted(c for lane in lanes for c in lane) == sorted({command_key(e["command"]): e["command"] for e in EXERCISES}.values())


def run_exercises(base: Path, start_from: Path) -> dict:
    """command key → (return code, output tail, folder with copies of its pages): every exercise command run under
    the smoke profile with one worker, in ``LANES`` copies of ``start_from`` at once (``lanes_of``).

    ``start_from`` is the test session's repository copy after its smoke run of the whole manifest
    (``test_book.smoke_run``): the copies keep its records and trained models, so a command without overrides is
    all cache hits and a command with overrides retrains only what its overrides change."""
    from concurrent.futures import ThreadPoolExecutor

    from test_book import in_tree

    results: dict[tuple, tuple[int, str, Path]] = {}

    def run_lane(number: int, commands: list[str]) -> None:
        tree = base / f"lane{number}" / "repo"
        shutil.copytree(start_from, tree, ignore=shutil.ignore_patterns("_build", ".pytest_cache", "__pycache__"))
        for index, command in enumerate(commands):
            started = time.perf_counter()
            words = shlex.split(command)[1:] + ["--profile", "smoke", "--workers", "1"]
            done = subprocess.run([sys.executable, "-m", "fairnb.cli", *words], cwd=tree, env=in_tree(tree),
                                  capture_output=True, text=True, timeout=1200)
            print(f"{command}: {time.perf_counter() - started:.0f} s")
            # copy the pages at once: a later command of this lane may run the same run with other overrides
            pages = base / f"lane{number}" / "pages" / str(index)
            pages.mkdir(parents=True, exist_ok=True)
            for run in _check_command(command):
                page = tree / "book" / "runs" / f"{run.id}.ipynb"
                if page.exists():
                    shutil.copy2(page, pages / page.name)
            results[command_key(command)] = (done.returncode, (done.stdout + done.stderr)[-4000:], pages)

    lanes = lanes_of([e["command"] for e in EXERCISES])
    with ThreadPoolExecutor(len(lanes)) as pool:
        for future in [pool.submit(run_lane, number, lane) for number, lane in enumerate(lanes)]:
            future.result()
    return results


def execute(executed: dict, command: str) -> Path:
    """The folder of pages ``command`` produced (``run_exercises``); fails with its output if it failed."""
    returncode, output, pages = executed[command_key(command)]
    assert returncode == 0, output
    return pages


def check_exercise_pages(executed: dict, exercise: dict) -> None:
    """The pages ``exercise``'s command produced show every ``look_at`` entry (the slow test in ``test_book``, which
    runs the commands in copies of its smoke-run repository)."""
    pages = execute(executed, exercise["command"])
    missing = []
    for item in exercise["look_at"]:
        page = nbformat.read(pages / f"{item['run']}.ipynb", as_version=4)
        errors = [o for c in page.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"{item['run']}: {errors[0].get('ename')}: {errors[0].get('evalue')}"
        if "glue" in item:
            data = glued_output(page, item["glue"])
            if data is None or not shows_something(data):
                missing.append(f"{item['run']}: glue {item['glue']!r} " + ("absent" if data is None else f"empty: {data}"))
        else:
            outputs = section_outputs(page, item["heading"])
            if not outputs or not any(shows_something(o) for o in outputs):
                missing.append(f"{item['run']}: section {item['heading']!r} " + ("absent" if outputs is None else "shows nothing"))
    assert not missing, missing
