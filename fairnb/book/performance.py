"""Benchmark records: one JSON file per benchmark script in ``benchmarks/results/``.

A record is ``{"benchmark": name, "machine": machine(), "created": iso time,
"measurements": [{"name", "value", "unit", "device", "goal"?, "note"?}, ...]}``; ``save`` writes it
atomically and ``load_all`` flattens every record into one table for the performance page, which shows it as
one readable table (``measurements_table``: values to three significant digits with their unit, a goal and
whether it is met only where a goal exists, each note once), the machines (``machines_table``) and one figure
(``timing_figure``).
"""

from __future__ import annotations

import json
import math
import os
import platform
import textwrap
import time
from pathlib import Path
from typing import Any

import pandas as pd

from fairnb.runs.execute import atomic_write
from fairnb.runs.manifest import ROOT

RESULTS = ROOT / "benchmarks" / "results"


def machine() -> dict[str, Any]:
    """Where a benchmark ran: CPU model and count, memory, GPU (if any), library versions."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        memory_gib = None
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": memory_gib, "python": platform.python_version(),
        "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def save(benchmark: str, measurements: list[dict[str, Any]], folder: Path | None = None) -> Path:
    """Write ``<folder>/<benchmark>.json`` (default ``benchmarks/results``) and return its path."""
    for m in measurements:
        missing = {"name", "value", "unit"} - set(m)
        if missing:
            raise ValueError(f"measurement {m} lacks {sorted(missing)}")
    record = {"benchmark": benchmark, "machine": machine(), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "measurements": measurements}
    path = (folder or RESULTS) / f"{benchmark}.json"
    atomic_write(path, json.dumps(record, indent=2))
    return path


def load_all(folder: Path | None = None) -> pd.DataFrame:
    """Every measurement of every record: benchmark, name, value, unit, device, goal, note, cpu, gpu, created."""
    rows = []
    for path in sorted((folder or RESULTS).glob("*.json")):
        record = json.loads(path.read_text())
        for m in record.get("measurements", []):
            rows.append({"benchmark": record.get("benchmark", path.stem), **m,
                         "cpu": record.get("machine", {}).get("cpu"), "cores": record.get("machine", {}).get("cores"),
                         "gpu": record.get("machine", {}).get("gpu"), "created": record.get("created")})
    columns = ["benchmark", "name", "value", "unit", "device", "goal", "note", "cpu", "cores", "gpu", "created"]
    frame = pd.DataFrame(rows)
    for column in columns:
        if column not in frame:
            frame[column] = None
    return frame[columns]


# units in which a smaller value is better (times); in the others (speed-ups, rates) a larger one is
LOWER_IS_BETTER = {"s", "h", "min", "ms"}
UNIT_TEXT = {"x": "×"}


def significant(value: Any, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits, without exponent (``3549.8`` → ``3,550``; ``0.14952`` →
    ``0.150``); a whole number as it is (``36``); "" for a missing value."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    value = float(value)
    if value.is_integer():
        return f"{int(value):,}"
    places = digits - 1 - math.floor(math.log10(abs(value)))
    return f"{round(value, places):,.{max(places, 0)}f}"


def with_unit(value: Any, unit: Any) -> str:
    """``significant(value)`` and its unit, unbroken (``3,550 s``, ``19.5 ×``); "" for a missing value."""
    text = significant(value)
    unit = UNIT_TEXT.get(unit, unit) if isinstance(unit, str) and unit else ""
    return f"{text}\u00a0{unit}".replace(" ", "\u00a0") if text and unit else text


def goal_met(value: Any, goal: Any, unit: Any) -> str:
    """"met" or "not met" for a measurement with a goal (times: at most the goal; speed-ups and rates: at
    least), "" without a goal."""
    if goal is None or (isinstance(goal, float) and not math.isfinite(goal)) or value is None:
        return ""
    met = float(value) <= float(goal) if unit in LOWER_IS_BETTER else float(value) >= float(goal)
    return "met" if met else "not met"


def measurements_table(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Every measurement once, for the page: benchmark, measurement, value (three significant digits, with its
    unit), then ``goal`` (≤ for times, ≥ for speed-ups and rates) and ``status`` only when some measurement
    has a goal, and ``note``: the number of its note in the returned list (each distinct note once, in order).
    Strings only: no NaN, no None."""
    notes: dict[str, int] = {}
    rows = []
    has_goal = frame["goal"].notna().any() if "goal" in frame else False
    for m in frame.itertuples(index=False):
        row = {"benchmark": m.benchmark, "measurement": m.name, "value": with_unit(m.value, m.unit)}
        goal = m.goal if has_goal and m.goal is not None and m.goal == m.goal else None
        if has_goal:
            sign = "≤" if m.unit in LOWER_IS_BETTER else "≥"
            row["goal"] = f"{sign}\u00a0{with_unit(goal, m.unit)}" if goal is not None else ""
            row["status"] = goal_met(m.value, goal, m.unit)
        note = m.note if isinstance(m.note, str) and m.note.strip() else ""
        row["note"] = str(notes.setdefault(note, len(notes) + 1)) if note else ""
        rows.append(row)
    columns = ["benchmark", "measurement", "value"] + (["goal", "status"] if has_goal else []) + ["note"]
    return pd.DataFrame(rows, columns=columns), list(notes)


def machines_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per benchmark record: the benchmark, the day it was measured, and its machine (CPU, cores, GPU or
    "no GPU"). Strings only."""
    records = frame.drop_duplicates("benchmark")
    rows = []
    for r in records.itertuples(index=False):
        parts = [str(r.cpu) if isinstance(r.cpu, str) and r.cpu else "unknown CPU"]
        if r.cores is not None and r.cores == r.cores:
            parts.append(f"{int(r.cores)} cores")
        parts.append(str(r.gpu) if isinstance(r.gpu, str) and r.gpu else "no GPU")
        rows.append({"benchmark": r.benchmark, "measured": str(r.created)[:10] if isinstance(r.created, str) else "",
                     "machine": ", ".join(parts)})
    return pd.DataFrame(rows, columns=["benchmark", "measured", "machine"])


def styled(table: pd.DataFrame):
    """A table of this module for the page: no index, short columns unbroken, status coloured."""
    style = table.style.hide(axis="index")
    short = [c for c in ("benchmark", "value", "goal", "status", "note", "measured") if c in table.columns]
    style = style.set_properties(subset=short, **{"white-space": "nowrap"})
    for column in ("value", "goal"):
        if column in table.columns:
            style = style.set_properties(subset=[column], **{"text-align": "right"})
    if "status" in table.columns:
        colours = {"met": "background-color: #dff0d8; color: #222222", "not met": "background-color: #f8d7da; color: #222222"}
        style = style.map(lambda v: colours.get(v, ""), subset=["status"])
    return style


def notes_markdown(notes: list[str]) -> str:
    """The notes of ``measurements_table`` as a numbered markdown list."""
    return "\n".join(f"{i}. {note}" for i, note in enumerate(notes, 1))


def timing_figure(frame: pd.DataFrame):
    """Horizontal bar chart of every measurement in seconds (log scale), one colour per benchmark, goals drawn as
    red marks; sized for the book's text column (labels at their printed size)."""
    import matplotlib.pyplot as plt

    seconds = frame[frame["unit"] == "s"].reset_index(drop=True)
    labels = [textwrap.fill(str(name), 62) for name in seconds["name"]]
    lines = sum(label.count("\n") + 1 for label in labels)
    fig, ax = plt.subplots(figsize=(6.4, 0.11 * lines + 0.1 * len(labels) + 1.2))
    positions = list(range(len(seconds)))[::-1]
    benchmarks = list(dict.fromkeys(seconds["benchmark"]))
    colours = plt.get_cmap("tab10")
    for i, benchmark in enumerate(benchmarks):
        rows = seconds.index[seconds["benchmark"] == benchmark]
        ax.barh([positions[r] for r in rows], seconds.loc[rows, "value"].astype(float), color=colours(i % 10), label=benchmark)
    goals = seconds[seconds["goal"].notna()] if "goal" in seconds else seconds.iloc[:0]
    if len(goals):
        ax.scatter(goals["goal"].astype(float), [positions[r] for r in goals.index], marker="|", s=250, color="tab:red",
                   label="goal", zorder=3)
    ax.set_yticks(positions, labels, fontsize=7)
    ax.set_ylim(-0.6, len(positions) - 0.4)
    ax.set_xscale("log")
    ax.set_xlabel("seconds (log scale)")
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, fontsize=7, frameon=False, handlelength=1.2,
              columnspacing=1.0)
    fig.tight_layout()
    return fig
