"""Command line: ``fairnb list | run | book | snapshot | clean``.

    fairnb list [--only GLOB]
    fairnb run  [--profile smoke|default|paper] [--only GLOB]... [-p NAME VALUE]... [--workers auto|N]
                [--scheduler ADDRESS] [--timeout SECONDS] [--dry-run]
    fairnb book [same options as run] [--no-run] [--no-strict]
    fairnb book --from-snapshot [--workers auto|N] [--no-strict]
    fairnb snapshot [--check]
    fairnb clean [--all]

``fairnb snapshot`` copies the records of a complete run from ``results/`` into the committed results
snapshot ``results/snapshot/`` (with its provenance); ``fairnb book --from-snapshot`` builds the summary
pages (landing page, claims ledger, reproduction tables, performance) from that snapshot and the
hand-written pages, without computing any other run, into ``_build/snapshot/html`` (see ``fairnb.book.snapshot``);
``fairnb snapshot --check`` exits 0 when the snapshot was made by the code that computes results now, else
prints one line naming what changed and exits 1.

Parameters given with ``-p`` apply to every selected run and are validated (name, type, range, the
datasets a template lists, a visible GPU for ``device=cuda``) against each run's template before
anything executes; list values are JSON (``'[0, 7]'``) or comma-separated (``0,7``). ``--dry-run``
stops there and prints each selected run with its resolved parameters, whether it is cached and, for a run
to execute, what it is expected to cost (``fairnb.runs.estimate``: its last record, else the performance record);
``run`` and ``book`` first say what the whole invocation is expected to cost.
Output is for people: one progress line, one line per failed run, a summary; bad input is one
``fairnb: error:`` line naming the parameter, the value and what is allowed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from typing import Any

from fairnb.errors import FairnbError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fairnb", description="Run the notebooks of the fairnb book and build it.")
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", help="list the runs of the manifest")
    listing.add_argument("--only", action="append", metavar="GLOB", help="only runs whose id matches (repeatable)")

    for name, help_text in (("run", "execute runs with papermill (cached)"), ("book", "execute runs, then build the book")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--profile", default=None, help="smoke, default or paper (default: default)")
        command.add_argument("--only", action="append", metavar="GLOB", help="only runs whose id matches (repeatable)")
        command.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[],
                             help="override a parameter of the selected runs (repeatable; lists as [0, 7] or 0,7)")
        command.add_argument("--workers", default="auto",
                             help="Dask worker processes on this machine: auto (one per usable core, the default) or N")
        command.add_argument("--scheduler", metavar="ADDRESS", help="use an existing Dask scheduler, e.g. tcp://host:8786")
        command.add_argument("--timeout", metavar="SECONDS",
                             help="time limit of each run in seconds, 0 for none (default: the profile's run_timeout)")
        command.add_argument("--dry-run", action="store_true",
                             help="validate and list the selected runs with their parameters and cache state; execute nothing")
        if name == "book":
            command.add_argument("--no-run", action="store_true", help="build from existing runs only")
            command.add_argument("--no-strict", action="store_true", help="do not turn build warnings into errors")
            command.add_argument("--from-snapshot", action="store_true",
                                 help="build the summary pages from the committed results snapshot (results/snapshot/), "
                                      "with the hand-written pages, computing nothing else (about a minute)")

    snapshot = commands.add_parser("snapshot", help="copy the records of a complete run from results/ into the committed "
                                                    "results snapshot results/snapshot/, with its provenance")
    snapshot.add_argument("--check", action="store_true",
                          help="make nothing: exit 0 when the snapshot was made by the code that computes results now "
                               "(templates, manifest, profiles, the package's computing code), else name what changed, exit 1")

    clean = commands.add_parser("clean", help="remove executed notebooks and the built book (results/ is kept)")
    clean.add_argument("--all", action="store_true", help="also remove results records, failed runs and kernel logs")
    return parser


def _overrides(pairs: list[list[str]]) -> dict[str, Any]:
    from fairnb.runs.params import parse_cli_value

    return {name: parse_cli_value(name, value) for name, value in pairs}


def _workers(text: str) -> int:
    """``auto`` → the usable cores; else an integer from 1 to ``max_workers()``."""
    from fairnb.errors import ParameterError
    from fairnb.runs.schedule import usable_cores

    if str(text).strip().lower() == "auto":
        return usable_cores()
    try:
        workers: Any = int(text)
    except ValueError:
        workers = text
    limit = max_workers()
    if not isinstance(workers, int) or not 1 <= workers <= limit:
        raise ParameterError("workers", workers, f"auto (one per usable core) or an integer from 1 to {limit} "
                             "(each worker is a process with its own kernel; more than four per core only thrash)")
    return workers


def max_workers() -> int:
    """The most worker processes ``--workers`` accepts: four per usable core, at least 8."""
    from fairnb.runs.schedule import usable_cores

    return max(8, 4 * usable_cores())


def _profile(args: argparse.Namespace, overrides: dict[str, Any]) -> str:
    """The invocation's profile: ``--profile``, else ``-p profile``, else ``default``; both given must agree."""
    from fairnb.errors import ParameterError
    from fairnb.runs.params import validate

    given = validate("profile", args.profile) if args.profile is not None else None
    parameter = overrides.pop("profile", None)
    if given is not None and parameter is not None and parameter != given:
        raise ParameterError("profile", parameter, f"{given}, the --profile given (set the profile once)",
                             f"conflicts with --profile {given}")
    return given or parameter or "default"


def _timeout(text: str | None) -> int | None:
    from fairnb.runs.params import parse_cli_value

    return None if text is None else parse_cli_value("run_timeout", text)


def _prepare(args: argparse.Namespace):
    """Everything that can be checked before a cluster or kernel starts; returns the jobs."""
    from fairnb.runs.jobs import prepare
    from fairnb.runs.schedule import check_scheduler
    from fairnb.runs.store import Outputs
    from fairnb.runs.manifest import load_manifest, select

    overrides = _overrides(args.parameter)
    profile = _profile(args, overrides)
    workers = _workers(args.workers)
    timeout = _timeout(args.timeout)
    if args.scheduler:
        check_scheduler(args.scheduler)
    runs = select(load_manifest(), args.only)
    jobs = prepare(runs, profile, overrides, timeout=timeout, check_device=not args.scheduler)
    if not args.dry_run:
        Outputs.current().check_writable()
    return jobs, workers


def _run(args: argparse.Namespace) -> int:
    from fairnb.runs.estimate import estimate_line
    from fairnb.runs.schedule import dry_run, plan, run_jobs, usable_cores
    from fairnb.runs.store import store_warnings

    jobs, workers = _prepare(args)
    if args.dry_run:
        for warning in store_warnings(jobs):
            print(warning, file=sys.stderr)
        lines = dry_run(jobs)
        for line in lines:
            print(line)
        cached = sum("[cached;" in line for line in lines)
        print(f"{len(jobs)} runs: {cached} cached, {len(jobs) - cached} to run (dry run: nothing executed)")
    to_run = [job.run.id for job, state in plan(jobs) if state != "cached"]
    # what it will cost, before anything starts (from the runs' last records or the performance record)
    print(estimate_line(jobs, to_run, workers, usable_cores()), flush=True)
    if args.dry_run:
        return 0
    summaries = run_jobs(jobs, workers=workers, scheduler=args.scheduler)
    failed = [s for s in summaries if s["status"] != "ok"]
    for summary in failed:
        error = str(summary.get("error") or "").strip().splitlines()
        print(f"FAILED {summary['run']}: {(error[0] if error else 'unknown error')[:300]}", file=sys.stderr)
    print(f"{len(summaries) - len(failed)} ok, {len(failed)} failed, "
          f"{sum(bool(s['cache_hit']) for s in summaries)} cache hits")
    return 1 if failed else 0


def _book(args: argparse.Namespace) -> int:
    from fairnb.book import HTML, build
    from fairnb.errors import RunStoreError
    from fairnb.runs.store import BUILD, has_runs

    if args.from_snapshot:
        return _book_from_snapshot(args)
    if args.no_run:
        if args.dry_run:
            print(f"dry run: would build the book from the existing runs into {HTML}")
            return 0
        if not has_runs():
            raise RunStoreError("no runs yet: run `fairnb run` first")
        if not args.no_strict:
            _check_book_pages(args, set())
        status = 0
    else:
        if not args.no_strict:  # before anything runs: this invocation's runs will have pages, the others must
            from fairnb.runs.manifest import load_manifest, select

            _check_book_pages(args, {run.id for run in select(load_manifest(), args.only)})
        status = _run(args)
        if args.dry_run:
            print(f"dry run: would then build the book into {HTML}")
            return status
    try:
        BUILD.mkdir(parents=True, exist_ok=True)
        probe = BUILD / ".fairnb-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise RunStoreError(f"cannot write to {BUILD}: {error.strerror or error}") from None
    code = build(strict=not args.no_strict)
    if code == 0:
        print(f"book: {HTML / 'index.html'}")
    return status or code


def _check_book_pages(args: argparse.Namespace, selected: set[str]) -> None:
    """Refuse, in one line, a strict build of the book while runs of the manifest have no page and are not
    ``selected`` to run now: the book's chapters show their numbers, so it would end with a warning per missing
    page and a partial book."""
    from fairnb.errors import RunStoreError
    from fairnb.runs.store import BOOK_RUNS
    from fairnb.runs.manifest import load_manifest

    missing = [run.id for run in load_manifest() if run.id not in selected and not (BOOK_RUNS / f"{run.id}.ipynb").exists()]
    if missing:
        profile = args.profile or "default"
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        raise RunStoreError(f"the book needs a page of every run of the manifest and {len(missing)} have none"
                            f"{' and are not selected' if selected else ''}: {shown}; nothing was run or built: run them "
                            f"too (`fairnb book --profile {profile}` without --only) or build a partial book with --no-strict")


def _book_from_snapshot(args: argparse.Namespace) -> int:
    from fairnb.book.snapshot import SNAPSHOT, SNAPSHOT_HTML as HTML, build_from_snapshot, read_provenance
    from fairnb.errors import ParameterError

    given = [flag for flag, value in (("--only", args.only), ("-p", args.parameter), ("--profile", args.profile),
                                      ("--scheduler", args.scheduler), ("--timeout", args.timeout), ("--no-run", args.no_run))
             if value]
    if given:
        raise ParameterError("from-snapshot", " ".join(given), "--workers and --no-strict only (the snapshot fixes the runs "
                             "and their profile)", "cannot be combined with --from-snapshot")
    provenance = read_provenance(SNAPSHOT)
    if args.dry_run:
        print(f"dry run: would build the summary pages from the results snapshot of {provenance['date'][:10]} "
              f"({provenance['profile']} profile) into {HTML}")
        return 0
    code = build_from_snapshot(SNAPSHOT, strict=not args.no_strict, workers=_workers(args.workers))
    if code == 0:
        print(f"book (results snapshot of {provenance['date'][:10]}, {provenance['profile']} profile): {HTML / 'index.html'}")
    return code


def _snapshot(args: argparse.Namespace) -> int:
    from fairnb.book.snapshot import SNAPSHOT, check_snapshot, write_snapshot
    from fairnb.runs.store import RESULTS

    if args.check:
        current, line = check_snapshot(SNAPSHOT)
        print(f"fairnb snapshot --check: {line}", file=sys.stdout if current else sys.stderr)
        return 0 if current else 1
    provenance = write_snapshot(RESULTS, SNAPSHOT)
    print(f"results snapshot: {provenance['runs']} records ({provenance['profile']} profile, fairnb source "
          f"{provenance['fairnb_source'][:12]}) in {SNAPSHOT}; commit it with `git add {SNAPSHOT.relative_to(RESULTS.parent)}`")
    return 0


def _clean(args: argparse.Namespace) -> int:
    from fairnb.book import GENERATED, HTML
    from fairnb.book.snapshot import SNAPSHOT_BUILD
    from fairnb.runs.store import BOOK_RUNS, FAILED, RESULTS, Outputs

    targets = [BOOK_RUNS, GENERATED, HTML.parent / "jupyter_execute", HTML, HTML.parent / ".doctrees", SNAPSHOT_BUILD]
    if args.all:
        targets += [FAILED, Outputs.current().logs]
        # results/ goes, except the committed results snapshot
        targets += [p for p in (RESULTS.iterdir() if RESULTS.is_dir() else []) if p.name != "snapshot"]
    for path in targets:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            from fairnb.runs.manifest import load_manifest, select

            for run in select(load_manifest(), args.only):
                print(run.id, " ".join(f"{k}={v}" for k, v in run.parameters.items()))
            return 0
        if args.command == "run":
            return _run(args)
        if args.command == "book":
            return _book(args)
        if args.command == "snapshot":
            return _snapshot(args)
        if args.command == "clean":
            return _clean(args)
    except FairnbError as error:
        print(f"fairnb: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fairnb: interrupted; runs that were executing are not recorded and will run again", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
