"""Expected training time of the ``paper`` profile, from measured per-epoch times on this machine's device.

    python benchmarks/bench_paper_profile.py [--device auto] [--epochs 3]

Every generator stage is trained for 1 and for ``--epochs`` epochs on the full training split of each
dataset it runs on (the paper profile's rows, batch sizes and widths); the difference of the two times
over ``--epochs`` − 1 is its time per epoch (CPU seconds of this process on a CPU, so other jobs on a
shared machine do not inflate it; synchronised wall seconds on a GPU), multiplied by the epochs the
paper profile trains it, summed over
every run of the manifest with the paper profile's repetitions and sweeps, counting each model the
trained-model store shares between pages once. Run on a GPU machine (``--device cuda``) it gives the
expected time of the paper profile on one GPU; on a CPU, on one CPU thread.

What is counted (R = the paper profile's repetitions, 10; pairs = the manifest's (dataset, sensitive)
runs; a race run costs as its sex run):

- FairDisco teachers, 1000 epochs each: the β sweep (11 exponents, one seed) per pair, plus one teacher
  per further seed (β = 10^7) per pair — the stage-3 study, the comparison and the budget check at 1×
  reuse them;
- students, 200 epochs: 4 quality losses per pair on one seed (distillation), 4 per seed (stage 3),
  4 values of λ (stage 3's sweep);
- the comparison per pair and seed: TabFairGAN (200 / 70 epochs), Decaf (1000) and FLDGMs' diffusion
  (5000);
- the budget check (Adult/sex, one seed, its template's default) at each multiple m of the paper
  profile: m × (teacher + student + Decaf + diffusion), except at 1× where they come from the store,
  and m × TabFairGAN;
- the runtime page: ``timing_epochs`` epochs of every stage per seed;
- paper 002: one translator per pair and seed (2000 epochs), shared by its two pages (MEPS, which is not
  shipped, counted as nothing).

Not counted: the downstream classifiers and metrics, the paper-002 classifiers and baselines, the image
models and kernel start-up; the estimate is the generators' training.

Prints every number and saves ``benchmarks/results/paper_profile.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import fairnb.data  # noqa: E402
from fairnb.book import performance  # noqa: E402
from fairnb.nn.device import resolve_device, single_thread_on_cpu  # noqa: E402
from fairnb.paper000.baselines import hyperparameters as hp  # noqa: E402
from fairnb.runs.manifest import load_manifest  # noqa: E402
from fairnb.runs.profiles import PROFILES  # noqa: E402

DATASETS_000 = ("adult", "compas", "german")
COMPARED = ("adult", "compas")


def clock(device: str) -> float:
    """Process CPU seconds on a CPU (robust to other jobs on a shared machine), synchronised wall seconds on a GPU."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        return time.perf_counter()
    return time.process_time()


def per_epoch(fit, device: str, epochs: int) -> float:
    """Seconds per epoch of ``fit(epochs)``: the difference between a fit of ``epochs`` and of 1 epoch,
    divided by ``epochs`` − 1 (set-up costs cancel)."""
    times = []
    for count in (1, epochs):
        started = clock(device)
        fit(count)
        times.append(clock(device) - started)
    return max(0.0, (times[1] - times[0]) / (epochs - 1))


def measure(device: str, epochs: int) -> dict[str, dict[str, float]]:
    """Seconds per epoch of each stage on each dataset's full training split."""
    from fairnb.paper000.baselines.decaf import Decaf
    from fairnb.paper000.baselines.fldgm import FLDGM, FairDiscoGenerator
    from fairnb.paper000.baselines.tabfairgan import TabFairGAN
    from fairnb.paper000.pipeline import FairLatentDistillation
    from fairnb.paper000.study import prepare_data
    from fairnb.paper002.study import prepare, train_translator
    from fairnb.paper002.translator import TranslatorSettings

    paper = PROFILES["paper"]
    out: dict[str, dict[str, float]] = {}
    for dataset in DATASETS_000:
        train, _ = prepare_data(dataset, "sex", 0, 0)
        fit = dict(dataset=dataset, sensitive="sex")
        teacher = FairDiscoGenerator(1, batch_size=paper["batch_size"], seed=0, device=device).fit(train, **fit)
        row = {"teacher": per_epoch(lambda e: FairDiscoGenerator(e, batch_size=paper["batch_size"], seed=0, device=device)
                                    .fit(train, **fit), device, epochs)}

        def student(e: int) -> None:
            model = FairLatentDistillation(student_epochs=e, batch_size=paper["batch_size"], seed=0, device=device, reuse_teacher=False)
            model.prepare(train, **fit)
            model.teacher_ = teacher.teacher_  # as the runtime page does: the teacher's own encoding of the rows
            model.fit_student(teacher.x_, teacher.s_)

        row["student"] = per_epoch(student, device, epochs)
        if dataset in COMPARED:
            row["diffusion"] = per_epoch(lambda e: FLDGM(e, teacher=teacher, seed=0, device=device).fit(train, **fit), device, epochs)
            for name, cls in (("tabfairgan", TabFairGAN), ("decaf", Decaf)):
                row[name] = per_epoch(lambda e: cls(epochs=e, seed=0, device=device).fit(train, **fit), device, epochs)
        out[dataset] = row
        print(dataset, {k: round(v, 4) for k, v in row.items()}, flush=True)
    for dataset in DATASETS_000:
        data = prepare(fairnb.data.load(dataset), sensitive="sex", seed=0, max_rows=0)
        out[dataset]["translator"] = per_epoch(
            lambda e: train_translator(data, settings=TranslatorSettings(epochs=e, hidden=paper["translator_hidden"],
                                                                         lr=paper["translator_lr"]),
                                       seed=0, device=device, reuse=False), device, epochs)
        print(dataset, "translator", round(out[dataset]["translator"], 4), flush=True)
    return out


def expected(per_epoch: dict[str, dict[str, float]]) -> tuple[float, list[dict]]:
    """Seconds of the paper profile's generator training (module doc), with its itemised parts."""
    paper = PROFILES["paper"]
    reps, runs = paper["repetitions"], load_manifest()
    pairs = sorted({(r.parameters.get("dataset"), r.parameters.get("sensitive")) for r in runs if r.template == "fair_synthesis"})
    compared = sorted({(r.parameters.get("dataset"), r.parameters.get("sensitive")) for r in runs if r.template == "comparison"})
    translated = sorted({(r.parameters.get("dataset"), r.parameters.get("sensitive")) for r in runs
                         if r.template == "fair_translation" and r.parameters.get("dataset") in per_epoch})
    teacher, student = paper["fairdisco_epochs"], paper["distill_epochs"]
    items = []

    def add(what: str, dataset: str, stage: str, epochs: float) -> None:
        items.append({"what": what, "dataset": dataset, "stage": stage, "epochs": epochs,
                      "seconds": epochs * per_epoch[dataset][stage]})

    for dataset, _ in pairs:
        add("β sweep teachers (one seed)", dataset, "teacher", len(paper["beta_exponents"]) * teacher)
        add("teachers of the other seeds", dataset, "teacher", (reps - 1) * teacher)
        add("students: distillation, stage 3, λ sweep", dataset, "student",
            (4 + 4 * reps + len(paper["lams"])) * student)
    for dataset, _ in compared:
        tfg = paper["tabfairgan_epochs"] or hp.PUBLISHED_EPOCHS["tabfairgan"][dataset]
        decaf = paper["decaf_epochs"] or hp.PUBLISHED_EPOCHS["decaf"][dataset]
        diffusion = paper["fldgm_epochs"] or hp.PUBLISHED_EPOCHS["fldgm"][dataset]
        add("comparison: TabFairGAN", dataset, "tabfairgan", reps * tfg)
        add("comparison: Decaf", dataset, "decaf", reps * decaf)
        add("comparison: FLDGMs diffusion", dataset, "diffusion", reps * diffusion)
    # the budget page: one seed (its template's default); at 1x every model but TabFairGAN's comes from the store
    multiples = paper["budget_multipliers"]
    fresh = sum(m for m in multiples if m != 1.0)
    add("budget check: teachers", "adult", "teacher", fresh * teacher)
    add("budget check: students", "adult", "student", fresh * student)
    for stage, published in (("decaf", hp.PUBLISHED_EPOCHS["decaf"]["adult"]), ("diffusion", hp.PUBLISHED_EPOCHS["fldgm"]["adult"])):
        add(f"budget check: {stage}", "adult", stage, fresh * published)
    add("budget check: tabfairgan", "adult", "tabfairgan", sum(multiples) * hp.PUBLISHED_EPOCHS["tabfairgan"]["adult"])
    for stage in ("teacher", "student", "diffusion", "tabfairgan", "decaf"):
        add(f"runtime page: {stage}", "adult", stage, reps * paper["timing_epochs"])
    for dataset, _ in translated:
        add("translators (fair translation and classifier)", dataset, "translator", reps * paper["translator_epochs"])
    return sum(i["seconds"] for i in items), items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the longer fit (>= 2)")
    parser.add_argument("--from-record", action="store_true",
                        help="recompute the estimate from the per-epoch times in benchmarks/results/paper_profile.json")
    args = parser.parse_args()
    device = str(resolve_device(args.device))
    single_thread_on_cpu(device)
    # the paper profile's rule, fixed budgets and every row, is every generator's default (fairnb.nn.train.FIXED_BUDGET)
    started = time.perf_counter()
    previous = ROOT / "benchmarks" / "results" / "paper_profile.json"
    per_epoch = json.loads(previous.read_text())["raw"]["per_epoch"] if args.from_record else measure(device, args.epochs)
    total, items = expected(per_epoch)
    name = torch.cuda.get_device_name(0) if device.startswith("cuda") else f"CPU, {torch.get_num_threads()} thread(s)"
    print(f"paper profile, generator training on {name}: {total:.0f} s = {total / 3600:.1f} h "
          f"(measured in {time.perf_counter() - started:.0f} s)")
    measurements = [{"name": f"seconds per epoch, {stage}, {dataset} (full training split)", "value": round(v, 4), "unit": "s",
                     "device": device} for dataset, row in per_epoch.items() for stage, v in row.items()]
    measurements.append({"name": "paper profile, expected generator training time", "value": round(total / 3600, 2),
                         "unit": "h", "device": device, "note": f"{name}; from measured per-epoch times (module doc of "
                                                                "benchmarks/bench_paper_profile.py says what is counted)"})
    path = performance.save("paper_profile", measurements)
    record = json.loads(path.read_text())
    record["raw"] = {"per_epoch": per_epoch, "items": items}
    path.write_text(json.dumps(record, indent=2))
    print(path)


if __name__ == "__main__":
    main()
