"""The results snapshot: making one, the pages built from it, and (slow) the book from it on a fresh copy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from fairnb.book import snapshot
from fairnb.errors import RunStoreError
from fairnb.runs.execute import Outputs, prepare, source_digest
from fairnb.runs.manifest import ROOT, load_manifest
from fairnb.runs.result_code import result_code_hashes, result_digest

MANIFEST = {run.id: run for run in load_manifest()}
RUNS = [MANIFEST["datasets-adult"], MANIFEST["datasets-compas"], MANIFEST["table1"]]


def _record(run: str, profile: str = "smoke", source: str | None = None, status: str = "ok", **overrides) -> dict:
    """A successful record of manifest run ``run`` as ``fairnb run --profile <profile>`` (with ``-p`` ``overrides``)
    makes it now: its parameters and cache key are the runner's (``_results`` computes the key where the record lies)."""
    return {"run": run, "template": f"notebooks/x/01_{run.split('-')[0]}.md", "profile": profile, "status": status,
            "fairnb_source": source_digest() if source is None else source, "overrides": overrides,
            "finished": f"2026-11-30T10:0{len(run) % 10}:00Z", "device": "cpu (2 cores, x86_64)",
            "seconds": 1.0, "metrics": {"m": {"mean": 0.5, "std": 0.0, "n": 1, "values": [0.5]}}}


def _results(folder: Path, records: list[dict], failed: tuple[str, ...] = ()) -> Path:
    """Write ``records`` into ``folder``, each manifest run's with the parameters and key the runner gives it there."""
    folder.mkdir(parents=True, exist_ok=True)
    for record in records:
        (folder / f"{record['run']}.json").write_text(json.dumps(record))
    for record in records:
        overrides = record.pop("overrides", {})
        if record["run"] in MANIFEST and "key" not in record:
            job = prepare([MANIFEST[record["run"]]], record["profile"], overrides, check_device=False,
                          outputs=Outputs(folder, folder, folder))[0]
            record.update(parameters=job.parameters, key=job.key)
        (folder / f"{record['run']}.json").write_text(json.dumps(record))
    for run in failed:
        (folder / f"{run}.failed.json").write_text(json.dumps({"run": run, "status": "failed"}))
    (folder / "_last_invocation.json").write_text("[]")
    return folder


def _write(results: Path, folder: Path, **kwargs) -> dict:
    return snapshot.write_snapshot(results, folder, runs=RUNS, describe=lambda: {"cpu": "test cpu", "cores": 2}, **kwargs)


def test_snapshot_copies_the_records_of_a_complete_run_with_provenance(tmp_path):
    results = _results(tmp_path / "results", [_record(r.id) for r in RUNS] + [_record("not-in-manifest")])
    folder = tmp_path / "results" / "snapshot"
    (folder).mkdir()
    (folder / "stale.json").write_text("{}")
    provenance = _write(results, folder)
    assert sorted(p.name for p in folder.iterdir()) == ["PROVENANCE.json", "datasets-adult.json", "datasets-compas.json",
                                                        "table1.json"]
    assert (folder / "datasets-adult.json").read_text() == (results / "datasets-adult.json").read_text()
    on_disk = json.loads((folder / "PROVENANCE.json").read_text())
    assert on_disk == provenance
    assert provenance["profile"] == "smoke" and provenance["runs"] == 3 and provenance["fairnb_source"] == source_digest()
    assert provenance["result_code"]["files"] == result_code_hashes()
    assert provenance["result_code"]["digest"] == result_digest()
    assert provenance["command"] == "fairnb run --profile smoke && fairnb snapshot"
    assert provenance["machine"] == {"cpu": "test cpu", "cores": 2} and "smoke" in provenance["note"].lower()
    assert {"date", "finished", "devices"} <= set(provenance)
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no staging folder left


@pytest.mark.parametrize("case, message", [
    ("missing", "no successful record for 1 run(s): datasets-compas"),
    ("failed", "the last attempt failed for 1 run(s): table1"),
    ("profiles", "mix profiles"),
    ("sources", "2 versions of the fairnb code"),
    ("unknown", "do not name the code"),
])
def test_snapshot_refuses_anything_but_one_complete_run(tmp_path, case, message):
    records = [_record(r.id) for r in RUNS]
    failed: tuple[str, ...] = ()
    if case == "missing":
        records = records[::2]
    elif case == "failed":
        failed = ("table1",)
    elif case == "profiles":
        records[0] = _record("datasets-adult", profile="default")
    elif case == "sources":
        records[0] = _record("datasets-adult", source="src2")
    elif case == "unknown":
        records[0] = _record("datasets-adult", source="")
    folder = tmp_path / "snapshot"
    with pytest.raises(RunStoreError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _write(_results(tmp_path / "results", records, failed), folder)
    assert not folder.exists()


def test_provenance_is_required(tmp_path):
    with pytest.raises(RunStoreError, match="fairnb snapshot"):
        snapshot.read_provenance(tmp_path)


def test_pages_say_the_snapshot_date_and_whether_the_code_changed():
    provenance = {"date": "2026-11-30T12:00:00Z", "profile": "smoke", "runs": 46, "fairnb_source": "f" * 64,
                  "result_code": {"digest": "a" * 64, "files": {}},
                  "devices": ["cpu (2 cores, x86_64)"], "note": snapshot.PROFILE_NOTES["smoke"]}
    same = snapshot.snapshot_note(provenance, current="a" * 64)
    changed = snapshot.snapshot_note(provenance, current="b" * 64)
    for note in (same, changed):
        assert "results snapshot of 2026-11-30" in note and "**smoke** profile" in note and "46 runs" in note
        assert note.startswith("````{admonition} Results snapshot of 2026-11-30") and note.endswith("````")
    assert "unchanged" in same and "has changed" not in same
    assert "The code has changed since" in changed and "`bbbbbbbbbbbb` now" in changed
    assert "has changed since" in snapshot.announcement(provenance, current="b" * 64)
    assert not snapshot.code_changed(provenance, "a" * 64)
    unknown = snapshot.snapshot_note({k: v for k, v in provenance.items() if k != "result_code"}, current="a" * 64)
    assert "may have changed" in unknown and "unchanged" not in unknown  # a snapshot without the digest proves nothing


def _mini_book(root: Path) -> dict:
    pages = {
        "intro.md": "# Intro\n\nSee {doc}`runs/overview` and {doc}`the lecture <lecture>`.\n",
        "lecture.md": "# Lecture\n\n(lecture-label)=\n## Part\n\nAll runs: {doc}`appendix/all`; also {doc}`runs/x-1`.\n"
                      "```{include} generated/time.md\n```\n",
        "glued.md": "# Glued\n\nA value: {glue:text}`runs/x-1.ipynb::value:.3f`.\n",
        "linked.md": "# Linked\n\nSee [the run](runs/x-1.ipynb).\n",
        "figures.md": "# Figures\n\n{numref}`fig-x` shows it.\n",
        "labels.md": "# Labels\n\nSee {ref}`lecture-label` and {doc}`glued`.\n",
        "included.md": "# Included\n\n```{include} generated/glue.md\n```\n",
        "generated/time.md": "It took 1 s.\n",
        "generated/glue.md": "Value {glue:text}`../runs/x-1.ipynb::value`.\n",
        "appendix/all.md": "# All runs\n",
        "runs/overview.md": "# Overview\n",
        "runs/x-1.md": "# Run x-1\n\n```{figure} a.png\n:name: fig-x\n```\n",
    }
    for name, text in pages.items():
        (root / "book" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "book" / name).write_text(text)
    chapters = ["runs/overview", "lecture", "glued", "linked", "figures", "labels", "included"]
    return {"format": "jb-book", "root": "book/intro", "parts": [
        {"caption": "Start", "chapters": [{"file": f"book/{c}"} for c in chapters]},
        {"caption": "Appendix", "chapters": [{"file": "book/appendix/all",
                                              "sections": [{"glob": "book/runs/x-*"}, {"file": "book/runs/x-1"}]}]},
    ]}


def test_reduced_toc_keeps_summary_and_hand_written_pages_that_are_whole(tmp_path):
    reduced, kept, dangling = snapshot.reduced_toc(_mini_book(tmp_path), keep_runs=["overview"], root=tmp_path)
    assert kept == {"book/intro", "book/runs/overview", "book/lecture", "book/labels"}
    # glued values, a markdown link and a figure number from a page left out: those pages go, included files too
    assert dangling == ["appendix/all", "glued", "runs/x-1"]  # {doc} links to pages left out stay, as plain text
    assert reduced["parts"] == [{"caption": "Start", "chapters": [
        {"file": "book/runs/overview"}, {"file": "book/lecture"}, {"file": "book/labels"}]}]
    assert reduced["root"] == "book/intro" and reduced["format"] == "jb-book"


def test_reduced_toc_of_the_book(tmp_path):
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    reduced, kept, dangling = snapshot.reduced_toc(toc)
    text = yaml.safe_dump(reduced)
    assert "glob" not in text and "book/appendix" not in text
    runs = sorted(d for d in kept if d.startswith("book/runs/"))
    executed = [t for t in snapshot.SUMMARY_TEMPLATES if (ROOT / "book" / "runs" / f"{t}.ipynb").exists()]
    assert runs == sorted(f"book/runs/{t}" for t in executed)  # a summary page is kept once it is executed
    assert {"book/intro", "book/teaching/course", "book/api", "book/glossary"} <= kept
    for docname in kept:  # every kept page has a file and shows nothing of a page left out
        text = snapshot.page_text(docname)
        assert text is not None, docname
        assert not snapshot.references(text, docname)["needs"] - kept, docname
    assert all(not d.startswith("book/runs/") or d.rsplit("/", 1)[-1] in snapshot.SUMMARY_TEMPLATES
               for d in kept)


def test_build_files_silence_only_the_links_to_pages_left_out(tmp_path):
    provenance = {"date": "2026-11-30T12:00:00Z", "profile": "smoke", "fairnb_source": "x"}
    toc_path, config_path = snapshot.write_build_files(provenance, folder=tmp_path, current="y")
    config = yaml.safe_load(config_path.read_text())
    base = yaml.safe_load((ROOT / "_config.yml").read_text())
    sphinx = config["sphinx"]["config"]
    assert sphinx["nitpick_ignore_regex"][:len(base["sphinx"]["config"]["nitpick_ignore_regex"])] == \
        base["sphinx"]["config"]["nitpick_ignore_regex"]
    assert all(kind == "doc" for kind, _ in sphinx["nitpick_ignore_regex"][len(base["sphinx"]["config"]["nitpick_ignore_regex"]):])
    assert "results snapshot of 2026-11-30" in sphinx["html_theme_options"]["announcement"]
    assert {k: v for k, v in config.items() if k != "sphinx"} == {k: v for k, v in base.items() if k != "sphinx"}
    assert yaml.safe_load(toc_path.read_text())["root"] == "book/intro"


def test_summary_runs_are_the_pages_that_read_other_runs():
    assert sorted(r.template for r in snapshot.summary_runs()) == sorted(snapshot.SUMMARY_TEMPLATES)


def test_cache_key_reads_inputs_from_the_records_folder_and_includes_the_note(tmp_path):
    from fairnb.runs.execute import cache_key

    run = next(r for r in load_manifest() if r.id == "table1")
    records = tmp_path / "snapshot"
    records.mkdir()
    (records / "comparison-adult-sex.json").write_text(json.dumps(_record("comparison-adult-sex")))
    first = cache_key(run, {}, "smoke", "src", records=records)
    assert cache_key(run, {}, "smoke", "src", records=records) == first
    assert cache_key(run, {}, "smoke", "src", records=records, note="a note") != first
    (records / "comparison-adult-sex.json").write_text(json.dumps(_record("comparison-adult-sex", source="other")))
    assert cache_key(run, {}, "smoke", "src", records=records) != first
    (records / "table1.json").write_text("{}")  # the run's own record is an output, not an input
    (records / "PROVENANCE.json").write_text("{}")  # not matched by the inputs
    second = cache_key(run, {}, "smoke", "src", records=records)
    (records / "table1.json").write_text('{"changed": 1}')
    assert cache_key(run, {}, "smoke", "src", records=records) == second


def test_fairnb_results_points_the_records_reader_elsewhere(tmp_path):
    code = "import fairnb.records as r; print(r.RESULTS); print(len(r.read_records()))"
    (tmp_path / "x-1.json").write_text(json.dumps(_record("x-1")))
    env = {**os.environ, "FAIRNB_RESULTS": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(tmp_path), "1"]


def test_cli_refuses_run_selection_with_from_snapshot(capsys):
    from fairnb.cli import main

    assert main(["book", "--from-snapshot", "--only", "overview"]) == 2
    assert "cannot be combined with --from-snapshot" in capsys.readouterr().err


def test_cli_snapshot_of_an_incomplete_run_names_what_is_missing(tmp_path, monkeypatch, capsys):
    from fairnb.cli import main
    from fairnb.runs import execute

    monkeypatch.setattr(execute, "RESULTS", _results(tmp_path / "results", [_record("overview")]))
    monkeypatch.setattr(snapshot, "SNAPSHOT", tmp_path / "results" / "snapshot")
    assert main(["snapshot"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("fairnb: error:") and "no successful record for" in error and "datasets-adult" in error
    assert not (tmp_path / "results" / "snapshot").exists()


def test_committed_snapshot_is_one_complete_run():
    """The committed snapshot holds the records of one run of every run its manifest had (the manifest may
    have grown since: the snapshot is replaced by the next `fairnb snapshot`) and says where it comes from."""
    if not (snapshot.SNAPSHOT / snapshot.PROVENANCE).exists():
        pytest.skip("no results snapshot committed yet")
    provenance = snapshot.read_provenance()
    assert {"date", "machine", "fairnb_source", "profile", "command", "runs"} <= set(provenance)
    assert provenance["command"].endswith("fairnb snapshot")
    paths = sorted(p for p in snapshot.SNAPSHOT.iterdir() if p.name != snapshot.PROVENANCE)
    assert all(p.suffix == ".json" and not p.name.endswith(".failed.json") for p in paths)
    records = [json.loads(p.read_text()) for p in paths]
    assert len(records) == provenance["runs"] and [f"{r['run']}.json" for r in records] == [p.name for p in paths]
    assert {r["status"] for r in records} == {"ok"}
    assert {r["profile"] for r in records} == {provenance["profile"]}
    assert {r["fairnb_source"] for r in records} == {provenance["fairnb_source"]}
    assert {t for t in snapshot.SUMMARY_TEMPLATES} <= {r["run"] for r in records}


@pytest.mark.slow
def test_book_from_snapshot_on_a_fresh_copy(snapshot_build):
    """`fairnb book --from-snapshot` in a copy of the repository with no results: the summary pages say which
    snapshot they show, no other run page is built, and it takes about a minute (bound: 5 minutes)."""
    tree, seconds = snapshot_build.tree, snapshot_build.seconds
    print(f"fairnb book --from-snapshot: {seconds:.0f} s")
    result = snapshot_build
    provenance = snapshot.read_provenance()
    html = tree / "_build" / "snapshot" / "html"
    assert str(html / "index.html") in result.stdout
    assert not (tree / "book" / "runs").exists() and not (tree / "_build" / "html").exists()  # the local book untouched
    for template in snapshot.SUMMARY_TEMPLATES:
        page = (html / "book" / "runs" / f"{template}.html").read_text()
        assert f"results snapshot of {provenance['date'][:10]}" in page, template
        assert any(says in page for says in ("The code has changed since", "The code may have changed since", "unchanged"))
    assert sorted(p.stem for p in (html / "book" / "runs").glob("*.html")) == sorted(snapshot.SUMMARY_TEMPLATES)
    assert (html / "book" / "teaching" / "course.html").exists() and (html / "book" / "api.html").exists()
    assert not list((tree / "results").glob("*.json"))  # nothing written to results/ but the snapshot
    assert seconds < 300


# the snapshot book read as a reader sees it (built once per test process by ``conftest.snapshot_build``)
from test_book import _fits, browser  # noqa: E402,F401 - the headless-Chromium fixture and the column check
@pytest.fixture(scope="session")
def snapshot_book(snapshot_build):
    """The snapshot book's html folder (``snapshot_build``)."""
    return snapshot_build.html


@pytest.mark.slow
def test_snapshot_book_names_the_pages_it_lacks(snapshot_book):
    """A hand-written chapter's link to a page the snapshot book does not hold (the appendix, run pages) reads
    "<title> (in the full book)", never its raw target such as ../appendix/..."""
    import re

    raw, named = [], 0
    for page in (snapshot_book / "book").rglob("*.html"):
        text = page.read_text(errors="ignore")
        raw += [f"{page.relative_to(snapshot_book)}: {m}" for m in re.findall(r">\.\./(?:appendix|runs|images)/[^<]*<", text)]
        named += text.count("(in the full book)")
    assert not raw, raw[:10]
    assert named, "no chapter names a page of the full book"


@pytest.mark.slow
@pytest.mark.browser
def test_snapshot_chapter_fits_the_text_column_at_1280_px(snapshot_book, browser):
    chapter = snapshot_book / "book" / "paper000" / "fair_synthesis.html"
    assert chapter.exists()
    _fits(browser, chapter)
    assert "(in the full book)" in browser.find_element("tag name", "body").text
