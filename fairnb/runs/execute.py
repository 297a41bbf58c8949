"""Execute runs with papermill, cache them, record results, fan out on Dask.distributed.

Outputs of a run ``<id>``:

- ``book/runs/<id>.ipynb``: the executed notebook, a page of the book (git-ignored);
- ``_build/results/<id>.json``: the results record (run, template, parameters, profile, device,
  seconds, status, metrics, key).

Every write goes to a temporary file first and is renamed into place, and the record is written
last: a run killed midway leaves the earlier notebook and record intact and is never marked
complete. A *failed* run never replaces an earlier successful one: its notebook goes to
``_build/failed/<id>.ipynb`` and its record to ``_build/results/<id>.failed.json`` (the status page
shows both); when there is no earlier success the failed notebook also becomes the book page, so
the failure is visible where the reader looks.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable

import nbformat

from fairnb.runs.config import METRICS_KEY
from fairnb.runs.manifest import ROOT, Run, check_overrides, order, template_parameters

BOOK_RUNS = ROOT / "book" / "runs"
BUILD = ROOT / "_build"
RESULTS = BUILD / "results"
FAILED = BUILD / "failed"
INVOCATION = RESULTS / "_last_invocation.json"


@dataclass(frozen=True)
class Outputs:
    """Where a run's files go (explicit, so jobs run the same in any worker process)."""

    book_runs: Path
    results: Path
    failed: Path

    @classmethod
    def current(cls) -> "Outputs":
        return cls(BOOK_RUNS, RESULTS, FAILED)


@dataclass(frozen=True)
class Job:
    """A run with its validated parameters, cache key and output folders, ready to execute."""

    run: Run
    parameters: dict[str, Any]
    profile: str
    key: str
    outputs: Outputs


def _relative(path: Path) -> str:
    """A template's path as the pages quote it: ``notebooks/<part>/<file>.ipynb``."""
    from fairnb.runs import manifest

    try:
        return str(Path("notebooks") / path.resolve().relative_to(manifest.NOTEBOOKS.resolve()))
    except ValueError:
        return str(path)


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def source_digest() -> str:
    """sha256 over every ``fairnb`` source file (name and content), sorted by path."""
    digest = hashlib.sha256()
    package = ROOT / "fairnb"
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(run: Run, parameters: dict[str, Any], profile: str, fairnb_source: str) -> str:
    """Key of a run: template source + parameters + profile + fairnb source + data checksums + inputs."""
    from fairnb.data import data_checksums

    digest = hashlib.sha256()
    digest.update(run.template_path.read_bytes())
    digest.update(json.dumps({"parameters": parameters, "profile": profile}, sort_keys=True, default=str).encode())
    digest.update(fairnb_source.encode())
    digest.update(json.dumps(data_checksums(), sort_keys=True).encode())
    for pattern in run.inputs:
        for path in sorted(ROOT.glob(pattern)):
            if path.name.startswith((f"{run.id}.", "_", ".")) or not path.is_file():
                continue  # the run's own record and bookkeeping files are outputs, not inputs
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def prepare(runs: Iterable[Run], profile: str, overrides: dict[str, Any] | None = None) -> list[Job]:
    """Validate every run's parameters (with ``overrides``) and compute cache keys — no compute yet."""
    from fairnb.runs.params import validate

    validate("profile", profile)
    fairnb_source = source_digest()
    jobs = []
    for run in runs:
        applicable = {k: v for k, v in (overrides or {}).items()}
        parameters = check_overrides(run, applicable)
        jobs.append(Job(run, parameters, profile, cache_key(run, parameters, profile, fairnb_source), Outputs.current()))
    return jobs


def read_record(run_id: str, results: Path | None = None) -> dict[str, Any] | None:
    path = (results or RESULTS) / f"{run_id}.json"
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def is_cached(job: Job) -> bool:
    """True when a completed, successful run with the same key and its notebook exist."""
    record = read_record(job.run.id, job.outputs.results)
    return bool(record and record.get("status") == "ok" and record.get("key") == job.key
                and (job.outputs.book_runs / f"{job.run.id}.ipynb").exists())


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
    nbformat.write(notebook, notebook_path)


def rerun_commands(job: "Job") -> tuple[str, str, str]:
    """The shell commands that re-create a run: fairnb, plain papermill, and a changed-parameter example."""
    run = job.run
    fairnb = f"fairnb run --only '{run.id}' --profile {job.profile}"
    options = " ".join(f"-p {k} {v}" for k, v in {**job.parameters, "profile": job.profile}.items())
    papermill = f"papermill {_relative(run.template_path)} {run.id}.ipynb {options}"
    example = next((name for name in ("beta_exponent", "real_ratio", "correlation", "seed") if name in job.parameters
                    or name in template_parameters(run.template_path)), "seed")
    value = {"beta_exponent": 5, "real_ratio": 0.8, "correlation": 0.99, "seed": 1}[example]
    return fairnb, papermill, f"{fairnb} -p {example} {value}"


def append_run_footer(notebook_path: Path, job: "Job", metrics: dict[str, Any]) -> None:
    """Write ``<run-id>.metrics.csv`` into the run pages' folder and end the page with a download link and
    the commands that re-create the run (and change one parameter)."""
    import pandas as pd

    csv = job.outputs.book_runs / f"{job.run.id}.metrics.csv"
    frame = pd.DataFrame([{"metric": k, **v} for k, v in metrics.items()], columns=["metric", "mean", "std", "n"])
    atomic_write(csv, frame.to_csv(index=False))
    fairnb, papermill, example = rerun_commands(job)
    notebook = nbformat.read(notebook_path, as_version=4)
    notebook.cells.append(nbformat.v4.new_markdown_cell("\n".join([
        "## Re-run this page", "",
        f"This page is the run `{job.run.id}` ({job.profile} profile). Its metrics: "
        f"{{download}}`{csv.name} <{csv.name}>`. Re-create it, or change a parameter:", "",
        "```bash", fairnb, example, papermill, "```",
    ])))
    notebook.cells[-1]["id"] = "fairnb-rerun"
    nbformat.write(notebook, notebook_path)


def device_description() -> str:
    """``cuda (<gpu name>)`` when torch sees a GPU, else ``cpu (<n> cores, <machine>)``."""
    import torch

    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return f"cpu ({os.cpu_count()} cores, {platform.machine()})"


def execute(job: Job, threads: int | None = None) -> dict[str, Any]:
    """Execute one job with papermill and write its notebook and record (see module doc)."""
    import papermill

    run, out = job.run, job.outputs
    if threads:
        for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[variable] = str(threads)
    out.book_runs.mkdir(parents=True, exist_ok=True)
    out.failed.mkdir(parents=True, exist_ok=True)
    page = out.book_runs / f"{run.id}.ipynb"
    scratch = out.failed / f".{run.id}.{os.getpid()}.running.ipynb"
    started = time.perf_counter()
    status, error = "ok", None
    try:
        papermill.execute_notebook(
            str(run.template_path), str(scratch), parameters={**job.parameters, "profile": job.profile},
            kernel_name="python3", progress_bar=False, cwd=str(ROOT), log_output=False,
        )
    except papermill.PapermillExecutionError as exc:
        status, error = "failed", f"{exc.ename}: {exc.evalue}"
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    seconds = time.perf_counter() - started
    record = {
        "run": run.id, "template": _relative(run.template_path), "parameters": job.parameters,
        "profile": job.profile, "device": device_description(), "seconds": round(seconds, 2),
        "status": status, "error": error, "key": job.key, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "metrics": extract_metrics(scratch) if scratch.exists() else {},
    }
    if scratch.exists():
        present(scratch, run)
    if status == "ok":
        append_run_footer(scratch, job, record["metrics"])
        os.replace(scratch, page)
        atomic_write(out.results / f"{run.id}.json", json.dumps(record, indent=2))
        (out.results / f"{run.id}.failed.json").unlink(missing_ok=True)
        (out.failed / f"{run.id}.ipynb").unlink(missing_ok=True)
    else:
        failed_page = out.failed / f"{run.id}.ipynb"
        os.replace(scratch, failed_page)
        if not page.exists():
            shutil.copyfile(failed_page, page)
        atomic_write(out.results / f"{run.id}.failed.json", json.dumps(record, indent=2))
    return record


def _summary(record: dict[str, Any], cache_hit: bool) -> dict[str, Any]:
    return {"run": record.get("run"), "status": record.get("status", "ok"), "cache_hit": cache_hit,
            "seconds": record.get("seconds"), "error": record.get("error")}


def run_jobs(jobs: list[Job], workers: int = 1, scheduler: str | None = None,
             progress: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Execute the jobs that are not cached on Dask.distributed; returns one summary per job.

    Jobs run in waves that respect ``after`` dependencies; a job with ``inputs`` (pages that read
    other runs' results) gets its cache key recomputed when its wave starts, so it reruns exactly
    when what it reads has changed. Cached jobs never start a cluster. ``scheduler`` connects to an
    existing Dask scheduler (``tcp://host:8786``); otherwise a LocalCluster with ``workers``
    single-threaded processes runs here.
    """
    summaries: dict[str, dict[str, Any]] = {}
    by_run = {job.run.id: job for job in jobs}
    client = cluster = bar = None
    threads = max(1, (os.cpu_count() or 1) // max(1, workers))
    try:
        for wave in order([job.run for job in jobs]):
            todo = []
            for run in wave:
                job = by_run[run.id]
                if run.inputs:
                    job = by_run[run.id] = replace(job, key=cache_key(run, job.parameters, job.profile, source_digest()))
                if is_cached(job):
                    summaries[run.id] = _summary(read_record(run.id, job.outputs.results) or {"run": run.id}, True)
                else:
                    todo.append(job)
            progress(f"{len(wave)} runs: {len(wave) - len(todo)} cached, {len(todo)} to execute")
            if not todo:
                continue
            if client is None:
                from distributed import Client, LocalCluster
                from tqdm.auto import tqdm

                if scheduler:
                    client = Client(scheduler)
                else:
                    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
                    client = Client(cluster)
                bar = tqdm(desc="runs", unit="run", total=0)
            from distributed import as_completed

            bar.total += len(todo)
            bar.refresh()
            futures = [client.submit(execute, job, threads, key=f"run-{job.run.id}-{job.key[:12]}", pure=False) for job in todo]
            for future in as_completed(futures):
                record = future.result()
                summaries[record["run"]] = _summary(record, False)
                bar.set_postfix_str(f"{record['run']}: {record['status']}")
                bar.update()
    finally:
        if bar is not None:
            bar.close()
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    ordered = [summaries[job.run.id] for job in jobs]
    previous = {}
    try:
        previous = {s["run"]: s for s in json.loads(INVOCATION.read_text())}
    except (FileNotFoundError, json.JSONDecodeError):
        pass
    previous.update({s["run"]: s for s in ordered})
    atomic_write(INVOCATION, json.dumps(list(previous.values()), indent=2))
    return ordered


def all_records() -> list[dict[str, Any]]:
    """Every results record (successful and failed) in ``_build/results``, sorted by run id."""
    records = []
    for path in sorted(RESULTS.glob("*.json")):
        if path.name.startswith("_"):
            continue
        try:
            records.append(json.loads(path.read_text()))
        except json.JSONDecodeError:
            continue
    return records
