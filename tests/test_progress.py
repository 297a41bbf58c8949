"""Progress events: the training loops' hook (``fairnb.nn.train``), its line-per-event file, and the runner's
progress line read back from it (``fairnb.runs.progress``)."""

from __future__ import annotations

import json
import time

import pytest

from fairnb.nn import train
from fairnb.nn.train import PROGRESS_EVENTS, ProgressEvent, progress, subscribe_progress
from fairnb.runs.progress import (ProgressReader, current_phase, format_duration, phase_line, phase_summary,
                                  read_events)


def test_training_loops_write_one_event_a_line_with_k_of_n_from_the_enclosing_loop(tmp_path, monkeypatch):
    events_file = tmp_path / "run.progress.jsonl"
    monkeypatch.setenv(PROGRESS_EVENTS, str(events_file))
    for _seed in progress(range(3), "repetitions (test)", enabled=True):
        for _epoch in progress(range(4), "teacher (test)", total=4, enabled=True):
            pass
    lines = events_file.read_text().splitlines()
    assert all(set(json.loads(line)) == {"phase", "fit", "fits", "step", "total", "depth", "time", "done"} for line in lines)
    events = read_events(events_file)
    teacher = [e for e in events if e.phase == "teacher (test)"]
    assert [(e.fit, e.fits, e.step, e.total, e.depth, e.done) for e in teacher if e.step == 0 or e.done] == [
        (1, 3, 0, 4, 1, False), (1, 3, 4, 4, 1, True), (2, 3, 0, 4, 1, False), (2, 3, 4, 4, 1, True),
        (3, 3, 0, 4, 1, False), (3, 3, 4, 4, 1, True)]
    assert events[-1].phase == "repetitions (test)" and events[-1].done and events[-1].step == 3
    summary = phase_summary(events)
    assert summary["teacher (test)"]["fits"] == 3 and summary["teacher (test)"]["steps"] == 12
    assert ProgressEvent.from_json(teacher[0].to_json()) == teacher[0]


def test_a_loop_stopped_early_reports_where_it_stopped_and_no_events_without_a_bar(tmp_path, monkeypatch):
    seen: list[ProgressEvent] = []
    unsubscribe = subscribe_progress(seen.append)
    try:
        for epoch in progress(range(1, 601), "student (stopped)", total=600, enabled=True):
            if epoch == 5:
                break  # a stopping rule ends the loop before its budget
        for _ in progress(range(3), "no bar", enabled=False):
            pass
    finally:
        unsubscribe()
    assert (seen[-1].phase, seen[-1].step, seen[-1].total, seen[-1].done) == ("student (stopped)", 4, 600, True)
    assert not [e for e in seen if e.phase == "no bar"]


def test_a_broken_listener_never_stops_training():
    def broken(_event: ProgressEvent) -> None:
        raise OSError(28, "No space left on device")

    unsubscribe = subscribe_progress(broken)
    try:
        assert list(progress(range(3), "broken listener", enabled=True)) == [0, 1, 2]
    finally:
        unsubscribe()
    assert broken not in train._LISTENERS


def _event(phase: str, step: int, time: float, fit: int = 1, fits: int | None = None, total: int | None = 600,
           depth: int = 0, done: bool = False) -> str:
    return ProgressEvent(phase, fit, fits, step, total, depth, time, done).to_json() + "\n"


def test_progress_line_says_k_of_n_steps_and_time_left():
    first = ProgressEvent("teacher", 2, 3, 0, 600, 1, 1000.0)
    latest = ProgressEvent("teacher", 2, 3, 140, 600, 1, 1070.0)  # 0.5 s a step
    # left: 460 steps of this fit and 600 of the third, at 0.5 s: 530 s
    assert phase_line(first, latest) == "teacher 2 of 3 · 140/600 · ~9 min left"
    alone = ProgressEvent("Decaf", 1, None, 40, 300, 0, 1020.0)
    assert phase_line(ProgressEvent("Decaf", 1, None, 0, 300, 0, 1000.0), alone) == "Decaf · 40/300 · ~2 min left"
    # no enclosing loop: n is what the previous execution made, k counts this process's fits
    second = ProgressEvent("FairDisco teacher", 2, None, 10, 100, 0, 1010.0)
    start = ProgressEvent("FairDisco teacher", 2, None, 0, 100, 0, 1000.0)
    assert phase_line(start, second, previous_fits=3) == "FairDisco teacher 2 of 3 · 10/100 · ~3 min left"  # (90 + 100) s
    assert phase_line(start, second) == "FairDisco teacher, fit 2 · 10/100 · ~2 min left"  # 90 s
    assert phase_line(start, ProgressEvent("FairDisco teacher", 2, None, 0, 100, 0, 1000.0)) == "FairDisco teacher, fit 2 · 0/100"
    assert len(phase_line(first, latest, width=20)) == 20
    assert [format_duration(s) for s in (0.2, 40, 95, 3000, 5400)] == ["1 s", "40 s", "2 min", "50 min", "1.5 h"]


def test_reader_follows_the_innermost_running_loop_across_appends_and_a_new_execution(tmp_path):
    path = tmp_path / "run.progress.jsonl"
    reader = ProgressReader(path, previous_fits={"translator": 3})
    assert reader.line() == ""  # no file yet
    with open(path, "w") as handle:
        handle.write(_event("repetitions", 0, 1000.0, total=3))
        handle.write(_event("translator", 0, 1000.0, fit=1, fits=3, total=200, depth=1))
        handle.write(_event("translator", 100, 1050.0, fit=1, fits=3, total=200, depth=1)[:30])  # half a line
    assert reader.line() == "translator 1 of 3 · 0/200"  # the half line waits for its end
    with open(path, "a") as handle:
        handle.write(_event("translator", 100, 1050.0, fit=1, fits=3, total=200, depth=1)[30:])
    assert reader.line() == "translator 1 of 3 · 100/200 · ~4 min left"  # (100 + 400) steps at 0.5 s
    with open(path, "a") as handle:
        handle.write(_event("translator", 200, 1100.0, fit=1, fits=3, total=200, depth=1, done=True))
    assert reader.line() == "repetitions · 0/3"  # back in the outer loop
    path.write_text(_event("Decaf", 0, 2000.0, total=300))  # the next execution rewrote the file
    assert reader.line() == "Decaf · 0/300"
    assert current_phase(path) == "Decaf · 0/300"
    with open(path, "a") as handle:
        handle.write(_event("Decaf", 3, 2010.0, total=300, done=True))
    assert current_phase(path) == ""  # nothing runs


@pytest.mark.parametrize("garbage", ["not json\n", "[1, 2]\n", '{"phase": "x"}\n'])
def test_lines_that_are_no_events_are_skipped(tmp_path, garbage):
    path = tmp_path / "run.progress.jsonl"
    path.write_text(_event("Decaf", 0, 1000.0, total=300) + garbage + _event("Decaf", 30, 1005.0, total=300))
    assert len(read_events(path)) == 2
    assert current_phase(path) == "Decaf · 30/300 · ~45 s left"


def test_the_progress_line_shows_each_running_run_with_k_of_n_from_its_previous_record(tmp_path):
    """The runner's bar: a run whose kernel log was rewritten after submission shows its innermost loop; n of a
    phase without an enclosing loop comes from the fits its previous record counted (``phases``)."""
    from fairnb.runs.manifest import Run
    from fairnb.runs.progress import PhaseWatcher, events_path
    from fairnb.runs.store import Job, Outputs

    outputs = Outputs(tmp_path / "runs", tmp_path / "results", tmp_path / "_build" / "failed")
    outputs.results.mkdir(parents=True)
    outputs.logs.mkdir(parents=True)
    run = Run("comparison-x", "comparison", {}, (), tmp_path / "comparison.md")
    (outputs.results / "comparison-x.json").write_text(json.dumps(
        {"run": "comparison-x", "status": "ok", "phases": {"FairDisco teacher": {"fits": 3, "seconds": 90.0, "steps": 750}}}))

    class Bar:
        text = ""

        def set_postfix_str(self, text: str, refresh: bool = True) -> None:
            self.text = text

    bar = Bar()
    watcher = PhaseWatcher(bar)
    watcher.submit(Job(run, {}, "default", "key", outputs))
    watcher.show()
    assert bar.text == "0 cached, 0 ok, 0 failed"  # not started: its log is not rewritten yet
    events_path(outputs, run.id).write_text(_event("FairDisco teacher", 0, 1000.0, fit=2)
                                            + _event("FairDisco teacher", 140, 1070.0, fit=2))
    time.sleep(0.05)  # the file system's clock is coarser than time.time()
    (outputs.logs / "comparison-x.log").write_text("")
    watcher.show()
    assert bar.text == "0 cached, 0 ok, 0 failed; running comparison-x: FairDisco teacher 2 of 3 · 140/600 · ~9 min left"
    watcher.finish("comparison-x", "0 cached, 1 ok, 0 failed")
    assert bar.text == "0 cached, 1 ok, 0 failed"
