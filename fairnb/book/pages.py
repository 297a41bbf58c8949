"""Build the Jupyter Book from executed runs: generated pages, then ``jupyter-book build``.

Generated pages (git-ignored, rewritten on every build) live in ``book/generated/``:
``status.md`` (every run: profile, device, time, cache hit, status) and ``results.csv`` (all
metrics of all runs, one row per run and metric).
"""

from __future__ import annotations

import json
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


def status_rows() -> list[dict[str, Any]]:
    """One row per manifest run: latest record, whether the last invocation hit the cache."""
    try:
        last = {s["run"]: s for s in json.loads(INVOCATION.read_text())}
    except (FileNotFoundError, json.JSONDecodeError):
        last = {}
    records = {r["run"] + (".failed" if r.get("status") != "ok" else ""): r for r in all_records()}
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


def write_status_page() -> Path:
    """Write ``book/generated/status.md`` from the results records."""
    rows = status_rows()
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
    if counts.get("failed"):
        lines += ["```{error}", "Some runs failed: " + ", ".join(r["run"] for r in rows if r["status"] == "failed") + ".", "```", ""]
    if not table.empty:
        table["error"] = table["error"].str.replace("|", "\\|", regex=False).str.replace("\n", " ", regex=False).str.slice(0, 160)
        lines.append(table.to_markdown(index=False))
    lines += ["", "All metrics of all runs, one row per run and metric: {download}`results.csv <results.csv>`.", ""]
    path = GENERATED / "status.md"
    atomic_write(path, "\n".join(lines))
    atomic_write(GENERATED / "results.csv", results_table().to_csv(index=False))
    return path


def write_parameter_reference() -> Path:
    """Write ``book/generated/parameters.md``: every template's parameters, from its parameters cell.

    Columns: parameter, default (as written in the template), allowed values and meaning (from
    ``fairnb.runs.params``), and the template's own comment.
    """
    from fairnb.runs.manifest import NOTEBOOKS, template_name, template_parameters
    from fairnb.runs.params import PARAMS

    lines = [
        "# Parameter reference", "",
        "Every parameter of every template, read from the template's `parameters` cell; allowed values come",
        "from `fairnb.runs.params`, where each name is defined once. Change one with",
        "`fairnb run --only '<run-id>' -p NAME VALUE` or `papermill notebooks/<part>/<NN>_<template>.ipynb out.ipynb -p NAME VALUE`.",
        "Values left at `None` take the profile's value (smoke, default, paper).", "",
    ]
    for path in sorted(p for p in NOTEBOOKS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts):
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


def write_exercises(source: Path | None = None) -> list[Path]:
    """Write one exercise page per part from ``book/exercises.yml`` (one source for questions and solutions).

    Each exercise becomes a ``sphinx-exercise`` block with its run command, and a solution block
    hidden in a drop-down, so questions and answers cannot drift apart.
    """
    import yaml

    spec = yaml.safe_load((source or ROOT / "book" / "exercises.yml").read_text())
    written = []
    for part in spec["parts"]:
        lines = [f"# Exercises: {part['title']}", "", part.get("intro", ""), ""]
        for number, exercise in enumerate(part["exercises"], 1):
            label = f"ex-{part['id']}-{number}"
            lines += [f"````{{exercise}} {exercise['title']}", f":label: {label}", "", exercise["question"].strip(), ""]
            if exercise.get("command"):
                lines += ["```bash", exercise["command"].strip(), "```", ""]
            lines += ["````", "", f"````{{solution}} {label}", ":class: dropdown", "", exercise["solution"].strip(), "````", ""]
        path = GENERATED / f"exercises-{part['id']}.md"
        atomic_write(path, "\n".join(lines))
        written.append(path)
    return written


def build(strict: bool = True, quiet: bool = True) -> int:
    """Write generated pages and run ``jupyter-book build`` on the repository root.

    ``strict`` turns warnings into errors (``-W -n --keep-going``). Returns the exit code.
    """
    from fairnb.book.lectures import write_lectures

    write_status_page()
    write_parameter_reference()
    write_exercises()
    write_lectures()
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT), "--path-output", str(ROOT)]
    if strict:
        command += ["-W", "-n", "--keep-going"]
    if quiet:
        command += ["-q"]
    return subprocess.run(command, cwd=ROOT).returncode
