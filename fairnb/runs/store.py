"""The run store: where a run's files live, how they are written, the runs' locks, reading records back.

Outputs of a run ``<id>``:

- ``book/runs/<id>.ipynb``: the executed notebook, a page of the book (git-ignored), and
  ``book/runs/<id>.metrics.csv``, its metrics;
- ``results/<id>.json``: the results record (run, template, parameters, profile, device, seconds,
  status, metrics, cache key, and ``page_sha256``, the sha256 of the page it belongs to);
- ``results/<id>.failed.json`` and ``_build/failed/<id>.ipynb`` for a failed run;
- ``_build/logs/<id>.log``, the kernel's own output, and ``_build/logs/<id>.progress.jsonl``, its progress events
  (``fairnb.runs.progress``).

Files are written under a staging or temporary name in their final folder, flushed to disk and renamed into
place (``atomic_write``), so a reader never sees half a file; ``fairnb.runs.publish`` commits a run's page,
metrics and record in that way, the record last. Scratch files of runs that were killed are removed by the
next invocation (``clean_interrupted``).

**Concurrency.** A run holds a lock (``results/.locks/<id>.lock``) while it executes: a second
``fairnb run`` of the same run waits for it and then finds it cached. The invocation log keeps one file per run
(``results/_invocation/<id>.json``); ``results/_last_invocation.json`` is regenerated from them under a
lock, never read-modified-written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from fairnb.errors import RunStoreError
from fairnb.records import read_records
from fairnb.runs.manifest import ROOT, Run

BOOK_RUNS = ROOT / "book" / "runs"
BUILD = ROOT / "_build"
RESULTS = ROOT / "results"
FAILED = BUILD / "failed"
INVOCATION = RESULTS / "_last_invocation.json"


_STAGING = re.compile(r"^\.(?P<run>.+)\.(?P<pid>\d+)\.(?P<kind>running\.ipynb|staged\.(?:ipynb|csv|json)|previous\.(?:ipynb|csv))$")
_TEMPORARY = re.compile(r"^\..+\.(?P<pid>\d+)\.tmp$")


@dataclass(frozen=True)
class Outputs:
    """Where a run's files go (explicit, so jobs run the same in any worker process).

    ``lock_root``: the folder whose ``.locks`` holds the runs' locks (default ``results``); outputs that
    share book pages with ``results/`` (a snapshot build) share its locks too.
    """

    book_runs: Path
    results: Path
    failed: Path
    lock_root: Path | None = None

    @classmethod
    def current(cls) -> "Outputs":
        return cls(BOOK_RUNS, RESULTS, FAILED)

    @property
    def logs(self) -> Path:
        """Kernel logs (``<id>.log``: what a kernel wrote outside its notebook, e.g. before it died)."""
        return self.failed.parent / "logs"

    @property
    def locks(self) -> Path:
        return (self.lock_root or self.results) / ".locks"

    def check_writable(self) -> None:
        """Create the output folders and write a probe file in each; ``RunStoreError`` names the one that fails."""
        for folder in (self.book_runs, self.results, self.failed, self.logs, self.locks):
            probe = folder / f".fairnb-write-test-{os.getpid()}"
            try:
                folder.mkdir(parents=True, exist_ok=True)
                probe.write_text("")
                probe.unlink()
            except OSError as error:
                raise RunStoreError(f"cannot write to {folder}: {error.strerror or error}") from None


@dataclass(frozen=True)
class Job:
    """A run with its validated parameters, cache key and output folders, ready to execute.

    ``timeout``: the run's wall-clock limit in seconds (``None``: no limit). ``source``: the ``fairnb`` source
    digest the key was computed with (kept in the record). ``records``: where the notebook reads other runs'
    results records (``FAIRNB_RESULTS``; ``None``: ``results/``). ``note``: markdown shown under the page's title.
    """

    run: Run
    parameters: dict[str, Any]
    profile: str
    key: str
    outputs: Outputs
    timeout: float | None = field(default=None, compare=False)
    source: str = ""
    records: Path | None = None
    note: str = ""


def write_durable(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` and flush it to disk (before it is renamed into place)."""
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write_durable(tmp, text.encode())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def sha256_file(path: Path) -> str | None:
    """sha256 of a file's bytes, ``None`` when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


@contextlib.contextmanager
def run_lock(outputs: Outputs, run_id: str, blocking: bool = True) -> Iterator[bool]:
    """Hold the lock of run ``run_id``; yields False (holding nothing) when ``blocking`` is False and another
    process holds it. Locks are ``flock`` locks: the system releases them when a process dies."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): runs are not serialised
        yield True
        return
    outputs.locks.mkdir(parents=True, exist_ok=True)
    with open(outputs.locks / f"{run_id}.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_record(run_id: str, results: Path | None = None) -> dict[str, Any] | None:
    path = (results or RESULTS) / f"{run_id}.json"
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) else None


def unreadable_record(run_id: str, results: Path | None = None) -> str | None:
    """One warning line when the run's record file exists but is no record (truncated, not JSON, not an
    object): the run is not cached and executes again, replacing it. ``None`` when it reads or is absent."""
    path = (results or RESULTS) / f"{run_id}.json"
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        problem = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return f"warning: {path} is unreadable ({problem}); {run_id} runs again"
    if not isinstance(record, dict):
        return f"warning: {path} is unreadable (a JSON {type(record).__name__}, not a record); {run_id} runs again"
    return None


def owns_page(record: dict[str, Any] | None, page: Path) -> bool:
    """The record is a complete success whose page is ``page``, byte for byte."""
    return bool(record and record.get("status") == "ok" and record.get("page_sha256")
                and sha256_file(page) == record["page_sha256"])


def forget_failure(job: Job) -> None:
    """Remove a failure record and failed notebook that a later success made stale."""
    (job.outputs.results / f"{job.run.id}.failed.json").unlink(missing_ok=True)
    (job.outputs.failed / f"{job.run.id}.ipynb").unlink(missing_ok=True)


def clean_interrupted(outputs: Outputs) -> list[str]:
    """Remove scratch and staging files of runs killed midway (their lock is free); returns those run ids.

    A page moved into place by a run that died before its record was moved is put back to the page the
    record belongs to, when that page is still there.
    """
    interrupted: set[str] = set()
    for folder in (outputs.failed, outputs.book_runs, outputs.results):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(".*")):
            match = _STAGING.match(path.name)
            if match:
                run_id, kind = match["run"], match["kind"]
                with run_lock(outputs, run_id, blocking=False) as free:
                    if not free:
                        continue
                    page = outputs.book_runs / f"{run_id}.ipynb"
                    if kind == "previous.ipynb" and owns_page(read_record(run_id, outputs.results), path) \
                            and not owns_page(read_record(run_id, outputs.results), page):
                        os.replace(path, page)
                    path.unlink(missing_ok=True)
                    interrupted.add(run_id)
                continue
            match = _TEMPORARY.match(path.name)
            with contextlib.suppress(OSError):
                if match and not _alive(int(match["pid"])) and time.time() - path.stat().st_mtime > 600:
                    path.unlink()
    return sorted(interrupted)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def os_problem(error: BaseException) -> str:
    """An operating-system error as one line naming the path: ``<path>: no space left on device``."""
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror[0].lower()}{error.strerror[1:]}"
    return f"{type(error).__name__}: {error}"


def record_invocation(summaries: Iterable[dict[str, Any]]) -> None:
    """Log what this invocation did to each run: one file per run (``_invocation/<id>.json``), then
    ``_last_invocation.json`` regenerated from those files under a lock (no lost updates between two
    concurrent invocations)."""
    folder = INVOCATION.parent / "_invocation"
    for summary in summaries:
        atomic_write(folder / f"{summary['run']}.json", json.dumps(summary, indent=2))
    lock_file = INVOCATION.parent / ".locks" / "_invocation.lock"
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a") as handle:
        with contextlib.suppress(ImportError):
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        atomic_write(INVOCATION, json.dumps(list(last_invocation().values()), indent=2))


def last_invocation() -> dict[str, dict[str, Any]]:
    """Run id → what the last invocation that touched it did (status, cache hit, seconds, error)."""
    entries = {}
    for path in sorted((INVOCATION.parent / "_invocation").glob("*.json")):
        with contextlib.suppress(OSError, json.JSONDecodeError):
            entry = json.loads(path.read_text())
            entries[entry["run"]] = entry
    return entries


def store_warnings(jobs: Iterable[Job]) -> list[str]:
    """One warning line per selected run whose record file is unreadable (it runs again)."""
    return [line for job in jobs if (line := unreadable_record(job.run.id, job.outputs.results))]


def all_records() -> list[dict[str, Any]]:
    """Every results record (successful and failed) in ``results/``, sorted by run id."""
    return read_records(folder=RESULTS, successful_only=False)


def has_runs() -> bool:
    """Whether any run was recorded in ``results/`` (the results snapshot is read by ``fairnb book --from-snapshot``)."""
    return bool(all_records())
