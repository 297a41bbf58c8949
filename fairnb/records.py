"""Where results live and the one reader of results records.

A results record is ``results/<run-id>.json`` (``{"run", "template", "parameters", "profile",
"status", "metrics": {name: {"mean", "std", "n", "values"}}, ...}``), written by ``fairnb run``.
Records live outside ``_build/`` so cleaning the built book never deletes them; the environment variable
``FAIRNB_RESULTS`` names another folder to read them from (e.g. a committed results snapshot). This module sits at
the bottom of the package (it imports nothing from ``fairnb``) so every layer can read records.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(os.environ["FAIRNB_RESULTS"]) if os.environ.get("FAIRNB_RESULTS") else ROOT / "results"


def of_template(record: dict[str, Any], template: str) -> bool:
    """Whether ``record`` is a run of ``template``: its ``template`` field names that template's file
    (``notebooks/<part>/<NN>_<template>.md``, or ``.ipynb`` in records written before the templates
    were text). A record without the field counts as one."""
    path = str(record.get("template", f"{template}.md"))
    return re.search(rf"(^|/)(\d+_)?{re.escape(template)}\.(md|ipynb)$", path) is not None


def read_records(template: str | None = None, folder: Path | str | None = None, *,
                 successful_only: bool = True) -> list[dict[str, Any]]:
    """Results records in ``folder`` (default ``RESULTS``: ``results/`` or ``$FAIRNB_RESULTS``), sorted by run id.

    ``template`` keeps the runs of one template (``fair_classifier`` → ``fair_classifier-*.json``,
    whose ``template`` field names that template's file: ``of_template``). ``successful_only`` drops failed
    records (``*.failed.json`` and status other than ``ok``). Unreadable files are skipped: a record
    being written is published by a rename, so a half-written file is never read as a record.
    """
    folder = Path(folder) if folder is not None else RESULTS
    pattern = f"{template}-*.json" if template else "*.json"
    out = []
    for path in sorted(folder.glob(pattern)):
        if path.name.startswith(("_", ".")) or (successful_only and path.name.endswith(".failed.json")):
            continue
        try:
            record = json.loads(path.read_text())
        except (json.JSONDecodeError, OSError, UnicodeDecodeError):
            continue
        if not isinstance(record, dict):
            continue
        if successful_only and record.get("status") != "ok":
            continue
        if template and not of_template(record, template):
            continue
        out.append(record)
    return out
