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

from fairnb.errors import FairnbError, ParameterError, one_of
from fairnb.runs.params import validate

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
MANIFEST = NOTEBOOKS / "manifest.yml"


class TemplateError(FairnbError, ValueError):
    """A template or the manifest cannot be read (YAML, front matter, the parameters cell's Python, the
    manifest's structure); the message is one line naming the file and, where known, the line."""


def _yaml_problem(path: Path, error: yaml.YAMLError, first_line: int = 1) -> TemplateError:
    """A YAML error as one ``TemplateError`` line naming the file and the line (``first_line``: where the YAML
    starts in the file)."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    where = f", line {mark.line + first_line}" if mark is not None else ""
    problem = " ".join(str(getattr(error, "problem", None) or error).split())
    return TemplateError(f"{path}{where}: not valid YAML ({problem})")


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
        try:
            return nbformat.read(path, as_version=4)
        except ValueError as error:  # nbformat.reader.NotJSONError and validation errors are ValueErrors
            raise TemplateError(f"{path}: not a notebook ({' '.join(str(error).split())[:200]})") from None
    if path.suffix != ".md":
        raise TemplateError(f"{path}: a template is a MyST markdown notebook (.md) or a notebook (.ipynb)")
    import jupytext

    text = path.read_text(encoding="utf-8")
    if text.startswith("---"):  # jupytext reads the front matter as YAML and fails with a traceback of its own
        end = text.find("\n---", 3)
        try:
            yaml.safe_load(text[3:end if end >= 0 else len(text)])
        except yaml.YAMLError as error:
            raise _yaml_problem(path, error, first_line=1) from None
    try:
        notebook = jupytext.reads(text, fmt="md:myst")
    except Exception as error:  # noqa: BLE001 - whatever jupytext refuses is a broken template file
        raise TemplateError(f"{path}: not a MyST markdown notebook ({type(error).__name__}: {' '.join(str(error).split())[:200]})") from None
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
        raise TemplateError(f"{path}: expected exactly one code cell tagged 'parameters', found {len(cells)}")
    source = cells[0].source
    lines = source.splitlines()
    try:
        body = ast.parse(source).body
    except SyntaxError as error:
        line = _file_line(path, source, error.lineno or 1)
        raise TemplateError(f"{path}, line {line}: the parameters cell is not valid Python ({error.msg})") from None
    out: dict[str, TemplateParam] = {}
    for node in body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else getattr(node, "target", None)
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(target, ast.Name) and node.value is not None:
            name = target.id
            line = lines[node.lineno - 1]
            comment = line.split("#", 1)[1].strip() if "#" in line else ""
            try:
                default = ast.literal_eval(node.value)
            except ValueError:
                raise TemplateError(f"{path}, line {_file_line(path, source, node.lineno)}: the default of parameter "
                                    f"{name} is not a literal value (a number, text, list, True/False or None)") from None
            out[name] = TemplateParam(name, default, comment)
    return out


def _file_line(path: Path, cell_source: str, cell_line: int) -> int:
    """The line of ``path`` that is line ``cell_line`` of the cell whose source is ``cell_source`` (the cell's
    line when the source cannot be found in the file as written)."""
    try:
        start = path.read_text(encoding="utf-8").find(cell_source)
    except (OSError, ValueError):
        return cell_line
    if start < 0 or path.suffix != ".md":
        return cell_line
    return path.read_text(encoding="utf-8").count("\n", 0, start) + cell_line


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
    try:
        spec = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise _yaml_problem(path, error) from None
    except OSError as error:
        raise TemplateError(f"{path}: cannot be read ({error.strerror or error})") from None
    entries = spec.get("runs") if isinstance(spec, dict) else None
    if not isinstance(entries, list):
        raise TemplateError(f"{path}: expected a mapping with a list 'runs' of entries {{template, parameters?, matrix?, after?, inputs?}}")
    runs: list[Run] = []
    for number, entry in enumerate(entries, 1):
        where = f"{path}: entry {number} of runs"
        if not isinstance(entry, dict) or not isinstance(entry.get("template"), str):
            raise TemplateError(f"{where}: expected a mapping with a 'template' name, got {entry!r:.80}")
        for name, kind in (("parameters", dict), ("matrix", dict), ("after", list), ("inputs", list)):
            if entry.get(name) is not None and not isinstance(entry[name], kind):
                raise TemplateError(f"{where} ({entry['template']}): '{name}' must be a {'mapping' if kind is dict else 'list'}, "
                                    f"got {entry[name]!r:.80}")
        if any(not isinstance(values, list) or not values for values in (entry.get("matrix") or {}).values()):
            raise TemplateError(f"{where} ({entry['template']}): every 'matrix' value must be a non-empty list")
        template = entry["template"]
        try:
            template_path = template_file(template, path.parent)
        except ValueError as error:
            raise TemplateError(f"{path}: {error}") from None
        fixed = dict(entry.get("parameters") or {})
        matrix = dict(entry.get("matrix") or {})
        for combination in itertools.product(*matrix.values()) if matrix else [()]:
            parameters = {**fixed, **dict(zip(matrix.keys(), combination))}
            runs.append(Run(_run_id(template, list(combination)), template, parameters, tuple(entry.get("after") or ()),
                            template_path, tuple(entry.get("inputs") or ())))
    ids = [r.id for r in runs]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise TemplateError(f"{path}: duplicate run ids {sorted(duplicates)}")
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
