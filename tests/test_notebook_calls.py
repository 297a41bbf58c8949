"""Notebooks are thin: every call in a template's code cells passes at most four positional values (keyword
arguments or a settings object say what each value is), and no function of ``fairnb`` but an estimator's
``__init__`` takes more than ten parameters."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CELL = re.compile(r"```\{code-cell\}[^\n]*\n(.*?)```", re.S)


def code_cells(template: Path) -> list[str]:
    """The source of each code cell of a MyST template, cell options (``:tags:`` lines) dropped."""
    return ["\n".join(line for line in cell.splitlines() if not line.startswith(":")) for cell in CELL.findall(template.read_text())]


def test_no_notebook_call_passes_more_than_four_positional_values():
    offenders = []
    for template in sorted((ROOT / "notebooks").rglob("*.md")):
        for source in code_cells(template):
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Call) and len(node.args) > 4:
                    offenders.append(f"{template.relative_to(ROOT)}: {ast.unparse(node)[:80]}")
    assert not offenders, offenders


def test_long_parameter_lists_are_refused_outside_estimator_constructors():
    offenders = []
    for path in sorted((ROOT / "fairnb").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name != "__init__":
                args = node.args
                names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs if a.arg not in ("self", "cls")]
                if len(names) > 10:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({len(names)})")
    assert not offenders, offenders
