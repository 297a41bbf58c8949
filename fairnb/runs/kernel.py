"""Executing one run: papermill in a kernel of its own, under the run's lock and time limit.

**Failures are runs too.** A cell that raises, a kernel that dies (an out-of-memory kill), a run past its time
limit: each ends as one failed run (``fairnb.runs.publish``), never as an exception of the invocation. The
kernel's own output (e.g. ipykernel's log lines, or what it said before it died) goes to its log,
``_build/logs/<id>.log``; its training progress to ``_build/logs/<id>.progress.jsonl`` (``fairnb.runs.progress``).

**Records read from elsewhere.** A job with ``records`` set executes with ``FAIRNB_RESULTS`` pointing there, so
a page that reads other runs' records (``fairnb.records.read_records``) reads that folder, e.g. a committed
results snapshot; its ``note`` (markdown) is shown under the page's title.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import signal
import threading
import time
from pathlib import Path
from typing import Any

import nbformat

from fairnb.runs.cache import is_cached
from fairnb.runs.manifest import ROOT, read_template
from fairnb.records import SCHEMA
from fairnb.runs.presentation import extract_report, quoted_template
from fairnb.runs.progress import events_path, phase_summary, read_events
from fairnb.runs.publish import publish, publish_failure
from fairnb.runs.store import Job, forget_failure, os_problem, read_record, run_lock

def device_description() -> str:
    """``cuda (<gpu name>)`` when torch sees a GPU, else ``cpu (<n> cores, <machine>)``."""
    import torch

    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return f"cpu ({os.cpu_count()} cores, {platform.machine()})"


class _Kernel:
    """The kernel of one execution: its process (for the time limit) and its log file."""

    def __init__(self, log: Path, env: dict[str, str] | None = None):
        self.log = log
        self.env = dict(env or {})
        self.process = None
        self.expired = threading.Event()
        self._lock = threading.Lock()

    def manager_class(self) -> type:
        """A kernel manager that sends the kernel's own output (e.g. ipykernel's log lines) to ``self.log``
        instead of the terminal, adds ``self.env`` to the kernel's environment, encrypts the kernel's
        connections when ZeroMQ can, and reports the kernel process here."""
        from jupyter_client.manager import AsyncKernelManager

        kernel = self

        class RunKernelManager(AsyncKernelManager):
            def __init__(self, **kwargs: Any):
                import zmq

                if zmq.has("curve"):
                    kwargs.setdefault("transport_encryption", "auto")
                super().__init__(**kwargs)

            async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
                if kernel.env:
                    kw["env"] = {**(kw.get("env") or os.environ), **kernel.env}
                with open(kernel.log, "ab") as log:
                    kw["stdout"] = kw["stderr"] = log
                    await super()._async_launch_kernel(kernel_cmd, **kw)
                with kernel._lock:
                    kernel.process = getattr(self.provisioner, "process", None)
                if kernel.expired.is_set():
                    kernel.kill()

        return RunKernelManager

    def kill(self) -> None:
        with self._lock:
            process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(process.pid, signal.SIGKILL)  # the kernel leads its own session (and any children)

    def expire(self) -> None:
        self.expired.set()
        self.kill()

    def exit_status(self) -> str:
        process = self.process
        code = process.poll() if process is not None else None
        if code is None:
            return "no exit status"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            return f"killed by signal {name}" + (", e.g. for lack of memory" if -code == signal.SIGKILL else "")
        return f"exit code {code}"

    def last_log_line(self) -> str:
        try:
            lines = [line.strip() for line in self.log.read_text(errors="replace").splitlines() if line.strip()]
        except OSError:
            return ""
        return lines[-1][:200] if lines else ""


def _dying_cell(notebook_path: Path) -> str:
    """The first line of the last cell papermill started (where a kernel died), or ''.

    papermill gives every cell a ``start_time`` when it starts it; when the kernel dies it marks that cell
    and every later one "completed", so the status alone would name the template's last cell."""
    try:
        notebook = nbformat.read(notebook_path, as_version=4)
    except Exception:  # noqa: BLE001 - a half-written notebook names no cell
        return ""
    started = [c for c in notebook.cells if c.cell_type == "code"
               and c.get("metadata", {}).get("papermill", {}).get("start_time")]
    if not started:
        return ""
    first = next((line for line in started[-1].source.splitlines() if line.strip()), "")
    return first.strip()[:80]


def _execute_locked(job: Job, threads: int | None = None) -> dict[str, Any]:
    """Execute one job (its lock held) and commit its page and record, or record its failure."""
    import papermill
    from nbclient.exceptions import DeadKernelError

    from fairnb.nn.train import PROGRESS_EVENTS

    run, out = job.run, job.outputs
    if threads:
        for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[variable] = str(threads)
    for folder in (out.book_runs, out.failed, out.logs, out.results):
        folder.mkdir(parents=True, exist_ok=True)
    scratch = out.failed / f".{run.id}.{os.getpid()}.running.ipynb"
    events = events_path(out, run.id)
    environment = {PROGRESS_EVENTS: str(events), **({"FAIRNB_RESULTS": str(job.records)} if job.records else {})}
    kernel = _Kernel(out.logs / f"{run.id}.log", environment)
    events.write_bytes(b"")  # before the log: a watcher that sees the new log reads only this execution's events
    kernel.log.write_bytes(b"")
    watchdog = threading.Timer(job.timeout, kernel.expire) if job.timeout else None
    started = time.perf_counter()
    status, error, execution_error = "ok", None, False
    quiet = logging.getLogger("papermill")  # nbclient logs through it ("Kernel died ..."); the record says it once
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        if watchdog is not None:
            watchdog.daemon = True
            watchdog.start()
        papermill.execute_notebook(  # the template as a notebook (a text template converted in memory)
            read_template(run.template_path), str(scratch), parameters={**job.parameters, "profile": job.profile},
            kernel_name="python3", progress_bar=False, cwd=str(ROOT), log_output=False,
            kernel_manager_class=kernel.manager_class(),
        )
    except papermill.PapermillExecutionError as exc:
        status, error = "failed", f"{exc.ename}: {exc.evalue}"
        execution_error = True
    except Exception as exc:  # noqa: BLE001 - whatever stops a run makes it a failed run, not a crashed invocation
        status = "failed"
        if kernel.expired.is_set():
            error = (f"timed out after {job.timeout:g} s (the run's time limit: the profile's run_timeout, "
                     "or fairnb run --timeout SECONDS)")
        elif isinstance(exc, DeadKernelError):
            cell = _dying_cell(scratch)
            where = f" in the cell starting {cell!r}" if cell else ""
            last = kernel.last_log_line()
            error = f"the kernel died{where} ({kernel.exit_status()})" + (f"; its last words: {last}" if last else "")
        else:
            error = f"{type(exc).__name__}: {exc}"
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    finally:
        quiet.setLevel(level)
        if watchdog is not None:
            watchdog.cancel()
    seconds = time.perf_counter() - started
    try:
        metrics, resolved = extract_report(scratch) if scratch.exists() else ({}, {})
    except Exception:  # noqa: BLE001 - a notebook cut short by a dead kernel may not parse
        metrics, resolved = {}, {}
    record = {
        "schema": SCHEMA, "resolved": resolved,
        "run": run.id, "template": quoted_template(run.template_path), "parameters": job.parameters,
        "profile": job.profile, "device": device_description(), "seconds": round(seconds, 2),
        "status": status, "error": error, "key": job.key, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "timeout": job.timeout, "fairnb_source": job.source, "metrics": metrics,
    }
    if job.records:
        record["records"] = str(job.records)
    phases = phase_summary(read_events(events))
    if phases:  # the seconds of each training phase, and how many fits it made (the next "k of n")
        record["phases"] = phases
    if status == "ok":
        events.unlink(missing_ok=True)  # kept after a failure, with the kernel log, to show how far it got
    if kernel.log.exists() and kernel.log.stat().st_size == 0:
        kernel.log.unlink()
    elif status != "ok":
        record["kernel_log"] = str(kernel.log)
    banner = not execution_error  # papermill shows a cell's exception; a dead kernel or a timeout leaves no trace
    try:
        if status == "ok":
            try:
                publish(job, scratch, record)
            except Exception as exc:  # noqa: BLE001 - e.g. a full disk: the run is not committed, so it failed
                record.pop("page_sha256", None)
                record.update(status="failed", error=f"its page and record could not be written: {os_problem(exc)}")
        if record["status"] != "ok":
            try:
                publish_failure(job, scratch, record, banner)
            except OSError as exc:  # the store is full or broken: the failure is reported, the earlier result kept
                record["error"] = f"{record['error']}; its failure record could not be written either: {os_problem(exc)}"
    finally:
        scratch.unlink(missing_ok=True)
    return record


def execute(job: Job, threads: int | None = None) -> dict[str, Any]:
    """Execute one job with papermill (waiting for the run's lock) and write its notebook and record (see
    module doc). Returns the record; a failure is a record with ``status: failed``, never an exception."""
    with run_lock(job.outputs, job.run.id):
        return _execute_locked(job, threads)


def run_job(job: Job, threads: int | None = None) -> tuple[dict[str, Any], bool]:
    """The task a Dask worker runs: wait for the run's lock; if another invocation completed the same run
    meanwhile, serve it from the cache; else execute. Returns ``(record, cache_hit)``."""
    with run_lock(job.outputs, job.run.id):
        if is_cached(job):
            forget_failure(job)
            return read_record(job.run.id, job.outputs.results) or {"run": job.run.id}, True
        return _execute_locked(job, threads), False
