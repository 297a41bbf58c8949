"""Benchmark of FairDisco's posterior dCov² (``posterior_dcov2``): the fast version vs the previous one.

Measures, with one torch thread by default (as the notebooks use the CPU):

- forward + backward of ``posterior_dcov2`` on one batch of 2,048 rows, latent d = 8, two groups,
  float32: the fast implementation and the previous one (``_posterior_dcov2_reference``), timed in
  alternation in the same run so that both see the same machine load; medians of the repeats;
- that both agree in float64 (value and gradients, largest relative difference);
- an estimate of the arithmetic each performs and the rate it reaches, next to the rate of a large
  float32 matrix product measured in the same script (a practical peak of the machine);
- one stage-1 (FairDisco) epoch on the full Adult training split at batch 2,048, with each
  implementation (``--skip-epochs`` leaves it out, ``--skip-reference-epoch`` times the fast one only).

Run from the repository root: ``python benchmarks/bench_dcov.py [--repeats 7] [--threads 1]``.
Prints a table and writes ``benchmarks/results/dcov.json`` in the performance page's format, the
raw per-device entries kept under "raw" (a GPU run adds to a CPU run instead of replacing it).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from fairnb.metrics import dcov

RESULTS = Path(__file__).resolve().parent / "results" / "dcov.json"
BATCH, LATENT, GROUPS = 2048, 8, 2


def performance_module():
    """The performance-record helpers (moved from ``fairnb.performance`` to ``fairnb.book.performance``)."""
    for name in ("fairnb.book.performance", "fairnb.performance"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError("no fairnb performance module (fairnb.book.performance or fairnb.performance)")


def fairdisco_module():
    """The module holding ``FairDisco`` (``fairnb.paper000.fairdisco``, formerly ``fairnb.models.fairdisco``), or None."""
    for name in ("fairnb.paper000.fairdisco", "fairnb.models.fairdisco"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def synchronise(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def batch(device: str, dtype: torch.dtype, n: int = BATCH, seed: int = 0):
    """Posterior means and log-variances like an encoder's early in training, and two groups."""
    gen = torch.Generator().manual_seed(seed)
    mean = torch.randn(n, LATENT, generator=gen, dtype=dtype)
    logvar = torch.randn(n, LATENT, generator=gen, dtype=dtype) * 0.5 - 1.0
    group = (torch.rand(n, generator=gen) < 0.67).long()
    return mean.to(device), logvar.to(device), group.to(device)


def forward_backward(function, mean, logvar, group) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    mean, logvar = mean.clone().requires_grad_(), logvar.clone().requires_grad_()
    value = function(mean, logvar, group, GROUPS, nominal_batch=BATCH)
    grads = torch.autograd.grad(value, (mean, logvar))
    return value.detach(), *grads


def agreement(device: str) -> dict[str, float]:
    """Largest relative difference, float64, of the value and of each gradient (fast vs previous)."""
    inputs = batch(device, torch.float64, n=512, seed=1)
    fast = forward_backward(dcov.posterior_dcov2, *inputs)
    reference = forward_backward(dcov._posterior_dcov2_reference, *inputs)
    rel = [float((a - b).abs().max() / b.abs().max()) for a, b in zip(fast, reference)]
    return {"value_rel_diff": rel[0], "grad_mean_rel_diff": rel[1], "grad_logvar_rel_diff": rel[2]}


def time_pair(device: str, repeats: int) -> dict[str, float]:
    """Median seconds of forward + backward, fast and previous, timed in alternation."""
    inputs = batch(device, torch.float32)
    functions = {"fast": dcov.posterior_dcov2, "reference": dcov._posterior_dcov2_reference}
    for function in functions.values():
        forward_backward(function, *inputs)  # warm-up: allocator, CUDA context, first-call paths
    seconds = {name: [] for name in functions}
    cpu_seconds = {name: [] for name in functions}  # this process's CPU time: less sensitive to other load
    for _ in range(repeats):
        for name, function in functions.items():
            synchronise(device)
            started, started_cpu = time.perf_counter(), time.process_time()
            forward_backward(function, *inputs)
            synchronise(device)
            seconds[name].append(time.perf_counter() - started)
            cpu_seconds[name].append(time.process_time() - started_cpu)
    out = {f"{name}_seconds": statistics.median(values) for name, values in seconds.items()}
    if device == "cpu":
        out |= {f"{name}_cpu_seconds": statistics.median(values) for name, values in cpu_seconds.items()}
        out["speedup_cpu_time"] = out["reference_cpu_seconds"] / out["fast_cpu_seconds"]
    return out | {f"{name}_all_seconds": values for name, values in seconds.items()}


def operation_counts(n: int = BATCH, d: int = LATENT, groups: int = GROUPS) -> dict[str, float]:
    """Floating-point operations of one forward + backward, counting exp/log/sigmoid as one each.

    Fast: pairs j ≥ i only, n(n+1)/2 of them. Per pair and latent dimension: forward t and Δ (2),
    Δ/t, Δ·(Δ/t), the sum over dimensions, the product of t → 6; backward W·U, Wρ/t, − A·U (2),
    four sums (row and column side of two arrays) → 8. Per pair: log, ½·+const, two sigmoids with
    their shifts, clamp, exp and scalings (≈ 10), the weights' outer product (2G), W = Q ⊙ K and
    its two sums, Wρ (4).
    Previous: all n² pairs. Per pair and dimension: forward t, Δ, Δ², /t, sum, 2π·t, log, sum
    (8); backward recomputes t, Δ, 2π·t, log (4), then Δ/t, W·ratio, sum, ratio², ½·, share/t,
    ½·, −, W·(…), sum (10) → 22. Per pair: exp, −½·, ÷, +1e-10 (forward), N/(N+ε) (2), G + Gᵀ
    and H ⊙ K (2), and the group means with their backward (≈ 4G + 2).
    """
    fast_pairs, all_pairs = n * (n + 1) / 2, float(n * n)
    fast = fast_pairs * (d * (6 + 8) + 10 + 2 * groups + 4)
    reference = all_pairs * (d * 22 + 8 + 4 * groups + 2)
    return {"fast_flop": fast, "reference_flop": reference}


def matmul_rate(device: str, size: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of a size³ float32 matrix product (the machine's practical peak for this dtype)."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=gen).to(device)
    b = torch.randn(size, size, generator=gen).to(device)
    a @ b
    times = []
    for _ in range(repeats):
        synchronise(device)
        started = time.perf_counter()
        a @ b
        synchronise(device)
        times.append(time.perf_counter() - started)
    return 2 * size**3 / statistics.median(times) / 1e9


def epoch_seconds(device: str, reference: bool, epochs: int) -> dict[str, float] | None:
    """Median seconds of a stage-1 epoch on the full Adult training split (sex), batch 2,048."""
    module = fairdisco_module()
    if module is None or not hasattr(module, "FairDisco"):
        print("FairDisco not found: stage-1 epoch not measured")
        return None
    import fairnb.data

    dataset = fairnb.data.load("adult")
    train_rows, _ = fairnb.data.split(dataset, "sex", fairnb.data.PAPER_000, 0)
    frame = dataset.frame.iloc[train_rows].reset_index(drop=True)
    encoder = fairnb.data.encoder_for(dataset, scaling="standard").fit(dataset.frame)
    x, s = encoder.transform(frame), fairnb.data.group_codes(frame, dataset, "sex")
    original = module.posterior_dcov2
    out = {"rows": len(frame)}
    variants = [("fast", dcov.posterior_dcov2, epochs)] + ([("reference", dcov._posterior_dcov2_reference, 1)] if reference else [])
    try:
        for name, function, count in variants:
            module.posterior_dcov2 = function
            model = module.FairDisco(x.shape[1], encoder.blocks, s_dim=2, epochs=count, batch_size=BATCH, seed=0, device=device)
            model.fit(x, s)
            out[f"{name}_epoch_seconds"] = float(model.history.seconds.median())
    finally:
        module.posterior_dcov2 = original
    return out


def device_name(device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name()
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"


def measure(device: str, args) -> dict:
    timing = time_pair(device, args.repeats)
    counts = operation_counts()
    peak = matmul_rate(device)
    entry = {"device": device_name(device), "torch": torch.__version__, "batch": BATCH, "latent": LATENT, "groups": GROUPS,
             **timing, "speedup": timing["reference_seconds"] / timing["fast_seconds"], **counts,
             "fast_gflops": counts["fast_flop"] / timing["fast_seconds"] / 1e9,
             "reference_gflops": counts["reference_flop"] / timing["reference_seconds"] / 1e9,
             "matmul_gflops": peak, **agreement(device)}
    if "fast_cpu_seconds" in timing:
        entry["fast_gflops_cpu_time"] = counts["fast_flop"] / timing["fast_cpu_seconds"] / 1e9
    if not args.skip_epochs:
        epochs = epoch_seconds(device, reference=not args.skip_reference_epoch, epochs=args.epochs)
        if epochs:
            entry["stage1"] = epochs
    return entry


def to_measurements(results: dict) -> list[dict]:
    """The per-device entries as the performance page's measurements (name, value, unit, device, goal, note)."""
    out = []
    for device, e in results.items():
        shape = f"batch {e['batch']:,}, d = {e['latent']}"
        agree = f"float64 agreement: value {e['value_rel_diff']:.1e}, gradients {max(e['grad_mean_rel_diff'], e['grad_logvar_rel_diff']):.1e} (relative)"
        out.append({"name": f"posterior dCov² forward+backward, {shape}, previous implementation", "value": round(e["reference_seconds"], 4),
                    "unit": "s", "device": device, "note": e["device"]})
        out.append({"name": f"posterior dCov² forward+backward, {shape}", "value": round(e["fast_seconds"], 4), "unit": "s",
                    "device": device, "goal": round(e["reference_seconds"] / 10, 4), "note": e["device"]})
        cpu_time = f"; {e['speedup_cpu_time']:.1f}x in process CPU time" if "speedup_cpu_time" in e else ""
        out.append({"name": "posterior dCov² speed-up over the previous implementation", "value": round(e["speedup"], 1), "unit": "x",
                    "device": device, "goal": 10, "note": agree + cpu_time})
        out.append({"name": "posterior dCov² arithmetic rate (fast)", "value": round(e["fast_gflops"], 2), "unit": "GFLOP/s",
                    "device": device, "note": f"{100 * e['fast_gflops'] / e['matmul_gflops']:.1f}% of the float32 matmul rate; "
                                              f"{e['fast_flop'] / 1e9:.2f} GFLOP per batch (exp/log counted as one)"
                                              + (f"; {e['fast_gflops_cpu_time']:.2f} GFLOP/s in process CPU time"
                                                 if "fast_gflops_cpu_time" in e else "")})
        out.append({"name": "float32 matmul 2048³ (practical peak)", "value": round(e["matmul_gflops"], 1), "unit": "GFLOP/s",
                    "device": device, "note": e["device"]})
        stage1 = e.get("stage1", {})
        if "fast_epoch_seconds" in stage1:
            out.append({"name": f"stage 1 (FairDisco) epoch, Adult {stage1['rows']} rows, batch 2,048", "value": round(stage1["fast_epoch_seconds"], 3),
                        "unit": "s", "device": device, "goal": 2.0 if device == "cpu" else None, "note": e["device"]})
        if "reference_epoch_seconds" in stage1:
            out.append({"name": f"stage 1 (FairDisco) epoch, Adult {stage1['rows']} rows, batch 2,048, previous dCov²",
                        "value": round(stage1["reference_epoch_seconds"], 3), "unit": "s", "device": device, "note": e["device"]})
    return out


def write(results: dict) -> None:
    """Save in the performance page's format, keeping the raw per-device entries under "raw"."""
    path = performance_module().save("dcov", to_measurements(results), folder=RESULTS.parent)
    record = json.loads(path.read_text())
    record["raw"] = results
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"written {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed forward+backward pairs (median reported)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the notebooks use 1 on CPU)")
    parser.add_argument("--epochs", type=int, default=2, help="stage-1 epochs timed with the fast estimator")
    parser.add_argument("--skip-epochs", action="store_true", help="do not time stage-1 epochs")
    parser.add_argument("--skip-reference-epoch", action="store_true", help="time the stage-1 epoch with the fast estimator only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    results = json.loads(RESULTS.read_text()).get("raw", {}) if RESULTS.exists() else {}
    for device in devices:
        entry = measure(device, args)
        results[device] = entry
        print(json.dumps({device: {k: v for k, v in entry.items() if not k.endswith("all_seconds")}}, indent=2))
    write(results)


if __name__ == "__main__":
    main()
