"""What an invocation will cost, said before it starts: seconds per run and in total, from history.

A run's estimate is, in this order:

1. the ``seconds`` of its last successful record in the run store, made under the same profile
   (``last run``);
2. the performance record ``benchmarks/results/book.json``: a measurement named
   ``"<profile> profile, <run id>"`` (``benchmark``), else the mean of ``"<profile> profile, <template> pages
   (<n> runs), sum of the runs' seconds"`` (``benchmark, per <template> page``);
3. none: the run has no history, and the total says how many such runs it leaves out.

The total is a wall time: the runs go in the waves the runner uses (``fairnb.runs.manifest.order``), and each
wave's runs are spread over the workers longest first, each starting on the worker that is free first — so
"about 55 min on 2 cores" is the time the invocation would take if every run cost what it cost last time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from fairnb.runs.manifest import ROOT, order
from fairnb.runs.progress import format_duration
from fairnb.runs.store import Job, read_record

BENCHMARK = ROOT / "benchmarks" / "results" / "book.json"
_RUN_MEASUREMENT = re.compile(r"^(?P<profile>\w+) profile, (?P<run>[\w.-]+)(?:, .*)?$")
_TEMPLATE_MEASUREMENT = re.compile(r"^(?P<profile>\w+) profile, (?P<template>\w+) pages \((?P<runs>\d+) runs?\), "
                                   r"sum of the runs' seconds$")


@dataclass(frozen=True)
class Estimate:
    """What one run is expected to cost: ``seconds`` of wall time (``None``: no history) and where that comes
    from (``source``: ``last run``, ``benchmark``, ``benchmark, per <template> page``)."""

    seconds: float | None
    source: str = ""

    def describe(self) -> str:
        """``about 3 min by its last run`` / ``no history``."""
        if self.seconds is None:
            return "no history"
        by = "by its last run" if self.source == "last run" else f"by the {self.source}"
        return f"about {format_duration(self.seconds)} {by}"


def benchmark_seconds(path: Path | None = None) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]]:
    """Seconds per run from the performance record: ``(profile, run id) → seconds`` and
    ``(profile, template) → mean seconds of one page``; empty when the record is missing or unreadable."""
    try:
        measurements = json.loads((path or BENCHMARK).read_text())["measurements"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}, {}
    runs: dict[tuple[str, str], float] = {}
    templates: dict[tuple[str, str], float] = {}
    for measurement in measurements if isinstance(measurements, list) else []:
        if not isinstance(measurement, dict) or measurement.get("unit") != "s":
            continue
        name, value = str(measurement.get("name", "")), measurement.get("value")
        if not isinstance(value, (int, float)) or value <= 0:
            continue
        if match := _TEMPLATE_MEASUREMENT.match(name):
            templates[(match["profile"], match["template"])] = float(value) / int(match["runs"])
        elif match := _RUN_MEASUREMENT.match(name):
            runs[(match["profile"], match["run"])] = float(value)
    return runs, templates


def run_estimate(job: Job, benchmark: Path | None = None) -> Estimate:
    """The expected wall time of ``job`` when it executes (module doc for where it comes from)."""
    record = read_record(job.run.id, job.outputs.results) or {}
    seconds = record.get("seconds")
    if record.get("status") == "ok" and record.get("profile") == job.profile and isinstance(seconds, (int, float)) \
            and seconds > 0:
        return Estimate(float(seconds), "last run")
    runs, templates = benchmark_seconds(benchmark)
    if (job.profile, job.run.id) in runs:
        return Estimate(runs[(job.profile, job.run.id)], "benchmark")
    if (job.profile, job.run.template) in templates:
        return Estimate(templates[(job.profile, job.run.template)], f"benchmark, per {job.run.template} page")
    return Estimate(None)


def wall_seconds(jobs: Iterable[Job], seconds: Mapping[str, float], workers: int) -> float:
    """Wall time of executing the runs in ``seconds`` (run id → seconds; the others cost nothing) on ``workers``
    workers: wave after wave, each wave's runs longest first on the worker free first."""
    jobs = list(jobs)
    total = 0.0
    for wave in order([job.run for job in jobs]):
        free = [0.0] * max(1, workers)
        for cost in sorted((seconds.get(run.id, 0.0) for run in wave), reverse=True):
            first = free.index(min(free))
            free[first] += cost
        total += max(free)
    return total


def estimate_line(jobs: list[Job], to_run: Iterable[str], workers: int, cores: int | None = None) -> str:
    """One line for an invocation that executes the runs ``to_run`` (ids) of ``jobs``: the expected wall time on
    ``workers`` workers, the runs with no history named. ``cores``: the machine's usable cores, to say "on N
    cores" when there is one worker per core."""
    wanted = set(to_run)
    selected = [job for job in jobs if job.run.id in wanted]
    if not selected:
        return "estimate: nothing to run"
    estimates = {job.run.id: run_estimate(job) for job in selected}
    known = {run_id: e.seconds for run_id, e in estimates.items() if e.seconds is not None}
    unknown = sorted(run_id for run_id, e in estimates.items() if e.seconds is None)
    where = f"on {workers} core{'s' if workers != 1 else ''}" if workers == cores else \
        f"with {workers} worker{'s' if workers != 1 else ''}"
    line = f"estimate for {len(selected)} run{'s' if len(selected) != 1 else ''} to run: "
    shown = ", ".join(unknown[:4]) + (f" and {len(unknown) - 4} more" if len(unknown) > 4 else "")
    if not known:
        return line + f"unknown (no history: {shown})"
    line += f"about {format_duration(wall_seconds(jobs, known, workers))} {where}"
    return line + (f" plus {len(unknown)} with no history ({shown})" if unknown else "")
