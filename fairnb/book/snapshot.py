"""The results snapshot: the verdicts in a minute, without computing.

``results/snapshot/`` (committed) holds the successful results records of one complete run of the
manifest — every run as the manifest says it (no ``-p`` override), one profile, the current code — and
``PROVENANCE.json``: when the snapshot was made, the machine, the ``fairnb`` source digest the runs were made
with, the sha256 of every file that computes results (``fairnb.runs.result_code``), the profile, the command.
``fairnb snapshot`` writes it from ``results/`` (``write_snapshot``); ``fairnb snapshot --check``
(``check_snapshot``) says whether the code that computes results is still the code that made it.

``fairnb book --from-snapshot`` (``build_from_snapshot``) executes only the summary templates
(``SUMMARY_TEMPLATES``: landing page, claims ledger, Table 1, paper-002 reproduction, performance), which
read other runs' records, against the snapshot's records (``FAIRNB_RESULTS``), and builds the book from
those pages and the hand-written pages (a table of contents reduced to them, ``reduced_toc``). Each summary
page opens with a note naming the snapshot's date and profile and saying whether the code that computes
results has changed since (the same comparison as ``--check``). The book builds in its own place
(``_build/snapshot/``: its summary pages, their records — the build's cache —, a source tree of links and the
book in ``_build/snapshot/html``), so this machine's pages, records and book are left as they were; a damaged
snapshot is refused.
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
from fairnb.runs.execute import (BOOK_RUNS, BUILD, FAILED, RESULTS, Outputs, atomic_write, cli_value,
                                 effective_parameters, without_explicit_defaults)
from fairnb.runs.manifest import ROOT, Run, load_manifest
from fairnb.runs.result_code import code_changes, result_code_hashes, result_digest

SNAPSHOT = RESULTS / "snapshot"
PROVENANCE = "PROVENANCE.json"
SNAPSHOT_BUILD = BUILD / "snapshot"
SNAPSHOT_SOURCE = SNAPSHOT_BUILD / "source"
"""The book's sources as the snapshot build sees them: links to the repository's files, except ``book/runs``."""
SNAPSHOT_PAGES = SNAPSHOT_BUILD / "runs"
"""The summary pages computed from the snapshot (``book/runs`` of ``SNAPSHOT_SOURCE``); their records, the cache of
the snapshot build, are in ``SNAPSHOT_BUILD / "results"``."""
SNAPSHOT_HTML = SNAPSHOT_BUILD / "html"
"""Where the book built from the snapshot goes: never ``_build/html``, the book of this machine's runs."""
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
    _check_manifest_runs(results, runs, chosen, next(iter(profiles)))
    return chosen


def _check_manifest_runs(results: Path, runs: list[Run], chosen: dict[str, dict[str, Any]], profile: str) -> None:
    """Refuse records that are not the manifest's runs as the current code makes them: a run made with other
    parameters (a ``-p`` override) is named with the values that differ; a run whose cache key is not the one
    ``fairnb run --profile <profile>`` computes now (other code, template, data, or records it read) is named
    as out of date. Both say which command makes the manifest's run."""
    from fairnb.runs.execute import prepare

    jobs = prepare(runs, profile, check_device=False, outputs=Outputs(BOOK_RUNS, Path(results), FAILED))
    differ, stale = [], []
    for job in jobs:
        record = chosen[job.run.id]
        made = without_explicit_defaults(job.run, dict(record.get("parameters") or {}))
        if _canonical(made) != _canonical(job.parameters):
            declared = effective_parameters(job.run, {})
            names = sorted(set(made) | set(job.parameters), key=str)
            changes = [f"{name}={cli_value(made.get(name, declared.get(name)))} where the manifest's run has "
                       f"{cli_value(job.parameters.get(name, declared.get(name)))}"
                       for name in names if _canonical(made.get(name, declared.get(name))) !=
                       _canonical(job.parameters.get(name, declared.get(name)))]
            differ.append(f"{job.run.id} ({', '.join(changes) or 'other parameters'})")
        elif record.get("key") != job.key:
            stale.append(job.run.id)
    if differ:
        only = " ".join(f"--only {d.split(' ', 1)[0]}" for d in differ)
        raise RunStoreError(f"{results} holds runs that are not the manifest's: {'; '.join(differ)}; make the manifest's "
                            f"runs with `fairnb run --profile {profile} {only}` first")
    if stale:
        raise RunStoreError(f"{len(stale)} record(s) in {results} are out of date (the code, a template, the data or the "
                            f"records they read changed since they ran): {', '.join(stale[:8])}{', …' if len(stale) > 8 else ''}; "
                            f"run `fairnb run --profile {profile}` first (it reruns only those)")


def _canonical(value: Any) -> str:
    """A value as JSON with sorted keys, so two parameter sets compare as the runner's key sees them."""
    return json.dumps(value, sort_keys=True, default=str)


def machine() -> dict[str, Any]:
    """The machine making the snapshot (``fairnb.book.performance.machine``: CPU, cores, memory, GPU, versions)."""
    from fairnb.book.performance import machine as describe

    return describe()


def write_snapshot(results: Path = RESULTS, folder: Path = SNAPSHOT, *, runs: list[Run] | None = None,
                   command: str | None = None, describe: Callable[[], dict[str, Any]] = machine) -> dict[str, Any]:
    """Copy the successful records of a complete run (every run of ``runs``, default the manifest) from
    ``results`` into ``folder``, with ``PROVENANCE.json``; returns the provenance.

    Refuses (``RunStoreError``, naming the runs) unless every run has a successful record and no failed
    later attempt, all under one profile, all made by one version of the code, each the manifest's run (no
    ``-p`` override) with the cache key the current code gives it. ``PROVENANCE.json`` records the sha256 of
    every file that computes results (``fairnb.runs.result_code``) for ``fairnb snapshot --check``. ``folder``
    is replaced as a whole: the new snapshot is written beside it and renamed into place.
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
        "result_code": {"digest": result_digest(hashes := result_code_hashes()), "files": hashes},
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


def read_snapshot_records(folder: Path = SNAPSHOT) -> list[dict[str, Any]]:
    """The snapshot's records, every one checked: ``RunStoreError`` names the first file that is not a readable
    successful record of the run its name says (truncated, not JSON, failed), and a snapshot whose count of
    records is not the one its provenance states. A damaged snapshot is refused, never half-read."""
    folder = Path(folder)
    provenance = read_provenance(folder)
    records = []
    for path in sorted(folder.glob("*.json")):
        if path.name == PROVENANCE:
            continue
        try:
            record = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            problem = error.strerror if isinstance(error, OSError) and error.strerror else " ".join(str(error).split())
            raise RunStoreError(f"{path} is unreadable ({problem}): the results snapshot is damaged; restore it with "
                                f"`git checkout -- {_shown(folder)}` or make it again with `fairnb snapshot`") from None
        if not isinstance(record, dict) or record.get("run") != path.stem or record.get("status") != "ok":
            raise RunStoreError(f"{path} is not the successful record of run {path.stem}: the results snapshot is damaged; "
                                f"restore it with `git checkout -- {_shown(folder)}` or make it again with `fairnb snapshot`")
        records.append(record)
    if provenance.get("runs") is not None and len(records) != provenance["runs"]:
        raise RunStoreError(f"{folder} holds {len(records)} records where its {PROVENANCE} says {provenance['runs']}: the results "
                            f"snapshot is incomplete; restore it with `git checkout -- {_shown(folder)}` or make it again")
    return records


def _shown(path: Path) -> str:
    """A path as a command quotes it: relative to the repository when inside it."""
    try:
        return Path(path).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def check_snapshot(folder: Path = SNAPSHOT, now: dict[str, str] | None = None) -> tuple[bool, str]:
    """Whether the snapshot in ``folder`` was made by the code that computes results now
    (``fairnb.runs.result_code``: the package's data, nn, metrics, paper000, paper002 and runs code, the
    templates, the manifest, the profiles), and one line saying so or naming what changed.
    ``now``: the files' hashes now (default: computed)."""
    provenance = read_provenance(folder)
    date, profile = str(provenance["date"])[:10], provenance["profile"]
    remake = f"make it again with `fairnb run --profile {profile}` and `fairnb snapshot`"
    recorded = (provenance.get("result_code") or {}).get("files")
    if not isinstance(recorded, dict) or not recorded:
        return False, (f"the results snapshot of {date} records no hashes of the code that made it (it predates "
                       f"`fairnb snapshot --check`), so whether that code is today's is unknown; {remake}")
    changes = code_changes(recorded, result_code_hashes() if now is None else now)
    if changes:
        shown = ", ".join(changes[:6]) + (f" and {len(changes) - 6} more" if len(changes) > 6 else "")
        return False, (f"the results snapshot of {date} was made by other code: {len(changes)} file(s) that compute results "
                       f"changed since: {shown}; {remake}")
    return True, (f"the results snapshot of {date} ({profile} profile) was made by the code that computes results now "
                  f"(digest {result_digest(recorded)[:12]})")


def code_changed(provenance: dict[str, Any], current: str | None = None) -> bool:
    """Whether the code that computes results (``fairnb.runs.result_code``) differs from the code the snapshot was
    made by; ``current``: that code's digest now (default: computed). A snapshot that records no digest counts
    as changed: nothing shows it is not."""
    then = (provenance.get("result_code") or {}).get("digest")
    return not then or then != (current or result_digest())


def snapshot_note(provenance: dict[str, Any], current: str | None = None) -> str:
    """The note that opens every page computed from the snapshot (markdown): its date, profile, runs and
    machine, and whether the code that computes results has changed since (``current``: its digest now)."""
    current = current or result_digest()
    date = str(provenance["date"])[:10]
    then = str((provenance.get("result_code") or {}).get("digest") or "")
    devices = "; ".join(provenance.get("devices") or []) or "an unrecorded device"
    lines = [f"````{{admonition}} Results snapshot of {date}", ":class: important", "",
             f"This page shows the **results snapshot of {date}** (`results/snapshot/`: the records of "
             f"{provenance.get('runs', '?')} runs under the **{provenance['profile']}** profile, on {devices}), "
             "not runs made on this machine."]
    if not then:
        lines.append("**The code may have changed since**: the snapshot does not record the code that computes results "
                     "(templates, profiles, the package's computing code), so it cannot be compared; `fairnb book` "
                     "recomputes every run.")
    elif code_changed(provenance, current):
        lines.append(f"**The code has changed since** (the code that computes results: `{then[:12]}` then, `{current[:12]}` "
                     "now; `fairnb snapshot --check` names the files): what the code computes today may differ; "
                     "`fairnb book` recomputes every run.")
    else:
        lines.append(f"The code that computes results (templates, profiles, the package's computing code) is "
                     f"**unchanged** since (`{then[:12]}`).")
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


def write_build_files(provenance: dict[str, Any], folder: Path | None = None, root: Path = ROOT,
                      current: str | None = None, source: Path | None = None) -> tuple[Path, Path]:
    """Write ``_toc.yml`` (``root``'s, reduced to the pages of ``source``, default ``root``) and ``_config.yml``
    (``root``'s, plus the announcement and the dangling ``{doc}`` links silenced one by one) into ``folder`` for
    the snapshot build; returns their paths."""
    folder = folder or SNAPSHOT_SOURCE
    toc, _, dangling = reduced_toc(yaml.safe_load((root / "_toc.yml").read_text()), root=source or root)
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


_NOT_LINKED = ("_build", "book", "results", "_toc.yml", "_config.yml")


def snapshot_outputs() -> Outputs:
    """Where the summary runs of a snapshot build write: their own pages, records, failures and locks, so the
    pages and records of this machine's runs (``book/runs``, ``results/``) stay as they were."""
    return Outputs(SNAPSHOT_PAGES, SNAPSHOT_BUILD / "results", SNAPSHOT_BUILD / "failed")


def write_source_tree(folder: Path | None = None, pages: Path | None = None, root: Path = ROOT) -> Path:
    """Make ``folder`` the source tree of the snapshot build: a link to each of the repository's top-level
    files and folders (``book/``'s entries one by one) except the build output, the results and ``book/runs``,
    which links to ``pages``. Hidden entries and the table of contents and configuration (written for this
    build) are left out. ``folder`` and ``pages`` default to ``SNAPSHOT_SOURCE`` and ``SNAPSHOT_PAGES``. Returns
    ``folder``."""
    folder, pages = folder or SNAPSHOT_SOURCE, pages or SNAPSHOT_PAGES
    shutil.rmtree(folder, ignore_errors=True)  # removes the links, never what they point to
    (folder / "book").mkdir(parents=True)
    pages.mkdir(parents=True, exist_ok=True)
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or entry.name in _NOT_LINKED or entry.name.endswith(".egg-info"):
            continue
        (folder / entry.name).symlink_to(entry)
    for entry in sorted((root / "book").iterdir()):
        if entry.name != "runs" and not entry.name.startswith("."):
            (folder / "book" / entry.name).symlink_to(entry)
    (folder / "book" / "runs").symlink_to(pages.resolve())
    return folder


def build_from_snapshot(folder: Path = SNAPSHOT, *, strict: bool = True, quiet: bool = True, workers: int = 2,
                        progress: Callable[[str], None] | None = None) -> int:
    """Execute the summary templates against the snapshot in ``folder``, then build the book from them and the
    hand-written pages into ``SNAPSHOT_HTML`` (replaced only by a build that succeeds). Returns the build's exit
    code; a summary page that fails is reported and fails the build.

    Everything happens under ``SNAPSHOT_BUILD``: the summary pages, their records (the cache of this build), the
    source tree (``write_source_tree``) and the book. The pages and records of this machine's runs and its book
    (``book/runs``, ``results/``, ``_build/html``) are left as they were. A damaged snapshot (an unreadable or
    missing record) is refused before anything runs (``read_snapshot_records``)."""
    from fairnb.book.pages import write_pages
    from fairnb.runs.execute import prepare, run_jobs

    folder = Path(folder).resolve()
    say = progress or (lambda line: print(line, file=sys.stderr))
    provenance = read_provenance(folder)
    snapshot_records = read_snapshot_records(folder)
    current = result_digest()
    jobs = prepare(summary_runs(), provenance["profile"], outputs=snapshot_outputs(), records=folder,
                   note=snapshot_note(provenance, current), check_device=False)
    summaries = run_jobs(jobs, workers=max(1, min(workers, len(jobs))), progress=say, log=False)
    failed = [s for s in summaries if s["status"] != "ok"]
    for summary in failed:
        error = str(summary.get("error") or "").strip().splitlines()
        say(f"FAILED {summary['run']}: {(error[0] if error else 'unknown error')[:300]}")
    # The generated pages (status, lectures' tables) are rewritten from the snapshot in book/generated, which
    # every build of the book rewrites from its own records first; written before the links, so they exist.
    write_pages(results=folder, records=snapshot_records,
                status_note=f"These are the runs of the results snapshot of {str(provenance['date'])[:10]} "
                            f"(`results/snapshot/`, {provenance['profile']} profile), not runs made on this machine.")
    source = write_source_tree()
    write_build_files(provenance, folder=source, current=current, source=source)
    code = jupyter_book_in(source, SNAPSHOT_BUILD, strict=strict, quiet=quiet)
    built = SNAPSHOT_BUILD / "_build" / "html"
    if code == 0 and not failed and built.is_dir():
        previous = SNAPSHOT_BUILD / f".html.{os.getpid()}.old"
        if SNAPSHOT_HTML.exists():
            os.replace(SNAPSHOT_HTML, previous)
        os.replace(built, SNAPSHOT_HTML)
        shutil.rmtree(previous, ignore_errors=True)
    else:
        shutil.rmtree(built, ignore_errors=True)  # no partial book: the last complete one stays
    return code or (1 if failed else 0)


def jupyter_book_in(source: Path, output: Path, *, strict: bool = True, quiet: bool = True) -> int:
    """Run ``jupyter-book build`` on ``source`` (its ``_toc.yml`` and ``_config.yml``) into ``output/_build``;
    ``strict`` turns warnings into errors (``-W -n --keep-going``). Returns the exit code."""
    import subprocess

    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(source), "--path-output", str(output)]
    if strict:
        command += ["-W", "-n", "--keep-going"]
    if quiet:
        command += ["-q"]
    return subprocess.run(command, cwd=source).returncode


__all__ = ["PROFILE_NOTES", "PROVENANCE", "SNAPSHOT", "SNAPSHOT_HTML", "SUMMARY_TEMPLATES", "announcement",
           "build_from_snapshot", "check_snapshot", "code_changed", "read_provenance", "read_snapshot_records",
           "reduced_toc", "snapshot_note", "snapshot_outputs", "summary_runs", "write_build_files", "write_snapshot",
           "write_source_tree"]
