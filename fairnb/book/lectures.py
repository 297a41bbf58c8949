"""The cross-dataset part of every lecture: one table, one figure and the compute time of a stage,
built from the results records of all its runs (every dataset × sensitive attribute side by side).

``write_lectures`` writes, for each stage of ``STAGES``, into ``book/generated/lectures/``:

- ``<stage>-table.md``: rows (dataset, sensitive attribute, method), columns the stage's headline
  metrics as mean ± std over repetitions, and the profile of the records (never mixed silently);
- ``<stage>.png`` and ``<stage>-figure.md``: the first headline metric per run and method, mean ± std;
- ``<stage>-time.md``: the stage's compute time (sum and range of the runs' wall-clock seconds).

A lecture page includes these files, so none of its numbers is typed by hand. A stage without
records gets a short note that says which command creates them. A method with a degenerate repetition is named
"⚠ degenerate k/n" in the table, so its ratios are not read as fair: by the claims ledger's rule
(``fairnb.book.claims.row_degeneracy``) for the stages that score a classifier, elsewhere by the run's own
``<method>/degenerate`` values. A mean ± std may break before its ± only, and the figures are drawn at the width
of the book's text column, so their labels print at their size; a table sits in a ``fairnb-lecture-table``
container (``book/_static/fairnb.css`` sets it compact enough for the column). Methods the paper does not compare (TabFairGDT) come last, labelled "(not in the paper)".

``write_pareto`` writes the Pareto lecture's files from the ``pareto``, ``comparison``,
``fair_synthesis`` and ``runtime`` records (``fairnb.paper000.pareto``): ``pareto-figure.md`` and
``pareto.png`` (every generator's front, one panel per run), ``pareto-table.md`` (the seed-by-seed
verdicts, our method against TabFairGDT), ``pareto-time.md`` and ``pareto-worth.md`` (the generated
answer to "is the method still worth it?").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from fairnb.paper000 import names
from fairnb.paper000.runtime import LABELS as runtime_labels
from fairnb.records import read_records
from fairnb.viz.format import mean_std

LECTURES = Path(__file__).resolve().parents[2] / "book" / "generated" / "lectures"


@dataclass(frozen=True)
class Stage:
    """A stage lecture: the template whose runs it summarises and what its table shows.

    Metrics of a run are named ``<method>/<metric>`` (or ``<metric>`` where a run has one method);
    ``methods`` lists the methods shown, in order, with their display labels.
    """

    template: str
    metrics: tuple[str, ...]
    methods: tuple[tuple[str, str], ...] = (("", ""),)
    metric_labels: tuple[tuple[str, str], ...] = ()

    def label(self, metric: str) -> str:
        return dict(self.metric_labels).get(metric, metric)


_FAIRNESS = (("dpr", "DPR"), ("eor", "EOR"), ("accuracy", "ACC"), ("f1", "F1"), ("density", "Density"), ("coverage", "Coverage"))
_P002 = (("balanced_accuracy", "BalAcc"), ("abs_eq_opp", "|EOD|"), ("abs_avg_odds", "|AOD|"), ("abs_spd", "|SPD|"))

STAGES: dict[str, Stage] = {
    "fair_representation": Stage("fair_representation", ("dpr", "eor", "accuracy"),
                                 (("beta0", "β = 10⁰"), ("beta7", "β = 10⁷")), _FAIRNESS),
    "distillation": Stage("distillation", ("distance", "mean_gap"), tuple(names.QUALITY_LOSS_LABELS.items()),
                          (("distance", "‖z − z'‖"), ("mean_gap", "mean gap"))),
    "fair_synthesis": Stage("fair_synthesis", ("dpr", "eor", "accuracy", "f1", "density", "coverage"),
                            tuple((m, names.method_label(m)) for m in names.QUALITY_LOSSES + ("fairdisco",)), _FAIRNESS),
    "comparison": Stage("comparison", ("dpr", "eor", "accuracy", "density", "coverage"),
                        tuple((m, names.METHOD_LABELS[m]) for m in ("original", "fairdisco", "tabfairgan", "decaf", "fldgm",
                                                                     "correlation_remover", "threshold_optimizer", "tabfairgdt")),
                        _FAIRNESS),
    "runtime": Stage("runtime", ("measured_seconds", "projected_seconds"),
                     tuple(runtime_labels.items()),
                     (("measured_seconds", "measured s"), ("projected_seconds", "projected s"))),
    "images": Stage("images", ("accuracy", "dpr", "eor"), (("", "generated"), ("real", "real")), _FAIRNESS),
    "fair_translation": Stage("fair_translation", ("fid_translated", "fid_sampled", "fid_noise"), (("", ""),),
                              (("fid_translated", "FID translated"), ("fid_sampled", "FID sampled"), ("fid_noise", "FID noise"))),
    "fair_classifier": Stage("fair_classifier", ("balanced_accuracy", "abs_eq_opp", "abs_avg_odds"),
                             (("baseline", "Plain classifier"), ("ours", "Ours (fair classifier)")), _P002),
}


def _run_label(record: dict[str, Any]) -> tuple[str, str]:
    parameters = record.get("parameters", {})
    return str(parameters.get("dataset", "")), str(parameters.get("sensitive", ""))


def _degenerate_flag(metrics: dict[str, Any], method: str, record: dict[str, Any] | None = None,
                     template: str = "") -> str:
    """" ⚠ degenerate k/n" when k of the method's n repetitions are degenerate, else empty: the claims ledger's
    rule for a ``record`` of a template that scores a classifier, otherwise the run's own flags."""
    from fairnb.book import claims

    if record is not None and method and template in claims.CLASSIFIER_TEMPLATES:
        bad, n, _ = claims.row_degeneracy(record, template, f"{method}/")
        return f" ⚠ degenerate {bad}/{n}" if bad else ""
    entry = metrics.get(f"{method}/degenerate") if method else metrics.get("degenerate")
    values = (entry or {}).get("values") if isinstance(entry, dict) else None
    if not values:
        return ""
    bad = sum(1 for v in values if v is not None and v >= 0.5)
    return f" ⚠ degenerate {bad}/{len(values)}" if bad else ""


def stage_table(stage: Stage, records: list[dict[str, Any]]) -> pd.DataFrame:
    """Tidy table: dataset, sensitive, method, metric, mean, std, n, profile, flag (one row per value
    found; ``flag`` is " ⚠ degenerate k/n" for a method with degenerate repetitions in that run)."""
    rows = []
    for record in records:
        dataset, sensitive = _run_label(record)
        metrics = record.get("metrics", {})
        for method, method_label in stage.methods:
            flag = _degenerate_flag(metrics, method, record, stage.template)
            for metric in stage.metrics:
                value = metrics.get(f"{method}/{metric}" if method else metric)
                if value is None:
                    continue
                rows.append({"dataset": dataset, "sensitive": sensitive, "method": method_label or "—", "metric": metric,
                             "mean": value.get("mean"), "std": value.get("std"), "n": value.get("n"),
                             "profile": record.get("profile", ""), "flag": flag})
    return pd.DataFrame(rows, columns=["dataset", "sensitive", "method", "metric", "mean", "std", "n", "profile", "flag"])


def display_table(stage: Stage, tidy: pd.DataFrame) -> pd.DataFrame:
    """Rows (dataset, sensitive, method), one column per metric as ``mean ± std``, plus n; a method with
    degenerate repetitions in a run says so in its name."""
    if tidy.empty:
        return pd.DataFrame()
    # "0.724 ±\u00a00.000": a narrow column breaks it before the ± only, never between ± and the std
    tidy = tidy.assign(cell=[mean_std(m, s).replace(" ± ", " ±\u00a0") for m, s in zip(tidy["mean"], tidy["std"])])
    keys = ["dataset", "sensitive", "method"]
    wide = tidy.pivot_table(index=keys, columns="metric", values="cell", aggfunc="first", sort=False)
    # runs in record order, methods in the stage's order within each run
    runs = list(dict.fromkeys(zip(tidy.dataset, tidy.sensitive)))
    methods = list(dict.fromkeys([label for _, label in stage.methods] + list(tidy.method)))
    wide = wide.reindex(sorted(wide.index, key=lambda k: (runs.index(k[:2]), methods.index(k[2]))))
    wide = wide.reindex(columns=[m for m in stage.metrics if m in wide.columns])
    wide.columns = [stage.label(m) for m in wide.columns]
    n = tidy.groupby(keys, sort=False)["n"].max()
    wide["n"] = n.reindex(wide.index).astype("Int64")
    if "flag" in tidy:
        flags = tidy.groupby(keys, sort=False)["flag"].first().fillna("")
        wide.index = pd.MultiIndex.from_tuples([(d, s, m + flags.get((d, s, m), "")) for d, s, m in wide.index], names=keys)
    return wide.reset_index().rename(columns={"sensitive": "sensitive attribute"}).fillna("—")


def stage_figure(stage: Stage, tidy: pd.DataFrame):
    """The stage's first headline metric found, per run (x) and method (marker), mean ± std."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.0, 2.8))  # at 110 dpi, with its legend, about the text column's width: drawn 1:1
    metric = next((m for m in stage.metrics if m in set(tidy["metric"])), None)
    if metric is None:
        plt.close(fig)
        return None
    part = tidy[tidy.metric == metric]
    runs = list(dict.fromkeys(zip(part.dataset, part.sensitive)))
    methods = list(dict.fromkeys(part.method))
    width = 0.8 / max(len(methods), 1)
    for j, method in enumerate(methods):
        rows = part[part.method == method].set_index(["dataset", "sensitive"])
        xs, ys, es = [], [], []
        for i, run in enumerate(runs):
            if run in rows.index:
                xs.append(i - 0.4 + width * (j + 0.5))
                ys.append(float(rows.loc[run, "mean"]))
                es.append(float(rows.loc[run, "std"] or 0.0))
        ax.errorbar(xs, ys, yerr=es, fmt="o", capsize=3, label=method)
    ax.set_xticks(range(len(runs)), [f"{d}\n{s}" if s else d for d, s in runs])
    ax.set_ylabel(stage.label(metric))
    profiles = ", ".join(sorted(set(part.profile)))
    ax.set_title(f"{stage.label(metric)} per run (mean ± std over repetitions; profile: {profiles})", fontsize=9)
    if len(methods) > 1:
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.tight_layout()
    plt.close(fig)
    return fig


def compute_time(records: list[dict[str, Any]]) -> str:
    """One sentence: how many runs, their total and range of wall-clock seconds, profile and device."""
    seconds = [float(r["seconds"]) for r in records if isinstance(r.get("seconds"), (int, float))]
    if not seconds:
        return "No run of this stage has been recorded yet."
    profiles = ", ".join(sorted({str(r.get("profile", "")) for r in records}))
    devices = ", ".join(sorted({str(r.get("device", "")) for r in records if r.get("device")})) or "unknown device"
    return (f"{len(seconds)} run{'s' if len(seconds) > 1 else ''} of this stage took {sum(seconds) / 60:.1f} minutes in all "
            f"({min(seconds):.0f}–{max(seconds):.0f} s each; profile {profiles}; {devices}), as recorded by `fairnb run`.")


def _missing(stage: Stage) -> str:
    return (f"No results records of this stage yet: run `fairnb run --only '{stage.template}*'` "
            "(or `fairnb book`), then rebuild the book.")


def write_lectures(folder: Path | None = None, results: Path | None = None) -> list[Path]:
    """Write the table, figure and compute-time files of every stage (see the module docstring)."""
    from fairnb.runs.execute import atomic_write

    folder = folder or LECTURES
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, stage in STAGES.items():
        records = read_records(name, results)
        tidy = stage_table(stage, records)
        table = display_table(stage, tidy)
        profiles = ", ".join(sorted(set(tidy.profile))) if not tidy.empty else ""
        if table.empty:
            table_md = _missing(stage)
        else:
            table_md = (f"Every run of this stage (profile: {profiles}); cells are mean ± std over the n repetitions.\n\n"
                        "```{container} fairnb-lecture-table\n" + table.to_markdown(index=False) + "\n```")
        atomic_write(folder / f"{name}-table.md", table_md + "\n")
        figure = stage_figure(stage, tidy) if not tidy.empty else None
        if figure is not None:
            figure.savefig(folder / f"{name}.png", dpi=110, bbox_inches="tight")
            figure_md = (f"```{{figure}} /book/generated/lectures/{name}.png\n:name: fig-lecture-{name}\n\n"
                         f"All runs of this stage side by side (profile: {profiles}).\n```")
        else:
            figure_md = _missing(stage)
        atomic_write(folder / f"{name}-figure.md", figure_md + "\n")
        atomic_write(folder / f"{name}-time.md", compute_time(records) + "\n")
        written += [folder / f"{name}-{part}.md" for part in ("table", "figure", "time")]
    return written + write_pareto(folder, results)


def write_pareto(folder: Path | None = None, results: Path | None = None) -> list[Path]:
    """The Pareto lecture's generated files (module docstring), from the records in ``results``."""
    from fairnb.paper000 import pareto
    from fairnb.runs.execute import atomic_write

    folder = folder or LECTURES
    folder.mkdir(parents=True, exist_ok=True)
    records = read_records("pareto", results)
    runs = pareto.recorded_runs(results)
    missing = ("No `pareto` run has a record yet: run `fairnb run --only 'pareto-*'` (after the `comparison` and "
               "`fair_synthesis` runs), then rebuild the book.")
    figure = pareto.front_figure(results, runs) if runs else None
    if figure is not None:
        figure.savefig(folder / "pareto.png", dpi=110, bbox_inches="tight")
        profiles = ", ".join(sorted({str(r.get("profile", "")) for r in records}))
        figure_md = ("```{figure} /book/generated/lectures/pareto.png\n:name: fig-lecture-pareto\n:width: 100%\n\n"
                     "DPR (favourable coding) against accuracy on held-out real records of every generator, mean ± std over "
                     "repetitions, one panel per run (profile: " + profiles + "). Lines join the settings of a sweep (our λ, "
                     "TabFairGDT's lamda); circled points are on the Pareto front of the points that are not degenerate; "
                     "hollow grey points have a degenerate repetition and are not results; diamonds are not in the paper.\n```")
    else:
        figure_md = missing
    frames = [pareto.worth_it(d, s, results) for d, s in runs]
    if frames:
        table = pareto.worth_it_table(pd.concat(frames, ignore_index=True))
        table_md = ("Our L1-KL student against TabFairGDT at each lamda, seed by seed (claims ledger's rule; a difference "
                    "TabFairGDT − ours above 0 means TabFairGDT is higher).\n\n" + table.to_markdown(index=False))
    else:
        table_md = missing
    atomic_write(folder / "pareto-figure.md", figure_md + "\n")
    atomic_write(folder / "pareto-table.md", table_md + "\n")
    atomic_write(folder / "pareto-time.md", compute_time(records) + "\n")
    atomic_write(folder / "pareto-worth.md", pareto.worth_markdown(results, runs) + "\n")
    return [folder / f"pareto-{part}.md" for part in ("figure", "table", "time", "worth")]
