"""Parameter validation, manifest, cache, atomic results and failure handling of `fairnb run`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

import fairnb.runs.execute as execute
import fairnb.runs.manifest as manifest
from fairnb.cli import main
from fairnb.errors import ParameterError
from fairnb.runs import params
from fairnb.runs.config import resolve

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ parameter validation

@pytest.mark.parametrize("name, value, message", [
    ("dataset", "adultt", "parameter dataset='adultt': not allowed; allowed: one of adult, compas"),
    ("seed", "3", "parameter seed='3': wrong type str; allowed: int in [0,"),
    ("seed", -1, "parameter seed=-1: out of range"),
    ("profile", "fast", "parameter profile='fast': not allowed; allowed: one of smoke, default, paper"),
    ("repetitions", 0, "parameter repetitions=0: out of range"),
    ("correlation", True, "parameter correlation=True: wrong type bool"),
    ("no_such_thing", 1, "parameter no_such_thing=1: unknown parameter"),
])
def test_validate_names_parameter_value_and_allowed(name, value, message):
    with pytest.raises(ParameterError) as error:
        params.validate(name, value)
    assert str(error.value).startswith(message)


def test_cli_values_are_converted_then_validated():
    assert params.parse_cli_value("seed", "4") == 4
    assert params.parse_cli_value("correlation", "0.99") == 0.99
    assert params.parse_cli_value("repetitions", "None") is None
    with pytest.raises(ParameterError, match="seed='x': not a int"):
        params.parse_cli_value("seed", "x")


def test_resolve_fills_profile_values_and_checks_sensitive():
    config = resolve({"dataset": "adult", "sensitive": "race", "profile": "smoke", "seed": 1, "repetitions": None, "device": "cpu"})
    assert config.repetitions == 1
    assert config.seeds == [1]
    assert "from profile smoke" in config.table().loc["repetitions", "meaning"]
    with pytest.raises(ParameterError, match="sensitive='age_group'.*for dataset adult: sex, race"):
        resolve({"dataset": "adult", "sensitive": "age_group"})


# ------------------------------------------------------------------ manifest and table of contents

def test_manifest_expands_and_every_template_exists():
    runs = manifest.load_manifest()
    ids = [r.id for r in runs]
    assert "datasets-adult" in ids and len(ids) == len(set(ids))
    for run in runs:
        declared = manifest.template_parameters(run.template_path)
        assert set(run.parameters) <= set(declared), run.id
        manifest.check_overrides(run, {})


def test_toc_includes_every_template_of_the_manifest():
    toc = (ROOT / "_toc.yml").read_text()
    for template in {r.template for r in manifest.load_manifest()}:
        assert f"book/runs/{template}-*" in toc or f"book/runs/{template}\n" in toc, template


def test_every_template_parameter_is_registered_and_documented():
    for path in manifest.template_files():
        for name, parameter in manifest.template_parameters(path).items():
            assert name in params.PARAMS, f"{path.name}: {name} is not in fairnb.runs.params"
            assert parameter.comment, f"{path.name}: {name} has no comment"
            params.validate(name, parameter.default)


def test_templates_are_saved_as_text_without_outputs():
    templates = manifest.template_files()
    assert templates and all(p.suffix == ".md" for p in templates), [p.name for p in templates if p.suffix != ".md"]
    assert {manifest.template_name(p) for p in templates} == {r.template for r in manifest.load_manifest()}
    for path in templates:
        assert path.read_text().startswith("---\njupytext:"), path.name  # a MyST notebook, not plain markdown
        notebook = manifest.read_template(path)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


def test_every_template_reads_as_a_notebook_with_its_parameters_cell():
    """Every text template reads as the notebook papermill executes: one ``parameters`` cell (whose
    names and defaults ``template_parameters`` finds), the python3 kernel, cell ids from the position
    (the same on every read), no jupytext metadata."""
    import papermill.iorw
    import papermill.utils

    for path in manifest.template_files():
        notebook = manifest.read_template(path)
        nbformat.validate(notebook)
        assert notebook.metadata.kernelspec.name == "python3" and "jupytext" not in notebook.metadata
        assert [c.id for c in notebook.cells] == [f"cell-{i:02d}" for i in range(len(notebook.cells))]
        assert manifest.read_template(path) == notebook
        declared = manifest.template_parameters(path)
        assert "profile" in declared and "seed" in declared, path.name
        loaded = papermill.iorw.load_notebook_node(notebook)  # what papermill reads when the runner hands it the notebook
        cell = papermill.utils.find_first_tagged_cell_index(loaded, "parameters")  # where it injects, after this cell
        assert cell >= 0 and all(f"{name} =" in loaded.cells[cell].source for name in declared), path.name


def test_a_template_written_before_the_change_still_reads(tmp_path):
    """A ``.ipynb`` template (e.g. one kept locally) is still a template; both at once is an error."""
    text = manifest.template_file("datasets")
    notebook = manifest.read_template(text)
    nbformat.write(notebook, tmp_path / "01_datasets.ipynb")
    assert manifest.template_parameters(tmp_path / "01_datasets.ipynb") == manifest.template_parameters(text)
    assert manifest.template_file("datasets", tmp_path) == tmp_path / "01_datasets.ipynb"
    (tmp_path / "01_datasets.md").write_text(text.read_text())
    with pytest.raises(ValueError, match="several template files"):
        manifest.template_file("datasets", tmp_path)


def test_unknown_parameter_override_fails_before_compute(capsys):
    code = main(["run", "--profile", "smoke", "--only", "datasets-adult", "-p", "beta", "3"])
    assert code == 2
    assert "parameter beta='3'" in capsys.readouterr().err


def test_bad_profile_and_workers_fail_clearly(capsys):
    assert main(["run", "--profile", "huge", "--only", "datasets-adult"]) == 2
    assert "profile='huge'" in capsys.readouterr().err
    assert main(["run", "--workers", "0", "--only", "datasets-adult"]) == 2
    assert "workers=0" in capsys.readouterr().err
    assert main(["run", "--only", "nothing-*"]) == 2
    assert "matches no run" in capsys.readouterr().err


# ------------------------------------------------------------------ execution, cache, atomicity

SLEEPY = """# Parameters
seed = 0  # int: 0 succeeds, 1 sleeps for a minute, 2 raises
profile = "default"  # str: smoke, default, paper
"""


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A manifest with one tiny template, and output folders in tmp_path."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell(SLEEPY)
    code.metadata["tags"] = ["parameters"]
    work = nbformat.v4.new_code_cell(
        "import time, fairnb.runs\n"
        "if seed == 1: time.sleep(60)\n"
        "if seed == 2: raise RuntimeError('broken on purpose')\n"
        "fairnb.runs.report({'answer': [41 + seed, 43 + seed]})")
    nb.cells = [code, work]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (notebooks / "sleepy.md").write_text(jupytext.writes(nb, fmt="md:myst"))  # a text template, as the repository's
    (notebooks / "manifest.yml").write_text(yaml.safe_dump({"runs": [{"template": "sleepy", "matrix": {"seed": [0]}}]}))
    monkeypatch.setattr(manifest, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(manifest, "MANIFEST", notebooks / "manifest.yml")
    for name, value in {"BOOK_RUNS": tmp_path / "book" / "runs", "RESULTS": tmp_path / "results",
                        "FAILED": tmp_path / "failed", "INVOCATION": tmp_path / "results" / "_last_invocation.json"}.items():
        monkeypatch.setattr(execute, name, value)
    return tmp_path


def _jobs(seed: int = 0):
    runs = manifest.load_manifest(manifest.MANIFEST)
    return execute.prepare(runs, "smoke", {"seed": seed})


@pytest.mark.slow
def test_run_records_metrics_then_hits_cache(sandbox):
    first = execute.run_jobs(_jobs(), workers=1, progress=lambda _: None)
    assert first[0]["status"] == "ok" and first[0]["cache_hit"] is False
    record = json.loads((sandbox / "results" / "sleepy-0.json").read_text())
    assert record["metrics"]["answer"] == {"mean": 42.0, "std": pytest.approx(1.4142135, rel=1e-6), "n": 2,
                                           "values": [41.0, 43.0]}
    for field in ("run", "template", "parameters", "profile", "device", "seconds", "status", "metrics", "key"):
        assert field in record
    page = nbformat.read(sandbox / "book" / "runs" / "sleepy-0.ipynb", as_version=4)
    footer = page.cells[-1].source
    assert "fairnb run --only 'sleepy-0' --profile smoke" in footer
    assert "jupytext --to ipynb -o - notebooks/sleepy.md | papermill - sleepy-0.ipynb" in footer
    assert page.metadata.papermill.input_path == "notebooks/sleepy.md"
    assert record["template"] == "notebooks/sleepy.md"
    assert "answer,42.0," in (sandbox / "book" / "runs" / "sleepy-0.metrics.csv").read_text()
    started = time.perf_counter()
    second = execute.run_jobs(_jobs(), workers=1, progress=lambda _: None)
    assert second[0]["cache_hit"] is True
    assert time.perf_counter() - started < 2.0


@pytest.mark.slow
def test_text_template_runs_with_injected_parameters(tmp_path, monkeypatch):
    """A repository template (MyST text) through the runner: papermill finds its parameters cell, injects an
    override after it, and the page shows the overridden value; the record names the text template."""
    for name, value in {"BOOK_RUNS": tmp_path / "book" / "runs", "RESULTS": tmp_path / "results",
                        "FAILED": tmp_path / "failed", "INVOCATION": tmp_path / "results" / "_last_invocation.json"}.items():
        monkeypatch.setattr(execute, name, value)
    run = next(r for r in manifest.load_manifest() if r.id == "datasets-german")
    assert run.template_path.suffix == ".md"
    record = execute.execute(execute.prepare([run], "smoke", {"seed": 7})[0])
    assert record["status"] == "ok", record["error"]
    assert record["template"] == "notebooks/data/01_datasets.md" and record["parameters"]["seed"] == 7
    page = nbformat.read(tmp_path / "book" / "runs" / "datasets-german.ipynb", as_version=4)
    tags = [c.metadata.get("tags", []) for c in page.cells]
    first = next(i for i, t in enumerate(tags) if "parameters" in t)
    assert "injected-parameters" in tags[first + 1]  # papermill's cell, right after the template's
    assert "seed = 7" in page.cells[first + 1].source and 'profile = "smoke"' in page.cells[first + 1].source
    assert "seed = 0" in page.cells[first].source  # the template's default, overridden
    shown = "".join(str(o.get("data", {}).get("text/html", "")) + str(o.get("data", {}).get("text/plain", ""))
                    for o in page.cells[first + 2].outputs)
    assert "seed" in shown and "7" in shown  # the run configuration the page shows
    assert page.metadata.papermill.input_path == "notebooks/data/01_datasets.md"
    assert "jupytext --to ipynb -o - notebooks/data/01_datasets.md | papermill - datasets-german.ipynb" in page.cells[-1].source


def test_records_of_a_template_match_old_and_new_template_files(tmp_path):
    """Records written when templates were notebooks name ``.ipynb`` files; newer ones ``.md``: both count."""
    from fairnb.book.claims import Store
    from fairnb.records import of_template, read_records

    for run, suffix in (("runtime-a", ".ipynb"), ("runtime-b", ".md")):
        (tmp_path / f"{run}.json").write_text(json.dumps({"run": run, "template": f"notebooks/paper000/06_runtime{suffix}",
                                                          "status": "ok", "metrics": {}}))
    assert [r["run"] for r in read_records("runtime", tmp_path)] == ["runtime-a", "runtime-b"]
    assert [r["run"] for r in Store(tmp_path).records("runtime")] == ["runtime-a", "runtime-b"]
    assert not of_template({"template": "notebooks/paper000/06_runtime.py"}, "runtime")
    assert not of_template({"template": "notebooks/paper000/06_xruntime.md"}, "runtime")


@pytest.mark.slow
def test_failed_run_keeps_earlier_success_and_is_reported(sandbox):
    execute.run_jobs(_jobs(0), progress=lambda _: None)
    page = sandbox / "book" / "runs" / "sleepy-0.ipynb"
    before = page.read_bytes()
    job = _jobs(2)[0]
    record = execute.execute(job)
    assert record["status"] == "failed" and "broken on purpose" in record["error"]
    assert page.read_bytes() == before
    assert json.loads((sandbox / "results" / "sleepy-0.json").read_text())["status"] == "ok"
    assert json.loads((sandbox / "results" / "sleepy-0.failed.json").read_text())["status"] == "failed"
    assert (sandbox / "failed" / "sleepy-0.ipynb").exists()


@pytest.mark.slow
def test_killed_run_leaves_previous_results_intact(sandbox):
    execute.run_jobs(_jobs(0), progress=lambda _: None)
    record_path = sandbox / "results" / "sleepy-0.json"
    page = sandbox / "book" / "runs" / "sleepy-0.ipynb"
    before_record, before_page = record_path.read_bytes(), page.read_bytes()
    script = (
        "import fairnb.runs.execute as e, fairnb.runs.manifest as m, pathlib\n"
        f"root = pathlib.Path({str(sandbox)!r})\n"
        "m.NOTEBOOKS = root / 'notebooks'\n"
        "e.BOOK_RUNS, e.RESULTS, e.FAILED = root / 'book' / 'runs', root / 'results', root / 'failed'\n"
        "e.INVOCATION = root / 'results' / '_last_invocation.json'\n"
        "job = e.prepare(m.load_manifest(root / 'notebooks' / 'manifest.yml'), 'smoke', {'seed': 1})[0]\n"
        "e.execute(job)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and not list((sandbox / "failed").glob(".*running*")):
        time.sleep(0.5)
    time.sleep(4)  # the kernel is now inside time.sleep(60)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert record_path.read_bytes() == before_record
    assert page.read_bytes() == before_page
    assert not (sandbox / "results" / "sleepy-0.failed.json").exists()
    assert [p.name for p in (sandbox / "results").glob("*.tmp")] == []


def test_after_orders_waves_and_inputs_join_the_cache_key(tmp_path, monkeypatch):
    template = ROOT / "notebooks" / "data/01_datasets.md"
    first = manifest.Run("datasets-x", "datasets", {}, (), template)
    reader = manifest.Run("summary", "summary", {}, ("datasets",), template, ("results/*.json",))
    assert manifest.order([reader, first]) == [[first], [reader]]
    monkeypatch.setattr(execute, "ROOT", tmp_path)
    monkeypatch.setattr(execute, "RESULTS", tmp_path / "results")  # inputs under results/ are read from the store
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "datasets-x.json").write_text('{"metrics": {"a": 1}}')
    (tmp_path / "results" / "summary.json").write_text("its own record is not an input")
    key = execute.cache_key(reader, {}, "smoke", "src")
    (tmp_path / "results" / "summary.json").write_text("changed own record")
    assert execute.cache_key(reader, {}, "smoke", "src") == key
    (tmp_path / "results" / "datasets-x.json").write_text('{"metrics": {"a": 2}}')
    assert execute.cache_key(reader, {}, "smoke", "src") != key
    assert execute.cache_key(first, {}, "smoke", "src") != execute.cache_key(first, {"seed": 1}, "smoke", "src")
    with pytest.raises(ValueError, match="circular"):
        manifest.order([manifest.Run("a-1", "a", {}, ("b",), template), manifest.Run("b-1", "b", {}, ("a",), template)])


def test_paper_profile_repeats_each_paper_as_its_paper_did():
    """Paper 000 ten repetitions, paper 002 five, under the paper profile (injected by the runner)."""
    from fairnb.runs.execute import prepare

    runs = {r.id: r for r in manifest.load_manifest()}
    jobs = {j.run.id: j for j in prepare([runs["fair_classifier-german-sex"], runs["fair_synthesis-german-sex"]], "paper",
                                         check_device=False)}
    assert jobs["fair_classifier-german-sex"].parameters["repetitions"] == 5
    assert jobs["fair_synthesis-german-sex"].parameters.get("repetitions") is None  # the profile's 10, filled in the notebook
    smoke = prepare([runs["fair_classifier-german-sex"]], "smoke", check_device=False)[0]
    assert smoke.parameters.get("repetitions") is None
