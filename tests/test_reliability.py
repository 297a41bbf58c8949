"""The run store under crashes, changed data and bad input: nothing stale, nothing lost.

Runs here use the throwaway templates in ``tests/templates/`` (``probe``: seed 0/1 succeed, 2 raises,
3 kills its kernel with ``os._exit``, 4 hangs; ``userdata``: reports how many MEPS records it could
load) and output folders under ``tmp_path``. Tests that execute notebooks start a kernel (a few seconds
each); the rest check the store directly.
"""

from __future__ import annotations

import json
import os
import shlex
import threading
import time
from pathlib import Path

import nbformat
import pytest

import fairnb.runs.execute as execute
from fairnb.cli import main
from fairnb.errors import ParameterError, RunStoreError
from fairnb.runs import params
from fairnb.runs.manifest import Run

TEMPLATES = Path(__file__).resolve().parent / "templates"


@pytest.fixture
def store(tmp_path, monkeypatch):
    """Output folders in ``tmp_path`` (pages, records, failed runs, invocation log)."""
    for name, value in {"BOOK_RUNS": tmp_path / "book" / "runs", "RESULTS": tmp_path / "results",
                        "FAILED": tmp_path / "_build" / "failed",
                        "INVOCATION": tmp_path / "results" / "_last_invocation.json"}.items():
        monkeypatch.setattr(execute, name, value)
    return tmp_path


def probe(seed: int = 0, run_id: str | None = None) -> Run:
    return Run(run_id or f"probe-{seed}", "probe", {"seed": seed}, (), TEMPLATES / "probe.md")


def userdata(**parameters) -> Run:
    return Run("userdata-meps", "userdata", {"dataset": "meps", **parameters}, (), TEMPLATES / "userdata.md")


def fake_execution(job: execute.Job, answer: float = 42.0) -> dict:
    """Commit a run without a kernel: a notebook with a metrics output, published as ``execute`` does."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# Probe"), nbformat.v4.new_code_cell("report()")]
    notebook.cells[1].outputs = [nbformat.v4.new_output(
        "display_data", data={"text/plain": str(answer)}, metadata={"fairnb_metrics": {"answer": {"mean": answer, "std": 0.0, "n": 1}}})]
    job.outputs.failed.mkdir(parents=True, exist_ok=True)
    job.outputs.book_runs.mkdir(parents=True, exist_ok=True)
    job.outputs.results.mkdir(parents=True, exist_ok=True)
    scratch = job.outputs.failed / f".{job.run.id}.{os.getpid()}.running.ipynb"
    nbformat.write(notebook, scratch)
    record = {"run": job.run.id, "template": "probe", "parameters": job.parameters, "profile": job.profile,
              "device": "cpu", "seconds": 0.1, "status": "ok", "error": None, "key": job.key, "finished": "now",
              "metrics": execute.extract_metrics(scratch)}
    execute._publish(job, scratch, record)
    scratch.unlink(missing_ok=True)
    return record


def quiet(_line: str) -> None:
    pass


# ------------------------------------------------------------------ 1. a dead kernel is one failed run


@pytest.mark.slow
def test_dead_kernel_is_one_failed_run_and_the_others_complete(store, capfd):
    jobs = execute.prepare([probe(3), probe(0)], "smoke")
    summaries = execute.run_jobs(jobs, workers=1, progress=quiet)
    by_run = {s["run"]: s for s in summaries}
    assert by_run["probe-0"]["status"] == "ok"
    assert by_run["probe-3"]["status"] == "failed"
    assert "the kernel died" in by_run["probe-3"]["error"] and "exit code 3" in by_run["probe-3"]["error"]
    failure = json.loads((store / "results" / "probe-3.failed.json").read_text())
    assert failure["status"] == "failed" and "kernel died" in failure["error"]
    page = nbformat.read(store / "book" / "runs" / "probe-3.ipynb", as_version=4)  # the failure is visible on its page
    assert "kernel died" in page.cells[0].source
    assert execute.last_invocation()["probe-3"]["status"] == "failed"
    err = capfd.readouterr().err
    assert "without encryption" not in err and "DeadKernelError" not in err and "Traceback" not in err


# ------------------------------------------------------------------ 2. user-supplied data joins the cache key


def test_cache_key_covers_where_user_data_comes_from_and_what_it_is(store, tmp_path, monkeypatch):
    from conftest import write_meps_fixture

    supplied = tmp_path / "supplied"
    supplied.mkdir()
    monkeypatch.setenv("FAIRNB_DATA", str(supplied))
    run = userdata()
    absent = execute.cache_key(run, run.parameters, "smoke", "src")
    path = write_meps_fixture(supplied)
    present_key = execute.cache_key(run, run.parameters, "smoke", "src")
    assert present_key != absent
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))  # replaced by another file
    assert execute.cache_key(run, run.parameters, "smoke", "src") != present_key
    elsewhere = tmp_path / "elsewhere"
    write_meps_fixture(elsewhere)
    assert execute.cache_key(run, {**run.parameters, "data_path": str(elsewhere)}, "smoke", "src") != present_key
    # vendored datasets are covered by their recorded checksums only
    assert execute.user_data(probe(), {}) == {}


@pytest.mark.slow
def test_supplying_user_data_later_reruns_the_page(store, tmp_path, monkeypatch):
    from conftest import write_meps_fixture

    supplied = tmp_path / "supplied"
    supplied.mkdir()
    monkeypatch.setenv("FAIRNB_DATA", str(supplied))
    monkeypatch.setenv("FAIRNB_MEPS_ROWS", "any")  # the fixture is a sample of the file
    record, hit = execute.run_job(execute.prepare([userdata()], "smoke")[0])  # what a Dask worker runs
    assert record["status"] == "ok" and record["metrics"]["records"]["mean"] == 0
    write_meps_fixture(supplied)
    job = execute.prepare([userdata()], "smoke")[0]
    assert not execute.is_cached(job)
    record, hit = execute.run_job(job)
    assert hit is False and record["metrics"]["records"]["mean"] == 397
    assert execute.run_job(job)[1] is True  # and now it is cached


# ------------------------------------------------------------------ 3. a page and its record are one commit


def test_page_and_record_are_committed_together(store, monkeypatch):
    job = execute.prepare([probe(0)], "smoke")[0]
    fake_execution(job, 42.0)
    page = store / "book" / "runs" / "probe-0.ipynb"
    record_path = store / "results" / "probe-0.json"
    assert execute.is_cached(job)
    assert json.loads(record_path.read_text())["page_sha256"] == execute.sha256_file(page)
    before_page, before_record = page.read_bytes(), record_path.read_bytes()

    # moving the record into place fails: the previous page is put back, the pair stays consistent
    changed = execute.prepare([probe(1, run_id="probe-0")], "smoke")[0]

    def refuse_record(staged, final):
        if final.suffix == ".json":
            raise OSError(28, "No space left on device")
        os.replace(staged, final)

    monkeypatch.setattr(execute, "_commit", refuse_record)
    with pytest.raises(OSError):
        fake_execution(changed, 43.0)
    monkeypatch.undo()
    assert page.read_bytes() == before_page and record_path.read_bytes() == before_record
    assert execute.is_cached(job) and not execute.is_cached(changed)
    assert not [p.name for p in page.parent.glob(".*")]  # no staging files left behind

    # the process died between the two moves: a new page with the old record is not a cache hit
    page.write_bytes(before_page.replace(b"42.0", b"43.0"))
    assert not execute.is_cached(job)
    # neither is a truncated page with a valid record
    page.write_bytes(before_page[: len(before_page) // 2])
    assert not execute.is_cached(job)
    page.write_bytes(before_page)
    assert execute.is_cached(job)


def test_interrupted_commit_is_rolled_back_by_the_next_run(store):
    job = execute.prepare([probe(0)], "smoke")[0]
    fake_execution(job, 42.0)
    page = store / "book" / "runs" / "probe-0.ipynb"
    old = page.read_bytes()
    # what a process killed after moving the page (before moving the record) leaves behind
    os.link(page, page.parent / ".probe-0.999999.previous.ipynb")
    newer = page.parent / "newer"
    newer.write_bytes(old.replace(b"42.0", b"43.0"))
    os.replace(newer, page)
    (store / "results" / ".probe-0.999999.staged.json").write_text("{}")
    (store / "_build" / "failed" / ".probe-0.999999.running.ipynb").write_text("{}")
    assert not execute.is_cached(job)
    assert execute.clean_interrupted(job.outputs) == ["probe-0"]
    assert page.read_bytes() == old and execute.is_cached(job)
    leftovers = [p for folder in ("book/runs", "results", "_build/failed") for p in (store / folder).glob(".probe-0.*")]
    assert leftovers == []


# ------------------------------------------------------------------ 4. a stale failure record goes


def test_cache_hit_clears_a_stale_failure_record(store):
    job = execute.prepare([probe(0)], "smoke")[0]
    fake_execution(job)
    failed_job = execute.prepare([probe(2, run_id="probe-0")], "smoke")[0]
    execute.record_failure(failed_job, "RuntimeError: broken on purpose")  # a later run with other parameters failed
    assert (store / "results" / "probe-0.failed.json").exists()
    summaries = execute.run_jobs([job], progress=quiet)  # cached: no cluster, no kernel
    assert summaries[0]["cache_hit"] is True and summaries[0]["status"] == "ok"
    assert not (store / "results" / "probe-0.failed.json").exists()
    assert execute.last_invocation()["probe-0"]["cache_hit"] is True


# ------------------------------------------------------------------ 5. list parameters from the command line


def test_list_parameters_parse_from_the_command_line_and_elements_are_checked():
    assert params.parse_cli_value("beta_exponents", "[0, 7]") == [0, 7]
    assert params.parse_cli_value("beta_exponents", "0,7") == [0, 7]
    assert params.parse_cli_value("lams", "1, 2.5") == [1.0, 2.5]
    with pytest.raises(ParameterError, match=r"beta_exponents='\[0, x\]': not a JSON list; allowed: a non-empty list"):
        params.parse_cli_value("beta_exponents", "[0, x]")
    with pytest.raises(ParameterError, match=r"beta_exponents=\[0, 11\]: element 1 \(11\): out of range; allowed: .*int in \[0, 10\]"):
        params.parse_cli_value("beta_exponents", "[0, 11]")
    with pytest.raises(ParameterError, match=r"element 0 \('a'\): not a int"):
        params.parse_cli_value("beta_exponents", "a,7")
    with pytest.raises(ParameterError, match="element 0 .*wrong type str"):
        params.validate("beta_exponents", list("[0, 7]"))  # what the command line used to produce
    with pytest.raises(ParameterError, match="empty list"):
        params.parse_cli_value("lams", "[]")


def test_nan_and_inf_are_refused_for_bounded_floats():
    with pytest.raises(ParameterError, match=r"lam=nan: not a number \(NaN\); allowed: float in"):
        params.parse_cli_value("lam", "nan")
    with pytest.raises(ParameterError, match="lam=inf: out of range"):
        params.parse_cli_value("lam", "inf")
    with pytest.raises(ParameterError, match=r"lams=\[1.0, nan\]: element 1"):
        params.validate("lams", [1.0, float("nan")])


# ------------------------------------------------------------------ refused up front


def test_refused_before_anything_starts(store, monkeypatch):
    with pytest.raises(ParameterError, match="dataset='adult'.*for template userdata: one of meps, celeba"):
        execute.prepare([userdata()], "smoke", {"dataset": "adult"})
    monkeypatch.setattr(execute, "_cuda_visible", lambda: False)
    with pytest.raises(ParameterError, match="device='cuda'.*no CUDA device is visible"):
        execute.prepare([probe(0)], "smoke", {"device": "cuda"})
    assert execute.prepare([probe(0)], "smoke", {"device": "cuda"}, check_device=False)  # runs on another machine
    with pytest.raises(ParameterError, match="profile='paper': conflicts with --profile smoke"):
        execute.prepare([probe(0)], "smoke", {"profile": "paper"})
    job = execute.prepare([probe(0)], "smoke", {"profile": "smoke"})[0]
    assert "profile" not in job.parameters and job.profile == "smoke"
    assert not (store / "results").exists()  # nothing written


def test_cli_one_line_errors(store, monkeypatch, capsys):
    def error_of(*argv):
        assert main(list(argv)) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("fairnb: error: ") and "\n" not in err and "Traceback" not in err
        return err

    assert "profile='paper': conflicts with --profile smoke" in error_of(
        "run", "--profile", "smoke", "-p", "profile", "paper", "--only", "datasets-adult")
    assert "workers='many'" in error_of("run", "--workers", "many", "--only", "datasets-adult")
    assert "scheduler='nonsense': malformed" in error_of("run", "--scheduler", "nonsense", "--only", "datasets-adult")
    monkeypatch.setattr(execute, "SCHEDULER_TIMEOUT", 2.0)
    started = time.perf_counter()
    assert "scheduler='tcp://127.0.0.1:1': unreachable within 2 s" in error_of(
        "run", "--scheduler", "tcp://127.0.0.1:1", "--only", "datasets-adult")
    assert time.perf_counter() - started < 10
    assert "run_timeout=-5: out of range" in error_of("run", "--timeout", "-5", "--only", "datasets-adult")
    blocker = store / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setattr(execute, "RESULTS", blocker / "results")
    assert f"cannot write to {blocker / 'results'}" in error_of("run", "--profile", "smoke", "--only", "datasets-adult")


def test_workers_default_to_the_usable_cores():
    from fairnb.cli import _parser, _workers

    assert _parser().parse_args(["run"]).workers == "auto"
    assert _parser().parse_args(["book"]).workers == "auto"
    assert _workers("auto") == len(os.sched_getaffinity(0)) == execute.usable_cores()
    assert _workers("3") == 3
    with pytest.raises(ParameterError, match="workers=0"):
        _workers("0")


def test_dry_run_validates_and_lists_without_executing(store, capsys):
    fake_execution(execute.prepare([probe(0)], "smoke", {"device": "cpu"})[0])
    jobs = execute.prepare([probe(0), probe(1)], "smoke", {"device": "cpu"})
    lines = execute.dry_run(jobs)
    assert lines[0].startswith("probe-0  [cached; limit 900 s]") and "seed=0 device=cpu profile=smoke" in lines[0]
    assert lines[1].startswith("probe-1  [to run; limit 900 s]")
    assert main(["run", "--dry-run", "--profile", "smoke", "--only", "datasets-adult", "-p", "seed", "3", "--timeout", "60"]) == 0
    out = capsys.readouterr().out
    assert "datasets-adult  [to run; limit 60 s]" in out and "seed=3" in out and "dataset=adult" in out
    assert "1 runs: 0 cached, 1 to run (dry run: nothing executed)" in out
    assert not list((store / "results").glob("datasets-*"))


def test_book_without_runs_says_so_and_builds_nothing(store, monkeypatch, capsys):
    import fairnb.book

    monkeypatch.setattr(fairnb.book, "build", lambda **_: pytest.fail("the book must not be built"))
    assert main(["book", "--no-run"]) == 2
    assert capsys.readouterr().err.strip() == "fairnb: error: no runs yet: run `fairnb run` first"


# ------------------------------------------------------------------ the footer


def test_footer_quotes_values_and_includes_the_overrides(store):
    run = Run("userdata-meps", "userdata", {"dataset": "meps"}, (), TEMPLATES / "userdata.md")
    job = execute.prepare([run], "smoke", {"data_path": "/data/my folder/it's here", "seed": 3})[0]
    fairnb, papermill, example = execute.rerun_commands(job)
    words = shlex.split(fairnb)
    assert words[:6] == ["fairnb", "run", "--only", "userdata-meps", "--profile", "smoke"]
    pairs = {words[i + 1]: words[i + 2] for i, w in enumerate(words) if w == "-p"}
    assert {k: params.parse_cli_value(k, v) for k, v in pairs.items()} == {"data_path": "/data/my folder/it's here", "seed": 3}
    assert "dataset" not in pairs  # from the manifest, not an override
    words = shlex.split(papermill)
    assert words[words.index("-r") + 1:words.index("-r") + 3] == ["dataset", "meps"]
    assert ["-r", "data_path", "/data/my folder/it's here"] == words[words.index("data_path") - 1:words.index("data_path") + 2]
    assert shlex.split(example)[-3:] == ["-p", "seed", "1"]
    assert execute.papermill_option("beta_exponents", [0, 7]) == "-y '{\"beta_exponents\": [0, 7]}'"
    assert execute.cli_value([0, 7]) == "[0, 7]"


# ------------------------------------------------------------------ concurrency and leftovers


def test_second_invocation_of_a_run_waits_then_skips(store):
    job = execute.prepare([probe(0)], "smoke")[0]
    result = {}
    with execute.run_lock(job.outputs, job.run.id):
        waiter = threading.Thread(target=lambda: result.update(value=execute.run_job(job)))
        waiter.start()
        time.sleep(0.5)
        assert waiter.is_alive()  # waits for the run's lock
        fake_execution(job)  # meanwhile the first invocation completes the run
    waiter.join(timeout=10)
    record, hit = result["value"]
    assert hit is True and record["status"] == "ok"


def test_invocation_log_keeps_every_run_of_concurrent_invocations(store):
    def invocation(prefix):
        for i in range(15):
            execute.record_invocation([{"run": f"{prefix}-{i}", "status": "ok", "cache_hit": False}])

    threads = [threading.Thread(target=invocation, args=(p,)) for p in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    logged = json.loads((store / "results" / "_last_invocation.json").read_text())
    assert len(logged) == 30 and len(execute.last_invocation()) == 30


def test_scratch_files_of_killed_runs_are_cleaned_up(store):
    job = execute.prepare([probe(0)], "smoke")[0]
    failed = store / "_build" / "failed"
    failed.mkdir(parents=True)
    (failed / ".probe-0.4242.running.ipynb").write_text("{}")
    assert execute.clean_interrupted(job.outputs) == ["probe-0"]
    assert not list(failed.glob(".*"))
    with execute.run_lock(job.outputs, "probe-1"):  # a run being executed right now keeps its scratch file
        (failed / ".probe-1.4243.running.ipynb").write_text("{}")
        assert execute.clean_interrupted(job.outputs) == []
        assert (failed / ".probe-1.4243.running.ipynb").exists()


def test_unwritable_store_is_one_clear_error(store, monkeypatch):
    blocker = store / "file"
    blocker.write_text("")
    outputs = execute.Outputs(blocker / "runs", store / "results", store / "_build" / "failed")
    with pytest.raises(RunStoreError, match=f"cannot write to {blocker / 'runs'}"):
        outputs.check_writable()


# ------------------------------------------------------------------ time limit and clean


@pytest.mark.slow
def test_a_run_past_its_time_limit_is_a_failed_run(store):
    job = execute.prepare([probe(4)], "smoke", timeout=3)[0]
    started = time.perf_counter()
    record = execute.execute(job)
    assert time.perf_counter() - started < 30
    assert record["status"] == "failed" and record["error"].startswith("timed out after 3 s")
    assert (store / "results" / "probe-4.failed.json").exists()


def test_clean_keeps_results_and_clean_all_keeps_only_the_snapshot(store, monkeypatch):
    import fairnb.book

    monkeypatch.setattr(fairnb.book, "GENERATED", store / "generated")
    monkeypatch.setattr(fairnb.book, "HTML", store / "_build" / "html")
    results = store / "results"
    (results / "snapshot").mkdir(parents=True)
    (results / "snapshot" / "a.json").write_text("{}")
    (results / "a.json").write_text("{}")
    (store / "book" / "runs").mkdir(parents=True)
    (store / "book" / "runs" / "a.ipynb").write_text("{}")
    assert main(["clean"]) == 0
    assert (results / "a.json").exists() and not (store / "book" / "runs").exists()
    assert main(["clean", "--all"]) == 0
    assert [p.relative_to(results).as_posix() for p in results.rglob("*")] == ["snapshot", "snapshot/a.json"]
