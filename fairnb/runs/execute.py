"""Execute runs with papermill, cache them, record results, fan out on Dask.distributed — the runner's names
in one place.

The runner is split by job, one concept a module:

- ``fairnb.runs.store``: where a run's files live, atomic writes, the runs' locks, reading records, cleanup
  after interrupted runs, the invocation log (``Outputs``, ``Job``, ``RESULTS``, ``atomic_write``, ``run_lock``);
- ``fairnb.runs.cache``: the cache key and whether a run is cached (``cache_key``, ``is_cached``);
- ``fairnb.runs.jobs``: runs validated into jobs before anything executes (``prepare``);
- ``fairnb.runs.presentation``: an executed notebook made a page of the book (``present``, ``fold_code``);
- ``fairnb.runs.publish``: one commit per run, its failure records (``publish``, ``record_failure``);
- ``fairnb.runs.kernel``: executing one run in its kernel (``execute``, ``run_job``);
- ``fairnb.runs.progress``: each running run's phase from its progress events (``PhaseWatcher``);
- ``fairnb.runs.estimate``: what a run and an invocation will cost (``run_estimate``, ``estimate_line``);
- ``fairnb.runs.schedule``: waves, Dask workers, the dry run (``run_jobs``, ``dry_run``, ``plan``).

This module re-exports their names, so ``from fairnb.runs.execute import …`` keeps working. Setting a name
here sets it in every one of those modules that holds it (``execute.RESULTS = folder`` moves the run store
for all of them, as it did when they were one module); ``_write_durable``, ``_publish`` and
``_publish_failure`` are the older names of ``write_durable``, ``publish`` and ``publish_failure``.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from fairnb.errors import FairnbError
from fairnb.runs.cache import (VENDORED_FOLDERS, cache_key, damaged_data, effective_parameters, is_cached, refresh_key,
                               settle_cached, source_digest, user_data)
from fairnb.runs.estimate import Estimate, estimate_line, run_estimate
from fairnb.runs.jobs import _cuda_visible, prepare, resolved_parameters, template_datasets, without_explicit_defaults
from fairnb.runs.kernel import _Kernel, _dying_cell, _execute_locked, device_description, execute, run_job
from fairnb.runs.manifest import ROOT
from fairnb.runs.presentation import (RUN_CONFIGURATION, add_failure_banner, add_note, append_run_footer, cli_value,
                                      drop_repeated_figures, extract_metrics, fold_code, overrides_of, papermill_input,
                                      papermill_option, present, quoted_template, rerun_commands)
from fairnb.runs.progress import PhaseWatcher, ProgressReader, current_phase, events_path, phase_summary, read_events
from fairnb.runs.publish import _commit, publish, publish_failure, record_failure
from fairnb.runs.schedule import (SCHEDULER_TIMEOUT, Runner, _connect, check_scheduler, dry_run, plan, reads_record_of,
                                  run_jobs, usable_cores)
from fairnb.runs.store import (BOOK_RUNS, BUILD, FAILED, INVOCATION, RESULTS, Job, Outputs, all_records, atomic_write,
                               clean_interrupted, forget_failure, has_runs, last_invocation, os_problem, owns_page,
                               read_record, record_invocation, run_lock, sha256_file, store_warnings, unreadable_record,
                               write_durable)

_write_durable, _publish, _publish_failure = write_durable, publish, publish_failure

_PARTS = tuple(sys.modules[f"fairnb.runs.{name}"] for name in
               ("store", "cache", "jobs", "presentation", "publish", "kernel", "progress", "estimate", "schedule"))
_OLDER_NAMES = {"_write_durable": "write_durable", "_publish": "publish", "_publish_failure": "publish_failure"}


class _ForwardingModule(types.ModuleType):
    """This module, with assignments passed on to the modules that hold the name (module doc)."""

    def __setattr__(self, name: str, value: Any) -> None:
        home = _OLDER_NAMES.get(name, name)
        for part in _PARTS:
            if home in vars(part):
                setattr(part, home, value)
        super().__setattr__(name, value)
        if home != name:
            super().__setattr__(home, value)


sys.modules[__name__].__class__ = _ForwardingModule

__all__ = [
    "BOOK_RUNS", "BUILD", "FAILED", "INVOCATION", "RESULTS", "ROOT", "SCHEDULER_TIMEOUT", "VENDORED_FOLDERS",
    "Estimate", "FairnbError", "Job", "Outputs", "PhaseWatcher", "ProgressReader", "RUN_CONFIGURATION", "Runner",
    "add_failure_banner", "add_note", "all_records", "append_run_footer", "atomic_write", "cache_key", "check_scheduler",
    "clean_interrupted", "cli_value", "current_phase", "damaged_data", "device_description", "drop_repeated_figures",
    "dry_run", "effective_parameters", "estimate_line", "events_path", "execute", "extract_metrics", "fold_code",
    "forget_failure", "has_runs", "is_cached", "last_invocation", "os_problem", "overrides_of", "owns_page",
    "papermill_input", "papermill_option", "phase_summary", "plan", "prepare", "present", "publish", "publish_failure",
    "quoted_template", "read_events", "read_record", "reads_record_of", "record_failure", "record_invocation",
    "refresh_key", "rerun_commands", "resolved_parameters", "run_estimate", "run_job", "run_jobs", "run_lock",
    "settle_cached", "sha256_file", "source_digest", "store_warnings", "template_datasets", "unreadable_record",
    "usable_cores", "user_data", "without_explicit_defaults", "write_durable",
]
