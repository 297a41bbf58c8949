"""Training-time comparison of the fair generators (paper 000, §6.6).

The paper claims that our method trains in "23 % less time than the FLDGMs, 105 % less than
TabFairGAN and 153 % less time than Decaf". Percentages above 100 % cannot be shares of the
other method's time, so we read them as (T_other − T_ours) / T_ours (``PAPER_CLAIMS``), and show
the share reading (T_other − T_ours) / T_other beside it.

What we time, on the same rows, machine and device, each method from scratch:

- **ours** = FairDisco teacher (stage 1) + distilled student (stage 2), ``FairLatentDistillation``;
- **fldgm** = the same teacher + the latent diffusion model;
- **tabfairgan**, **decaf** = their whole training;
- **tabfairgdt** (not in the paper, ``fairnb.paper000.comparison.BEYOND_PAPER``) = its whole fit: one
  tree per column, no epochs, so its projected time is its measured time. It is shown apart and has
  no claim of the paper beside it.

Each stage trains ``epochs`` epochs and is timed. Its time splits into a one-off setup (encoding,
building the networks: total minus the epochs' own wall times) and the epochs; the steady time per
epoch (the mean over the epochs after the first, which carries warm-up costs, or the only epoch)
is then projected to the publications' schedules (``hyperparameters.PUBLISHED_EPOCHS``: teacher 1000, student 200, diffusion 5000,
TabFairGAN 200/70, Decaf 1000 epochs), because the methods' published lengths differ by orders of
magnitude and a ratio at equal short lengths would compare something the paper did not. Both
the measured and the projected ratios are reported.
"""

from __future__ import annotations

from typing import Callable, Iterable

import pandas as pd
import torch

import fairnb.data
from fairnb.paper000.baselines import hyperparameters as hp
from fairnb.paper000.baselines.base import stopwatch
from fairnb.paper000.baselines.decaf import Decaf
from fairnb.paper000.baselines.fldgm import FLDGM, FairDiscoGenerator
from fairnb.paper000.baselines.tabfairgan import TabFairGAN
from fairnb.paper000.baselines.tabfairgdt import TabFairGDT
from fairnb.errors import ParameterError
from fairnb.paper000.names import METHOD_LABELS

PAPER_CLAIMS = {"fldgm": 0.23, "tabfairgan": 1.05, "decaf": 1.53}
# the paper's generators, then those it does not compare with (no claim of the paper beside them)
PAPER_GENERATORS = ("ours", "fldgm", "tabfairgan", "decaf")
BEYOND_PAPER = ("tabfairgdt",)
GENERATORS = PAPER_GENERATORS + BEYOND_PAPER
# what is timed, labelled from the one names module (ours: the teacher and the L1-KL student)
LABELS = {"ours": "Ours (teacher + student)", "fldgm": f"{METHOD_LABELS['fldgm']}, teacher + diffusion",
          **{m: METHOD_LABELS[m] for m in ("tabfairgan", "decaf", "tabfairgdt")}}
STAGES = {"ours": ("teacher", "student"), "fldgm": ("teacher", "diffusion"), "tabfairgan": ("gan",), "decaf": ("gan",),
          "tabfairgdt": ("trees",)}


def published_epochs(stage: str, method: str, dataset: str) -> int:
    """The publication's epochs of one stage (teacher 1000 and student 200 from the notes; 0 for a
    stage without epochs, TabFairGDT's trees)."""
    if stage == "trees":
        return 0
    if stage == "teacher":
        return 1000
    if stage == "student":
        return 200
    if stage == "diffusion":
        return hp.PUBLISHED_EPOCHS["fldgm"][dataset]
    return hp.PUBLISHED_EPOCHS[method][dataset]


def split_time(total: float, epoch_seconds: list[float]) -> tuple[float, float]:
    """(setup seconds, steady seconds per epoch) of a fit lasting ``total`` seconds whose epochs
    took ``epoch_seconds``: setup = total − Σ epochs (≥ 0); steady = mean of the epochs after the
    first (the first carries warm-up), or the only epoch."""
    if not epoch_seconds:
        raise ParameterError("epoch_seconds", epoch_seconds, "at least one epoch time")
    setup = max(0.0, float(total) - float(sum(epoch_seconds)))
    steady = epoch_seconds[1:] if len(epoch_seconds) > 1 else epoch_seconds
    return setup, float(sum(steady) / len(steady))


def time_generators(dataset: str, sensitive: str, seeds: Iterable[int], epochs: int, max_rows: int = 0,
                    batch_size: int = 2048, device: str = "cpu",
                    progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Train every generator for ``epochs`` epochs per stage and time each stage.

    Returns one row per (seed, method, stage): seconds (measured), epochs, setup_seconds,
    seconds_per_epoch, published_epochs and projected_seconds (= setup_seconds +
    seconds_per_epoch × published_epochs). A stage without epochs (TabFairGDT's trees) has epochs 0,
    setup_seconds = seconds and projected_seconds = seconds.
    """
    from fairnb.paper000.pipeline import FairLatentDistillation
    from fairnb.paper000.study import prepare_data

    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ParameterError("epochs", epochs, "a positive int")
    ds = fairnb.data.load(dataset)
    ds.check_sensitive(sensitive)
    rows_out = []
    for seed in seeds:
        train, _ = prepare_data(dataset, sensitive, max_rows, seed)
        if progress:
            progress(f"seed {seed}: teacher")
        teacher = FairDiscoGenerator(epochs, batch_size=batch_size, seed=seed, device=device).fit(train, dataset=ds, sensitive=sensitive)
        teacher_epochs = list(teacher.teacher_.history["seconds"])
        times = {("ours", "teacher"): (teacher.fit_seconds_, teacher_epochs),
                 ("fldgm", "teacher"): (teacher.fit_seconds_, teacher_epochs)}
        if progress:
            progress(f"seed {seed}: student")
        ours = FairLatentDistillation(teacher_epochs=epochs, student_epochs=epochs, batch_size=batch_size,
                                      seed=seed, device=device)
        # Reuse the timed teacher: only the student is trained and timed here.
        x, s = teacher.x_, teacher.s_
        ours.prepare(train, dataset=ds, sensitive=sensitive)
        ours.teacher_ = teacher.teacher_
        with stopwatch(ours, "student_seconds_"):
            ours.fit_student(x, s)
        times[("ours", "student")] = (ours.student_seconds_, list(ours.student_history_["seconds"]))
        if progress:
            progress(f"seed {seed}: fldgm diffusion")
        fldgm = FLDGM(epochs, teacher=teacher, seed=seed, device=device).fit(train, dataset=ds, sensitive=sensitive)
        times[("fldgm", "diffusion")] = (fldgm.diffusion_seconds_, fldgm.diffusion_.epoch_seconds)
        for method, cls in (("tabfairgan", TabFairGAN), ("decaf", Decaf)):
            if progress:
                progress(f"seed {seed}: {method}")
            model = cls(epochs=epochs, seed=seed, device=device).fit(train, dataset=ds, sensitive=sensitive)
            times[(method, "gan")] = (model.fit_seconds_, [h["seconds"] for h in model.history_])
        if progress:
            progress(f"seed {seed}: tabfairgdt")
        trees = TabFairGDT(seed=seed).fit(train, dataset=ds, sensitive=sensitive)
        times[("tabfairgdt", "trees")] = (trees.fit_seconds_, [])
        for (method, stage), (seconds, per_epoch) in times.items():
            published = published_epochs(stage, method, dataset)
            setup, steady = split_time(seconds, per_epoch) if per_epoch else (float(seconds), 0.0)
            rows_out.append({"seed": seed, "method": method, "stage": stage, "seconds": seconds,
                             "epochs": epochs if per_epoch else 0,
                             "setup_seconds": setup, "seconds_per_epoch": steady, "published_epochs": published,
                             "projected_seconds": setup + steady * published})
    return pd.DataFrame(rows_out)


def totals(times: pd.DataFrame, column: str = "seconds") -> pd.DataFrame:
    """Per (seed, method): the sum of its stages' ``column`` (measured or projected seconds)."""
    return times.groupby(["seed", "method"], sort=False)[column].sum().unstack("method")


def ratios(times: pd.DataFrame) -> pd.DataFrame:
    """One row per other method: mean seconds (measured and projected), the ratio
    (T_other − T_ours)/T_ours (mean ± std over seeds) for both, the share reading
    (T_other − T_ours)/T_other (projected), and the paper's claim (NaN for a method not in the
    paper, listed after the paper's)."""
    out = []
    for column, tag in (("seconds", "measured"), ("projected_seconds", "projected")):
        total = totals(times, column)
        for method in [m for m in GENERATORS if m != "ours" and m in total.columns]:
            relative = (total[method] - total["ours"]) / total["ours"]
            share = (total[method] - total["ours"]) / total[method]
            out.append({"method": method, "timing": tag, "ours_seconds": total["ours"].mean(),
                        "other_seconds": total[method].mean(), "ratio_mean": relative.mean(),
                        "ratio_std": relative.std(ddof=1) if len(relative) > 1 else 0.0,
                        "share_mean": share.mean(), "paper_claim": PAPER_CLAIMS.get(method, float("nan"))})
    return pd.DataFrame(out)


def ratio_table(times: pd.DataFrame) -> pd.DataFrame:
    """``ratios`` formatted for the book: percentages with the paper's claim beside ours."""
    table = ratios(times)
    return pd.DataFrame({
        "compared with": table.method.map(LABELS),
        "timing": table.timing,
        "ours (s)": table.ours_seconds.map(lambda v: f"{v:.1f}"),
        "other (s)": table.other_seconds.map(lambda v: f"{v:.1f}"),
        "(T_other − T_ours)/T_ours": [f"{m:+.0%} ± {s:.0%}" for m, s in zip(table.ratio_mean, table.ratio_std)],
        "(T_other − T_ours)/T_other": table.share_mean.map(lambda v: f"{v:+.0%}"),
        "paper claim": table.paper_claim.map(lambda v: "not in the paper" if v != v else f"{v:+.0%}"),
    })


def device_record(device: str) -> dict[str, str]:
    """What the timings ran on: device string, CPU threads, GPU name (or "none")."""
    import os
    import platform

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return {"device": device, "torch_threads": str(torch.get_num_threads()), "cpu_count": str(os.cpu_count()),
            "machine": platform.machine(), "gpu": gpu, "gpu_used": str(device.startswith("cuda"))}


def runtime_figure(times: pd.DataFrame):
    """Bar chart: mean seconds per method (stages stacked), ±1 std error bars over seeds;
    left measured at the run's epochs, right projected to the publications' schedules (log scale).
    Generators the paper does not compare with follow a dashed line."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    colours = {"teacher": "#4c72b0", "student": "#55a868", "diffusion": "#c44e52", "gan": "#8172b2", "trees": "#17becf"}
    for ax, column, title in ((axes[0], "seconds", "measured (run's epochs)"),
                              (axes[1], "projected_seconds", "projected to the publications' epochs")):
        methods = [m for m in GENERATORS if m in set(times.method)]
        labelled: set[str] = set()
        for i, method in enumerate(methods):
            bottom = 0.0
            part = times[times.method == method]
            for stage in STAGES[method]:
                mean = part[part.stage == stage][column].mean()
                ax.bar(i, mean, bottom=bottom, color=colours[stage], label=None if stage in labelled else stage)
                labelled.add(stage)
                bottom += mean
            total = part.groupby("seed")[column].sum()
            ax.errorbar(i, total.mean(), yerr=total.std(ddof=1) if len(total) > 1 else 0.0, color="black", capsize=4)
        beyond = [i for i, m in enumerate(methods) if m in BEYOND_PAPER]
        if beyond and beyond[0] > 0:
            ax.axvline(beyond[0] - 0.5, color="#555555", ls="--", lw=0.8)
        ax.set_xticks(range(len(methods)), [LABELS[m] for m in methods], rotation=15, ha="right")
        ax.set_ylabel("training time (s)")
        ax.set_title(title)
        if column == "projected_seconds":
            ax.set_yscale("log")
    handles = {}
    for ax in axes:
        for h, l in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(l, h)
    fig.legend(handles.values(), handles.keys(), loc="upper center", ncol=5, frameon=False, bbox_to_anchor=(0.5, 1.04))
    fig.tight_layout()
    return fig


def comparison_fit_seconds(results=None) -> pd.DataFrame:
    """``<method>/fit_seconds`` of the comparison runs' results records (mean, std, n), if any."""
    from fairnb.records import read_records

    rows = []
    for record in read_records("comparison", results):
        params = record.get("parameters", {})
        for name, value in (record.get("metrics") or {}).items():
            method, _, metric = name.rpartition("/")
            if metric == "fit_seconds" and isinstance(value, dict) and value.get("mean") is not None:
                rows.append({"run": record.get("run"), "dataset": params.get("dataset"), "sensitive": params.get("sensitive"),
                             "method": method, "mean": value["mean"], "std": value.get("std"), "n": value.get("n"),
                             "device": record.get("device"), "profile": record.get("profile")})
    return pd.DataFrame(rows, columns=["run", "dataset", "sensitive", "method", "mean", "std", "n", "device", "profile"])
