"""Many runs at once: waves that respect ``after``, Dask.distributed workers, the progress line, the dry run.

Independent runs execute on Dask: a LocalCluster of single-threaded worker processes by default, or an
existing scheduler (``--scheduler tcp://host:8786``). A run that fails, whatever the reason (its worker
process died included), is one failed run; the others go on.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import time
from typing import Any, Callable

from fairnb.errors import ParameterError
from fairnb.runs.cache import is_cached, refresh_key, settle_cached
from fairnb.runs.estimate import run_estimate
from fairnb.runs.jobs import resolved_parameters
from fairnb.runs.kernel import run_job
from fairnb.runs.manifest import Run, order
from fairnb.runs.presentation import cli_value
from fairnb.runs.progress import PhaseWatcher
from fairnb.runs.publish import record_failure
from fairnb.runs.store import Job, clean_interrupted, os_problem, read_record, record_invocation, store_warnings

SCHEDULER_TIMEOUT = 10.0  # seconds a --scheduler has to answer


def usable_cores() -> int:
    """CPU cores this process may use (its affinity mask; all cores where the system has none)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def check_scheduler(address: str, timeout: float | None = None) -> None:
    """Refuse a malformed ``--scheduler`` address, one where nothing accepts connections, or one where what
    answers is not a Dask scheduler, with one line; every step is bounded by ``timeout`` seconds (default
    ``SCHEDULER_TIMEOUT``), so an HTTP server (the dashboard's port) or a service that sends a banner is named
    instead of hanging or being read as a Dask message."""
    import socket

    from distributed.comm.addressing import parse_address, parse_host_port

    allowed = "the address of a running Dask scheduler, e.g. tcp://host:8786"
    try:
        scheme, location = parse_address(address, strict=True)
        host, port = parse_host_port(location) if scheme in ("tcp", "tls") else (None, None)
    except ValueError as error:
        raise ParameterError("scheduler", address, allowed, f"malformed ({error})") from None
    if host is None:
        return
    wait = SCHEDULER_TIMEOUT if timeout is None else timeout
    try:
        connection = socket.create_connection((host or "127.0.0.1", port), timeout=wait)
    except OSError as error:
        problem = "no answer" if isinstance(error, TimeoutError) else (error.strerror or str(error))
        raise ParameterError("scheduler", address, allowed, f"unreachable within {wait:g} s: {problem}") from None
    if scheme != "tcp":
        connection.close()
        return  # a TLS scheduler's greeting comes after the TLS handshake, which Dask's client does
    with connection:
        problem = _dask_greeting_problem(connection, wait)
    if problem:
        raise ParameterError("scheduler", address, allowed, f"not a Dask scheduler ({problem})")


_MAX_GREETING = 1 << 20  # a Dask handshake message is a few hundred bytes


def _dask_greeting_problem(connection: Any, wait: float) -> str:
    """What is wrong with the first message on a fresh connection, '' when it is a Dask handshake.

    A Dask server sends its handshake as soon as a connection opens: an 8-byte little-endian length, then a
    message of that many bytes that starts with its own 8-byte frame count."""
    import struct

    deadline = time.monotonic() + wait

    def receive(size: int) -> bytes:
        data = b""
        while len(data) < size:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            connection.settimeout(left)
            chunk = connection.recv(min(size - len(data), 65536))
            if not chunk:
                raise ConnectionError("closed the connection")
            data += chunk
        return data

    try:
        (length,) = struct.unpack("<Q", receive(8))
        if not 8 <= length <= _MAX_GREETING:
            return f"its first bytes are no Dask handshake: {length:#x} is not a message length"
        (frames,) = struct.unpack_from("<Q", receive(length))
        if not 1 <= frames <= 64:
            return f"its first message is no Dask handshake: {frames} frames"
    except TimeoutError:  # socket.timeout is TimeoutError
        return f"no Dask handshake within {wait:g} s: something else listens there, e.g. an HTTP server or the dashboard"
    except (ConnectionError, OSError) as error:
        return f"the connection ended before a Dask handshake: {getattr(error, 'strerror', None) or error}"
    return ""


def _summary(record: dict[str, Any], cache_hit: bool) -> dict[str, Any]:
    return {"run": record.get("run"), "status": record.get("status", "ok"), "cache_hit": cache_hit,
            "seconds": record.get("seconds"), "error": record.get("error"),
            "finished": record.get("finished")}


Runner = Callable[[Job, "int | None"], "tuple[dict[str, Any], bool]"]
"""Executes one job where it is called: ``(job, threads) -> (record, cache_hit)``, like ``run_job``."""


def run_jobs(jobs: list[Job], workers: int = 1, scheduler: str | None = None,
             progress: Callable[[str], None] | None = None, log: bool = True,
             runner: Runner | None = None) -> list[dict[str, Any]]:
    """Execute the jobs that are not cached on Dask.distributed; returns one summary per job.

    Jobs run in waves that respect ``after`` dependencies; a job with ``inputs`` (pages that read
    other runs' results) gets its cache key recomputed when its wave starts, so it reruns exactly
    when what it reads has changed. Cached jobs never start a cluster. ``scheduler`` connects to an
    existing Dask scheduler (``tcp://host:8786``); otherwise a LocalCluster runs here with at most
    ``workers`` processes (no more than there are runs to execute), each giving its kernels
    ``usable_cores() // workers`` threads (one per worker when ``workers`` is the number of cores).
    A run that fails, whatever the reason, is one failed summary; the others go on.

    Progress: one line on stderr that updates (``progress=None``) with the counts and, every two seconds,
    each running run's phase read from its progress events (``fairnb.runs.progress``), or ``progress(line)`` once per
    finished run. ``log``: record each run in the invocation log (``results/_last_invocation.json``).
    ``runner``: execute the jobs that are not cached in this process, one at a time, with ``runner`` instead
    of on Dask (what is cached, and in which order runs go, is decided exactly as with Dask).
    """
    if not jobs:
        return []
    for outputs in {job.outputs for job in jobs}:
        outputs.check_writable()
    bar = None
    if progress is None:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="fairnb run", unit="run", file=sys.stderr, dynamic_ncols=True)
        watcher = PhaseWatcher(bar).start()
        say: Callable[[str], None] = bar.write
    else:
        say = progress
    interrupted = sorted({run for outputs in {job.outputs for job in jobs} for run in clean_interrupted(outputs)})
    if interrupted:
        say(f"cleaned up after {len(interrupted)} interrupted run(s): {', '.join(interrupted)}")
    for line in store_warnings(jobs):
        say(line)
    summaries: dict[str, dict[str, Any]] = {}
    by_run = {job.run.id: job for job in jobs}
    client = cluster = None
    threads = max(1, usable_cores() // max(1, workers))
    counts = {"ok": 0, "failed": 0, "cached": 0}

    def finished(summary: dict[str, Any]) -> None:
        summaries[summary["run"]] = summary
        if log:
            try:
                record_invocation([summary])
            except OSError as error:  # e.g. a full disk: the run itself is recorded (or failed) already
                say(f"warning: the invocation log was not updated: {os_problem(error)}")
        counts["cached" if summary["cache_hit"] else summary["status"] if summary["status"] == "ok" else "failed"] += 1
        if bar is not None:
            bar.update()
            watcher.finish(summary["run"], f"{counts['cached']} cached, {counts['ok']} ok, {counts['failed']} failed; "
                                           f"last: {summary['run']} {summary['status']}")
        else:
            say(f"{summary['run']}: {summary['status']}{' (cached)' if summary['cache_hit'] else ''}")

    try:
        pending = sum(not is_cached(job) for job in jobs)
        for wave in order([job.run for job in jobs]):
            todo = []
            for run in wave:
                job = by_run[run.id] = refresh_key(by_run[run.id])
                if is_cached(job) and settle_cached(job):
                    finished(_summary(read_record(run.id, job.outputs.results) or {"run": run.id}, True))
                else:
                    todo.append(job)
            if not todo:
                continue
            if runner is not None:
                for job in todo:
                    try:
                        record, hit = runner(job, threads)
                    except Exception as error:  # noqa: BLE001 - as on Dask: whatever stops a run makes it a failed run
                        record, hit = record_failure(job, f"{type(error).__name__}: {error}"), False
                    finished(_summary(record, hit))
                continue
            if client is None:
                client, cluster = _connect(scheduler, max(1, min(workers, max(pending, len(todo)))))
            from distributed import as_completed

            futures = {client.submit(run_job, job, threads, key=f"run-{job.run.id}-{job.key[:12]}", pure=False): job
                       for job in todo}
            if bar is not None:
                for job in todo:
                    watcher.submit(job)
            for future in as_completed(futures):
                job = futures[future]
                try:
                    record, hit = future.result()
                except Exception as error:  # noqa: BLE001 - e.g. the worker process died: the run failed
                    record, hit = record_failure(job, f"the worker executing it failed: {type(error).__name__}: {error}"), False
                finished(_summary(record, hit))
    finally:
        if bar is not None:
            watcher.stop()
            bar.close()
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()
    return [summaries[job.run.id] for job in jobs]


def _connect(scheduler: str | None, workers: int):
    """A Dask client: connected to ``scheduler`` (one line naming it when it cannot be reached), or to a new
    LocalCluster of ``workers`` single-threaded processes."""
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        check_scheduler(scheduler)  # bounded: Client() itself can wait without end on a server that is not Dask
        try:
            return Client(scheduler, timeout=SCHEDULER_TIMEOUT), None
        except (OSError, TimeoutError, ValueError) as error:
            raise ParameterError("scheduler", scheduler, "the address of a running Dask scheduler, e.g. tcp://host:8786",
                                 f"no scheduler answered within {SCHEDULER_TIMEOUT:g} s ({type(error).__name__})") from None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR)
    return Client(cluster), cluster


def plan(jobs: list[Job]) -> list[tuple[Job, str]]:
    """Each job (its key as its wave will compute it) with what the run will do: ``cached``, ``to run``, or
    ``to run (after <templates>)``; nothing executes.

    The decision is the run's own (``run_jobs``): in the same waves, a job's key recomputed as its wave would
    (``refresh_key``), cached when ``is_cached`` says so. A job that reads the record of a run executing in an
    earlier wave (one of its ``inputs`` matches ``results/<that run>.json``) is marked ``to run (after …)``: that
    record will change, so its key will. (A run that only comes ``after`` another without reading its record
    keeps its key, and is cached as the run will find it.)
    """
    planned, executing = [], set()
    by_run = {job.run.id: job for job in jobs}
    for wave in order([job.run for job in jobs]):
        wave_runs = set()
        for run in wave:
            job = refresh_key(by_run[run.id])
            waits = sorted({by_run[i].run.template for i in executing if reads_record_of(run, i)})
            state = "cached" if not waits and is_cached(job) else (f"to run (after {', '.join(waits)})" if waits else "to run")
            if state != "cached":
                wave_runs.add(run.id)
            planned.append((job, state))
        executing |= wave_runs
    return planned


def dry_run(jobs: list[Job]) -> list[str]:
    """One line per job: run id, cached or to run (``plan``), time limit, what it will cost when it runs
    (``fairnb.runs.estimate``), and every resolved parameter (nothing executes)."""
    lines = []
    for job, state in plan(jobs):
        limit = f"limit {job.timeout:g} s" if job.timeout else "no time limit"
        cost = "" if state == "cached" else f"; {run_estimate(job).describe()}"
        values = " ".join(f"{k}={shlex.quote(cli_value(v))}" for k, v in resolved_parameters(job).items())
        lines.append(f"{job.run.id}  [{state}; {limit}{cost}]  {values}")
    return lines


def reads_record_of(run: Run, other: str) -> bool:
    """Whether one of ``run``'s inputs matches the record of run ``other`` (``results/<other>.json``)."""
    import fnmatch

    return other != run.id and any(fnmatch.fnmatchcase(f"results/{other}.json", pattern) for pattern in run.inputs)
