"""Build the Jupyter Book from executed runs: generated pages, then ``jupyter-book build``.

Generated pages (git-ignored, rewritten on every build) live in ``book/generated/``:
``status.md`` (every run: profile, device, time, cache hit, status) and ``results.csv`` (all
metrics of all runs, one row per run and metric), ``parameters.md``, ``exercises-<part>.md``, the
lectures' cross-dataset files (``fairnb.book.lectures``) and ``course/<stage>-time.md`` (compute time
of the stages the lectures do not cover, for the course guide).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from fairnb.runs.execute import BUILD, INVOCATION, all_records, atomic_write
from fairnb.runs.manifest import ROOT, load_manifest

GENERATED = ROOT / "book" / "generated"
HTML = BUILD / "html"


def results_table(records: list[dict[str, Any]] | None = None) -> pd.DataFrame:
    """All metrics of all successful runs: columns run, template, profile, metric, mean, std, n."""
    rows = []
    for record in records if records is not None else all_records():
        if record.get("status") != "ok":
            continue
        for metric, value in record.get("metrics", {}).items():
            rows.append({"run": record["run"], "template": record["template"], "profile": record["profile"],
                         "metric": metric, "mean": value.get("mean"), "std": value.get("std"), "n": value.get("n")})
    return pd.DataFrame(rows, columns=["run", "template", "profile", "metric", "mean", "std", "n"])


def status_rows(records: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """One row per manifest run: latest record, whether the last invocation hit the cache.

    ``records``: the records to list (default every record in ``results/``, with the invocation log;
    given records, e.g. a results snapshot's, have no cache column)."""
    try:
        last = {s["run"]: s for s in json.loads(INVOCATION.read_text())} if records is None else {}
    except (FileNotFoundError, json.JSONDecodeError):
        last = {}
    records = {r["run"] + (".failed" if r.get("status") != "ok" else ""): r for r in (all_records() if records is None else records)}
    rows = []
    for run in load_manifest():
        ok, failed = records.get(run.id), records.get(run.id + ".failed")
        record = failed or ok
        cache = last.get(run.id, {}).get("cache_hit")
        rows.append({
            "run": run.id,
            "status": "not run" if record is None else ("failed" if failed else "ok"),
            "profile": record.get("profile", "") if record else "",
            "device": record.get("device", "") if record else "",
            "seconds": f"{record['seconds']:.1f}" if record else "",
            "cache hit": "" if cache is None else ("yes" if cache else "no"),
            "finished": record.get("finished", "") if record else "",
            "error": (failed or {}).get("error") or "",
            "earlier success kept": "yes" if failed and ok else "",
        })
    return rows


def write_status_page(records: list[dict[str, Any]] | None = None, note: str = "") -> Path:
    """Write ``book/generated/status.md`` (and ``results.csv``) from the results records (``records``, default
    those in ``results/``); ``note`` (markdown) opens the page."""
    rows = status_rows(records)
    counts = pd.Series([r["status"] for r in rows]).value_counts().to_dict() if rows else {}
    table = pd.DataFrame(rows)
    lines = [
        "# Run status", "",
        "Every run of the manifest (`notebooks/manifest.yml`), as of the last `fairnb run`: its profile, the device it ran on,",
        "its wall time, whether the last invocation reused a cached result, and whether it succeeded.",
        "A failed run never replaces an earlier successful notebook; its error is listed here and its",
        "notebook is kept in `_build/failed/`.", "",
        f"**{counts.get('ok', 0)} ok, {counts.get('failed', 0)} failed, {counts.get('not run', 0)} not run.**", "",
    ]
    if note:
        lines[2:2] = ["```{important}", note, "```", ""]
    if counts.get("failed"):
        lines += ["```{error}", "Some runs failed: " + ", ".join(r["run"] for r in rows if r["status"] == "failed") + ".", "```", ""]
    if not table.empty:
        table["error"] = table["error"].str.replace("|", "\\|", regex=False).str.replace("\n", " ", regex=False).str.slice(0, 160)
        lines.append(table.to_markdown(index=False))
    lines += ["", "All metrics of all runs, one row per run and metric: {download}`results.csv <results.csv>`.", ""]
    path = GENERATED / "status.md"
    atomic_write(path, "\n".join(lines))
    atomic_write(GENERATED / "results.csv", results_table(records).to_csv(index=False))
    return path


def write_parameter_reference() -> Path:
    """Write ``book/generated/parameters.md``: every template's parameters, from its parameters cell.

    Columns: parameter, default (as written in the template), allowed values and meaning (from
    ``fairnb.runs.params``), and the template's own comment.
    """
    from fairnb.runs.manifest import NOTEBOOKS, template_files, template_name, template_parameters
    from fairnb.runs.params import PARAMS

    lines = [
        "# Parameter reference", "",
        "Every parameter of every template, read from the template's `parameters` cell; allowed values come",
        "from `fairnb.runs.params`, where each name is defined once. Change one with",
        "`fairnb run --only '<run-id>' -p NAME VALUE` or, with plain papermill (templates are MyST text, converted by jupytext),",
        "`jupytext --to ipynb -o - notebooks/<part>/<NN>_<template>.md | papermill - out.ipynb -p NAME VALUE`.",
        "Values left at `None` take the profile's value (smoke, default, paper).", "",
    ]
    for path in template_files():
        rows = []
        for name, parameter in template_parameters(path).items():
            spec = PARAMS.get(name)
            rows.append({"parameter": f"`{name}`", "default": f"`{parameter.default!r}`",
                         "allowed": spec.allowed() if spec else "(not registered)",
                         "meaning": (spec.help if spec else parameter.comment).replace("|", "\\|")})
        lines += [f"## `{template_name(path)}` ({path.relative_to(NOTEBOOKS.parent)})", "", pd.DataFrame(rows).to_markdown(index=False), ""]
    path = GENERATED / "parameters.md"
    atomic_write(path, "\n".join(lines))
    return path


_HEADING = re.compile(r"^#+\s+(.+?)\s*$", flags=re.M)
_GLUE_CALL = re.compile(r"""\bglue\(\s*["']([^"']+)["']""")
_GLUE_USE = re.compile(r"\{glue(?::[a-z]+)?\}\s*`?\s*([A-Za-z_][\w]*)")


def template_outline(path: Path) -> tuple[list[str], dict[str, str]]:
    """The markdown headings of a template (text without ``#``, in order) and every glue name it produces, with
    the heading it sits under: names in a literal ``glue("name", ...)`` call or in a ``{glue:...}`` role or
    directive of the markdown."""
    from fairnb.runs import manifest

    read = getattr(manifest, "read_template", None)  # text templates (MyST) when the manifest reads them
    if read is None:
        import nbformat

        def read(path):
            return nbformat.read(path, as_version=4)
    headings: list[str] = []
    glued: dict[str, str] = {}
    current = ""
    for cell in read(path).cells:
        if cell.cell_type == "markdown":
            found = _HEADING.findall(cell.source)
            for name in _GLUE_USE.findall(cell.source):
                glued.setdefault(name, found[0] if found else current)
            headings += found
            current = found[-1] if found else current
        elif cell.cell_type == "code":
            for name in _GLUE_CALL.findall(cell.source):
                glued.setdefault(name, current)
    return headings, glued


def look_at_line(items: list[dict[str, str]], templates: dict[str, Path]) -> str:
    """One markdown line naming what an exercise asks to look at: per run page (a link), each glued output with its
    section, or the section named by a heading. ``templates``: run id → template path."""
    parts, outlines = [], {}
    for run in dict.fromkeys(item["run"] for item in items):
        if run not in outlines:
            outlines[run] = template_outline(templates[run])[1]
        sections: dict[str, list[str]] = {}  # section → glue names under it (a heading entry: the section itself)
        for item in (i for i in items if i["run"] == run):
            if "glue" in item:
                sections.setdefault(outlines[run].get(item["glue"], ""), []).append(f"`{item['glue']}`")
            else:
                sections.setdefault(item["heading"], [])
        things = [(_listed(names) + (f" (under *{section}*)" if section else "")) if names else f"the section *{section}*"
                  for section, names in sections.items()]
        parts.append(f"on the page {{doc}}`{run} <../runs/{run}>`, {_listed(things)}")
    return "**Look at:** " + "; ".join(parts) + "."


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def write_exercises(source: Path | None = None) -> list[Path]:
    """Write one exercise page per part from ``book/exercises.yml`` (one source for questions and solutions).

    Each exercise becomes a ``sphinx-exercise`` block with its run command and a "Look at" line (its ``look_at``
    entries: the glued figures, tables or values and the sections to read, linked to their run pages), and a
    solution block hidden in a drop-down, so questions and answers cannot drift apart.
    """
    import yaml

    spec = yaml.safe_load((source or ROOT / "book" / "exercises.yml").read_text())
    templates = {run.id: run.template_path for run in load_manifest()}
    written = []
    for part in spec["parts"]:
        lines = [f"# Exercises: {part['title']}", "", part.get("intro", ""), ""]
        for number, exercise in enumerate(part["exercises"], 1):
            label = f"ex-{part['id']}-{number}"
            lines += [f"````{{exercise}} {exercise['title']}", f":label: {label}", "", exercise["question"].strip(), ""]
            if exercise.get("command"):
                lines += ["```bash", exercise["command"].strip(), "```", ""]
            if exercise.get("look_at"):
                lines += [look_at_line(exercise["look_at"], templates), ""]
            lines += ["````", "", f"````{{solution}} {label}", ":class: dropdown", "", exercise["solution"].strip(), "````", ""]
        path = GENERATED / f"exercises-{part['id']}.md"
        atomic_write(path, "\n".join(lines))
        written.append(path)
    return written


COURSE_STAGES = ("datasets",)  # stages of the course guide that no lecture covers


def write_course_times(results: Path | None = None, folder: Path | None = None) -> list[Path]:
    """Write ``course/<stage>-time.md`` for ``COURSE_STAGES``: the compute time of the stage's runs, from their
    records (the lectures' stages have theirs in ``lectures/<stage>-time.md``)."""
    from fairnb.book.lectures import compute_time
    from fairnb.records import read_records

    folder = folder or GENERATED / "course"
    written = []
    for stage in COURSE_STAGES:
        path = folder / f"{stage}-time.md"
        atomic_write(path, compute_time(read_records(stage, results)) + "\n")
        written.append(path)
    return written


def write_pages(results: Path | None = None, records: list[dict[str, Any]] | None = None, status_note: str = "") -> None:
    """Write every generated page: status (from ``records``, default those in ``results/``), parameter
    reference, exercises, the lectures' and the course's files (from the records in ``results``, default
    ``results/``)."""
    from fairnb.book.lectures import write_lectures

    write_status_page(records, status_note)
    write_parameter_reference()
    write_exercises()
    write_lectures(results=results)
    write_course_times(results)


def jupyter_book(strict: bool = True, quiet: bool = True, toc: Path | None = None, config: Path | None = None) -> int:
    """Run ``jupyter-book build`` on the repository root (``toc``/``config``: other than ``_toc.yml``/
    ``_config.yml``). ``strict`` turns warnings into errors (``-W -n --keep-going``). Returns the exit code."""
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT), "--path-output", str(ROOT)]
    if toc is not None:
        command += ["--toc", str(toc)]
    if config is not None:
        command += ["--config", str(config)]
    if strict:
        command += ["-W", "-n", "--keep-going"]
    if quiet:
        command += ["-q"]
    return subprocess.run(command, cwd=ROOT).returncode


def build(strict: bool = True, quiet: bool = True) -> int:
    """Write generated pages and run ``jupyter-book build`` on the repository root.

    ``strict`` turns warnings into errors (``-W -n --keep-going``). Returns the exit code.
    """
    write_pages()
    return jupyter_book(strict, quiet)


# ------------------------------------------------------------------ Sphinx: links to pages a partial book lacks


def full_book_pages(root: Path = ROOT) -> set[str]:
    """Docnames of the full book: every file of ``_toc.yml`` and the run page of every manifest run."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text())

    def files(entries: list[dict[str, Any]]) -> list[str]:
        found = []
        for entry in entries:
            if "file" in entry:
                found.append(re.sub(r"\.(md|ipynb)$", "", entry["file"]))
            for key in ("parts", "chapters", "sections"):
                found += files(entry.get(key, []))
        return found

    return {re.sub(r"\.(md|ipynb)$", "", toc["root"]), *files([toc]), *(f"book/runs/{run.id}" for run in load_manifest())}


def page_title(docname: str, root: Path = ROOT) -> str:
    """A page's ``# title`` from its markdown source; a run page's is its template's, with the run id."""
    if docname.startswith("book/runs/"):
        run_id = docname.rsplit("/", 1)[-1]
        run = next((r for r in load_manifest() if r.id == run_id), None)
        found = _HEADING.search(run.template_path.read_text()) if run is not None and run.template_path.is_file() else None
        return f"{found.group(1)} ({run_id})" if found else f"the run page {run_id}"
    path = root / f"{docname}.md"
    if path.is_file():
        found = _HEADING.search(path.read_text())
        if found:
            return found.group(1)
    return docname


def _in_the_full_book(app, env, node, contnode):
    """Sphinx ``missing-reference`` hook: in a book built from another table of contents than ``_toc.yml`` (the
    ``--from-snapshot`` book), a ``{doc}`` link to a page of the full book that this book does not hold reads
    "<the page's title> (in the full book)" instead of its raw target (``../appendix/...``). Other missing
    references are left to Sphinx (a warning)."""
    from docutils import nodes
    from sphinx.util import docname_join

    if node.get("refdomain") != "std" or node.get("reftype") != "doc":
        return None
    toc = getattr(app.config, "external_toc_path", None)
    if not toc or (Path(app.srcdir) / toc).resolve() == (ROOT / "_toc.yml").resolve():
        return None  # the full book: a missing page is an error
    docname = docname_join(node.get("refdoc", ""), re.sub(r"\.(md|ipynb)$", "", node.get("reftarget", "")))
    if docname not in full_book_pages():
        return None
    title = contnode.astext() if node.get("refexplicit") else page_title(docname)
    return nodes.inline("", "", nodes.emphasis(title, title), nodes.Text(" (in the full book)"), classes=["fairnb-full-book"])


def setup(app) -> dict[str, Any]:
    """The book's Sphinx extension (``_config.yml``, ``extra_extensions``): ``_in_the_full_book``."""
    app.connect("missing-reference", _in_the_full_book)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
