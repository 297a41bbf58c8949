"""Whole-book timings: cold and warm builds, and the Dask speed-up with 1 vs 2 workers.

    python benchmarks/bench_book.py [--profile default] [--skip-cold] [--skip-dask]

Cold: ``fairnb clean --all`` then ``fairnb book --profile P --workers 2`` (this deletes earlier
results: it is what "cold" means). Warm: the same command again, every run a cache hit.
Dask: the Data part's runs under the smoke profile, their records removed first, with 1 then 2
workers. Prints each number and saves ``benchmarks/results/book.json``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fairnb.book import performance  # noqa: E402

FAIRNB = [sys.executable, "-m", "fairnb.cli"]


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args()
    measurements = []
    if not args.skip_cold:
        subprocess.run(FAIRNB + ["clean", "--all"], cwd=ROOT, check=True)
        cold = timed(FAIRNB + ["book", "--profile", args.profile, "--workers", "2"])
        print(f"cold book ({args.profile}): {cold:.1f} s")
        measurements.append({"name": f"whole book, cold, {args.profile} profile", "value": round(cold, 1), "unit": "s",
                             "device": "cpu", "goal": 1200 if args.profile == "default" else None})
    warm = timed(FAIRNB + ["book", "--profile", args.profile, "--workers", "2"])
    print(f"warm book ({args.profile}): {warm:.1f} s")
    measurements.append({"name": f"whole book, warm (all cached), {args.profile} profile", "value": round(warm, 1),
                         "unit": "s", "device": "cpu", "goal": 30})
    if not args.skip_dask:
        for workers in (1, 2):
            for record in (ROOT / "_build" / "results").glob("datasets-*.json"):
                record.unlink()
            seconds = timed(FAIRNB + ["run", "--only", "datasets-*", "--profile", "smoke", "--workers", str(workers)])
            print(f"Data part, smoke, {workers} worker(s): {seconds:.1f} s")
            measurements.append({"name": f"Data part (6 runs), smoke, {workers} Dask worker(s)", "value": round(seconds, 1),
                                 "unit": "s", "device": "cpu"})
        one, two = measurements[-2]["value"], measurements[-1]["value"]
        measurements.append({"name": "Dask speed-up, 2 vs 1 workers", "value": round(one / two, 2), "unit": "x", "device": "cpu"})
        print(f"speed-up: {one / two:.2f}x")
        subprocess.run(FAIRNB + ["run", "--only", "datasets-*", "--profile", args.profile, "--workers", "2"], cwd=ROOT, check=True)
    # Keep earlier measurements that this invocation did not repeat (e.g. --skip-cold).
    previous = performance.load_all()
    names = {m["name"] for m in measurements}
    kept = [{k: v for k, v in row.items() if k in ("name", "value", "unit", "device", "goal", "note") and v == v and v is not None}
            for row in previous[previous["benchmark"] == "book"].to_dict("records") if row["name"] not in names]
    print(performance.save("book", kept + measurements))


if __name__ == "__main__":
    main()
