"""Execute runs with papermill, cache them, record results, fan out on Dask.distributed.

Outputs of a run ``<id>``:

- ``book/runs/<id>.ipynb``: the executed notebook, a page of the book (git-ignored), and
  ``book/runs/<id>.metrics.csv``, its metrics;
- ``results/<id>.json``: the results record (run, template, parameters, profile, device, seconds,
  status, metrics, cache key, and ``page_sha256``, the sha256 of the page it belongs to).

**One commit per run.** The page, its metrics and its record are written under staging names first;
then the page and metrics are moved into place and the record is moved last: the record is the commit.
``is_cached`` accepts a run only when the record is complete, its key matches, and the page on disk has
the record's ``page_sha256``, so a page without its record (a crash between the moves, a record that
could not be written) or a truncated page is never served as a cache hit; when moving the record fails
the previous page is put back.

**Failures are runs too.** A cell that raises, a kernel that dies (an out-of-memory kill), a run past its
time limit, a worker that vanishes: each ends as one failed run with a record
``results/<id>.failed.json`` and its notebook in ``_build/failed/<id>.ipynb``; the other runs of the
invocation go on. A failed run never replaces an earlier successful one; when there is none, the failed
notebook also becomes the book page, so the failure is visible where the reader looks. A later success,
executed or served from the cache, removes the failure record.

**Concurrency.** A run holds a lock (``results/.locks/<id>.lock``) while it executes: a second
``fairnb run`` of the same run waits for it and then finds it cached. Scratch files of runs that were
killed are removed by the next invocation. The invocation log keeps one file per run
(``results/_invocation/<id>.json``); ``results/_last_invocation.json`` is regenerated from them under a
lock, never read-modified-written.

**Pages for readers.** Publishing makes the executed notebook a page (``present``): code inputs fold
behind a toggle unless the template tags a cell ``show-input``, and the run configuration (the cell after
the ``parameters`` cell) folds under a toggle labelled "Run configuration". The page's sha256 in the record
is that of the final page.

**Records read from elsewhere.** A job with ``records`` set executes with ``FAIRNB_RESULTS`` pointing there, so
a page that reads other runs' records (``fairnb.records.read_records``) reads that folder, e.g. a committed
results snapshot; its ``note`` (markdown) is shown under the page's title.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import platform
import re
import shlex
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import nbformat

from fairnb.errors import FairnbError, ParameterError, RunStoreError, one_of
from fairnb.records import read_records
from fairnb.runs.config import METRICS_KEY
from fairnb.runs.manifest import ROOT, Run, check_overrides, order, read_template, template_parameters

BOOK_RUNS = ROOT / "book" / "runs"
BUILD = ROOT / "_build"
RESULTS = ROOT / "results"
FAILED = BUILD / "failed"
INVOCATION = RESULTS / "_last_invocation.json"
SCHEDULER_TIMEOUT = 10.0  # seconds a --scheduler has to answer

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


# ------------------------------------------------------------------ files


def _relative(path: Path) -> str:
    """A template's path as the pages quote it: ``notebooks/<part>/<file>.md`` (from the last
    ``notebooks`` folder in its path), else relative to the repository, else as given."""
    from fairnb.runs import manifest

    resolved = path.resolve()
    with contextlib.suppress(ValueError):
        return str(Path("notebooks") / resolved.relative_to(manifest.NOTEBOOKS.resolve()))
    if "notebooks" in resolved.parts[:-1]:
        last = len(resolved.parts) - 1 - resolved.parts[::-1].index("notebooks")
        return str(Path(*resolved.parts[last:]))
    with contextlib.suppress(ValueError):
        return str(resolved.relative_to(ROOT))
    return str(path)


def _write_durable(path: Path, data: bytes) -> None:
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
        _write_durable(tmp, text.encode())
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


# ------------------------------------------------------------------ keys, parameters, preparation


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


def template_datasets(path: Path) -> tuple[str, ...] | None:
    """The datasets a template lists in the comment of its ``dataset`` parameter (``None``: no such
    parameter or no dataset named, i.e. no restriction)."""
    from fairnb.runs.params import DATASETS

    declared = template_parameters(path)
    if "dataset" not in declared:
        return None
    comment = declared["dataset"].comment
    named = tuple(d for d in DATASETS if re.search(rf"(?<![A-Za-z0-9_]){re.escape(d)}(?![A-Za-z0-9_])", comment))
    return named or None


def without_explicit_defaults(run: Run, parameters: dict[str, Any]) -> dict[str, Any]:
    """``parameters`` less the overrides that only repeat the template's default (``-p seed 0`` where the
    template says ``seed = 0`` and the manifest sets nothing): the same run, so the same cache key and record.
    Values compare as JSON, so ``1`` and ``1.0`` or ``True`` stay different."""
    declared = template_parameters(run.template_path)
    return {name: value for name, value in parameters.items()
            if name in run.parameters or name not in declared
            or json.dumps(value, sort_keys=True) != json.dumps(declared[name].default, sort_keys=True)}


def _cuda_visible() -> bool:
    import torch

    return torch.cuda.is_available()


def prepare(runs: Iterable[Run], profile: str, overrides: dict[str, Any] | None = None, *,
            timeout: int | None = None, check_device: bool = True, outputs: Outputs | None = None,
            records: Path | None = None, note: str = "") -> list[Job]:
    """Validate every run's parameters (with ``overrides``) and compute cache keys — no compute yet.

    Refuses up front, with the parameter, the value and what is allowed: unknown or ill-typed values,
    a ``profile`` override that contradicts ``profile``, a dataset the template does not list, and
    ``device=cuda`` without a visible GPU (``check_device=False`` skips this, for runs that execute on
    another machine). ``timeout``: seconds per run (0: none); default the profile's ``run_timeout``.
    ``outputs`` (default ``Outputs.current()``), ``records`` and ``note``: see ``Job``.
    """
    from fairnb.runs.params import validate
    from fairnb.runs.profiles import PROFILES, part_values

    validate("profile", profile)
    overrides = dict(overrides or {})
    if "profile" in overrides:
        given = validate("profile", overrides.pop("profile"))
        if given is not None and given != profile:
            raise ParameterError("profile", given, f"{profile}, the profile of this invocation (give it once, with --profile)",
                                 f"conflicts with --profile {profile}")
    limit = validate("run_timeout", PROFILES[profile]["run_timeout"] if timeout is None else timeout)
    fairnb_source = source_digest()
    jobs, cuda_checked = [], False
    for run in runs:
        parameters = without_explicit_defaults(run, check_overrides(run, overrides))
        values = effective_parameters(run, parameters)
        for name, value in part_values(profile, run.template_path.parent.name).items():
            if name in values and values[name] is None:  # declared by the template, left to the profile
                parameters[name] = values[name] = validate(name, value)
        allowed = template_datasets(run.template_path)
        if allowed is not None and values.get("dataset") not in allowed:
            raise ParameterError("dataset", values.get("dataset"), f"for template {run.template}: {one_of(allowed)}")
        if check_device and values.get("device") == "cuda" and not cuda_checked:
            if not _cuda_visible():
                raise ParameterError("device", "cuda", "auto or cpu (no CUDA device is visible on this machine)")
            cuda_checked = True
        where = outputs or Outputs.current()
        key = cache_key(run, parameters, profile, fairnb_source, records=records, note=note, results=where.results)
        jobs.append(Job(run, parameters, profile, key, where, float(limit) if limit else None,
                        source=fairnb_source, records=records, note=note))
    return jobs


def resolved_parameters(job: Job) -> dict[str, Any]:
    """Every parameter the notebook will use: template defaults, manifest values, overrides, and the
    profile's values for those left at ``None``."""
    from fairnb.runs.params import PARAMS
    from fairnb.runs.profiles import PROFILES

    values = {**effective_parameters(job.run, job.parameters), "profile": job.profile}
    for name, value in values.items():
        if value is None and name in PARAMS and PARAMS[name].profile_default:
            values[name] = PROFILES[job.profile].get(name)
    return values


# ------------------------------------------------------------------ the run store


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


def _belongs(record: dict[str, Any] | None, page: Path) -> bool:
    """The record is a complete success whose page is ``page``, byte for byte."""
    return bool(record and record.get("status") == "ok" and record.get("page_sha256")
                and sha256_file(page) == record["page_sha256"])


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
    return bool(record and record.get("key") == job.key and _belongs(record, job.outputs.book_runs / f"{job.run.id}.ipynb")
                and damaged_data(job) is None)


def forget_failure(job: Job) -> None:
    """Remove a failure record and failed notebook that a later success made stale."""
    (job.outputs.results / f"{job.run.id}.failed.json").unlink(missing_ok=True)
    (job.outputs.failed / f"{job.run.id}.ipynb").unlink(missing_ok=True)


def settle_cached(job: Job) -> bool:
    """For a cache hit: drop a stale failure record (under the run's lock). False when another process holds
    the run (it is executing it right now), so the caller treats the run as not yet settled."""
    with run_lock(job.outputs, job.run.id, blocking=False) as held:
        if not held or not is_cached(job):
            return False
        forget_failure(job)
        return True


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
                    if kind == "previous.ipynb" and _belongs(read_record(run_id, outputs.results), path) \
                            and not _belongs(read_record(run_id, outputs.results), page):
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


# ------------------------------------------------------------------ pages


def extract_metrics(notebook_path: Path) -> dict[str, Any]:
    """Collect the ``fairnb_metrics`` metadata that ``fairnb.runs.report`` attached to outputs."""
    notebook = nbformat.read(notebook_path, as_version=4)
    metrics: dict[str, Any] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            metrics.update(output.get("metadata", {}).get(METRICS_KEY, {}))
    return metrics


def present(notebook_path: Path, run: Run) -> None:
    """Make an executed notebook a book page: title names the run, labels are unique, parameters hidden.

    - The first ``# heading`` gets the run's matrix values appended (``Dataset: … (adult)``), so
      sibling pages differ in the navigation.
    - Every ``:name:`` label defined in the notebook gets the run id appended, and references to it
      inside the notebook follow, so runs of one template do not define the same label twice.
    - The ``parameters`` and papermill's ``injected-parameters`` cells are removed from the page
      (the run configuration table shows the resolved values instead).
    - papermill's ``input_path`` metadata names the template (``notebooks/<part>/<file>.md``): the
      runner hands papermill the template as a notebook, not as a path.
    - Code is folded for readers (``fold_code``), and a figure is shown once: an output that repeats, pixel
      for pixel, a figure the page places with a glue directive (a figure left open, which the inline
      backend shows again at the end of its cell) is dropped (``drop_repeated_figures``).

    Idempotent: presenting a page twice changes nothing more.
    """
    notebook = nbformat.read(notebook_path, as_version=4)
    label = run.id[len(run.template) + 1:].replace("-", ", ")
    markdown = [c for c in notebook.cells if c.cell_type == "markdown"]
    for cell in markdown:
        if cell.source.startswith("# "):
            first, _, rest = cell.source.partition("\n")
            if label and not first.endswith(f"({label})"):
                cell.source = f"{first} ({label})" + ("\n" + rest if rest else "")
            break
    names = {n for c in markdown for n in re.findall(r"^:name:\s*(\S+)\s*$", c.source, flags=re.M) if not n.endswith(run.id)}
    for cell in markdown:
        for name in names:
            unique = f"{name}-{run.id}"
            cell.source = re.sub(rf"^(:name:\s*){re.escape(name)}\s*$", rf"\g<1>{unique}", cell.source, flags=re.M)
            cell.source = re.sub(rf"(?<=[`<]){re.escape(name)}(?=[`>])", unique, cell.source)
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        if {"parameters", "injected-parameters"} & set(tags) and "remove-cell" not in tags:
            cell.metadata["tags"] = tags + ["remove-cell"]
    if "papermill" in notebook.metadata:
        notebook.metadata["papermill"]["input_path"] = _relative(run.template_path)
    fold_code(notebook)
    drop_repeated_figures(notebook)
    nbformat.write(notebook, notebook_path)


_IMAGES = ("image/png", "image/jpeg", "image/svg+xml")
_GLUE_USE = re.compile(r"\{glue(?::[a-z]+)?\}\s*`?([A-Za-z0-9_.-]+)")


def drop_repeated_figures(notebook: nbformat.NotebookNode) -> int:
    """Remove image outputs that repeat a glued figure shown on the page by a glue directive; returns how many.

    ``glue(name, fig, display=False)`` stores the figure for a ``{glue:figure}`` directive; a figure the
    code leaves open is displayed again by the inline backend when the cell ends, so the page would show it
    twice. Only an output without glue metadata whose image equals a glued one that the page's markdown uses
    is dropped: a figure is never lost.
    """
    used = {name for c in notebook.cells if c.cell_type == "markdown" for name in _GLUE_USE.findall(c.source)}
    glued = set()
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook")
            if meta and meta.get("name") in used:
                prefix = meta.get("mime_prefix", "")
                glued |= {output.get("data", {}).get(prefix + mime) for mime in _IMAGES} - {None}
    dropped = 0
    for cell in notebook.cells:
        if cell.cell_type != "code" or not cell.get("outputs"):
            continue
        kept = [o for o in cell.outputs if o.get("output_type") not in ("display_data", "execute_result")
                or o.get("metadata", {}).get("scrapbook")
                or not any(o.get("data", {}).get(mime) in glued for mime in _IMAGES if mime in o.get("data", {}))]
        dropped += len(cell.outputs) - len(kept)
        cell.outputs = kept
    return dropped


RUN_CONFIGURATION = {"code_prompt_show": "Run configuration", "code_prompt_hide": "Hide run configuration"}
_SHOWN = {"show-input", "hide-input", "hide-cell", "remove-input", "remove_input", "remove-cell", "remove_cell"}


def fold_code(notebook: nbformat.NotebookNode) -> None:
    """Fold a page's code for readers (myst-nb cell tags; idempotent).

    - Every code cell's input goes behind a "Show code cell source" toggle (tag ``hide-input``), unless the
      template tags the cell ``show-input`` or already hides or removes its input.
    - The run configuration — the first code cell after the ``parameters`` (and papermill's
      ``injected-parameters``) cell, which displays ``config`` — folds under one toggle labelled
      "Run configuration": its output alone (``hide-output``) where its input is removed or shown, else the
      whole cell (``hide-cell``).
    """
    cells = notebook.cells
    marks = [i for i, c in enumerate(cells) if {"parameters", "injected-parameters"} & set(c.metadata.get("tags", []))]
    configuration = next((i for i in range(marks[-1] + 1, len(cells)) if cells[i].cell_type == "code"), None) if marks else None
    for index, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        tags = list(cell.metadata.get("tags", []))
        if {"remove-cell", "remove_cell"} & set(tags) or index in marks:
            continue  # removed from the page (present removes the parameters cells)
        if index == configuration and cell.get("outputs"):
            if not {"hide-output", "hide-cell"} & set(tags):
                shown = {"show-input", "remove-input", "remove_input"} & set(tags)
                tags.append("hide-output" if shown else "hide-cell")
            cell.metadata["mystnb"] = {**cell.metadata.get("mystnb", {}), **RUN_CONFIGURATION}
        elif not _SHOWN & set(tags):
            tags.append("hide-input")
        cell.metadata["tags"] = tags


def add_note(notebook_path: Path, note: str) -> None:
    """Show ``note`` (markdown) right under the page's ``# title`` (replacing an earlier note); a title cell
    that goes on with the opening paragraph is split after its first line."""
    notebook = nbformat.read(notebook_path, as_version=4)
    notebook.cells = [c for c in notebook.cells if c.get("id") != "fairnb-note"]
    cell = nbformat.v4.new_markdown_cell(note)
    cell["id"] = "fairnb-note"
    title = next((i for i, c in enumerate(notebook.cells) if c.cell_type == "markdown" and c.source.startswith("# ")), None)
    if title is None:
        notebook.cells.insert(0, cell)
    else:
        first, _, rest = notebook.cells[title].source.partition("\n")
        if rest.strip():
            notebook.cells[title].source = first
            opening = nbformat.v4.new_markdown_cell(rest.strip("\n"))
            opening["id"] = f"{notebook.cells[title].get('id', 'title')}-opening"[:64]
            notebook.cells.insert(title + 1, opening)
        notebook.cells.insert(title + 1, cell)
    nbformat.write(notebook, notebook_path)


def cli_value(value: Any) -> str:
    """A parameter value as ``fairnb run -p NAME VALUE`` reads it back (lists as JSON)."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return str(value)


def papermill_option(name: str, value: Any) -> str:
    """One papermill option that sets ``name`` to ``value`` exactly: ``-r`` for text, ``-y`` for lists,
    ``-p`` for numbers, booleans and None; quoted for a POSIX shell."""
    if isinstance(value, str):
        return f"-r {shlex.quote(name)} {shlex.quote(value)}"
    if isinstance(value, (list, tuple, dict)):
        return f"-y {shlex.quote(json.dumps({name: value}))}"
    return f"-p {shlex.quote(name)} {shlex.quote(repr(value) if isinstance(value, float) else str(value))}"


def overrides_of(job: Job) -> dict[str, Any]:
    """The parameters of ``job`` that differ from its manifest entry (what ``-p`` set)."""
    missing = object()
    return {k: v for k, v in job.parameters.items() if job.run.parameters.get(k, missing) != v}


def papermill_input(template: Path) -> tuple[str, str]:
    """How plain papermill reads a template: the command that feeds it (``""`` for a ``.ipynb`` template)
    and papermill's input argument. A text template goes through jupytext into papermill's standard input:
    ``jupytext --to ipynb -o - notebooks/<part>/<file>.md | papermill - ...``."""
    path = shlex.quote(_relative(template))
    if template.suffix == ".ipynb":
        return "", path
    return f"jupytext --to ipynb -o - {path} | ", "-"


def rerun_commands(job: "Job") -> tuple[str, str, str]:
    """The shell commands that re-create a run: fairnb (with the overrides that produced it), plain
    papermill (every parameter; a text template converted by jupytext on the way in), and a
    changed-parameter example. Values are quoted for the shell."""
    run = job.run
    options = "".join(f" -p {shlex.quote(k)} {shlex.quote(cli_value(v))}" for k, v in overrides_of(job).items())
    fairnb = f"fairnb run --only '{run.id}' --profile {shlex.quote(job.profile)}{options}"
    feed, source = papermill_input(run.template_path)
    papermill = feed + " ".join([f"papermill {source} {shlex.quote(run.id + '.ipynb')}"]
                                + [papermill_option(k, v) for k, v in {**job.parameters, "profile": job.profile}.items()])
    example = next((name for name in ("beta_exponent", "real_ratio", "correlation", "seed") if name in job.parameters
                    or name in template_parameters(run.template_path)), "seed")
    value = {"beta_exponent": 5, "real_ratio": 0.8, "correlation": 0.99, "seed": 1}[example]
    return fairnb, papermill, f"{fairnb} -p {example} {value}"


def append_run_footer(notebook_path: Path, job: "Job", metrics: dict[str, Any], csv_path: Path | None = None) -> None:
    """Write the run's metrics CSV (to ``csv_path``, default ``<run-id>.metrics.csv`` in the run pages'
    folder) and end the page with a link to ``<run-id>.metrics.csv`` and the commands that re-create the
    run (and change one parameter)."""
    import pandas as pd

    name = f"{job.run.id}.metrics.csv"
    frame = pd.DataFrame([{"metric": k, **v} for k, v in metrics.items()], columns=["metric", "mean", "std", "n"])
    if csv_path is None:
        atomic_write(job.outputs.book_runs / name, frame.to_csv(index=False))
    else:
        _write_durable(csv_path, frame.to_csv(index=False).encode())
    fairnb, papermill, example = rerun_commands(job)
    notebook = nbformat.read(notebook_path, as_version=4)
    notebook.cells.append(nbformat.v4.new_markdown_cell("\n".join([
        "## Re-run this page", "",
        f"This page is the run `{job.run.id}` ({job.profile} profile). Its metrics: "
        f"{{download}}`{name} <{name}>`. Re-create it, or change a parameter:", "",
        "```bash", fairnb, example, papermill, "```",
    ])))
    notebook.cells[-1]["id"] = "fairnb-rerun"
    nbformat.write(notebook, notebook_path)


def _failure_banner(notebook_path: Path, error: str) -> None:
    """Open a failed page with the failure (a dead kernel or a timeout leaves no traceback in the notebook)."""
    notebook = nbformat.read(notebook_path, as_version=4)
    if notebook.cells and notebook.cells[0].get("id") == "fairnb-failure":
        notebook.cells.pop(0)
    cell = nbformat.v4.new_markdown_cell("```{error}\nThis run failed: " + error.replace("`", "'") + "\n```")
    cell["id"] = "fairnb-failure"
    notebook.cells.insert(0, cell)
    nbformat.write(notebook, notebook_path)


def device_description() -> str:
    """``cuda (<gpu name>)`` when torch sees a GPU, else ``cpu (<n> cores, <machine>)``."""
    import torch

    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return f"cpu ({os.cpu_count()} cores, {platform.machine()})"


# ------------------------------------------------------------------ executing one run


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


def os_problem(error: BaseException) -> str:
    """An operating-system error as one line naming the path: ``<path>: no space left on device``."""
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror[0].lower()}{error.strerror[1:]}"
    return f"{type(error).__name__}: {error}"


def _execute_locked(job: Job, threads: int | None = None) -> dict[str, Any]:
    """Execute one job (its lock held) and commit its page and record, or record its failure."""
    import papermill
    from nbclient.exceptions import DeadKernelError

    run, out = job.run, job.outputs
    if threads:
        for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[variable] = str(threads)
    for folder in (out.book_runs, out.failed, out.logs, out.results):
        folder.mkdir(parents=True, exist_ok=True)
    scratch = out.failed / f".{run.id}.{os.getpid()}.running.ipynb"
    kernel = _Kernel(out.logs / f"{run.id}.log", {"FAIRNB_RESULTS": str(job.records)} if job.records else None)
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
        metrics = extract_metrics(scratch) if scratch.exists() else {}
    except Exception:  # noqa: BLE001 - a notebook cut short by a dead kernel may not parse
        metrics = {}
    record = {
        "run": run.id, "template": _relative(run.template_path), "parameters": job.parameters,
        "profile": job.profile, "device": device_description(), "seconds": round(seconds, 2),
        "status": status, "error": error, "key": job.key, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "timeout": job.timeout, "fairnb_source": job.source, "metrics": metrics,
    }
    if job.records:
        record["records"] = str(job.records)
    if kernel.log.exists() and kernel.log.stat().st_size == 0:
        kernel.log.unlink()
    elif status != "ok":
        record["kernel_log"] = str(kernel.log)
    banner = not execution_error  # papermill shows a cell's exception; a dead kernel or a timeout leaves no trace
    try:
        if status == "ok":
            try:
                _publish(job, scratch, record)
            except Exception as exc:  # noqa: BLE001 - e.g. a full disk: the run is not committed, so it failed
                record.pop("page_sha256", None)
                record.update(status="failed", error=f"its page and record could not be written: {os_problem(exc)}")
        if record["status"] != "ok":
            try:
                _publish_failure(job, scratch, record, banner)
            except OSError as exc:  # the store is full or broken: the failure is reported, the earlier result kept
                record["error"] = f"{record['error']}; its failure record could not be written either: {os_problem(exc)}"
    finally:
        scratch.unlink(missing_ok=True)
    return record


def _commit(staged: Path, final: Path) -> None:
    """Move a staged file into place (the record's move is the commit of a run)."""
    os.replace(staged, final)


def _publish(job: Job, scratch: Path, record: dict[str, Any]) -> None:
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
        _write_durable(staged["ipynb"], data)
        record["page_sha256"] = hashlib.sha256(data).hexdigest()
        _write_durable(staged["json"], json.dumps(record, indent=2).encode())
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


def _publish_failure(job: Job, scratch: Path, record: dict[str, Any], banner: bool = True) -> None:
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
                _failure_banner(scratch, str(record["error"]))
        os.replace(scratch, failed_page)
        record["failed_page"] = str(failed_page)
        if not _belongs(read_record(run.id, out.results), page):
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
        "run": job.run.id, "template": _relative(job.run.template_path), "parameters": job.parameters,
        "profile": job.profile, "device": "", "seconds": 0.0, "status": "failed", "error": error, "key": job.key,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "timeout": job.timeout,
        "fairnb_source": job.source, "metrics": {},
    }
    with contextlib.suppress(OSError):
        atomic_write(job.outputs.results / f"{job.run.id}.failed.json", json.dumps(record, indent=2))
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


# ------------------------------------------------------------------ many runs


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


_TQDM_LINE = re.compile(r"^(?P<desc>.*?):\s+\d+%\|.*?\|\s*(?P<done>\d+)/(?P<total>\d+)")


def current_phase(log: Path, width: int = 48) -> str:
    """What a running run is doing, from the end of its kernel log: the last progress bar as
    ``"<description> <done>/<total>"`` (e.g. ``"Decaf 40/300"``), else the last line written, shortened to
    ``width`` characters; ``""`` when the log is empty or missing."""
    try:
        with open(log, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 4096))
            tail = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in re.split(r"[\r\n]+", re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", tail)) if line.strip()]
    if not lines:
        return ""
    match = _TQDM_LINE.match(lines[-1])
    line = f"{match['desc'].strip()} {match['done']}/{match['total']}" if match else lines[-1]
    return line if len(line) <= width else line[: width - 1] + "…"


class _PhaseWatcher:
    """Shows the phase of every running run (``current_phase`` of its kernel log) in the progress bar's
    postfix every ``interval`` seconds, after the counts; a run counts as running from the moment its log
    is rewritten after submission until it finishes."""

    def __init__(self, bar: Any, interval: float = 2.0):
        self.bar, self.interval = bar, interval
        self.counts = "0 cached, 0 ok, 0 failed"
        self.submitted: dict[str, tuple[Path, float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> "_PhaseWatcher":
        self._thread.start()
        return self

    def submit(self, job: Job) -> None:
        with self._lock:
            self.submitted[job.run.id] = (job.outputs.logs / f"{job.run.id}.log", time.time())

    def finish(self, run_id: str, counts: str) -> None:
        with self._lock:
            self.submitted.pop(run_id, None)
            self.counts = counts
        self.show()

    def running(self) -> list[str]:
        with self._lock:
            submitted = dict(self.submitted)
        parts = []
        for run_id, (log, since) in submitted.items():
            try:
                if log.stat().st_mtime < since:
                    continue
            except OSError:
                continue
            phase = current_phase(log)
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


Runner = Callable[[Job, "int | None"], "tuple[dict[str, Any], bool]"]
"""Executes one job where it is called: ``(job, threads) -> (record, cache_hit)``, like ``run_job``."""


def refresh_key(job: Job) -> Job:
    """The job with its cache key recomputed from what is on disk now. A run with ``inputs`` (a page that
    reads other runs' records) needs it when its wave starts, after the runs it reads have finished; the
    dry run asks the same question at the same point, so both decide alike."""
    if not job.run.inputs:
        return job
    source = source_digest()
    return replace(job, source=source, key=cache_key(job.run, job.parameters, job.profile, source, records=job.records,
                                                     note=job.note, results=job.outputs.results))


def store_warnings(jobs: Iterable[Job]) -> list[str]:
    """One warning line per selected run whose record file is unreadable (it runs again)."""
    return [line for job in jobs if (line := unreadable_record(job.run.id, job.outputs.results))]


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
    each running run's phase read from its kernel log (``current_phase``), or ``progress(line)`` once per
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
        watcher = _PhaseWatcher(bar).start()
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


def dry_run(jobs: list[Job]) -> list[str]:
    """One line per job: run id, cached or to run, time limit, and every resolved parameter (nothing executes).

    The decision is the run's own (``run_jobs``): in the same waves, a job's key recomputed as its wave would
    (``refresh_key``), cached when ``is_cached`` says so. A job that reads the record of a run executing in an
    earlier wave (one of its ``inputs`` matches ``results/<that run>.json``) is marked ``to run (after …)``: that
    record will change, so its key will. (A run that only comes ``after`` another without reading its record
    keeps its key, and is cached as the run will find it.)
    """
    lines, executing = [], set()
    by_run = {job.run.id: job for job in jobs}
    for wave in order([job.run for job in jobs]):
        wave_runs = set()
        for run in wave:
            job = refresh_key(by_run[run.id])
            waits = sorted({by_run[i].run.template for i in executing if reads_record_of(run, i)})
            state = "cached" if not waits and is_cached(job) else (f"to run (after {', '.join(waits)})" if waits else "to run")
            if state != "cached":
                wave_runs.add(run.id)
            limit = f"limit {job.timeout:g} s" if job.timeout else "no time limit"
            values = " ".join(f"{k}={shlex.quote(cli_value(v))}" for k, v in resolved_parameters(job).items())
            lines.append(f"{run.id}  [{state}; {limit}]  {values}")
        executing |= wave_runs
    return lines


def reads_record_of(run: Run, other: str) -> bool:
    """Whether one of ``run``'s inputs matches the record of run ``other`` (``results/<other>.json``)."""
    import fnmatch

    return other != run.id and any(fnmatch.fnmatchcase(f"results/{other}.json", pattern) for pattern in run.inputs)


def all_records() -> list[dict[str, Any]]:
    """Every results record (successful and failed) in ``results/``, sorted by run id."""
    return read_records(folder=RESULTS, successful_only=False)


def has_runs() -> bool:
    """Whether any run was recorded in ``results/`` (the results snapshot is read by ``fairnb book --from-snapshot``)."""
    return bool(all_records())


__all__ = [
    "BOOK_RUNS", "BUILD", "FAILED", "INVOCATION", "RESULTS", "FairnbError", "Job", "Outputs", "add_note", "all_records",
    "atomic_write", "cache_key", "check_scheduler", "clean_interrupted", "dry_run", "execute", "extract_metrics",
    "drop_repeated_figures", "fold_code", "has_runs", "is_cached", "last_invocation", "prepare", "present", "read_record", "rerun_commands",
    "run_jobs", "source_digest", "usable_cores",
]
