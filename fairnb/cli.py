"""Command line: ``fairnb list | run | book | clean``.

    fairnb list [--only GLOB]
    fairnb run  [--profile smoke|default|paper] [--only GLOB]... [-p NAME VALUE]... [--workers N] [--scheduler ADDRESS]
    fairnb book [same options as run] [--no-run]
    fairnb clean [--all]

Parameters given with ``-p`` apply to every selected run and are validated (name, type, range)
against each run's template before anything executes.
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
        command.add_argument("--profile", default="default", help="smoke, default or paper (default: default)")
        command.add_argument("--only", action="append", metavar="GLOB", help="only runs whose id matches (repeatable)")
        command.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[],
                             help="override a parameter of the selected runs (repeatable)")
        command.add_argument("--workers", type=int, default=1, help="Dask worker processes on this machine (default 1)")
        command.add_argument("--scheduler", metavar="ADDRESS", help="use an existing Dask scheduler, e.g. tcp://host:8786")
        if name == "book":
            command.add_argument("--no-run", action="store_true", help="build from existing runs only")
            command.add_argument("--no-strict", action="store_true", help="do not turn build warnings into errors")

    clean = commands.add_parser("clean", help="remove executed notebooks and the built book")
    clean.add_argument("--all", action="store_true", help="also remove results records and failed runs")
    return parser


def _overrides(pairs: list[list[str]]) -> dict[str, Any]:
    from fairnb.runs.params import parse_cli_value

    return {name: parse_cli_value(name, value) for name, value in pairs}


def _run(args: argparse.Namespace) -> int:
    from fairnb.errors import ParameterError
    from fairnb.runs.execute import prepare, run_jobs
    from fairnb.runs.manifest import load_manifest, select

    if args.workers < 1:
        raise ParameterError("workers", args.workers, "an integer >= 1")
    runs = select(load_manifest(), args.only)
    jobs = prepare(runs, args.profile, _overrides(args.parameter))
    summaries = run_jobs(jobs, workers=args.workers, scheduler=args.scheduler)
    failed = [s for s in summaries if s["status"] != "ok"]
    for summary in failed:
        print(f"FAILED {summary['run']}: {summary.get('error')}", file=sys.stderr)
    print(f"{len(summaries) - len(failed)} ok, {len(failed)} failed, "
          f"{sum(bool(s['cache_hit']) for s in summaries)} cache hits")
    return 1 if failed else 0


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
            from fairnb.book import HTML, build

            status = 0 if args.no_run else _run(args)
            code = build(strict=not args.no_strict)
            if code == 0:
                print(f"book: {HTML / 'index.html'}")
            return status or code
        if args.command == "clean":
            from fairnb.book import GENERATED, HTML
            from fairnb.runs.execute import BOOK_RUNS, FAILED, RESULTS

            targets = [BOOK_RUNS, GENERATED, HTML.parent / "jupyter_execute", HTML, HTML.parent / ".doctrees"]
            if args.all:
                targets += [RESULTS, FAILED]
            for path in targets:
                shutil.rmtree(path, ignore_errors=True)
            return 0
    except FairnbError as error:
        print(f"fairnb: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
