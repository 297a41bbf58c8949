"""Benchmark records: one JSON file per benchmark script in ``benchmarks/results/``.

A record is ``{"benchmark": name, "machine": machine(), "created": iso time,
"measurements": [{"name", "value", "unit", "device", "goal"?, "note"?}, ...]}``; ``save`` writes it
atomically and ``load_all`` flattens every record into one table for the performance page.
"""

from __future__ import annotations

import json
import os
import platform
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


def timing_figure(frame: pd.DataFrame):
    """Horizontal bar chart of every measurement in seconds, goals drawn as markers."""
    import matplotlib.pyplot as plt

    seconds = frame[frame["unit"] == "s"].copy()
    seconds["label"] = seconds["benchmark"] + ": " + seconds["name"] + " (" + seconds["device"].fillna("") + ")"
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(len(seconds), 3) + 1))
    ax.barh(seconds["label"], seconds["value"], color="tab:blue")
    goals = seconds.dropna(subset=["goal"])
    ax.scatter(goals["goal"].astype(float), goals["label"], marker="|", s=300, color="tab:red", label="goal", zorder=3)
    ax.set_xscale("log")
    ax.set_xlabel("seconds (log scale)")
    if len(goals):
        ax.legend(loc="lower right")
    fig.tight_layout()
    return fig
