"""Making an executed notebook a page of the book.

``present`` gives the page the run's title and unique labels and removes the parameters cells; ``fold_code``
folds code inputs behind a toggle unless the template tags a cell ``show-input``, and folds the run
configuration (the cell after the ``parameters`` cell) under a toggle labelled "Run configuration";
``add_note`` shows a note under the title (a page computed from records read elsewhere, e.g. a results
snapshot); ``append_run_footer`` ends the page with its metrics CSV and the commands that re-create it.
"""

from __future__ import annotations

import contextlib
import json
import re
import shlex
from pathlib import Path
from typing import Any

import nbformat

from fairnb.runs.config import METRICS_KEY, RESOLVED_KEY
from fairnb.runs.manifest import ROOT, Run, template_parameters
from fairnb.runs.store import Job, write_durable, atomic_write

def quoted_template(path: Path) -> str:
    """A template's path as the pages quote it: ``notebooks/<part>/<file>.md`` (from the last
    ``notebooks`` folder in its path), else relative to the repository, else as given."""
    from fairnb.runs import manifest

    resolved = path.resolve()
    with contextlib.suppress(ValueError):
        return str(Path("notebooks") / resolved.relative_to(manifest.NOTEBOOKS.resolve()))
    if "notebooks" in resolved.parts[:-1]:
        last = len(resolved.parts) - 1 - resolved.parts[::-1].index("notebooks")
        return str(Path(*resolved.parts[last:]))
    with contextlib.suppress(ValueError):
        return str(resolved.relative_to(ROOT))
    return str(path)


def extract_report(notebook_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The metrics and the resolved parameters (every value the run used, profile defaults included) that
    ``fairnb.runs.report`` attached to the notebook's outputs, read in one pass; ``({}, {})`` for a page
    that reports nothing."""
    notebook = nbformat.read(notebook_path, as_version=4)
    metrics: dict[str, Any] = {}
    resolved: dict[str, Any] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            metadata = output.get("metadata", {})
            metrics.update(metadata.get(METRICS_KEY, {}))
            resolved.update(metadata.get(RESOLVED_KEY, {}))
    return metrics, resolved


def extract_metrics(notebook_path: Path) -> dict[str, Any]:
    """The ``fairnb_metrics`` metadata that ``fairnb.runs.report`` attached to outputs (``extract_report``'s first half)."""
    return extract_report(notebook_path)[0]


def present(notebook_path: Path, run: Run) -> None:
    """Make an executed notebook a book page: title names the run, labels are unique, parameters hidden.

    - The first ``# heading`` gets the run's matrix values appended (``Dataset: … (adult)``), so
      sibling pages differ in the navigation.
    - Every ``:name:`` label defined in the notebook gets the run id appended, and references to it
      inside the notebook follow, so runs of one template do not define the same label twice.
    - The ``parameters`` and papermill's ``injected-parameters`` cells are removed from the page
      (the run configuration table shows the resolved values instead).
    - papermill's ``input_path`` metadata names the template (``notebooks/<part>/<file>.md``): the
      runner hands papermill the template as a notebook, not as a path.
    - Code is folded for readers (``fold_code``), and a figure is shown once: an output that repeats, pixel
      for pixel, a figure the page places with a glue directive (a figure left open, which the inline
      backend shows again at the end of its cell) is dropped (``drop_repeated_figures``).

    Idempotent: presenting a page twice changes nothing more.
    """
    notebook = nbformat.read(notebook_path, as_version=4)
    label = run.id[len(run.template) + 1:].replace("-", ", ")
    markdown = [c for c in notebook.cells if c.cell_type == "markdown"]
    for cell in markdown:
        if cell.source.startswith("# "):
            first, _, rest = cell.source.partition("\n")
            if label and not first.endswith(f"({label})"):
                cell.source = f"{first} ({label})" + ("\n" + rest if rest else "")
            break
    names = {n for c in markdown for n in re.findall(r"^:name:\s*(\S+)\s*$", c.source, flags=re.M) if not n.endswith(run.id)}
    for cell in markdown:
        for name in names:
            unique = f"{name}-{run.id}"
            cell.source = re.sub(rf"^(:name:\s*){re.escape(name)}\s*$", rf"\g<1>{unique}", cell.source, flags=re.M)
            cell.source = re.sub(rf"(?<=[`<]){re.escape(name)}(?=[`>])", unique, cell.source)
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        if {"parameters", "injected-parameters"} & set(tags) and "remove-cell" not in tags:
            cell.metadata["tags"] = tags + ["remove-cell"]
    if "papermill" in notebook.metadata:
        notebook.metadata["papermill"]["input_path"] = quoted_template(run.template_path)
    fold_code(notebook)
    drop_repeated_figures(notebook)
    nbformat.write(notebook, notebook_path)


_IMAGES = ("image/png", "image/jpeg", "image/svg+xml")
_GLUE_USE = re.compile(r"\{glue(?::[a-z]+)?\}\s*`?([A-Za-z0-9_.-]+)")


def drop_repeated_figures(notebook: nbformat.NotebookNode) -> int:
    """Remove image outputs that repeat a glued figure shown on the page by a glue directive; returns how many.

    ``glue(name, fig, display=False)`` stores the figure for a ``{glue:figure}`` directive; a figure the
    code leaves open is displayed again by the inline backend when the cell ends, so the page would show it
    twice. Only an output without glue metadata whose image equals a glued one that the page's markdown uses
    is dropped: a figure is never lost.
    """
    used = {name for c in notebook.cells if c.cell_type == "markdown" for name in _GLUE_USE.findall(c.source)}
    glued = set()
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook")
            if meta and meta.get("name") in used:
                prefix = meta.get("mime_prefix", "")
                glued |= {output.get("data", {}).get(prefix + mime) for mime in _IMAGES} - {None}
    dropped = 0
    for cell in notebook.cells:
        if cell.cell_type != "code" or not cell.get("outputs"):
            continue
        kept = [o for o in cell.outputs if o.get("output_type") not in ("display_data", "execute_result")
                or o.get("metadata", {}).get("scrapbook")
                or not any(o.get("data", {}).get(mime) in glued for mime in _IMAGES if mime in o.get("data", {}))]
        dropped += len(cell.outputs) - len(kept)
        cell.outputs = kept
    return dropped


RUN_CONFIGURATION = {"code_prompt_show": "Run configuration", "code_prompt_hide": "Hide run configuration"}
_SHOWN = {"show-input", "hide-input", "hide-cell", "remove-input", "remove_input", "remove-cell", "remove_cell"}


def fold_code(notebook: nbformat.NotebookNode) -> None:
    """Fold a page's code for readers (myst-nb cell tags; idempotent).

    - Every code cell's input goes behind a "Show code cell source" toggle (tag ``hide-input``), unless the
      template tags the cell ``show-input`` or already hides or removes its input.
    - The run configuration — the first code cell after the ``parameters`` (and papermill's
      ``injected-parameters``) cell, which displays ``config`` — folds under one toggle labelled
      "Run configuration": its output alone (``hide-output``) where its input is removed or shown, else the
      whole cell (``hide-cell``).
    """
    cells = notebook.cells
    marks = [i for i, c in enumerate(cells) if {"parameters", "injected-parameters"} & set(c.metadata.get("tags", []))]
    configuration = next((i for i in range(marks[-1] + 1, len(cells)) if cells[i].cell_type == "code"), None) if marks else None
    for index, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        tags = list(cell.metadata.get("tags", []))
        if {"remove-cell", "remove_cell"} & set(tags) or index in marks:
            continue  # removed from the page (present removes the parameters cells)
        if index == configuration and cell.get("outputs"):
            if not {"hide-output", "hide-cell"} & set(tags):
                shown = {"show-input", "remove-input", "remove_input"} & set(tags)
                tags.append("hide-output" if shown else "hide-cell")
            cell.metadata["mystnb"] = {**cell.metadata.get("mystnb", {}), **RUN_CONFIGURATION}
        elif not _SHOWN & set(tags):
            tags.append("hide-input")
        cell.metadata["tags"] = tags


def add_note(notebook_path: Path, note: str) -> None:
    """Show ``note`` (markdown) right under the page's ``# title`` (replacing an earlier note); a title cell
    that goes on with the opening paragraph is split after its first line."""
    notebook = nbformat.read(notebook_path, as_version=4)
    notebook.cells = [c for c in notebook.cells if c.get("id") != "fairnb-note"]
    cell = nbformat.v4.new_markdown_cell(note)
    cell["id"] = "fairnb-note"
    title = next((i for i, c in enumerate(notebook.cells) if c.cell_type == "markdown" and c.source.startswith("# ")), None)
    if title is None:
        notebook.cells.insert(0, cell)
    else:
        first, _, rest = notebook.cells[title].source.partition("\n")
        if rest.strip():
            notebook.cells[title].source = first
            opening = nbformat.v4.new_markdown_cell(rest.strip("\n"))
            opening["id"] = f"{notebook.cells[title].get('id', 'title')}-opening"[:64]
            notebook.cells.insert(title + 1, opening)
        notebook.cells.insert(title + 1, cell)
    nbformat.write(notebook, notebook_path)


def cli_value(value: Any) -> str:
    """A parameter value as ``fairnb run -p NAME VALUE`` reads it back (lists as JSON)."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return str(value)


def papermill_option(name: str, value: Any) -> str:
    """One papermill option that sets ``name`` to ``value`` exactly: ``-r`` for text, ``-y`` for lists,
    ``-p`` for numbers, booleans and None; quoted for a POSIX shell."""
    if isinstance(value, str):
        return f"-r {shlex.quote(name)} {shlex.quote(value)}"
    if isinstance(value, (list, tuple, dict)):
        return f"-y {shlex.quote(json.dumps({name: value}))}"
    return f"-p {shlex.quote(name)} {shlex.quote(repr(value) if isinstance(value, float) else str(value))}"


def overrides_of(job: Job) -> dict[str, Any]:
    """The parameters of ``job`` that differ from its manifest entry (what ``-p`` set)."""
    missing = object()
    return {k: v for k, v in job.parameters.items() if job.run.parameters.get(k, missing) != v}


def papermill_input(template: Path) -> tuple[str, str]:
    """How plain papermill reads a template: the command that feeds it (``""`` for a ``.ipynb`` template)
    and papermill's input argument. A text template goes through jupytext into papermill's standard input:
    ``jupytext --to ipynb -o - notebooks/<part>/<file>.md | papermill - ...``."""
    path = shlex.quote(quoted_template(template))
    if template.suffix == ".ipynb":
        return "", path
    return f"jupytext --to ipynb -o - {path} | ", "-"


def rerun_commands(job: "Job") -> tuple[str, str, str]:
    """The shell commands that re-create a run: fairnb (with the overrides that produced it), plain
    papermill (every parameter; a text template converted by jupytext on the way in), and a
    changed-parameter example. Values are quoted for the shell."""
    run = job.run
    options = "".join(f" -p {shlex.quote(k)} {shlex.quote(cli_value(v))}" for k, v in overrides_of(job).items())
    fairnb = f"fairnb run --only '{run.id}' --profile {shlex.quote(job.profile)}{options}"
    feed, source = papermill_input(run.template_path)
    papermill = feed + " ".join([f"papermill {source} {shlex.quote(run.id + '.ipynb')}"]
                                + [papermill_option(k, v) for k, v in {**job.parameters, "profile": job.profile}.items()])
    example = next((name for name in ("beta_exponent", "real_ratio", "correlation", "seed") if name in job.parameters
                    or name in template_parameters(run.template_path)), "seed")
    value = {"beta_exponent": 5, "real_ratio": 0.8, "correlation": 0.99, "seed": 1}[example]
    return fairnb, papermill, f"{fairnb} -p {example} {value}"


def append_run_footer(notebook_path: Path, job: "Job", metrics: dict[str, Any], csv_path: Path | None = None) -> None:
    """Write the run's metrics CSV (to ``csv_path``, default ``<run-id>.metrics.csv`` in the run pages'
    folder) and end the page with a link to ``<run-id>.metrics.csv`` and the commands that re-create the
    run (and change one parameter)."""
    import pandas as pd

    name = f"{job.run.id}.metrics.csv"
    frame = pd.DataFrame([{"metric": k, **v} for k, v in metrics.items()], columns=["metric", "mean", "std", "n"])
    if csv_path is None:
        atomic_write(job.outputs.book_runs / name, frame.to_csv(index=False))
    else:
        write_durable(csv_path, frame.to_csv(index=False).encode())
    fairnb, papermill, example = rerun_commands(job)
    notebook = nbformat.read(notebook_path, as_version=4)
    notebook.cells.append(nbformat.v4.new_markdown_cell("\n".join([
        "## Re-run this page", "",
        f"This page is the run `{job.run.id}` ({job.profile} profile). Its metrics: "
        f"{{download}}`{name} <{name}>`. Re-create it, or change a parameter:", "",
        "```bash", fairnb, example, papermill, "```",
    ])))
    notebook.cells[-1]["id"] = "fairnb-rerun"
    nbformat.write(notebook, notebook_path)


def add_failure_banner(notebook_path: Path, error: str) -> None:
    """Open a failed page with the failure (a dead kernel or a timeout leaves no traceback in the notebook)."""
    notebook = nbformat.read(notebook_path, as_version=4)
    if notebook.cells and notebook.cells[0].get("id") == "fairnb-failure":
        notebook.cells.pop(0)
    cell = nbformat.v4.new_markdown_cell("```{error}\nThis run failed: " + error.replace("`", "'") + "\n```")
    cell["id"] = "fairnb-failure"
    notebook.cells.insert(0, cell)
    nbformat.write(notebook, notebook_path)
