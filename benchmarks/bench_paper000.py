"""Benchmark of paper 000's tabular stages and of density/coverage.

Measures, on Adult (s = sex, the 80% training split):
- the wall time of one stage-1 epoch (FairDisco teacher, posterior dCov², batch 2048) and of
  one stage-2 epoch (student distillation, L1 + KL), on CPU and on CUDA when present;
- density/coverage at N = M = 20,000 encoded records (one-hot + min-max): fairnb's chunked torch
  implementation vs a plain NumPy full-matrix implementation; values must be identical.

Run from the repository root: ``python benchmarks/bench_paper000.py [--n 20000] [--epochs 2]``.
Prints a table and writes ``benchmarks/results/paper000.json`` (entries keyed by device, so a
GPU run adds to a CPU run instead of replacing it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

import fairnb.data
from fairnb.book import performance
from fairnb.metrics.density import density_coverage, density_coverage_numpy
from fairnb.paper000.pipeline import FairLatentDistillation
from fairnb.paper000.study import _encoded_features, prepare_data

RESULTS = Path(__file__).resolve().parent / "results" / "paper000.json"


def stage_epochs(device: str, epochs: int) -> dict[str, float]:
    """Median seconds per epoch of stage 1 and stage 2 on the full Adult training split."""
    train, _ = prepare_data("adult", "sex", seed=0)  # every training row
    model = FairLatentDistillation(teacher_epochs=epochs, student_epochs=epochs, batch_size=2048, seed=0, device=device)
    model.fit(train, dataset="adult", sensitive="sex")
    return {"rows": len(train), "stage1_epoch_seconds": float(model.teacher_history_.seconds.median()),
            "stage2_epoch_seconds": float(model.student_history_.seconds.median())}


def density_timing(device: str, n: int, numpy_reference: bool) -> dict[str, float]:
    """Time of fairnb's density/coverage at n × n and, optionally, of the NumPy reference."""
    ds = fairnb.data.load("adult")
    rng = np.random.default_rng(0)
    real_rows, fake_rows = rng.choice(len(ds.frame), n, replace=False), rng.choice(len(ds.frame), n, replace=False)
    real, fake = _encoded_features("adult", ds.frame.iloc[real_rows], ds.frame.iloc[fake_rows])
    # perturb the "synthetic" numerics a little so not every fake point is a real one
    fake = np.clip(fake + rng.normal(0, 0.01, size=fake.shape) * (fake % 1 != 0), 0, 1)
    density_coverage(real[:500], fake[:500], k=5, device=device)  # warm-up (CUDA context, allocator)
    started = time.perf_counter()
    ours = density_coverage(real, fake, k=5, device=device)
    if device == "cuda":
        torch.cuda.synchronize()
    out = {"n": n, "dims": int(real.shape[1]), "fairnb_seconds": time.perf_counter() - started, **ours}
    if numpy_reference:
        started = time.perf_counter()
        reference = density_coverage_numpy(real, fake, k=5)
        out["numpy_seconds"] = time.perf_counter() - started
        out["speedup"] = out["numpy_seconds"] / out["fairnb_seconds"]
        out["identical"] = reference == ours
    return out


def to_measurements(results: dict) -> list[dict]:
    """The per-device entries as the performance page's measurements (name, value, unit, device, goal)."""
    out = []
    for device, entry in results.items():
        rows = entry.get("rows", "all")
        out.append({"name": f"stage 1 (FairDisco) epoch, Adult {rows} rows", "value": round(entry["stage1_epoch_seconds"], 3),
                    "unit": "s", "device": device, "goal": 2.0 if device == "cpu" else None, "note": entry["device"]})
        out.append({"name": f"stage 2 (distillation) epoch, Adult {rows} rows", "value": round(entry["stage2_epoch_seconds"], 3),
                    "unit": "s", "device": device, "note": entry["device"]})
        dc = entry.get("density_coverage", {})
        if "fairnb_seconds" in dc:
            out.append({"name": f"density/coverage {dc['n']:,} x {dc['n']:,}", "value": round(dc["fairnb_seconds"], 2),
                        "unit": "s", "device": device})
        if "numpy_seconds" in dc:
            out.append({"name": f"density/coverage {dc['n']:,} x {dc['n']:,}, plain numpy full matrix", "value": round(dc["numpy_seconds"], 2),
                        "unit": "s", "device": "cpu"})
            out.append({"name": "density/coverage speed-up over plain numpy", "value": round(dc["speedup"], 2), "unit": "x",
                        "device": device, "goal": 10, "note": "identical values" if dc.get("identical") else "VALUES DIFFER"})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="records per set for density/coverage")
    parser.add_argument("--epochs", type=int, default=2, help="epochs timed per stage")
    parser.add_argument("--skip-numpy", action="store_true", help="do not run the NumPy full-matrix reference")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the notebooks use 1 on CPU)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    results = json.loads(RESULTS.read_text()).get("raw", {}) if RESULTS.exists() else {}
    for device in devices:
        name = torch.cuda.get_device_name() if device == "cuda" else f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"
        entry = {"device": name, "torch": torch.__version__, **stage_epochs(device, args.epochs),
                 "density_coverage": density_timing(device, args.n, numpy_reference=not args.skip_numpy and device == "cpu")}
        results[device] = entry
        print(json.dumps({device: entry}, indent=2))
    write(results)


def write(results: dict) -> None:
    """Save in the performance page's format, keeping the raw per-device entries under "raw"."""
    record = json.loads(performance.save("paper000", to_measurements(results)).read_text())
    record["raw"] = results
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
