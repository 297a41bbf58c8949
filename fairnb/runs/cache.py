"""The cache key of a run, and whether a run is cached.

A run is skipped when its key — the template's source, its parameters and profile, the ``fairnb`` source, the
vendored data's checksums, the user-supplied data it reads (where, size, modification time) and the records it
reads (``inputs``) — matches a committed successful run whose page is still the one its record names
(``page_sha256``), and the vendored data it reads is intact.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from fairnb.runs.manifest import ROOT, Run, template_parameters
from fairnb.runs.store import RESULTS, Job, owns_page, forget_failure, read_record, run_lock

def source_digest() -> str:
    """sha256 over every ``fairnb`` source file (name and content), sorted by path."""
    digest = hashlib.sha256()
    package = ROOT / "fairnb"
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def effective_parameters(run: Run, parameters: dict[str, Any]) -> dict[str, Any]:
    """The template's defaults with ``parameters`` applied (what the notebook will see, before the profile)."""
    try:
        declared = template_parameters(run.template_path)
    except (OSError, ValueError):
        declared = {}
    return {**{name: p.default for name, p in declared.items()}, **parameters}


def user_data(run: Run, parameters: dict[str, Any]) -> dict[str, Any]:
    """Fingerprint of the user-supplied data the run reads (MEPS, CelebA): paths, sizes, modification times."""
    from fairnb.data import USER_SUPPLIED
    from fairnb.data.tabular import user_data_fingerprint

    values = effective_parameters(run, parameters)
    dataset = values.get("dataset")
    if dataset not in USER_SUPPLIED:
        return {}
    return user_data_fingerprint(dataset, values.get("data_path"), base=ROOT)


def cache_key(run: Run, parameters: dict[str, Any], profile: str, fairnb_source: str, *,
              records: Path | None = None, note: str = "", results: Path | None = None) -> str:
    """Key of a run: template source + parameters + profile + fairnb source + vendored data checksums +
    user-supplied data (where it comes from, size and modification time of each file read) + inputs.

    ``records``: the folder the run reads results records from instead of ``results/`` (its ``inputs`` under
    ``results/`` are read there); ``note``: the note shown on its page. Both join the key when given.
    ``results``: the run store's records folder (default ``RESULTS``), where inputs under ``results/`` are read
    when ``records`` is not given. An input's failure records (``*.failed.json``) and bookkeeping files never
    join the key: a failed attempt leaves the successful record the page reads unchanged, and a later cache hit
    deletes the failure record, so counting it would change the key between a dry run and the run.
    """
    from fairnb.data import data_checksums

    digest = hashlib.sha256()
    digest.update(run.template_path.read_bytes())
    digest.update(json.dumps({"parameters": parameters, "profile": profile}, sort_keys=True, default=str).encode())
    digest.update(fairnb_source.encode())
    digest.update(json.dumps(data_checksums(), sort_keys=True).encode())
    digest.update(json.dumps(user_data(run, parameters), sort_keys=True).encode())
    store = Path(records) if records is not None else Path(results) if results is not None else RESULTS
    for pattern in run.inputs:
        base, name = ROOT, "{}"
        if pattern.startswith("results/"):
            base, pattern, name = store, pattern[len("results/"):], "results/{}"
        for path in sorted(base.glob(pattern)):
            if path.name.startswith((f"{run.id}.", "_", ".")) or path.name.endswith(".failed.json") or not path.is_file():
                continue  # the run's own record, failure records and bookkeeping files are not inputs
            digest.update(name.format(path.relative_to(base)).encode())
            digest.update(path.read_bytes())
    if note:
        digest.update(note.encode())
    return digest.hexdigest()


VENDORED_FOLDERS = {"adult": "adult/", "compas": "compas/", "german": "german/", "colour_mnist": "mnist/"}
"""The folder of ``fairnb/datafiles`` each vendored dataset is read from."""


@functools.lru_cache(maxsize=256)
def _template_defaults(path: str, modified_ns: int) -> dict[str, Any]:
    """A template's parameter defaults, read once per version of the file (``is_cached`` asks often)."""
    try:
        return {name: p.default for name, p in template_parameters(Path(path)).items()}
    except (OSError, ValueError):
        return {}


def damaged_data(job: Job) -> str | None:
    """The error of the first vendored data file the run reads whose bytes no longer have their recorded
    sha256 (``fairnb.data.tabular.vendored``, checked once per process), else ``None``. A page computed from
    data that is damaged now is not served from the cache: the run executes again and fails naming the file."""
    from fairnb.data.tabular import data_checksums, vendored
    from fairnb.errors import DataIntegrityError, DataNotFoundError

    dataset = job.parameters.get("dataset")
    if dataset is None:
        with contextlib.suppress(OSError):
            path = job.run.template_path
            dataset = _template_defaults(str(path), path.stat().st_mtime_ns).get("dataset")
    folder = VENDORED_FOLDERS.get(str(dataset))
    if folder is None:
        return None
    for relative in sorted(name for name in data_checksums() if name.startswith(folder)):
        try:
            vendored(relative)
        except (DataIntegrityError, DataNotFoundError) as error:
            return str(error)
    return None


def is_cached(job: Job) -> bool:
    """True when a successful run with the same key was committed, its page is the one it recorded
    (same sha256: not replaced, not truncated) and the vendored data it read is intact."""
    record = read_record(job.run.id, job.outputs.results)
    return bool(record and record.get("key") == job.key and owns_page(record, job.outputs.book_runs / f"{job.run.id}.ipynb")
                and damaged_data(job) is None)


def settle_cached(job: Job) -> bool:
    """For a cache hit: drop a stale failure record (under the run's lock). False when another process holds
    the run (it is executing it right now), so the caller treats the run as not yet settled."""
    with run_lock(job.outputs, job.run.id, blocking=False) as held:
        if not held or not is_cached(job):
            return False
        forget_failure(job)
        return True


def refresh_key(job: Job) -> Job:
    """The job with its cache key recomputed from what is on disk now. A run with ``inputs`` (a page that
    reads other runs' records) needs it when its wave starts, after the runs it reads have finished; the
    dry run asks the same question at the same point, so both decide alike."""
    if not job.run.inputs:
        return job
    source = source_digest()
    return replace(job, source=source, key=cache_key(job.run, job.parameters, job.profile, source, records=job.records,
                                                     note=job.note, results=job.outputs.results))
