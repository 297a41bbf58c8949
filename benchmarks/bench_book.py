"""Whole-book timings: a cold and a warm build with the README's command, and the Dask speed-up.

    python benchmarks/bench_book.py [--profile default] [--skip-cold] [--skip-dask] [--snapshot]

Everything runs in a fresh copy of the repository (tracked and untracked files, no results, an empty
trained-model store), so this checkout's results are never touched and "cold" means what it means for a
new reader. Cold: ``fairnb book`` (the README's command 1: the default profile, one Dask worker per usable
core) — or ``fairnb book --profile P`` for another profile; warm: the same command again, every run a
cache hit. For the cold build it also records the CPU seconds of every process it started (on a machine
shared with other jobs the better measure of the work), the sum of the runs' own seconds and the machine's
load average before and after. ``--snapshot``: after the cold build, ``fairnb snapshot`` in the copy, and its
``results/snapshot/`` replaces this checkout's (the snapshot of the very run measured). Dask: the Data part's runs under the smoke profile with 1 then 2 workers.
Prints each number and saves ``benchmarks/results/book.json`` (earlier measurements that this invocation
did not repeat are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_default_runs import copy_repository  # noqa: E402
from fairnb.book import performance  # noqa: E402


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(tree: Path, arguments: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of ``fairnb <arguments>`` run in ``tree``."""
    env = {k: v for k, v in os.environ.items() if k not in ("FAIRNB_RESULTS", "FAIRNB_MODEL_STORE")}
    env["PYTHONPATH"] = str(tree)
    cpu, started = children_cpu(), time.perf_counter()
    subprocess.run([sys.executable, "-m", "fairnb.cli", *arguments], cwd=tree, env=env, check=True)
    return time.perf_counter() - started, children_cpu() - cpu


def run_seconds(tree: Path) -> float:
    """The sum of the runs' own seconds (kernel start to last cell) in ``tree``'s results records."""
    total = 0.0
    for path in (tree / "results").glob("*.json"):
        record = json.loads(path.read_text())
        if isinstance(record, dict) and isinstance(record.get("seconds"), (int, float)):
            total += record["seconds"]
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--snapshot", action="store_true",
                        help="make the results snapshot from the cold run and copy it into this checkout")
    args = parser.parse_args()
    if args.snapshot and args.skip_cold:
        parser.error("--snapshot needs the cold run (drop --skip-cold)")
    book = ["book"] + ([] if args.profile == "default" else ["--profile", args.profile])
    measurements = []
    with tempfile.TemporaryDirectory(prefix="fairnb-book-") as folder:
        tree = copy_repository(Path(folder))
        if not args.skip_cold:
            load_before = os.getloadavg()[0]
            wall, cpu = timed(tree, book)
            load_after = os.getloadavg()[0]
            note = (f"`fairnb {' '.join(book)}` on a fresh copy, {os.cpu_count()} cores; load average "
                    f"{load_before:.1f} before, {load_after:.1f} after")
            print(f"cold book ({args.profile}): {wall:.1f} s wall, {cpu:.1f} s CPU, runs' own seconds {run_seconds(tree):.1f}")
            measurements += [
                {"name": f"whole book, cold, {args.profile} profile", "value": round(wall, 1), "unit": "s", "device": "cpu",
                 "goal": 3600 if args.profile == "default" else None, "note": note},
                {"name": f"whole book, cold, {args.profile} profile, CPU seconds of every process", "value": round(cpu, 1),
                 "unit": "s", "device": "cpu"},
                {"name": f"whole book, cold, {args.profile} profile, sum of the runs' seconds", "value": round(run_seconds(tree), 1),
                 "unit": "s", "device": "cpu"}]
            if args.snapshot:
                timed(tree, ["snapshot"])
                target = ROOT / "results" / "snapshot"
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(tree / "results" / "snapshot", target)
                print(f"snapshot of this run copied to {target.relative_to(ROOT)}")
        if args.skip_cold:
            timed(tree, book)  # fill the cache for the warm measurement
        wall, _ = timed(tree, book)
        print(f"warm book ({args.profile}): {wall:.1f} s")
        measurements.append({"name": f"whole book, warm (all cached), {args.profile} profile", "value": round(wall, 1),
                             "unit": "s", "device": "cpu", "goal": 30})
        if not args.skip_dask:
            for workers in (1, 2):
                for record in (tree / "results").glob("datasets-*.json"):
                    record.unlink()
                seconds, _ = timed(tree, ["run", "--only", "datasets-*", "--profile", "smoke", "--workers", str(workers)])
                print(f"Data part, smoke, {workers} worker(s): {seconds:.1f} s")
                measurements.append({"name": f"Data part (6 runs), smoke, {workers} Dask worker(s)", "value": round(seconds, 1),
                                     "unit": "s", "device": "cpu"})
            one, two = measurements[-2]["value"], measurements[-1]["value"]
            measurements.append({"name": "Dask speed-up, 2 vs 1 workers", "value": round(one / two, 2), "unit": "x", "device": "cpu"})
            print(f"speed-up: {one / two:.2f}x")
    save(measurements)


def save(measurements: list[dict]) -> None:
    """Save ``measurements`` into the book record, keeping earlier ones this invocation did not repeat."""
    previous = performance.load_all()
    names = {m["name"] for m in measurements}
    kept = [{k: v for k, v in row.items() if k in ("name", "value", "unit", "device", "goal", "note") and v == v and v is not None}
            for row in previous[previous["benchmark"] == "book"].to_dict("records") if row["name"] not in names]
    print(performance.save("book", kept + [{k: v for k, v in m.items() if v is not None} for m in measurements]))


if __name__ == "__main__":
    main()
