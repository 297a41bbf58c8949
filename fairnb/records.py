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


# --------------------------------------------------------------------------- what a record says, one rule each

SCHEMA = 2  # records written since the schema: ``schema``, the run's ``resolved`` parameters and per-seed values
CODINGS = ("favourable", "unfavourable")
PROTOCOL_PREFIXES = {"split_": "synthetic_split", "real_": "synthetic_real"}
# the metrics whose value depends on which outcome is class 1 (every other metric has no coding)
CODED = ("dpr", "eor", "accuracy", "recall", "f1", "positive_rate_privileged", "positive_rate_unprivileged",
         "base_rate_privileged", "base_rate_unprivileged", "balanced_accuracy")
TIDY_COLUMNS = ["run", "template", "dataset", "sensitive", "profile", "method", "coding", "protocol", "metric",
                "repetition", "seed", "value"]


def resolved(record: dict[str, Any]) -> dict[str, Any]:
    """Every parameter value the run used: the record's ``resolved`` parameters (schema 2, profile defaults included),
    else its overrides (``parameters``, older records)."""
    return dict(record.get("resolved") or record.get("parameters") or {})


def plain_coding(record: dict[str, Any]) -> str | None:
    """The label coding of a record's unprefixed metric names — the one rule every page uses.

    Its run's ``positive_label`` (resolved, or overridden in an older record); failing that, the coding opposite to
    the prefix its other-coding names carry (``l1/favourable_dpr`` → plain names are unfavourable); ``None`` when the
    record says neither: a template's default today is no evidence of what an older run used.
    """
    value = resolved(record).get("positive_label")
    if value in CODINGS:
        return value
    for coding in CODINGS:
        if any(f"/{coding}_" in name or name.startswith(f"{coding}_") for name in record.get("metrics") or {}):
            return CODINGS[1 - CODINGS.index(coding)]
    return None


def per_seed(entry: Any) -> list[float | None]:
    """The per-repetition values of one metric entry (``{"mean", "std", "n", "values"}``), non-finite as ``None``;
    an entry without ``values`` counts as its mean only when it has one repetition; anything else gives ``[]``."""
    if not isinstance(entry, dict):
        return []
    values = entry.get("values")
    if values is None:
        values = [entry["mean"]] if entry.get("n") == 1 and entry.get("mean") is not None else []
    out: list[float | None] = []
    for value in values:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        out.append(number if number == number and abs(number) != float("inf") else None)
    return out


def parse_name(name: str, plain: str | None, plain_protocol: str = "synthetic_real") -> tuple[str, str, str, str]:
    """``(method, coding, protocol, metric)`` of a metric name ``<method>/<name>``, e.g. ``l1/unfavourable_split_dpr``.

    The method is everything before the last ``/`` (``lambda_sweep/1`` for ``lambda_sweep/1/dpr``; empty for a name
    without one); a ``favourable_``/``unfavourable_`` prefix names the coding (else ``plain``, the record's own, for a
    coded metric, and ``""`` for a metric without a coding); a ``split_`` / ``real_`` prefix the other protocol (else
    ``plain_protocol``: the run's ``protocol``, ``synthetic_real`` unless a comparison made the split its headline).
    """
    method, _, rest = name.rpartition("/")
    coding = ""
    for candidate in CODINGS:
        if rest.startswith(f"{candidate}_"):
            coding, rest = candidate, rest[len(candidate) + 1:]
            break
    protocol = plain_protocol
    for prefix, name_of in PROTOCOL_PREFIXES.items():
        if rest.startswith(prefix) and rest[len(prefix):] in CODED:
            protocol, rest = name_of, rest[len(prefix):]
            break
    if not coding and rest in CODED:
        coding = plain or ""
    return method, coding, protocol, rest


def tidy(records: list[dict[str, Any]]) -> "Any":
    """Every metric of ``records`` as one long table (a pandas DataFrame with ``TIDY_COLUMNS``): one row per
    (run, method, coding, protocol, metric, repetition), with the repetition's seed (``seed + repetition``)."""
    import pandas as pd

    rows = []
    for record in records:
        values = resolved(record)
        plain = plain_coding(record)
        seed = values.get("seed")
        first = seed if isinstance(seed, int) else 0
        plain_protocol = values.get("protocol") if values.get("protocol") in PROTOCOL_PREFIXES.values() else "synthetic_real"
        common = {"run": record.get("run"), "template": Path(str(record.get("template", ""))).stem.split("_", 1)[-1],
                  "dataset": values.get("dataset"), "sensitive": values.get("sensitive"), "profile": record.get("profile")}
        for name, entry in (record.get("metrics") or {}).items():
            method, coding, protocol, metric = parse_name(name, plain, plain_protocol)
            for repetition, value in enumerate(per_seed(entry)):
                rows.append({**common, "method": method, "coding": coding, "protocol": protocol, "metric": metric,
                             "repetition": repetition, "seed": first + repetition, "value": value})
    return pd.DataFrame(rows, columns=TIDY_COLUMNS)


def metrics_frame(template: str | None = None, folder: Path | str | None = None) -> "Any":
    """``tidy(read_records(template, folder))``: the one reader pages use for a DataFrame of results."""
    return tidy(read_records(template, folder))
