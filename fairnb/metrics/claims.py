"""The claims ledger's statistics: paired per-seed differences, 95 % intervals and the decision rule.

Pure functions, no I/O: ``fairnb.book.claims`` reads the records and the ledger files
(``fairnb/paper000/reference/claims.csv``, ``fairnb/paper002/reference/claims.csv``) and calls these.
The rule below was written down before any result was looked at; nothing in it is tuned to agree
with a paper.

**What is compared.** A claim says that A is higher (or lower) than B on a metric. Both come from
results records that keep one value per repetition, in seed order. Repetition i of A is paired with
repetition i of B only when both ran with the same seed, hence the same split and, where the two
come from one run, the same teacher. With direction d = +1 ("higher") or −1 ("lower"):

- ``difference``: D_i = d · (A_i − B_i);
- ``relative``:   D_i = d · (A_i − B_i) / |B_i| (a per-seed ratio; a pair with B_i = 0 is dropped).
  "About X % better" is read as *at least half of X*: the claim's threshold is X / 2.
  "Close to" (a Fréchet distance near a reference) is a non-inferiority claim on the same ratio:
  threshold −``CLOSE_TOLERANCE`` (A at most 25 % worse than B);
- ``trend``: D_i = d · slope_i, the least-squares slope of the metric against the swept setting
  (x) within seed i (a seed needs two settings with values);
- ``across`` (the gain of a method is larger on one dataset than on another): the gains
  G_i = d · (A_i − B_i) of two datasets are independent experiments, so their means are compared
  unpaired (Welch).

**Interval.** A two-sided 95 % Student-t interval of the mean of the D_i (``t_interval``), or Welch's
t interval of a difference of two means (``welch_interval``). No bootstrap: with three to ten
repetitions a bootstrap interval is too narrow.

**Decision** (``decide``), with the claim's threshold θ (0 unless the ledger row states one):

- fewer than ``MIN_PAIRS`` (2) pairs → *inconclusive* ("too few repetitions");
- lower bound > θ → *supported*;
- upper bound < θ → *contradicted* (the data credibly say the reverse of the claim);
- otherwise (the interval contains θ) → *inconclusive at this profile*.

A claim made of several comparisons (A best of several, every row fairer than B, a dataset's gain
larger than each other's) holds only when every comparison holds (``combine``): supported when all
are supported, contradicted when any is contradicted, otherwise inconclusive. A comparison whose
pairs are all degenerate (below) counts neither way: it is left out and named; when every comparison
is left out the claim's verdict is *degenerate*.

**Degenerate rows never count.** A (method, seed) is *degenerate*, and every pair it is part of is
dropped before the interval is computed, when

- its downstream classifier is near-constant: in every group the predicted-positive rate is below
  ``NEAR_CONSTANT_RATE`` (2 %), or in every group above 1 − ``NEAR_CONSTANT_RATE``
  (``near_constant``);
- where a record does not report the rates: its balanced accuracy is within ``CHANCE_MARGIN``
  (0.01) of 0.5, what a constant classifier scores (``chance_level``), or its recall (share of actual
  positives predicted positive) is below ``NEAR_CONSTANT_RATE`` or above 1 − ``NEAR_CONSTANT_RATE``,
  as a near-constant classifier's is (``extreme_recall``);
- its generator collapsed: the coverage of its records is below ``COLLAPSED_COVERAGE`` (fewer than
  1 % of the real records have a synthetic record among their k nearest neighbours; coverage is the
  mode-dropping detector of Naeem et al. 2020) (``collapsed``);
- or its run flags it (a ``degenerate`` metric equal to 1).

A (method, seed) found degenerate under one label coding is left out under both (the two codings
score the same classifier). When every pair of a comparison is dropped this way, its verdict is
*degenerate*, not a score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

LEVEL = 0.95
MIN_PAIRS = 2
CLOSE_TOLERANCE = 0.25
NEAR_CONSTANT_RATE = 0.02
CHANCE_MARGIN = 0.01
COLLAPSED_COVERAGE = 0.01

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
INCONCLUSIVE = "inconclusive"
DEGENERATE = "degenerate"
NOT_EVALUATED = "not evaluated"
VERDICTS = (SUPPORTED, CONTRADICTED, INCONCLUSIVE, DEGENERATE, NOT_EVALUATED)
DIRECTIONS = {"higher": 1.0, "lower": -1.0}
RULES = ("difference", "relative", "trend", "across")


@dataclass(frozen=True)
class Interval:
    """Mean of the compared quantity with a two-sided interval; ``low``/``high`` are NaN below two values."""

    mean: float
    low: float
    high: float
    n: int
    kind: str


def _finite(values: Iterable[float | None]) -> np.ndarray:
    array = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    return array[np.isfinite(array)]


def sign(direction: str) -> float:
    """+1 for ``higher``, −1 for ``lower``; anything else raises ``ValueError``."""
    try:
        return DIRECTIONS[direction]
    except KeyError:
        raise ValueError(f"direction {direction!r}: expected one of {', '.join(DIRECTIONS)}") from None


def t_interval(values: Iterable[float | None], level: float = LEVEL) -> Interval:
    """Student-t interval of the mean of ``values`` (missing and non-finite values dropped).

    One value gives its mean with a NaN interval; none gives NaN throughout. Identical values give a
    zero-width interval at their mean.
    """
    from scipy import stats

    array = _finite(values)
    n = int(array.size)
    kind = f"t {level:.0%}"
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, kind)
    mean = float(array.mean())
    if n < 2:
        return Interval(mean, math.nan, math.nan, n, kind)
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * array.std(ddof=1) / math.sqrt(n))
    return Interval(mean, mean - half, mean + half, n, kind)


def welch_interval(first: Iterable[float | None], second: Iterable[float | None], level: float = LEVEL) -> Interval:
    """Welch's t interval of mean(first) − mean(second) (unpaired; ``n`` is the smaller sample)."""
    from scipy import stats

    a, b = _finite(first), _finite(second)
    n = int(min(a.size, b.size))
    kind = f"Welch t {level:.0%} (unpaired)"
    if a.size == 0 or b.size == 0:
        return Interval(math.nan, math.nan, math.nan, n, kind)
    mean = float(a.mean() - b.mean())
    if n < 2:
        return Interval(mean, math.nan, math.nan, n, kind)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    if se == 0.0:
        return Interval(mean, mean, mean, n, kind)
    df = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))
    half = float(stats.t.ppf(0.5 + level / 2, df) * se)
    return Interval(mean, mean - half, mean + half, n, kind)


def paired_differences(a: Sequence[float | None], b: Sequence[float | None], direction: str = "higher",
                       relative: bool = False) -> np.ndarray:
    """D_i = d · (a_i − b_i), or d · (a_i − b_i) / |b_i| when ``relative``, for the pairs where both
    are finite (and b_i ≠ 0 when relative). ``a`` and ``b`` are aligned by position (seed)."""
    if len(a) != len(b):
        raise ValueError(f"paired values need equal lengths, got {len(a)} and {len(b)}")
    d = sign(direction)
    x = np.array([np.nan if v is None else float(v) for v in a], dtype=float)
    y = np.array([np.nan if v is None else float(v) for v in b], dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    if relative:
        keep &= y != 0
        return d * (x[keep] - y[keep]) / np.abs(y[keep])
    return d * (x[keep] - y[keep])


def slope(x: Sequence[float], y: Sequence[float | None]) -> float:
    """Least-squares slope of y on x over the finite points; NaN with fewer than two distinct x."""
    xs = np.asarray(x, dtype=float)
    ys = np.array([np.nan if v is None else float(v) for v in y], dtype=float)
    keep = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[keep], ys[keep]
    if np.unique(xs).size < 2:
        return math.nan
    xc = xs - xs.mean()
    return float((xc * (ys - ys.mean())).sum() / (xc ** 2).sum())


def decide(interval: Interval, threshold: float = 0.0) -> tuple[str, str]:
    """(verdict, reason) of one comparison by the rule in the module docstring."""
    if interval.n < MIN_PAIRS or not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return INCONCLUSIVE, f"too few repetitions (n = {interval.n}, at least {MIN_PAIRS} needed)"
    if interval.low > threshold:
        return SUPPORTED, f"interval above {threshold:+g}"
    if interval.high < threshold:
        return CONTRADICTED, f"interval below {threshold:+g}"
    return INCONCLUSIVE, f"interval contains {threshold:+g}"


def combine(verdicts: Iterable[str]) -> str:
    """One verdict for a claim made of several comparisons.

    Any comparison not evaluated → not evaluated. Degenerate comparisons are left out; if nothing
    else is left → degenerate. Of the rest: any contradicted → contradicted; else any inconclusive →
    inconclusive; else supported. An empty list is not evaluated.
    """
    found = list(verdicts)
    if not found or NOT_EVALUATED in found:
        return NOT_EVALUATED
    counted = [v for v in found if v != DEGENERATE]
    if not counted:
        return DEGENERATE
    for verdict in (CONTRADICTED, INCONCLUSIVE):
        if verdict in counted:
            return verdict
    return SUPPORTED


def near_constant(rates: Iterable[float | None], epsilon: float = NEAR_CONSTANT_RATE) -> bool:
    """True when every group's predicted-positive rate is < ε, or every one is > 1 − ε (missing
    rates are ignored; no rate at all is False)."""
    array = _finite(rates)
    if array.size == 0:
        return False
    return bool(np.all(array < epsilon) or np.all(array > 1 - epsilon))


def chance_level(balanced_accuracy: float | None, margin: float = CHANCE_MARGIN) -> bool:
    """True when |balanced accuracy − 0.5| ≤ margin (a constant classifier scores exactly 0.5)."""
    return balanced_accuracy is not None and math.isfinite(balanced_accuracy) and abs(balanced_accuracy - 0.5) <= margin


def extreme_recall(recall: float | None, epsilon: float = NEAR_CONSTANT_RATE) -> bool:
    """True when recall < ε or > 1 − ε: (almost) every actual positive gets the same prediction."""
    return recall is not None and math.isfinite(recall) and (recall < epsilon or recall > 1 - epsilon)


def collapsed(coverage: float | None, floor: float = COLLAPSED_COVERAGE) -> bool:
    """True when the generator's coverage is below ``floor``."""
    return coverage is not None and math.isfinite(coverage) and coverage < floor


def degenerate_repetitions(metrics: Mapping[str, Any], prefix: str, plain: str | None = None,
                           coding: str | None = None) -> dict[int, list[str]]:
    """The one degeneracy rule applied to a results record: repetition index → reasons, for method ``prefix``
    (``"l1/"``, ``"baseline/"``) of a record's ``metrics`` (``{name: {"values": [...], ...}}``).

    Reads, per repetition: the run's own flag (``degenerate``); the groups' predicted-positive rates
    (``positive_rate_*``, ``near_constant``); where a record reports no rates, the balanced accuracy
    (``chance_level``) or else the recall (``extreme_recall``); the coverage (``collapsed``). Coded names are
    read under ``coding`` (default: ``plain``, the coding of the record's unprefixed names,
    ``fairnb.records.plain_coding``). Every page that flags a degenerate row calls this, so no two pages can
    disagree (module doc).
    """
    from fairnb.records import per_seed

    coding = coding or plain

    def coded(name: str) -> str:
        return name if coding is None or coding == plain else f"{coding}_{name}"

    def series(name: str) -> list[float | None]:
        return per_seed(metrics.get(prefix + name))

    found: dict[int, list[str]] = {}

    def flag(values: list[float | None], test: Callable[[float | None], bool], reason: str) -> None:
        for i, value in enumerate(values):
            if test(value):
                found.setdefault(i, []).append(reason)

    for name in dict.fromkeys(("degenerate", coded("degenerate"))):
        flag(series(name), lambda v: v is not None and v >= 0.5, "flagged degenerate by its run")
    rate_names = sorted(n[len(prefix):] for n in metrics if n.startswith(prefix + coded("positive_rate_")))
    if rate_names:
        columns = [series(n) for n in rate_names]
        for i in range(max(len(c) for c in columns)):
            if near_constant([c[i] if i < len(c) else None for c in columns]):
                found.setdefault(i, []).append(f"near-constant classifier: positive rate < {NEAR_CONSTANT_RATE:g} or > "
                                               f"{1 - NEAR_CONSTANT_RATE:g} in every group")
    elif balanced := series(coded("balanced_accuracy")):
        flag(balanced, chance_level,
             f"chance-level classifier: balanced accuracy 0.5 ± {CHANCE_MARGIN:g} (no group rates recorded)")
    else:
        flag(series(coded("recall")), extreme_recall, f"near-constant classifier: recall < {NEAR_CONSTANT_RATE:g} or > "
                                                      f"{1 - NEAR_CONSTANT_RATE:g} (no group rates recorded)")
    flag(series("coverage"), collapsed, f"collapsed generator: coverage < {COLLAPSED_COVERAGE:g}")
    return found
