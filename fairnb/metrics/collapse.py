"""Is a trained generator's output collapsed or diverged? And how far are generated rows from held-out ones?

``collapse_check(real, synthetic, dataset)`` compares synthetic records with real ones column by
column and flags a generator whose output has **collapsed** (lost the data's variety) or
**diverged** (left its range). The rule, fixed before looking at any generator's numbers:

- a *categorical* column (the target and the sensitive columns included) is flagged when one
  category takes at least ``mode_share`` (99 %) of the synthetic rows while the real data's most
  common category has less than ``real_mode_share`` (90 %) — mode collapse — or, for a column with at
  most ``max_categories`` (20) categories in the data, when the total variation distance between the
  synthetic and real category shares exceeds ``max_tv`` (0.5) (in a column with hundreds of rare
  categories, such as a charge description, the distance is dominated by the long tail and says
  little about collapse; it is reported, not flagged);
- a *numeric* column is flagged when it holds NaN or infinite values, or when the ratio of the
  synthetic to the real variance leaves [``variance_low``, ``variance_high``] = [0.01, 100]
  (a constant or exploding column) — unless one value holds at least ``real_mode_share`` (90 %) of
  the real column (a zero-inflated count such as a capital gain): like a categorical column whose
  data already has a dominant category, producing only that value is then not a collapse;
- the generator is **collapsed** when at least one column is flagged; ``reasons`` names each.

``moment_distance(real, fake)`` is a cheap validation criterion for generators that produce
encoded rows (one-hot categoricals, scaled numerics), used by the GAN baselines' stopping rule:
the mean absolute difference of the column means plus the mean absolute difference of the
second-moment matrices E[x xᵀ] (which hold every pair of columns' co-occurrence), between
held-out real rows and as many generated rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

THRESHOLDS = {"mode_share": 0.99, "real_mode_share": 0.90, "max_tv": 0.5, "max_categories": 20, "variance_low": 0.01,
              "variance_high": 100.0}
RULE = ("a column is flagged when one category takes ≥ 99 % of the generated rows while the data's most common category "
        "has < 90 %, when the category shares of a column with at most 20 categories are more than 0.5 apart in total "
        "variation, or when a numeric column is "
        "not finite or its variance is below 1/100 (unless one value holds ≥ 90 % of the data's column) or above 100 times "
        "the data's; the generator is flagged collapsed when any column is")


@dataclass
class CollapseReport:
    """Outcome of ``collapse_check``: ``collapsed`` (any column flagged), ``reasons`` (one line per
    flagged column) and ``table`` (one row per column: kind, statistic, value, flagged)."""

    collapsed: bool
    reasons: list[str] = field(default_factory=list)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def _columns(real: pd.DataFrame, dataset, only=None) -> tuple[list[str], list[str]]:
    if dataset is not None:
        from fairnb.data import load

        ds = load(dataset) if isinstance(dataset, str) else dataset
        columns = [c for c in ds.frame.columns if c in real.columns]
        numeric = [c for c in columns if c in set(ds.numeric)]
    else:
        columns = list(real.columns)
        numeric = [c for c in columns if pd.api.types.is_float_dtype(real[c]) or
                   (pd.api.types.is_integer_dtype(real[c]) and real[c].nunique() > 20)]
    if only is not None:
        columns = [c for c in columns if c in set(only)]
        numeric = [c for c in numeric if c in set(only)]
    return columns, numeric


def collapse_check(real: pd.DataFrame, synthetic: pd.DataFrame, dataset=None, *, columns=None,
                   **thresholds: float) -> CollapseReport:
    """Compare ``synthetic`` records with ``real`` ones (module doc); ``dataset`` (a name or a
    ``TabularDataset``) says which columns are numeric (else: float columns and ints with > 20 values);
    ``columns`` restricts the check (default: every column of the dataset found in ``real``)."""
    limits = {**THRESHOLDS, **thresholds}
    columns, numeric = _columns(real, dataset, columns)
    missing = [c for c in columns if c not in synthetic.columns]
    rows, reasons = [], []
    for column in missing:
        rows.append({"column": column, "kind": "missing", "statistic": "present", "value": 0.0, "flagged": True})
        reasons.append(f"{column}: missing from the generated records")
    for column in (c for c in columns if c not in missing):
        if column in numeric:
            values = pd.to_numeric(synthetic[column], errors="coerce").to_numpy(dtype=np.float64)
            reference = pd.to_numeric(real[column], errors="coerce").to_numpy(dtype=np.float64)
            if not np.isfinite(values).all():
                bad = int((~np.isfinite(values)).sum())
                rows.append({"column": column, "kind": "numeric", "statistic": "non-finite values", "value": float(bad), "flagged": True})
                reasons.append(f"{column}: {bad} NaN or infinite values (diverged)")
                continue
            ratio = float(values.var() / reference.var()) if reference.var() > 0 else (1.0 if values.var() == 0 else np.inf)
            dominant = float(pd.Series(reference).value_counts(normalize=True).iloc[0]) >= limits["real_mode_share"]
            flagged = not limits["variance_low"] <= ratio <= limits["variance_high"] and not (dominant and ratio < 1)
            rows.append({"column": column, "kind": "numeric", "statistic": "variance ratio", "value": ratio, "flagged": flagged})
            if flagged:
                reasons.append(f"{column}: variance {ratio:.3g}× the data's"
                               + (" (collapsed)" if ratio < limits["variance_low"] else " (diverged)"))
            continue
        shares = synthetic[column].astype(str).value_counts(normalize=True)
        truth = real[column].astype(str).value_counts(normalize=True)
        categories = truth.index.union(shares.index)
        tv = float(0.5 * (shares.reindex(categories, fill_value=0.0) - truth.reindex(categories, fill_value=0.0)).abs().sum())
        mode = float(shares.iloc[0]) if len(shares) else 0.0
        collapsed = mode >= limits["mode_share"] and float(truth.iloc[0]) < limits["real_mode_share"]
        rows.append({"column": column, "kind": "categorical", "statistic": "largest share", "value": mode, "flagged": collapsed})
        far = tv > limits["max_tv"] and len(truth) <= limits["max_categories"]
        rows.append({"column": column, "kind": "categorical", "statistic": "total variation", "value": tv, "flagged": far})
        if collapsed:
            reasons.append(f"{column}: {shares.index[0]!r} in {mode:.1%} of generated rows (data: at most {float(truth.iloc[0]):.1%})")
        elif far:
            reasons.append(f"{column}: category shares {tv:.2f} apart in total variation")
    table = pd.DataFrame(rows, columns=["column", "kind", "statistic", "value", "flagged"])
    return CollapseReport(bool(reasons), reasons, table)


def moment_distance(real, fake) -> float:
    """Mean |Δ column mean| + mean |Δ E[x xᵀ]| between two encoded matrices (n, d) and (m, d)
    (tensors or arrays; module doc). 0 for identical first and second moments."""
    import torch

    real = torch.as_tensor(real, dtype=torch.float64)
    fake = torch.as_tensor(fake, dtype=torch.float64, device=real.device)
    first = (real.mean(0) - fake.mean(0)).abs().mean()
    second = (real.T @ real / len(real) - fake.T @ fake / len(fake)).abs().mean()
    return float(first + second)
