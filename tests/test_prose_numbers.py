"""No number typed into prose: decimals and percentages in the book's pages and the templates'
markdown cells must come from glue, records or reference files.

Code, math, inline code, roles and glue are ignored. Numbers already in the templates' prose are
listed in ``ALLOWED`` (per template, the literal token): the test fails on any new one, so the list
only shrinks. A number that belongs in prose should be glued from a run or read from the package.
"""

from __future__ import annotations

import re
from pathlib import Path

from fairnb.runs.manifest import read_template, template_files, template_name

ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"(?<![\w.§])\d*\.\d+(?![\w.])|\b\d+(?:\.\d+)?\s?%")

# the confidence level of every interval in the book: a convention, not a result
CONVENTIONS = {"95 %"}

# template → numbers still typed in its markdown (to be replaced by glued values; never add to this).
ALLOWED: dict[str, set[str]] = {
    "overview": {"0.05", ".01", "0.01", "0.005"},
    "fair_synthesis": {".76", ".99", ".32", ".80"},
    "table1": {"0.05", ".01", "0.76", ".32", ".80", "0.00"},
    "runtime": {"23 %", "105 %", "153 %", "100 %"},
    "fair_translation": {"0.5", "0.25", "0.12"},
    "fair_classifier": {"0 %", "100 %", "0.8"},
    "reproduction_002": {"0.01"},
}


def prose_numbers(text: str) -> list[str]:
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", "", text, flags=re.S)
    text = re.sub(r"\$[^$\n]+\$", "", text)
    text = re.sub(r"\{[a-z:-]+\}`[^`]*`", "", text)
    text = re.sub(r"`[^`\n]+`", "", text)
    text = re.sub(r"^:[a-z-]+:.*$", "", text, flags=re.M)  # directive options
    return [m.group(0) for m in NUMBER.finditer(text)]


def test_the_scanner_finds_typed_numbers_and_ignores_code_and_math():
    text = "Accuracy 0.83 and 12 % better. `x = 0.5` $\\beta = 0.1$ {glue:text}`run::acc:.3f` §6.6\n```\ny = 0.7\n```"
    assert prose_numbers(text) == ["0.83", "12 %"]


def test_book_pages_have_no_typed_numbers():
    found = {}
    for path in sorted((ROOT / "book").rglob("*.md")):
        if {"generated", "runs"} & set(path.relative_to(ROOT / "book").parts):
            continue
        numbers = [n for n in prose_numbers(path.read_text()) if n not in CONVENTIONS]
        if numbers:
            found[str(path.relative_to(ROOT))] = numbers
    assert not found, f"typed numbers in book pages (glue them or read them from the package): {found}"


def test_templates_add_no_typed_numbers():
    new = {}
    templates = template_files()
    assert templates
    for path in templates:
        template = template_name(path)
        cells = read_template(path).cells
        numbers = {n for c in cells if c.cell_type == "markdown" for n in prose_numbers(c.source)}
        extra = numbers - ALLOWED.get(template, set()) - CONVENTIONS
        if extra:
            new[template] = sorted(extra)
    assert not new, f"new typed numbers in template prose (glue them from the run instead): {new}"
