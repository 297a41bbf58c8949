"""One commit per run: a run's page, metrics and record reach the run store together, or not at all.

The page, its metrics and its record are written under staging names first; then the page and metrics are
moved into place and the record is moved last: the record is the commit. ``fairnb.runs.cache.is_cached`` accepts
a run only when the record is complete, its key matches, and the page on disk has the record's ``page_sha256``,
so a page without its record (a crash between the moves, a record that could not be written) or a truncated page
is never served as a cache hit; when moving the record fails the previous page is put back.

**Failures are runs too.** A failed run gets a record ``results/<id>.failed.json`` and its notebook in
``_build/failed/<id>.ipynb``. A failed run never replaces an earlier successful one; when there is none, the
failed notebook also becomes the book page, so the failure is visible where the reader looks. A later success,
executed or served from the cache, removes the failure record.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from fairnb.runs.presentation import add_failure_banner, quoted_template, add_note, append_run_footer, present
from fairnb.runs.store import Job, owns_page, write_durable, atomic_write, forget_failure, read_record

def _commit(staged: Path, final: Path) -> None:
    """Move a staged file into place (the record's move is the commit of a run)."""
    os.replace(staged, final)


def publish(job: Job, scratch: Path, record: dict[str, Any]) -> None:
    """Commit a successful run: page and metrics CSV, then the record that names the page's sha256."""
    run, out = job.run, job.outputs
    pid = os.getpid()
    page, csv = out.book_runs / f"{run.id}.ipynb", out.book_runs / f"{run.id}.metrics.csv"
    staged = {name: folder / f".{run.id}.{pid}.staged.{name}"
              for name, folder in (("ipynb", out.book_runs), ("csv", out.book_runs), ("json", out.results))}
    previous = {page: out.book_runs / f".{run.id}.{pid}.previous.ipynb", csv: out.book_runs / f".{run.id}.{pid}.previous.csv"}
    moved: list[Path] = []
    try:
        present(scratch, run)
        if job.note:
            add_note(scratch, job.note)
        append_run_footer(scratch, job, record["metrics"], csv_path=staged["csv"])
        data = scratch.read_bytes()
        write_durable(staged["ipynb"], data)
        record["page_sha256"] = hashlib.sha256(data).hexdigest()
        write_durable(staged["json"], json.dumps(record, indent=2).encode())
        for final, backup in previous.items():
            backup.unlink(missing_ok=True)
            if final.exists():
                os.link(final, backup)
        for name, final in (("csv", csv), ("ipynb", page)):
            _commit(staged[name], final)
            moved.append(final)
        _commit(staged["json"], out.results / f"{run.id}.json")
    except BaseException:
        for final in moved:  # put the previous page back: it still belongs to the previous record
            backup = previous[final]
            if backup.exists():
                os.replace(backup, final)
            else:
                final.unlink(missing_ok=True)
        raise
    finally:
        for path in [*staged.values(), *previous.values()]:
            path.unlink(missing_ok=True)
    forget_failure(job)


def publish_failure(job: Job, scratch: Path, record: dict[str, Any], banner: bool = True) -> None:
    """Record a failed run: notebook to ``failed/``, record ``<id>.failed.json``; the failed notebook becomes
    the book page only when no successful run owns that page."""
    run, out = job.run, job.outputs
    page = out.book_runs / f"{run.id}.ipynb"
    failed_page = out.failed / f"{run.id}.ipynb"
    if scratch.exists():
        with contextlib.suppress(Exception):
            present(scratch, run)
            if job.note:
                add_note(scratch, job.note)
            if banner:
                add_failure_banner(scratch, str(record["error"]))
        os.replace(scratch, failed_page)
        record["failed_page"] = str(failed_page)
        if not owns_page(read_record(run.id, out.results), page):
            staged = out.book_runs / f".{run.id}.{os.getpid()}.staged.ipynb"
            try:
                shutil.copyfile(failed_page, staged)
                os.replace(staged, page)
            except OSError:
                pass  # the failed page stays in failed/; the failure record below still says what happened
            finally:
                staged.unlink(missing_ok=True)
    atomic_write(out.results / f"{run.id}.failed.json", json.dumps(record, indent=2))


def record_failure(job: Job, error: str) -> dict[str, Any]:
    """Record a run that failed outside its notebook (e.g. its worker process died)."""
    record = {
        "run": job.run.id, "template": quoted_template(job.run.template_path), "parameters": job.parameters,
        "profile": job.profile, "device": "", "seconds": 0.0, "status": "failed", "error": error, "key": job.key,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "timeout": job.timeout,
        "fairnb_source": job.source, "metrics": {},
    }
    with contextlib.suppress(OSError):
        atomic_write(job.outputs.results / f"{job.run.id}.failed.json", json.dumps(record, indent=2))
    return record
