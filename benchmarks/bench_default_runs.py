"""What a cold default-profile book costs: one run of each heavy template, timed from a cold model store.

    python benchmarks/bench_default_runs.py [--runs ID ...] [--profile default] [--workers 2]

The repository (tracked and untracked files, no results) is copied to a temporary folder, so the runs
start with an empty results folder and an empty trained-model store, as a cold ``fairnb book`` does.
The runs execute one after the other in the order a cold book reaches them (a later run reuses the
teachers and translators an earlier one stored, as in the book). For each run: wall seconds and the
CPU seconds of every process it started (``resource.getrusage(RUSAGE_CHILDREN)``); on a machine shared
with other jobs the CPU seconds are the better measure of the work.

The cold-book estimate sums, over every run of the manifest, the CPU seconds of the measured run of the
same template and dataset (a race run counts as its sex run; a template's unmeasured runs count as the
mean of its measured ones; light templates as the measured ``datasets`` run) and divides by the number
of workers: the wall time on an otherwise idle machine with that many cores.

Prints every number and saves ``benchmarks/results/default_runs.json``.
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

from fairnb.book import performance  # noqa: E402
from fairnb.runs.manifest import load_manifest  # noqa: E402

HEAVY = ["fair_representation-adult-sex", "distillation-adult-sex", "fair_synthesis-adult-sex", "comparison-adult-sex",
         "budget", "runtime", "fair_representation-compas-sex", "distillation-compas-sex", "fair_synthesis-compas-sex",
         "comparison-compas-sex", "fair_representation-german-sex", "fair_synthesis-german-sex",
         "fair_translation-adult-sex", "fair_classifier-adult-sex", "fair_translation-compas-sex",
         "fair_classifier-compas-sex", "fair_translation-german-sex", "fair_classifier-german-sex",
         "images-colour_mnist", "datasets-adult"]


def copy_repository(target: Path) -> Path:
    """The working tree's tracked and untracked (not ignored) files, without results or built pages."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(tree: Path, run_id: str, profile: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("FAIRNB_RESULTS", "FAIRNB_MODEL_STORE")}
    env["PYTHONPATH"] = str(tree)
    env["FAIRNB_PROGRESS"] = "0"
    cpu, started = children_cpu(), time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "fairnb.cli", "run", "--profile", profile, "--only", run_id, "--workers", "1"],
                          cwd=tree, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu
    record = tree / "results" / f"{run_id}.json"
    status = json.loads(record.read_text()).get("status") if record.is_file() else "failed"
    if done.returncode or status != "ok":
        print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
    return {"run": run_id, "wall": wall, "cpu": cpu, "status": status}


def template_of(run_id: str, runs) -> str:
    return next(r.template for r in runs if r.id == run_id)


def estimate(measured: list[dict], workers: int, runs) -> tuple[float, list[dict]]:
    """CPU seconds of every manifest run (see module doc) and their sum divided by ``workers``."""
    by_id = {m["run"]: m["cpu"] for m in measured if m["status"] == "ok"}
    per_template: dict[str, list[float]] = {}
    for run_id, cpu in by_id.items():
        per_template.setdefault(template_of(run_id, runs), []).append(cpu)
    light = by_id.get("datasets-adult", min(by_id.values()) if by_id else 0.0)
    rows = []
    for r in runs:
        guess = r.id.replace("-race", "-sex")
        if r.id in by_id:
            cpu, how = by_id[r.id], "measured"
        elif guess in by_id:
            cpu, how = by_id[guess], f"as {guess}"
        elif r.template in per_template:
            cpu, how = sum(per_template[r.template]) / len(per_template[r.template]), f"mean of measured {r.template} runs"
        else:
            cpu, how = light, "as a light run"
        rows.append({"run": r.id, "cpu": cpu, "how": how})
    return sum(row["cpu"] for row in rows) / workers, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="*", default=HEAVY)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--workers", type=int, default=2, help="cores of the machine the estimate is for")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy (prints its path)")
    args = parser.parse_args()
    runs = load_manifest()
    tree = copy_repository(Path(tempfile.mkdtemp(prefix="fairnb-bench-")))
    measured = []
    try:
        for run_id in args.runs:
            result = run(tree, run_id, args.profile)
            measured.append(result)
            print(f"{run_id}: {result['wall']:.1f} s wall, {result['cpu']:.1f} s CPU ({result['status']})", flush=True)
    finally:
        if args.keep:
            print("kept", tree)
        else:
            shutil.rmtree(tree, ignore_errors=True)
    book, rows = estimate(measured, args.workers, runs)
    print(f"cold book ({args.profile}, {args.workers} idle cores), estimated from CPU seconds: {book:.0f} s")
    measurements = [{"name": f"{m['run']} ({args.profile}, cold model store)", "value": round(m["cpu"], 1), "unit": "s",
                     "device": "cpu", "note": f"CPU seconds; {m['wall']:.1f} s wall on the shared machine; {m['status']}"}
                    for m in measured]
    measurements.append({"name": f"whole book, cold, {args.profile} profile, estimated from per-run CPU seconds "
                                 f"({args.workers} idle cores)", "value": round(book, 1), "unit": "s", "device": "cpu",
                         "goal": 1200 if args.profile == "default" else None,
                         "note": f"{len(measured)} runs measured, {len(rows)} in the manifest"})
    path = performance.save("default_runs", measurements)
    record = json.loads(path.read_text())
    record["raw"] = {"estimate": rows, "measured": measured, "profile": args.profile}
    path.write_text(json.dumps(record, indent=2))
    print(path)


if __name__ == "__main__":
    main()
