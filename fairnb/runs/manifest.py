"""The run manifest (``notebooks/manifest.yml``) and the templates it names.

Templates are text: MyST markdown notebooks (``notebooks/<part>/<NN>_<template>.md``, jupytext's
``md:myst`` format) without outputs, so a change reviews as a text diff. ``read_template`` is the one
reader: it turns a template into the notebook papermill executes (a ``.ipynb`` template is read as is).

A manifest entry is ``{template, parameters?, matrix?, after?, inputs?}``; ``matrix`` expands to one
run per combination of its values (in the order written) and the run id is
``<template>-<matrix values joined by ->``. ``after`` lists templates whose runs must finish first
(pages that read other runs' results); ``inputs`` lists globs (relative to the repository root) of
files the run reads, whose content joins its cache key (e.g. ``results/*.json``).
"""

from __future__ import annotations

import ast
import fnmatch
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import yaml

from fairnb.errors import ParameterError, one_of
from fairnb.runs.params import validate

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
MANIFEST = NOTEBOOKS / "manifest.yml"


@dataclass(frozen=True)
class TemplateParam:
    """One line of a template's parameters cell: ``name = default  # type: meaning``."""

    name: str
    default: Any
    comment: str


@dataclass(frozen=True)
class Run:
    """One entry of the expanded manifest."""

    id: str
    template: str
    parameters: dict[str, Any]
    after: tuple[str, ...] = field(default=())
    template_path: Path = field(default=Path(), compare=False)
    inputs: tuple[str, ...] = field(default=())


TEMPLATE_SUFFIXES = (".md", ".ipynb")
"""Suffixes of template files: MyST markdown notebooks (the repository's templates) and notebooks."""

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def read_template(path: Path | str) -> nbformat.NotebookNode:
    """A template as the notebook papermill executes.

    A ``.md`` template is read with jupytext (MyST format); its cells get ids from their position
    (``cell-00``, ``cell-01``, ...), so executing it twice gives the same cells, and the notebook
    the python3 kernel. jupytext's own metadata is left out: the executed page is a plain notebook.
    A ``.ipynb`` template is read as it is.
    """
    path = Path(path)
    if path.suffix == ".ipynb":
        return nbformat.read(path, as_version=4)
    if path.suffix != ".md":
        raise ValueError(f"{path}: a template is a MyST markdown notebook (.md) or a notebook (.ipynb)")
    import jupytext

    notebook = jupytext.reads(path.read_text(encoding="utf-8"), fmt="md:myst")
    notebook.metadata.pop("jupytext", None)
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    notebook.metadata.setdefault("language_info", {"name": "python"})
    notebook.nbformat, notebook.nbformat_minor = 4, 5
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index:02d}"
    return notebook


def template_parameters(path: Path) -> dict[str, TemplateParam]:
    """Parse the cell tagged ``parameters`` of a template into name → TemplateParam."""
    notebook = read_template(path)
    cells = [c for c in notebook.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{path}: expected exactly one code cell tagged 'parameters', found {len(cells)}")
    source = cells[0].source
    lines = source.splitlines()
    out: dict[str, TemplateParam] = {}
    for node in ast.parse(source).body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else getattr(node, "target", None)
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(target, ast.Name) and node.value is not None:
            name = target.id
            line = lines[node.lineno - 1]
            comment = line.split("#", 1)[1].strip() if "#" in line else ""
            out[name] = TemplateParam(name, ast.literal_eval(node.value), comment)
    return out


def template_files(folder: Path | None = None) -> list[Path]:
    """Every template file under ``folder`` (default ``notebooks/``), sorted: the ``.md`` and ``.ipynb``
    files, less hidden folders (``.ipynb_checkpoints``) and READMEs."""
    folder = folder or NOTEBOOKS
    return [p for p in sorted(folder.rglob("*"))
            if p.suffix in TEMPLATE_SUFFIXES and p.is_file() and p.stem.upper() != "README"
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)]


def template_file(template: str, folder: Path | None = None) -> Path:
    """The template file of ``template`` under ``folder`` (default ``notebooks/``).

    Templates are numbered per part (``notebooks/paper000/02_distillation.md`` is template
    ``distillation``); a template's name is its file name without the number and the suffix.
    """
    folder = folder or NOTEBOOKS
    matches = [p for p in template_files(folder) if re.fullmatch(rf"(\d+_)?{re.escape(template)}", p.stem)]
    if len(matches) != 1:
        found = "no template file" if not matches else "several template files: " + ", ".join(str(m.relative_to(folder)) for m in matches)
        raise ValueError(f"template {template!r}: {found} under {folder}")
    return matches[0]


def template_name(path: Path) -> str:
    """Inverse of ``template_file``: ``02_distillation.md`` → ``distillation``."""
    return re.sub(r"^\d+_", "", path.stem)


def _run_id(template: str, values: list[Any]) -> str:
    parts = [template] + [str(v) for v in values]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(parts))


def load_manifest(path: Path | None = None) -> list[Run]:
    """Expand the manifest (default ``notebooks/manifest.yml``) into runs; templates sit beside it."""
    path = path or MANIFEST
    spec = yaml.safe_load(path.read_text()) or {}
    runs: list[Run] = []
    for entry in spec.get("runs", []):
        template = entry["template"]
        try:
            template_path = template_file(template, path.parent)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
        fixed = dict(entry.get("parameters") or {})
        matrix = dict(entry.get("matrix") or {})
        for combination in itertools.product(*matrix.values()) if matrix else [()]:
            parameters = {**fixed, **dict(zip(matrix.keys(), combination))}
            runs.append(Run(_run_id(template, list(combination)), template, parameters, tuple(entry.get("after") or ()),
                            template_path, tuple(entry.get("inputs") or ())))
    ids = [r.id for r in runs]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"{path}: duplicate run ids {sorted(duplicates)}")
    return runs


def check_overrides(run: Run, overrides: dict[str, Any]) -> dict[str, Any]:
    """Validate ``run.parameters`` plus ``overrides`` against the template and the registry.

    Returns the parameters papermill will inject. Raises ``ParameterError`` for a name the template
    does not have, a wrong type, an out-of-range value, or a sensitive attribute the dataset lacks.
    """
    from fairnb.data import SENSITIVE

    declared = template_parameters(run.template_path)
    merged = {**run.parameters, **overrides}
    for name, value in merged.items():
        if name not in declared:
            raise ParameterError(name, value, f"parameters of template {run.template}: {', '.join(declared)}", "unknown parameter")
        merged[name] = validate(name, value)
    effective = {n: merged.get(n, p.default) for n, p in declared.items()}
    dataset, sensitive = effective.get("dataset"), effective.get("sensitive")
    if dataset is not None and sensitive is not None and sensitive not in SENSITIVE.get(dataset, ()):
        raise ParameterError("sensitive", sensitive, f"for dataset {dataset}: {one_of(SENSITIVE[dataset])}")
    return merged


def select(runs: list[Run], patterns: list[str] | None) -> list[Run]:
    """Runs whose id matches any glob pattern (all runs when ``patterns`` is empty)."""
    if not patterns:
        return runs
    chosen = [r for r in runs if any(fnmatch.fnmatch(r.id, p) for p in patterns)]
    if not chosen:
        raise ParameterError("only", patterns, "globs matching run ids, e.g. " + ", ".join(r.id for r in runs[:3]), "matches no run")
    return chosen


def order(runs: list[Run]) -> list[list[Run]]:
    """Group runs into waves: a run's ``after`` templates all finish in earlier waves."""
    waves: list[list[Run]] = []
    done: set[str] = set()
    pending = list(runs)
    present = {r.template for r in runs}
    while pending:
        ready = [r for r in pending if all(t in done or t not in present for t in r.after)]
        if not ready:
            raise ValueError("circular 'after' dependencies among " + ", ".join(r.id for r in pending))
        waves.append(ready)
        pending = [r for r in pending if r not in ready]
        done |= {r.template for r in ready} - {r.template for r in pending}
    return waves
