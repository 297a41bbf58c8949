"""Issue 22 on the results snapshot: nothing stale, nothing lost.

A snapshot holds exactly the manifest's runs (bug 2); its pages and ``fairnb snapshot --check`` compare every file
that computes results, templates included (bug 3); a damaged snapshot is refused; the book built from it goes to
its own place and leaves this machine's pages, records and book as they were (bug 1). Stores are folders under
``tmp_path``; summary pages are committed by ``fake_execution`` (no kernel) through the runner's own scheduling.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import fairnb.runs.execute as execute
from fairnb.book import snapshot
from fairnb.cli import main
from fairnb.errors import RunStoreError
from fairnb.runs.manifest import load_manifest
from fairnb.runs.result_code import result_code_hashes, result_digest
from test_reliability import fake_execution, quiet
from test_snapshot import _record, _results

MANIFEST = {run.id: run for run in load_manifest()}
RUNS = [MANIFEST["datasets-adult"], MANIFEST["datasets-german"], MANIFEST["table1"]]


def _snapshot(tmp_path: Path, records: list[dict] | None = None) -> Path:
    """A snapshot of ``RUNS`` made from a complete smoke store in ``tmp_path/results``."""
    results = _results(tmp_path / "results", records or [_record(r.id) for r in RUNS])
    folder = tmp_path / "results" / "snapshot"
    snapshot.write_snapshot(results, folder, runs=RUNS, describe=lambda: {"cpu": "test"})
    return folder


# ------------------------------------------------------------------ bug 2: only the manifest's runs


def test_a_run_made_with_an_override_is_not_the_manifests_run(tmp_path):
    records = [_record("datasets-adult"), _record("datasets-german", seed=3), _record("table1")]
    with pytest.raises(RunStoreError) as refused:
        _snapshot(tmp_path, records)
    message = str(refused.value)
    assert "holds runs that are not the manifest's: datasets-german (seed=3 where the manifest's run has 0)" in message
    assert "fairnb run --profile smoke --only datasets-german" in message and "\n" not in message
    assert not (tmp_path / "results" / "snapshot").exists()


def test_an_explicit_default_is_the_manifests_run_and_a_stale_record_is_named(tmp_path):
    folder = _snapshot(tmp_path, [_record("datasets-adult"), _record("datasets-german", seed=0), _record("table1")])
    assert json.loads((folder / "PROVENANCE.json").read_text())["runs"] == 3
    results = _results(tmp_path / "again", [_record(r.id) for r in RUNS])
    stale = json.loads((results / "datasets-adult.json").read_text())
    (results / "datasets-adult.json").write_text(json.dumps({**stale, "key": "made by other code"}))
    with pytest.raises(RunStoreError, match=r"1 record\(s\) in .* are out of date .*: datasets-adult; run `fairnb run --profile smoke`"):
        snapshot.write_snapshot(results, tmp_path / "again" / "snapshot", runs=RUNS, describe=dict)


# ------------------------------------------------------------------ bug 3 and --check: the code that computes results


def test_check_and_pages_compare_templates_and_the_computing_code(tmp_path):
    folder = _snapshot(tmp_path)
    provenance = snapshot.read_provenance(folder)
    now = result_code_hashes()
    assert snapshot.check_snapshot(folder, now)[0] is True
    assert "unchanged" in snapshot.snapshot_note(provenance, result_digest(now))

    template = "notebooks/paper000/04_comparison.md"  # e.g. classifier = "random_forest" → "xgboost"
    changed = {**now, template: "0" * 64}
    current, line = snapshot.check_snapshot(folder, changed)
    assert current is False and f"{template} (changed)" in line and "\n" not in line
    note = snapshot.snapshot_note(provenance, result_digest(changed))
    assert "The code has changed since" in note and "unchanged" not in note
    assert "has changed since" in snapshot.announcement(provenance, result_digest(changed))

    for name in ("notebooks/manifest.yml", "fairnb/runs/profiles.py", "fairnb/paper002/translator.py"):
        assert name in now, name  # manifest, profiles and the package's computing code are compared too
    assert not [name for name in now if name.startswith(("fairnb/book/", "book/", "fairnb/cli.py"))]  # prose is not
    added = {**now, "fairnb/nn/new_layer.py": "1" * 64}
    assert "fairnb/nn/new_layer.py (added)" in snapshot.check_snapshot(folder, added)[1]


def test_cli_check_exits_0_for_a_current_snapshot_and_1_naming_what_changed(tmp_path, monkeypatch, capsys):
    folder = _snapshot(tmp_path)
    monkeypatch.setattr(snapshot, "SNAPSHOT", folder)
    assert main(["snapshot", "--check"]) == 0
    assert "was made by the code that computes results now" in capsys.readouterr().out
    monkeypatch.setattr(snapshot, "result_code_hashes", lambda: {**result_code_hashes(), "notebooks/manifest.yml": "0" * 64})
    assert main(["snapshot", "--check"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("fairnb snapshot --check: ") and "notebooks/manifest.yml (changed)" in err and "\n" not in err
    assert not (folder.parent / "snapshot.tmp").exists()  # --check makes nothing


def test_a_snapshot_that_records_no_code_hashes_fails_the_check(tmp_path, monkeypatch, capsys):
    folder = _snapshot(tmp_path)
    provenance = json.loads((folder / "PROVENANCE.json").read_text())
    del provenance["result_code"]
    (folder / "PROVENANCE.json").write_text(json.dumps(provenance))
    monkeypatch.setattr(snapshot, "SNAPSHOT", folder)
    assert main(["snapshot", "--check"]) == 1
    assert "records no hashes of the code that made it" in capsys.readouterr().err


# ------------------------------------------------------------------ a damaged snapshot is refused


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "datasets-german.json").write_text((f / "datasets-german.json").read_text()[:50]), "datasets-german.json is unreadable"),
    (lambda f: (f / "table1.json").unlink(), "holds 2 records where its PROVENANCE.json says 3"),
    (lambda f: (f / "table1.json").write_text(json.dumps({"run": "table1", "status": "failed"})),
     "table1.json is not the successful record of run table1"),
])
def test_a_damaged_snapshot_is_refused_before_anything_runs(tmp_path, monkeypatch, capsys, damage, message):
    folder = _snapshot(tmp_path)
    damage(folder)
    with pytest.raises(RunStoreError, match=message):
        snapshot.read_snapshot_records(folder)
    monkeypatch.setattr(snapshot, "SNAPSHOT", folder)
    monkeypatch.setattr(execute, "run_jobs", lambda *a, **k: pytest.fail("nothing may run"))
    assert main(["book", "--from-snapshot"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fairnb: error: ") and message.split()[0] in err and "\n" not in err


# ------------------------------------------------------------------ bug 1: the snapshot book builds in its own place


def test_book_from_snapshot_leaves_the_local_pages_records_and_book_alone(tmp_path, monkeypatch):
    """The summary pages computed from the snapshot go to _build/snapshot (pages, records, source tree, book),
    never over book/runs, results/ or _build/html: the local table1 stays cached and keeps its own page."""
    import fairnb.book.pages as pages

    folder = _snapshot(tmp_path)
    local = {"BOOK_RUNS": tmp_path / "book" / "runs", "RESULTS": tmp_path / "local-results",
             "FAILED": tmp_path / "_build" / "failed", "INVOCATION": tmp_path / "local-results" / "_last_invocation.json"}
    for name, value in local.items():
        monkeypatch.setattr(execute, name, value)
    built = tmp_path / "_build" / "snapshot"
    for name, value in {"SNAPSHOT_BUILD": built, "SNAPSHOT_PAGES": built / "runs", "SNAPSHOT_SOURCE": built / "source",
                        "SNAPSHOT_HTML": built / "html", "BOOK_RUNS": local["BOOK_RUNS"]}.items():
        monkeypatch.setattr(snapshot, name, value)
    local_job = execute.prepare([MANIFEST["table1"]], "smoke")[0]
    fake_execution(local_job, 1.0)  # this machine's table1
    local_files = {p: p.read_bytes() for p in (tmp_path / "book").rglob("*") if p.is_file()}
    local_files.update({p: p.read_bytes() for p in local["RESULTS"].rglob("*") if p.is_file()})

    real_run_jobs = execute.run_jobs
    executed = []

    def run_without_kernels(jobs, **options):
        executed.extend(jobs)
        return real_run_jobs(jobs, **{**options, "runner": lambda job, threads: (fake_execution(job, 2.0), False)})

    def jupyter_book(source, output, **_):
        assert (source / "book" / "runs" / "table1.ipynb").resolve() == (built / "runs" / "table1.ipynb").resolve()
        (output / "_build" / "html").mkdir(parents=True)
        (output / "_build" / "html" / "index.html").write_text("snapshot book")
        return 0

    monkeypatch.setattr(execute, "run_jobs", run_without_kernels)
    monkeypatch.setattr(pages, "write_pages", lambda **_: None)
    monkeypatch.setattr(snapshot, "summary_runs", lambda: [MANIFEST["table1"]])
    monkeypatch.setattr(snapshot, "write_build_files", lambda *a, **k: None)
    monkeypatch.setattr(snapshot, "jupyter_book_in", jupyter_book)
    assert snapshot.build_from_snapshot(folder, progress=quiet) == 0

    assert [job.outputs.book_runs for job in executed] == [built / "runs"]
    assert executed[0].outputs.results == built / "results" and executed[0].records == folder.resolve()
    assert (built / "html" / "index.html").read_text() == "snapshot book"
    assert {p: p.read_bytes() for p in local_files} == local_files  # every local page and record as it was
    assert not (tmp_path / "_build" / "html").exists()
    assert execute.is_cached(execute.prepare([MANIFEST["table1"]], "smoke")[0])  # `fairnb run --dry-run` says cached
