"""Our baselines side by side with their authors' packages (optional extra ``peers``).

``compare_tabfairgan`` fits our ``TabFairGAN`` and the authors' ``tabfairgan`` package (PyPI
0.1.0, ``TFG``) on the same training rows, with the same epochs, fairness epochs and λ_f, for
several seeds, and scores both the same way:

- ``dp_gap``: the demographic-parity gap of the generated records themselves,
  |P(y = favourable | privileged) − P(y = favourable | unprivileged)|;
- ``accuracy`` and ``dpr``: a classifier trained on the generated records and tested on held-out
  real records (``fairnb.metrics.downstream.evaluate``, class 1 = favourable).

Agreement rule (fixed before any comparison was run): for each metric, the two implementations
agree when |mean_ours − mean_authors| ≤ max(2 · pooled std, ``FLOOR``), the pooled std being
sqrt((s²_ours + s²_authors) / 2) over the seeds — ``fairnb.metrics.agreement.within``.

The authors' package draws everything from torch's and NumPy's global generators; each of its
fits is seeded with ``torch.manual_seed(seed)`` and ``np.random.seed(seed)``, its sampling with
``torch.manual_seed(seed + 1)``. Its output (floats for integer columns, strings for categories)
is put into the dataset's schema exactly as ours is (``restore_schema``).
"""

from __future__ import annotations

import contextlib
import io
from typing import Iterable

import numpy as np
import pandas as pd
import torch

from fairnb.data import TabularDataset
from fairnb.paper000.baselines.base import resolve_dataset, restore_schema
from fairnb.paper000.baselines.tabfairgan import TabFairGAN

METRICS = ("dp_gap", "accuracy", "dpr")
FLOOR = 0.02
PEER_VERSION = "0.1.0"


def authors_tabfairgan(train: pd.DataFrame, dataset: TabularDataset, sensitive: str, epochs: int, fair_epochs: int,
                       lambda_fair: float, seed: int, n: int, batch_size: int = 256) -> pd.DataFrame:
    """Fit the authors' ``tabfairgan.TFG`` on ``train`` and return ``n`` records in the dataset's schema.

    Categorical, sensitive and target columns are passed as object (string) columns, numeric ones
    as numbers — the split the authors' code makes by dtype. The favourable label is "1" and the
    unprivileged group the non-privileged value of ``sensitive`` (binary attributes only).
    """
    from tabfairgan import TFG

    categorical = list(dataset.categorical) + list(dataset.sensitive) + [dataset.target]
    frame = train[list(dataset.frame.columns)].reset_index(drop=True).copy()
    for column in categorical:
        frame[column] = frame[column].astype(str).astype(object)
    groups = sorted(frame[sensitive].unique())
    if len(groups) != 2:
        raise ValueError(f"the authors' TabFairGAN needs a binary sensitive attribute; {sensitive} has {groups}")
    unprivileged = [g for g in groups if g != str(dataset.privileged[sensitive])][0]
    config = {"fair_epochs": int(fair_epochs), "lamda": float(lambda_fair), "S": sensitive, "Y": dataset.target,
              "S_under": unprivileged, "Y_desire": "1"}
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = TFG(frame, epochs=int(epochs), batch_size=batch_size, device="cpu", fairness_config=config if fair_epochs else None)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        model.train()
    torch.manual_seed(seed + 1)
    fake = model.generate_fake_df(num_rows=n)
    return restore_schema(fake, dataset)


def ours_tabfairgan(train: pd.DataFrame, dataset: TabularDataset, sensitive: str, epochs: int, fair_epochs: int,
                    lambda_fair: float, seed: int, n: int) -> pd.DataFrame:
    """Fit our ``TabFairGAN`` (CPU) and return ``n`` records."""
    model = TabFairGAN(epochs=epochs, fair_epochs=fair_epochs, lambda_fair=lambda_fair, seed=seed, device="cpu")
    return model.fit(train, dataset=dataset, sensitive=sensitive).sample(n)


def dp_gap(records: pd.DataFrame, dataset: TabularDataset, sensitive: str) -> float:
    """|P(y = 1 | privileged) − P(y = 1 | unprivileged)| in ``records`` (NaN if a group is absent)."""
    privileged = records[sensitive].astype(str) == str(dataset.privileged[sensitive])
    y = records[dataset.target].to_numpy(dtype=np.float64)
    if privileged.all() or not privileged.any():
        return float("nan")
    return float(abs(y[privileged.to_numpy()].mean() - y[~privileged.to_numpy()].mean()))


def score_records(records: pd.DataFrame, test: pd.DataFrame, dataset: TabularDataset, sensitive: str, seed: int,
                  classifier: str = "random_forest") -> dict[str, float]:
    """``dp_gap`` of the records, and accuracy / DPR of a classifier trained on them, tested on ``test``."""
    from fairnb.metrics.downstream import evaluate

    out = {"dp_gap": dp_gap(records, dataset, sensitive), "accuracy": float("nan"), "dpr": float("nan")}
    if records[dataset.target].nunique() > 1:
        scores = evaluate(records, test, dataset.name, sensitive, classifier, "favourable", seed)
        out.update(accuracy=scores["accuracy"], dpr=scores["dpr"])
    return out


def compare_tabfairgan(dataset: str = "adult", sensitive: str = "sex", max_rows: int = 3000, epochs: int = 30,
                       fair_epochs: int = 10, lambda_fair: float = 0.5, seeds: Iterable[int] = (0, 1, 2),
                       classifier: str = "random_forest", test_rows: int = 5000) -> pd.DataFrame:
    """Per (implementation, seed): the three ``METRICS``, both implementations fitted on the same rows.

    Repetition ``seed`` uses the seeded 80/20 split of our runs (``fairnb.paper000.study.prepare_data``
    with seed 0, training part cut to ``max_rows``), so only the generators' seeds vary; the test
    part is cut to ``test_rows`` seeded rows. Both generators draw as many records as there are
    training rows.
    """
    from fairnb.paper000.study import prepare_data

    ds = resolve_dataset(dataset)
    train, test = prepare_data(ds.name, sensitive, max_rows, 0)
    if test_rows and len(test) > test_rows:
        test = test.sample(n=test_rows, random_state=0).reset_index(drop=True)
    rows = []
    for seed in seeds:
        for name, fit in (("ours", ours_tabfairgan), ("authors", authors_tabfairgan)):
            records = fit(train, ds, sensitive, epochs, fair_epochs, lambda_fair, int(seed), len(train))
            rows.append({"implementation": name, "seed": int(seed), **score_records(records, test, ds, sensitive, int(seed), classifier)})
    return pd.DataFrame(rows)


def agreement(values: pd.DataFrame, floor: float = FLOOR) -> pd.DataFrame:
    """One row per metric: mean and std of each implementation, the difference, the pooled std,
    the tolerance max(2 · pooled std, ``floor``) and whether they agree."""
    from fairnb.metrics.agreement import tolerance, within

    rows = []
    for metric in METRICS:
        ours = values.loc[values.implementation == "ours", metric].to_numpy(dtype=float)
        theirs = values.loc[values.implementation == "authors", metric].to_numpy(dtype=float)
        pooled = float(np.sqrt((np.nanvar(ours, ddof=1) + np.nanvar(theirs, ddof=1)) / 2))
        difference = float(np.nanmean(ours) - np.nanmean(theirs))
        rows.append({"metric": metric, "ours_mean": float(np.nanmean(ours)), "ours_std": float(np.nanstd(ours, ddof=1)),
                     "authors_mean": float(np.nanmean(theirs)), "authors_std": float(np.nanstd(theirs, ddof=1)),
                     "difference": difference, "pooled_std": pooled, "tolerance": float(tolerance(pooled, floor)),
                     "agree": bool(within(difference, pooled, floor))})
    return pd.DataFrame(rows)
