"""What each running run is doing, for the progress line of ``fairnb run``.

A run's kernel reports its training loops as ``fairnb.nn.train.ProgressEvent``s, one JSON object a line, in
``_build/logs/<id>.progress.jsonl`` (the runner names that file in the kernel's ``FAIRNB_PROGRESS_EVENTS``).
``ProgressReader`` follows such a file and says what the run does now, e.g.

    FairDisco teacher 2 of 3 · 140/600 · ~3 min left

- the innermost loop running (its ``phase``);
- "k of n" for a phase fitted several times: n is what an enclosing loop over repetitions says, else how many
  fits of that phase the run's previous execution made (``phase_summary``, kept in its record as ``phases``);
  without either, "fit k" from the second fit on;
- the steps done of the loop's budget (a stopping rule may end it sooner);
- an estimate of the time this phase has left: the seconds per step of the current fit times the steps left in
  it and, when n is known, in the fits still to come (an upper bound where a stopping rule ends fits early).

``PhaseWatcher`` puts the line of every running run into the invocation's progress bar.
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from fairnb.runs.store import Job, Outputs, read_record

if TYPE_CHECKING:  # importing fairnb.nn loads torch: seconds the command line need not wait at start
    from fairnb.nn.train import ProgressEvent

EVENTS_SUFFIX = ".progress.jsonl"
PHASE_WIDTH = 64  # characters of one run's phase in the progress line


def events_path(outputs: Outputs, run_id: str) -> Path:
    """The progress events file of run ``run_id`` (next to its kernel log)."""
    return outputs.logs / f"{run_id}{EVENTS_SUFFIX}"


def read_events(path: Path) -> list[ProgressEvent]:
    """Every complete, well-formed event of an events file, in order (``[]`` when it is missing)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return list(_parse(text.splitlines()))


def _parse(lines: Iterable[str]) -> Iterable[ProgressEvent]:
    from fairnb.nn.train import ProgressEvent

    for line in lines:
        if line.strip():
            with contextlib.suppress(ValueError):  # a line cut short by a dying kernel is skipped
                yield ProgressEvent.from_json(line)


def phase_summary(events: Iterable[ProgressEvent]) -> dict[str, dict[str, float]]:
    """Per phase: ``fits`` (loops of it that ran), ``seconds`` (their wall time, summed) and ``steps`` (their
    iterations, summed), from the events of one execution. Kept in the run's record as ``phases``."""
    summary: dict[str, dict[str, float]] = {}
    started: dict[tuple[str, int, int], float] = {}
    for event in events:
        where = (event.phase, event.depth, event.fit)
        if event.step == 0 and not event.done:
            started[where] = event.time
        elif event.done and where in started:
            entry = summary.setdefault(event.phase, {"fits": 0, "seconds": 0.0, "steps": 0})
            entry["fits"] += 1
            entry["seconds"] = round(entry["seconds"] + event.time - started.pop(where), 2)
            entry["steps"] += event.step
    return summary


def format_duration(seconds: float) -> str:
    """A duration as people say it: ``40 s``, ``3 min``, ``1.5 h`` (rounded; at least 1 s)."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


class ProgressReader:
    """Follows the events file of one run, reading only what was appended since the last ``line()``.

    ``previous_fits``: phase → fits the run's previous execution made (its record's ``phases``), the "n" of
    "k of n" where no enclosing loop gives it.
    """

    def __init__(self, path: Path, previous_fits: Mapping[str, int] | None = None):
        self.path = path
        self.previous_fits = dict(previous_fits or {})
        self._offset = 0
        self._partial = ""
        self._loops: dict[int, tuple[ProgressEvent, ProgressEvent]] = {}  # depth -> (first event, latest event)

    def update(self) -> None:
        """Read the events appended since the last call (a file rewritten since starts over)."""
        try:
            with open(self.path, "rb") as handle:
                size = handle.seek(0, 2)
                if size < self._offset:  # a new execution truncated the file
                    self._offset, self._partial, self._loops = 0, "", {}
                handle.seek(self._offset)
                data = handle.read()
        except OSError:
            return
        self._offset += len(data)
        text = self._partial + data.decode("utf-8", errors="replace")
        lines = text.split("\n")
        self._partial = lines.pop()  # an unfinished last line waits for its end
        for event in _parse(lines):
            self._apply(event)

    def _apply(self, event: ProgressEvent) -> None:
        for depth in [d for d in self._loops if d > event.depth]:
            del self._loops[depth]  # an outer loop moved on: its inner loops ended
        if event.done:
            self._loops.pop(event.depth, None)
        elif event.step == 0 or event.depth not in self._loops or self._loops[event.depth][0].phase != event.phase \
                or self._loops[event.depth][0].fit != event.fit:
            self._loops[event.depth] = (event, event)
        else:
            self._loops[event.depth] = (self._loops[event.depth][0], event)

    def line(self, width: int = PHASE_WIDTH, now: float | None = None) -> str:
        """What the run does now (module doc), at most ``width`` characters; ``""`` when no loop runs."""
        self.update()
        if not self._loops:
            return ""
        first, latest = self._loops[max(self._loops)]
        return phase_line(first, latest, self.previous_fits.get(latest.phase), width)


def phase_line(first: ProgressEvent, latest: ProgressEvent, previous_fits: int | None = None,
               width: int = PHASE_WIDTH) -> str:
    """``"<phase>[ k of n] · <step>/<total>[ · ~<time> left]"`` for a loop that started with event ``first``
    and last reported ``latest`` (module doc); ``previous_fits``: fits of this phase in the previous execution."""
    fits = latest.fits if latest.fits is not None else (max(previous_fits, latest.fit) if previous_fits else None)
    parts = [latest.phase]
    if fits is not None and fits > 1:
        parts[0] += f" {latest.fit} of {fits}"
    elif fits is None and latest.fit > 1:
        parts[0] += f", fit {latest.fit}"
    parts.append(f"{latest.step}/{latest.total}" if latest.total else str(latest.step))
    if latest.total and latest.step > 0 and latest.time > first.time:
        per_step = (latest.time - first.time) / latest.step  # seconds per step in this fit
        steps_left = latest.total - latest.step + (fits - latest.fit) * latest.total if fits else latest.total - latest.step
        parts.append(f"~{format_duration(per_step * max(0, steps_left))} left")
    line = " · ".join(parts)
    return line if len(line) <= width else line[: width - 1] + "…"


def current_phase(path: Path, width: int = PHASE_WIDTH, previous_fits: Mapping[str, int] | None = None) -> str:
    """What a run does now, from its whole events file (``ProgressReader.line``); ``""`` when nothing runs."""
    return ProgressReader(path, previous_fits).line(width)


def previous_fits(job: Job) -> dict[str, int]:
    """Phase → fits made by the run's last recorded execution (its record's ``phases``; ``{}`` when none)."""
    record = read_record(job.run.id, job.outputs.results) or {}
    phases = record.get("phases")
    if not isinstance(phases, dict):
        return {}
    return {str(phase): int(entry["fits"]) for phase, entry in phases.items()
            if isinstance(entry, dict) and isinstance(entry.get("fits"), (int, float))}


class PhaseWatcher:
    """Shows the phase of every running run in the progress bar's postfix every ``interval`` seconds, after
    the counts; a run counts as running from the moment its kernel log is rewritten after submission until it
    finishes."""

    def __init__(self, bar: Any, interval: float = 2.0):
        self.bar, self.interval = bar, interval
        self.counts = "0 cached, 0 ok, 0 failed"
        self.submitted: dict[str, tuple[Path, float, ProgressReader]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> "PhaseWatcher":
        self._thread.start()
        return self

    def submit(self, job: Job) -> None:
        reader = ProgressReader(events_path(job.outputs, job.run.id), previous_fits(job))
        with self._lock:
            self.submitted[job.run.id] = (job.outputs.logs / f"{job.run.id}.log", time.time(), reader)

    def finish(self, run_id: str, counts: str) -> None:
        with self._lock:
            self.submitted.pop(run_id, None)
            self.counts = counts
        self.show()

    def running(self) -> list[str]:
        with self._lock:
            submitted = dict(self.submitted)
        parts = []
        for run_id, (log, since, reader) in submitted.items():
            try:
                if log.stat().st_mtime < since:
                    continue  # not started yet: the log is the previous execution's
            except OSError:
                continue
            phase = reader.line()
            parts.append(f"{run_id}: {phase}" if phase else run_id)
        return parts

    def show(self) -> None:
        running = self.running()
        with self._lock:
            text = self.counts + (f"; running {' | '.join(running)}" if running else "")
        self.bar.set_postfix_str(text, refresh=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(Exception):  # a display problem never stops the runs
                self.show()

    def stop(self) -> None:
        self._stop.set()
