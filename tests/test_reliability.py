"""The run store under crashes, changed data and bad input: nothing stale, nothing lost.

Runs here use the throwaway templates in ``tests/templates/`` (``probe``: seed 0/1 succeed, 2 raises,
3 kills its kernel with ``os._exit``, 4 hangs; ``userdata``: reports how many MEPS records it could
load) and output folders under ``tmp_path``. Tests that execute notebooks start a kernel (a few seconds
each); the rest check the store directly.
"""

from __future__ import annotations

import json
import os
import re
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
    assert lines[1].startswith("probe-1  [to run; limit 900 s; no history]")
    assert main(["run", "--dry-run", "--profile", "smoke", "--only", "datasets-adult", "-p", "seed", "3", "--timeout", "60"]) == 0
    out = capsys.readouterr().out
    assert "datasets-adult  [to run; limit 60 s; no history]" in out and "seed=3" in out and "dataset=adult" in out
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


# ================================================================== issue 22: the dry run, errors outside a cell


@pytest.fixture
def rooted_store(store, monkeypatch):
    """``store`` that is also the repository root, so ``results/...`` inputs resolve to the store however they are read."""
    monkeypatch.setattr(execute, "ROOT", store)
    return store


def summary_of_probes() -> Run:
    """A page that reads the probes' records (as table1 reads the comparison records)."""
    return Run("summary", "summary", {"seed": 1}, ("probe",), TEMPLATES / "probe.md", ("results/probe-*.json",))


def fake_runner(job: execute.Job, threads: int | None = None) -> tuple[dict, bool]:
    """What ``run_job`` does, with ``fake_execution`` instead of a kernel; each execution's record differs."""
    with execute.run_lock(job.outputs, job.run.id):
        if execute.is_cached(job):
            execute.forget_failure(job)
            return execute.read_record(job.run.id, job.outputs.results), True
        return fake_execution(job, answer=float(time.time_ns() % 10**9)), False


def test_a_failure_record_of_an_input_leaves_the_reading_page_cached(rooted_store):
    """Bug 4: a failed attempt of a run a summary page reads must not change the page's key (its glob matched
    ``*.failed.json``): the dry run said "cached", and the run then executed the page."""
    runs = [probe(0), summary_of_probes()]
    execute.run_jobs(execute.prepare(runs, "smoke"), progress=quiet, runner=fake_runner, log=False)
    before = execute.prepare([summary_of_probes()], "smoke")[0].key
    execute.record_failure(execute.prepare([probe(2, run_id="probe-0")], "smoke")[0], "RuntimeError: broken on purpose")
    assert (rooted_store / "results" / "probe-0.failed.json").exists()
    assert execute.prepare([summary_of_probes()], "smoke")[0].key == before
    jobs = execute.prepare(runs, "smoke")
    assert all("[cached;" in line for line in execute.dry_run(jobs))
    summaries = execute.run_jobs(jobs, progress=quiet, runner=fake_runner, log=False)
    assert [s["cache_hit"] for s in summaries] == [True, True]


STORE_STATES = {
    "empty": lambda store: None,
    "complete": lambda store: None,
    "failed attempt of an input": lambda store: execute.record_failure(
        execute.prepare([probe(2, run_id="probe-0")], "smoke")[0], "RuntimeError: broken on purpose"),
    "truncated page": lambda store: (store / "book" / "runs" / "probe-1.ipynb").write_text("{"),
    "unreadable record": lambda store: (store / "results" / "probe-0.json").write_text("{\"run\": "),
    "summary record gone": lambda store: (store / "results" / "summary.json").unlink(),
    "input re-run with other parameters": lambda store: fake_execution(
        execute.prepare([probe(1, run_id="probe-0")], "smoke")[0], 7.0),
    "summary page replaced": lambda store: (store / "book" / "runs" / "summary.ipynb").write_text("{}"),
}


@pytest.mark.parametrize("state", list(STORE_STATES))
def test_dry_run_cached_list_is_what_the_run_then_skips(rooted_store, state):
    """For each store state, the runs the dry run calls cached are exactly the runs the real run then skips."""
    runs = [probe(0), probe(1), summary_of_probes()]
    if state != "empty":
        execute.run_jobs(execute.prepare(runs, "smoke"), progress=quiet, runner=fake_runner, log=False)
    STORE_STATES[state](rooted_store)
    jobs = execute.prepare(runs, "smoke")
    said = {line.split()[0] for line in execute.dry_run(jobs) if "[cached;" in line}
    skipped = {s["run"] for s in execute.run_jobs(jobs, progress=quiet, runner=fake_runner, log=False) if s["cache_hit"]}
    assert said == skipped
    expected = {"empty": set(), "complete": {"probe-0", "probe-1", "summary"},
                "failed attempt of an input": {"probe-0", "probe-1", "summary"}, "truncated page": {"probe-0"},
                "unreadable record": {"probe-1"}, "summary record gone": {"probe-0", "probe-1"},
                "input re-run with other parameters": {"probe-1"},  # probe-0 is made again; the summary reads it
                "summary page replaced": {"probe-0", "probe-1"}}[state]
    assert said == expected


def test_an_explicit_default_is_the_plain_run(store):
    """``-p seed 0`` where the template's default is 0 is the manifest's run: same parameters, same key."""
    from fairnb.runs.manifest import load_manifest

    run = next(r for r in load_manifest() if r.id == "datasets-adult")
    plain, explicit = execute.prepare([run], "smoke")[0], execute.prepare([run], "smoke", {"seed": 0})[0]
    assert explicit.parameters == plain.parameters and explicit.key == plain.key
    assert execute.prepare([run], "smoke", {"seed": 1})[0].key != plain.key


def test_a_damaged_vendored_file_is_not_served_from_the_cache(store, tmp_path, monkeypatch):
    """A cache hit checks the sums of the vendored files its run read: damaged data is never served."""
    import shutil

    from fairnb.data import tabular
    from fairnb.runs.manifest import load_manifest

    copy = tmp_path / "datafiles"
    shutil.copytree(tabular.DATA_DIR, copy)
    monkeypatch.setattr(tabular, "DATA_DIR", copy)
    tabular.vendored.cache_clear()
    run = next(r for r in load_manifest() if r.id == "datasets-german")
    job = execute.prepare([run], "smoke")[0]
    fake_execution(job)
    assert execute.is_cached(job)
    damaged = copy / "german" / "german.data.gz"
    damaged.write_bytes(damaged.read_bytes()[:-10])
    tabular.vendored.cache_clear()
    try:
        assert not execute.is_cached(job)
        assert "german.data.gz" in execute.damaged_data(job)
        assert "[to run;" in execute.dry_run([job])[0]
    finally:
        tabular.vendored.cache_clear()


def test_workers_have_an_upper_bound(capsys):
    from fairnb.cli import _workers, max_workers

    assert _workers(str(max_workers())) == max_workers()
    with pytest.raises(ParameterError, match=r"workers=100000: not allowed; allowed: auto .* or an integer from 1 to"):
        _workers("100000")


@pytest.mark.slow
def test_a_dead_kernel_names_the_cell_it_died_in(store):
    """Bug 5: the FAILED line names the cell the kernel died in, not the template's last cell."""
    run = Run("dies-3", "dies", {"seed": 3}, (), TEMPLATES / "dies.md")
    record = execute.execute(execute.prepare([run], "smoke")[0])
    assert record["status"] == "failed"
    assert "the kernel died in the cell starting '# the cell that kills its kernel'" in record["error"], record["error"]


# ------------------------------------------------------------------ --scheduler that is not a Dask scheduler


def _server(greeting: bytes | None) -> tuple[str, threading.Event]:
    """A TCP server on a free port that sends ``greeting`` to each connection (``None``: waits, as an HTTP
    server waits for a request); returns its address and an event that stops it."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve():
        held = []
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            if greeting is not None:
                connection.sendall(greeting)
            held.append(connection)
        for connection in held:
            connection.close()
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"tcp://127.0.0.1:{listener.getsockname()[1]}", stop


@pytest.mark.parametrize("greeting, problem", [
    (None, "no Dask handshake within 2 s"),  # the dashboard's port or any HTTP server: it waits for a request
    (b"SSH-2.0-OpenSSH_9.6\r\n", "not a message length"),  # a service that sends a banner
])
def test_scheduler_that_is_not_dask_is_one_line_in_seconds(monkeypatch, capsys, greeting, problem):
    monkeypatch.setattr(execute, "SCHEDULER_TIMEOUT", 2.0)
    address, stop = _server(greeting)
    try:
        started = time.perf_counter()
        assert main(["run", "--scheduler", address, "--only", "datasets-adult", "--profile", "smoke"]) == 2
        assert time.perf_counter() - started < 10
    finally:
        stop.set()
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"fairnb: error: parameter scheduler='{address}': not a Dask scheduler") and problem in err
    assert "\n" not in err and "Traceback" not in err and "MemoryError" not in err


def test_a_dask_scheduler_passes_the_check():
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as cluster:
        execute.check_scheduler(cluster.scheduler_address, timeout=5)


# ------------------------------------------------------------------ broken templates and manifests


def _notebooks(tmp_path: Path, template: str, manifest: str = "runs:\n  - template: broken\n") -> Path:
    folder = tmp_path / "notebooks"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "01_broken.md").write_text(template)
    (folder / "manifest.yml").write_text(manifest)
    return folder


def _cli_error(capsys, *argv: str) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fairnb: error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_a_broken_template_or_manifest_is_one_line_naming_the_file(tmp_path, monkeypatch, capsys):
    import fairnb.runs.manifest as manifest

    good = (TEMPLATES / "probe.md").read_text()
    folder = _notebooks(tmp_path, good.replace('seed = 0 ', 'seed = = 0 '))
    monkeypatch.setattr(manifest, "MANIFEST", folder / "manifest.yml")
    line = good.splitlines().index(next(l for l in good.splitlines() if l.startswith("seed = 0 "))) + 1
    err = _cli_error(capsys, "run", "--dry-run", "--profile", "smoke")
    assert f"{folder / 'data' / '01_broken.md'}, line {line}: the parameters cell is not valid Python" in err

    (folder / "data" / "01_broken.md").write_text(good.replace("  text_representation:", "  text_representation: [", 1))
    err = _cli_error(capsys, "run", "--dry-run", "--profile", "smoke")
    assert f"{folder / 'data' / '01_broken.md'}, line " in err and "not valid YAML" in err

    (folder / "data" / "01_broken.md").write_text(good)
    (folder / "manifest.yml").write_text("runs:\n  - template: broken\n    matrix: {seed: [0, 1]\n")
    err = _cli_error(capsys, "list")
    assert f"{folder / 'manifest.yml'}, line " in err and "not valid YAML" in err
    (folder / "manifest.yml").write_text("runs:\n  - template: broken\n    matrix: [seed]\n")
    assert "entry 1 of runs (broken): 'matrix' must be a mapping" in _cli_error(capsys, "list")


# ------------------------------------------------------------------ a full disk, an unreadable record


def test_a_full_disk_is_one_failed_run_that_keeps_the_earlier_result(store, monkeypatch):
    """No space left under results/: the run is one failed summary naming the path and "no space left", the
    earlier page and record stay, and nothing raises (no traceback)."""
    import errno

    import papermill

    job = execute.prepare([probe(0)], "smoke")[0]
    fake_execution(job, 42.0)
    page, record_path = store / "book" / "runs" / "probe-0.ipynb", store / "results" / "probe-0.json"
    before = page.read_bytes(), record_path.read_bytes()

    def executed(notebook, output_path, **_):  # papermill without a kernel: the template's cells, a metrics output
        nbformat.write(notebook, output_path)

    def full(path, data):
        if Path(path).parent == store / "results" or Path(path).parent.name == "_invocation":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        with open(path, "wb") as handle:
            handle.write(data)

    monkeypatch.setattr(papermill, "execute_notebook", executed)
    monkeypatch.setattr(execute, "_write_durable", full)
    changed = execute.prepare([probe(1, run_id="probe-0")], "smoke")[0]
    said = []
    summaries = execute.run_jobs([changed], progress=said.append, runner=execute.run_job)
    assert summaries[0]["status"] == "failed"
    error = summaries[0]["error"]
    assert "no space left on device" in error and str(store / "results") in error and "\n" not in error
    assert (page.read_bytes(), record_path.read_bytes()) == before
    assert any(line.startswith("warning: the invocation log was not updated") for line in said)


def test_an_unreadable_record_is_named_once_and_the_run_executes_again(store):
    job = execute.prepare([probe(0)], "smoke")[0]
    fake_execution(job)
    path = store / "results" / "probe-0.json"
    path.write_text(path.read_text()[:40])
    said = []
    summaries = execute.run_jobs([job], progress=said.append, runner=fake_runner)
    warnings = [line for line in said if line.startswith("warning:")]
    assert len(warnings) == 1 and str(path) in warnings[0] and "unreadable" in warnings[0] and "probe-0 runs again" in warnings[0]
    assert summaries[0]["cache_hit"] is False and summaries[0]["status"] == "ok"
    assert execute.read_record("probe-0", store / "results")["status"] == "ok"


# ------------------------------------------------------------------ a book with pages missing


def test_a_strict_book_with_runs_missing_says_which_and_builds_nothing(store, monkeypatch, capsys):
    """The README's `fairnb book --only 'datasets-*' --profile smoke` on a store without the other runs: one line
    naming the missing runs before anything runs, no book built (no partial _build/html)."""
    import fairnb.book

    monkeypatch.setattr(fairnb.book, "build", lambda **_: pytest.fail("the book must not be built"))
    monkeypatch.setattr(execute, "run_jobs", lambda *a, **k: pytest.fail("nothing may run"))
    err = _cli_error(capsys, "book", "--only", "datasets-*", "--profile", "smoke")
    assert "the book needs a page of every run of the manifest" in err and "fair_translation-adult-sex" in err
    assert "datasets-adult" not in err and "--no-strict" in err
    fake_execution(execute.prepare([probe(0)], "smoke")[0])  # some run exists: --no-run gets as far as the check
    err = _cli_error(capsys, "book", "--no-run")
    assert "datasets-adult" in err


# ================================================================== issue 23: what it costs, said before it starts


def test_dry_run_estimates_each_run_and_the_total_from_the_last_records(store, capsys, monkeypatch):
    """A run to execute says what its last successful record of the same profile took; the total is the wall time
    on the workers; runs without history are named, not guessed."""
    from fairnb.runs import estimate

    monkeypatch.setattr(estimate, "BENCHMARK", store / "no-benchmark.json")
    results = store / "results"
    results.mkdir(parents=True, exist_ok=True)
    for run_id, seconds, profile in (("datasets-adult", 240.0, "smoke"), ("datasets-compas", 180.0, "smoke"),
                                     ("datasets-german", 600.0, "default")):  # another profile is no history
        (results / f"{run_id}.json").write_text(json.dumps({"run": run_id, "status": "ok", "profile": profile,
                                                            "seconds": seconds, "key": "an older key"}))
    assert main(["run", "--dry-run", "--profile", "smoke", "--only", "datasets-*", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "datasets-adult  [to run; limit 900 s; about 4 min by its last run]" in out
    assert "datasets-compas  [to run; limit 900 s; about 3 min by its last run]" in out
    assert "datasets-german  [to run; limit 900 s; no history]" in out
    assert re.search(r"estimate for 6 runs to run: about 7 min (on 1 core|with 1 worker) plus 4 with no history "
                     r"\(datasets-celeba, datasets-colour_mnist, datasets-german, datasets-meps\)", out)
    assert main(["run", "--dry-run", "--profile", "smoke", "--only", "datasets-adult", "--only", "datasets-compas",
                 "--workers", "2"]) == 0
    assert re.search(r"estimate for 2 runs to run: about 4 min (on|with) 2 ", capsys.readouterr().out)  # side by side


def test_estimate_falls_back_to_the_benchmark_and_spreads_waves_over_workers(store, tmp_path, monkeypatch):
    from fairnb.runs import estimate

    benchmark = tmp_path / "book.json"
    benchmark.write_text(json.dumps({"measurements": [
        {"name": "default profile, probe-1, cold model store", "value": 300.0, "unit": "s"},
        {"name": "default profile, probe pages (4 runs), sum of the runs' seconds", "value": 800.0, "unit": "s"},
        {"name": "default profile, cold run of the whole manifest: runs done after 5187 s (stopped)", "value": 36,
         "unit": "runs of 50"}]}))
    monkeypatch.setattr(estimate, "BENCHMARK", benchmark)
    jobs = execute.prepare([probe(0), probe(1)], "default", {"device": "cpu"})
    assert estimate.run_estimate(jobs[1]) == estimate.Estimate(300.0, "benchmark")
    assert estimate.run_estimate(jobs[0]) == estimate.Estimate(200.0, "benchmark, per probe page")
    assert estimate.run_estimate(execute.prepare([probe(0)], "smoke")[0]).seconds is None
    first, second = probe(0), probe(1)
    reader = Run("summary", "summary", {"seed": 1}, ("probe",), TEMPLATES / "probe.md")
    waves = execute.prepare([first, second, reader], "default", {"device": "cpu"})
    costs = {"probe-0": 300.0, "probe-1": 200.0, "summary": 50.0}
    assert estimate.wall_seconds(waves, costs, workers=1) == 550.0
    assert estimate.wall_seconds(waves, costs, workers=2) == 350.0  # the summary waits for both probes
