"""The results snapshot: the verdicts in a minute, without computing.

``results/snapshot/`` (committed) holds the successful results records of one complete run of the
manifest — every run, one profile, one version of the code — and ``PROVENANCE.json``: when the snapshot
was made, the machine, the ``fairnb`` source digest the runs were made with, the profile, the command.
``fairnb snapshot`` writes it from ``results/`` (``write_snapshot``).

``fairnb book --from-snapshot`` (``build_from_snapshot``) executes only the summary templates
(``SUMMARY_TEMPLATES``: landing page, claims ledger, Table 1, paper-002 reproduction, performance), which
read other runs' records, against the snapshot's records (``FAIRNB_RESULTS``), and builds the book from
those pages and the hand-written pages (a table of contents reduced to them, ``reduced_toc``). Each summary
page opens with a note naming the snapshot's date and profile and saying whether the code has changed
since (the snapshot's source digest against ``fairnb.runs.execute.source_digest()`` now). The records of
those runs go to ``_build/snapshot/results/`` (their cache), never to ``results/``.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable

import nbformat
import yaml

from fairnb.errors import RunStoreError
from fairnb.records import read_records
from fairnb.runs.execute import BOOK_RUNS, BUILD, RESULTS, Outputs, atomic_write, source_digest
from fairnb.runs.manifest import ROOT, Run, load_manifest

SNAPSHOT = RESULTS / "snapshot"
PROVENANCE = "PROVENANCE.json"
SNAPSHOT_BUILD = BUILD / "snapshot"
SUMMARY_TEMPLATES = ("overview", "claims", "table1", "reproduction_002", "performance")
EXCLUDED = ("book/appendix/",)  # the appendix lists every run's page; a snapshot book has none of them

PROFILE_NOTES = {
    "smoke": ("Smoke profile: every run took seconds, so the numbers only show that the whole pipeline works; "
              "they say nothing about the papers. A default-profile snapshot (the same commands with "
              "`--profile default`) replaces it."),
    "default": ("Default profile: real data, every compared model trained to its stated rule, shortened from the "
                "papers' protocols so the whole book runs on a 2-core CPU; see each page for what that changes."),
    "paper": "Paper profile: the papers' protocols (all repetitions and epochs).",
}


# ------------------------------------------------------------------ making a snapshot


def _check_complete(results: Path, runs: list[Run]) -> dict[str, dict[str, Any]]:
    """The successful record of every run of ``runs`` in ``results``; ``RunStoreError`` names what is missing,
    failed, or made under another profile or by another version of the code."""
    records = {r.get("run"): r for r in read_records(folder=results)}
    missing = [run.id for run in runs if run.id not in records]
    failed = [run.id for run in runs if (results / f"{run.id}.failed.json").exists()]
    problems = []
    if missing:
        problems.append(f"no successful record for {len(missing)} run(s): {', '.join(missing)}")
    if failed:
        problems.append(f"the last attempt failed for {len(failed)} run(s): {', '.join(failed)}")
    if problems:
        raise RunStoreError(f"{results} does not hold a complete run ({'; '.join(problems)}); run `fairnb run` first")
    chosen = {run.id: records[run.id] for run in runs}
    profiles = Counter(r.get("profile") for r in chosen.values())
    if len(profiles) > 1:
        raise RunStoreError(f"the records in {results} mix profiles ({', '.join(f'{p}: {n} runs' for p, n in profiles.items())}); "
                            "run every run under one profile (`fairnb run --profile PROFILE`) first")
    sources = Counter(r.get("fairnb_source") or "" for r in chosen.values())
    if "" in sources:
        unknown = sorted(k for k, r in chosen.items() if not r.get("fairnb_source"))
        raise RunStoreError(f"{len(unknown)} record(s) do not name the code that made them ({', '.join(unknown[:5])}"
                            f"{', …' if len(unknown) > 5 else ''}); run `fairnb run` again (cached runs are not recomputed)")
    if len(sources) > 1:
        raise RunStoreError(f"the records in {results} were made by {len(sources)} versions of the fairnb code; "
                            "run `fairnb run` again so that every run is made by the current one")
    return chosen


def machine() -> dict[str, Any]:
    """The machine making the snapshot (``fairnb.book.performance.machine``: CPU, cores, memory, GPU, versions)."""
    from fairnb.book.performance import machine as describe

    return describe()


def write_snapshot(results: Path = RESULTS, folder: Path = SNAPSHOT, *, runs: list[Run] | None = None,
                   command: str | None = None, describe: Callable[[], dict[str, Any]] = machine) -> dict[str, Any]:
    """Copy the successful records of a complete run (every run of ``runs``, default the manifest) from
    ``results`` into ``folder``, with ``PROVENANCE.json``; returns the provenance.

    Refuses (``RunStoreError``, naming the runs) unless every run has a successful record and no failed
    later attempt, all under one profile, all made by one version of the code. ``folder`` is replaced as a
    whole: the new snapshot is written beside it and renamed into place.
    """
    runs = load_manifest() if runs is None else runs
    chosen = _check_complete(Path(results), runs)
    first = next(iter(chosen.values()))
    profile = first["profile"]
    finished = sorted(str(r.get("finished", "")) for r in chosen.values() if r.get("finished"))
    provenance = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "profile": profile,
        "runs": len(chosen),
        "finished": [finished[0], finished[-1]] if finished else [],
        "devices": sorted({str(r.get("device")) for r in chosen.values() if r.get("device")}),
        "machine": describe(),
        "fairnb_source": first["fairnb_source"],
        "command": command or f"fairnb run --profile {profile} && fairnb snapshot",
        "note": PROFILE_NOTES.get(profile, ""),
    }
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{folder.name}.{os.getpid()}.tmp"
    previous = folder.parent / f".{folder.name}.{os.getpid()}.old"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        for run_id in chosen:
            shutil.copyfile(Path(results) / f"{run_id}.json", staging / f"{run_id}.json")
        (staging / PROVENANCE).write_text(json.dumps(provenance, indent=2) + "\n")
        if folder.exists():
            os.replace(folder, previous)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(previous, ignore_errors=True)
    return provenance


def read_provenance(folder: Path = SNAPSHOT) -> dict[str, Any]:
    """The snapshot's ``PROVENANCE.json``; ``RunStoreError`` when there is no snapshot in ``folder``."""
    path = Path(folder) / PROVENANCE
    try:
        provenance = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise RunStoreError(f"no results snapshot in {folder} ({PROVENANCE}: {getattr(error, 'strerror', None) or error}); "
                            "make one with `fairnb run --profile default` and then `fairnb snapshot`") from None
    if not isinstance(provenance, dict) or not provenance.get("profile") or not provenance.get("date"):
        raise RunStoreError(f"{path} names no profile or date; make the snapshot again with `fairnb snapshot`")
    return provenance


# ------------------------------------------------------------------ what the pages say


def code_changed(provenance: dict[str, Any], current: str | None = None) -> bool:
    """Whether the ``fairnb`` source differs from the one the snapshot's runs were made with."""
    return provenance.get("fairnb_source") != (current or source_digest())


def snapshot_note(provenance: dict[str, Any], current: str | None = None) -> str:
    """The note that opens every page computed from the snapshot (markdown): its date, profile, runs and
    machine, and whether the code has changed since."""
    current = current or source_digest()
    date = str(provenance["date"])[:10]
    then = str(provenance.get("fairnb_source") or "unknown")
    devices = "; ".join(provenance.get("devices") or []) or "an unrecorded device"
    lines = [f"````{{admonition}} Results snapshot of {date}", ":class: important", "",
             f"This page shows the **results snapshot of {date}** (`results/snapshot/`: the records of "
             f"{provenance.get('runs', '?')} runs under the **{provenance['profile']}** profile, on {devices}), "
             "not runs made on this machine."]
    if code_changed(provenance, current):
        lines.append(f"**The code has changed since** (fairnb source `{then[:12]}` then, `{current[:12]}` now): "
                     "what the code computes today may differ; `fairnb book` recomputes every run.")
    else:
        lines.append(f"The code is **unchanged** since (fairnb source `{then[:12]}`).")
    if provenance.get("note"):
        lines += ["", str(provenance["note"])]
    lines.append("````")
    return "\n".join(lines)


def announcement(provenance: dict[str, Any], current: str | None = None) -> str:
    """One line (HTML) for the top of every page of a book built from the snapshot."""
    from html import escape

    changed = "the code has changed since" if code_changed(provenance, current) else "the code is unchanged since"
    return (f"Built from the results snapshot of {escape(str(provenance['date'])[:10])} "
            f"({escape(str(provenance['profile']))} profile; {changed}): summary pages only; "
            "<code>fairnb book</code> computes every run.")


# ------------------------------------------------------------------ the reduced table of contents

_DOC = re.compile(r"\{doc\}`(?:[^`<]*<([^`>]+)>|([^`]+))`")
_GLUE = re.compile(r"\{glue(?::[a-z]+)?\}`([^`]+?)::")
_GLUE_DOC = re.compile(r"^\s*:doc:\s*(\S+)\s*$", re.M)
_LINK = re.compile(r"\]\(([^)\s#:]+\.(?:md|ipynb))(?:#[^)]*)?\)")
_LABEL_REF = re.compile(r"\{(?:numref|ref)\}`(?:[^`<]*<([^`>]+)>|([^`]+))`")
_LABEL_DEF = re.compile(r"^\s*\(([^)\s]+)\)=\s*$|^\s*:(?:name|label):\s*(\S+)\s*$", re.M)
_INCLUDE = re.compile(r"^\s*```+\{include\}\s*(\S+)", re.M)


def _docname(target: str, page: str) -> str:
    """A reference's target as a docname (relative to the page's folder unless it starts with /)."""
    target = re.sub(r"\.(md|ipynb)$", "", target.strip())
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(page), target))


def page_text(docname: str, root: Path = ROOT) -> str | None:
    """A page's source (markdown cells of a notebook), with the files it includes; None when it has no file."""
    for suffix in (".md", ".ipynb"):
        path = root / f"{docname}{suffix}"
        if not path.exists():
            continue
        if suffix == ".ipynb":
            notebook = nbformat.read(path, as_version=4)
            text = "\n\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
        else:
            text = path.read_text()
        for include in _INCLUDE.findall(text):
            included = (path.parent / include) if not include.startswith("/") else root / include.lstrip("/")
            if included.is_file():
                text += "\n\n" + included.read_text()
        return text
    return None


def references(text: str, page: str) -> dict[str, set[str]]:
    """What a page refers to: ``docs`` ({doc} targets as docnames), ``raw_docs`` (as written), ``needs``
    (documents whose content the page shows: glue sources and markdown links) and ``labels`` ({numref}/{ref})."""
    docs, raw = set(), set()
    for explicit, plain in _DOC.findall(text):
        target = (explicit or plain).strip()
        raw.add(target)
        docs.add(_docname(target, page))
    needs = {_docname(t, page) for t in _GLUE.findall(text) + _GLUE_DOC.findall(text) + _LINK.findall(text)}
    labels = {(explicit or plain).strip() for explicit, plain in _LABEL_REF.findall(text)}
    return {"docs": docs, "raw_docs": raw, "needs": needs, "labels": labels}


def _toc_files(entries: Iterable[dict[str, Any]]) -> list[str]:
    files = []
    for entry in entries:
        if "file" in entry:
            files.append(posixpath.normpath(re.sub(r"\.(md|ipynb)$", "", entry["file"])))
        for key in ("parts", "chapters", "sections"):
            files += _toc_files(entry.get(key, []))
    return files


def _filter(entries: list[dict[str, Any]], kept: set[str]) -> list[dict[str, Any]]:
    out = []
    for entry in entries:
        if "glob" in entry or ("file" in entry and posixpath.normpath(re.sub(r"\.(md|ipynb)$", "", entry["file"])) not in kept):
            continue
        entry = dict(entry)
        for key in ("parts", "chapters", "sections"):
            if key in entry:
                entry[key] = _filter(entry[key], kept)
                if not entry[key]:
                    del entry[key]
        if "file" in entry or entry.get("chapters") or entry.get("sections") or entry.get("parts"):
            out.append(entry)
    return out


def reduced_toc(toc: dict[str, Any], keep_runs: Iterable[str] = SUMMARY_TEMPLATES, root: Path = ROOT
                ) -> tuple[dict[str, Any], set[str], list[str]]:
    """The table of contents of a book without the run pages, except ``keep_runs`` (``book/runs/<id>``).

    Globs (run pages) go, and so does the appendix (``EXCLUDED``). A page that shows content of a page no
    longer in the book (a glued value, a markdown link) or refers to a label none of the kept pages define
    goes too, repeatedly, until every kept page is whole. A ``{doc}`` link to a page no longer in the book
    does not remove the page: it stays as plain text. Returns ``(toc, kept docnames, dangling {doc} targets
    as written)``; the root page always stays.
    """
    root_doc = posixpath.normpath(re.sub(r"\.(md|ipynb)$", "", toc["root"]))
    runs = {f"book/runs/{r}" for r in keep_runs}
    kept = {f for f in [root_doc, *_toc_files(toc.get("parts", [])), *_toc_files(toc.get("chapters", []))]
            if (not f.startswith("book/runs/") or f in runs) and not f.startswith(EXCLUDED)}
    texts = {d: page_text(d, root) for d in kept}
    kept = {d for d in kept if texts[d] is not None}
    refs = {d: references(texts[d], d) for d in kept}
    while True:
        labels = {a or b for d in kept for a, b in _LABEL_DEF.findall(texts[d])}
        broken = {d for d in kept if d != root_doc and (refs[d]["needs"] - kept or refs[d]["labels"] - labels)}
        if not broken:
            break
        kept -= broken
    dangling = sorted({raw for d in kept for raw in refs[d]["raw_docs"] if _docname(raw, d) not in kept})
    reduced = {k: v for k, v in toc.items() if k not in ("parts", "chapters")}
    for key in ("parts", "chapters"):
        if key in toc:
            reduced[key] = _filter(toc[key], kept)
    return reduced, kept, dangling


def write_build_files(provenance: dict[str, Any], folder: Path = SNAPSHOT_BUILD, root: Path = ROOT,
                      current: str | None = None) -> tuple[Path, Path]:
    """Write ``_toc.yml`` (reduced) and ``_config.yml`` (the book's, plus the announcement and the dangling
    ``{doc}`` links silenced one by one) for the snapshot build; returns their paths."""
    toc, _, dangling = reduced_toc(yaml.safe_load((root / "_toc.yml").read_text()), root=root)
    config = yaml.safe_load((root / "_config.yml").read_text())
    sphinx = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx["html_theme_options"] = {**sphinx.get("html_theme_options", {}), "announcement": announcement(provenance, current)}
    sphinx["nitpick_ignore_regex"] = list(sphinx.get("nitpick_ignore_regex", [])) + [["doc", re.escape(t)] for t in dangling]
    folder.mkdir(parents=True, exist_ok=True)
    toc_path, config_path = folder / "_toc.yml", folder / "_config.yml"
    atomic_write(toc_path, "# Generated by `fairnb book --from-snapshot`: the summary pages and the hand-written pages.\n"
                 + yaml.safe_dump(toc, sort_keys=False, allow_unicode=True))
    atomic_write(config_path, "# Generated by `fairnb book --from-snapshot` from _config.yml.\n"
                 + yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return toc_path, config_path


# ------------------------------------------------------------------ the build


def summary_runs(runs: list[Run] | None = None) -> list[Run]:
    """The manifest's runs of the summary templates."""
    return [run for run in (load_manifest() if runs is None else runs) if run.template in SUMMARY_TEMPLATES]


def build_from_snapshot(folder: Path = SNAPSHOT, *, strict: bool = True, quiet: bool = True, workers: int = 2,
                        progress: Callable[[str], None] | None = None) -> int:
    """Execute the summary templates against the snapshot in ``folder``, then build the book from them and the
    hand-written pages into ``_build/html`` (replacing what was there). Returns the build's exit code; a
    summary page that fails is reported and fails the build."""
    from fairnb.book.pages import HTML, jupyter_book, write_pages
    from fairnb.runs.execute import prepare, run_jobs

    folder = Path(folder).resolve()
    say = progress or (lambda line: print(line, file=sys.stderr))
    provenance = read_provenance(folder)
    current = source_digest()
    outputs = Outputs(BOOK_RUNS, SNAPSHOT_BUILD / "results", SNAPSHOT_BUILD / "failed", lock_root=RESULTS)
    jobs = prepare(summary_runs(), provenance["profile"], outputs=outputs, records=folder,
                   note=snapshot_note(provenance, current), check_device=False)
    summaries = run_jobs(jobs, workers=max(1, min(workers, len(jobs))), progress=say, log=False)
    failed = [s for s in summaries if s["status"] != "ok"]
    for summary in failed:
        error = str(summary.get("error") or "").strip().splitlines()
        say(f"FAILED {summary['run']}: {(error[0] if error else 'unknown error')[:300]}")
    snapshot_records = [r for r in read_records(folder=folder, successful_only=False) if r.get("run")]  # not PROVENANCE
    write_pages(results=folder, records=snapshot_records,
                status_note=f"These are the runs of the results snapshot of {str(provenance['date'])[:10]} "
                            f"(`results/snapshot/`, {provenance['profile']} profile), not runs made on this machine.")
    toc, config = write_build_files(provenance, current=current)
    for path in (HTML, HTML.parent / ".doctrees"):
        shutil.rmtree(path, ignore_errors=True)
    code = jupyter_book(strict=strict, quiet=quiet, toc=toc, config=config)
    return code or (1 if failed else 0)


__all__ = ["PROFILE_NOTES", "PROVENANCE", "SNAPSHOT", "SUMMARY_TEMPLATES", "announcement", "build_from_snapshot",
           "code_changed", "read_provenance", "reduced_toc", "snapshot_note", "summary_runs", "write_build_files",
           "write_snapshot"]
