"""Mergeable statistics of the current window: summarise it batch by batch, merge, then judge.

The window need not be one DataFrame: each batch of rows becomes a `WindowSummary` (per column
a fixed-size summary), summaries add up (`merge`), and the feature-drift verdicts come from the
merged summary against the champion's reference statistics (`retrain.drift.reference`).

- categorical columns: non-null value counts. Merging adds counts: exact, and every
  categorical method gives what the one-shot computation gives.
- numeric columns: exact value counts while the column has at most `EXACT_VALUES` distinct
  values (then every method is exact too); past that, counts on bins fixed by the reference
  (its quantile knots, plus `TAIL_BINS` bins of a 40th of its std beyond each end, plus the
  window's own min and max), with the values spread evenly within a bin. Normed Wasserstein
  from those bins is then within about 1e-3 (of the reference std) of the one-shot value on
  data like the benchmark's (tests/unit/test_window_stats.py checks 2e-3); K-S, PSI, KL and
  Jensen-Shannon on a continuous column are approximate in the same way.

Memory per numeric column is about (QUANTILES + 2 * TAIL_BINS) counts, whatever the rows.

Every feature column also gets its `ColumnFacts` (dtype, rows, nulls: what validation and the
missing-value monitoring read), with or without reference statistics: a window with no
champion yet is validated from the same summary.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from retrain.config import Columns, DataSource, DriftThresholds
from retrain.data.s3 import Window, WindowBatches
from retrain.drift.measures import (
    CATEGORICAL_FROM_STATS,
    NUMERIC_FROM_STATS,
    binned_score,
    categorical_score,
    sturges_edges,
)
from retrain.drift.reference import (
    CategoricalStats,
    Frame,
    NumericStats,
    ReferenceStats,
    finite_values,
    frame_rows,
)
from retrain.drift.report import Plan
from retrain.drift.verdict import ColumnDrift, empty_verdict, feature_plan, finite_counts, verdict

EXACT_VALUES = 2000
TAIL_BINS = 400
_FEW_VALUES = 20


@dataclass
class ColumnFacts:
    """What validation reads of a feature column: its dtype, rows and nulls (pandas' isna)."""

    dtype: str
    numeric: bool  # a numeric dtype, as pandas says (booleans included)
    rows: int
    missing: int
    numbers_as_text: bool = False  # non-numeric, yet its first non-null values parse as numbers
    boolean: bool = False

    @classmethod
    def of(
        cls, series: pd.Series, *, numeric_feature: bool = False, missing: int | None = None
    ) -> ColumnFacts:
        """The facts of a column; `missing` when already counted (value counts of a
        categorical), the text-as-numbers hint only for a numeric feature."""
        numeric = bool(pd.api.types.is_numeric_dtype(series))
        as_text = False
        if numeric_feature and not numeric:
            head = series.dropna().head(1000)
            parsed = pd.to_numeric(head, errors="coerce")
            as_text = bool(len(parsed) and parsed.notna().all())
        missing = int(series.isna().sum()) if missing is None else missing
        boolean = bool(pd.api.types.is_bool_dtype(series))
        return cls(str(series.dtype), numeric, len(series), missing, as_text, boolean)

    @property
    def number(self) -> bool:
        """Numeric and not boolean: values drift as a distribution of numbers."""
        return self.numeric and not self.boolean

    def merge(self, other: ColumnFacts) -> ColumnFacts:
        """Facts of both batches, typed as concatenating them would type the column."""
        if not other.rows:
            return self
        if not self.rows:
            return other
        boolean = self.boolean and other.boolean
        if self.dtype == other.dtype:
            dtype, numeric = self.dtype, self.numeric
        elif self.number and other.number:
            dtype, numeric = str(np.result_type(self.dtype, other.dtype)), True
        else:
            dtype, numeric, boolean = "object", False, False
        return ColumnFacts(
            dtype,
            numeric,
            self.rows + other.rows,
            self.missing + other.missing,
            (self.numbers_as_text or other.numbers_as_text) and not numeric,
            boolean,
        )

    @property
    def null_rate(self) -> float:
        return self.missing / self.rows if self.rows else math.nan


@dataclass
class NumericSummary:
    """A numeric column's finite values: exact counts while few, else counts on fixed bins."""

    edges: np.ndarray = field(repr=False)  # fixed by the reference
    binned: np.ndarray = field(repr=False)  # len(edges) + 1: below, between each pair, above
    rows: int = 0  # finite values
    nulls: int = 0  # nulls and infinities
    low: float = math.inf
    high: float = -math.inf
    exact: dict[float, int] | None = field(default_factory=dict, repr=False)

    def add(self, values: np.ndarray, nulls: int) -> None:
        """Count a batch's finite values (in any order; sorted here, in place)."""
        self.rows += len(values)
        self.nulls += nulls
        if not len(values):
            return
        values.sort()  # then each bin's count is a difference of positions: ~3x faster
        self.low, self.high = min(self.low, values[0]), max(self.high, values[-1])
        below = np.searchsorted(values, self.edges, side="left")  # values < each edge
        self.binned += np.diff(below, prepend=0, append=len(values))
        if self.exact is not None:
            distinct, counts = np.unique(values, return_counts=True)
            if len(distinct) > EXACT_VALUES:
                self.exact = None
                return
            for value, count in zip(distinct.tolist(), counts.tolist(), strict=True):
                self.exact[value] = self.exact.get(value, 0) + count
            if len(self.exact) > EXACT_VALUES:
                self.exact = None

    def merge(self, other: NumericSummary) -> NumericSummary:
        if not np.array_equal(self.edges, other.edges):
            raise ValueError("numeric summaries on different bins cannot be merged")
        exact = None
        if self.exact is not None and other.exact is not None:
            exact = dict(self.exact)
            for value, count in other.exact.items():
                exact[value] = exact.get(value, 0) + count
            if len(exact) > EXACT_VALUES:
                exact = None
        return NumericSummary(
            self.edges,
            self.binned + other.binned,
            self.rows + other.rows,
            self.nulls + other.nulls,
            min(self.low, other.low),
            max(self.high, other.high),
            exact,
        )

    def cdf(self) -> tuple[np.ndarray, np.ndarray, bool]:
        """Breakpoints, the CDF at each, and whether it is a step (exact) or linear between."""
        if self.exact is not None:
            values = np.array(sorted(self.exact), dtype="float64")
            counts = np.array([self.exact[v] for v in values.tolist()], dtype="float64")
            return values, np.cumsum(counts) / self.rows, True
        inner = self.edges[(self.edges > self.low) & (self.edges < self.high)]
        points = np.concatenate([[self.low], inner, [self.high]])
        below = np.searchsorted(self.edges, inner, side="left")  # bins strictly below each edge
        cum = np.cumsum(self.binned)
        shares = np.concatenate([[0.0], cum[below] / self.rows, [1.0]])
        return points, shares, False


@dataclass
class CategoricalSummary:
    """A categorical column's non-null value counts (as Evidently sees it)."""

    counts: dict[object, int] = field(default_factory=dict)
    nulls: int = 0

    def add(self, series: pd.Series) -> int:
        """Count a batch's values; returns its nulls (pandas' isna)."""
        counts = series.value_counts(dropna=True, sort=False)
        nulls = len(series) - int(counts.sum())
        for value, count in finite_counts(series, counts).items():
            self.counts[value] = self.counts.get(value, 0) + count
        self.nulls += nulls
        return nulls

    def merge(self, other: CategoricalSummary) -> CategoricalSummary:
        counts = dict(self.counts)
        for value, count in other.counts.items():
            counts[value] = counts.get(value, 0) + count
        return CategoricalSummary(counts, self.nulls + other.nulls)


ColumnSummary = NumericSummary | CategoricalSummary


@dataclass
class WindowSummary:
    """Mergeable statistics of some rows of the window, per feature column: `facts` for every
    column, `columns` (drift summaries) for categorical columns and, given reference statistics
    with their bins, numeric columns of a numeric dtype."""

    rows: int
    columns: dict[str, ColumnSummary]
    facts: dict[str, ColumnFacts] = field(default_factory=dict)

    def merge(self, other: WindowSummary) -> WindowSummary:
        """Both summaries' rows; a column summarised on one side only (a numeric column with
        text in some batch) is left out: no drift is measured on it."""
        merged: dict[str, ColumnSummary] = {}
        for name, mine in self.columns.items():
            if (theirs := other.columns.get(name)) is not None:
                merged[name] = _merge_column(name, mine, theirs)
        facts = dict(self.facts)
        for name, theirs_facts in other.facts.items():
            mine_facts = facts.get(name)
            facts[name] = theirs_facts if mine_facts is None else mine_facts.merge(theirs_facts)
        return WindowSummary(self.rows + other.rows, merged, facts)

    def categories(self, column: str) -> dict[object, int]:
        """A categorical column's non-null value counts."""
        summary = self.columns.get(column)
        return summary.counts if isinstance(summary, CategoricalSummary) else {}


def _merge_column(name: str, mine: ColumnSummary, theirs: ColumnSummary) -> ColumnSummary:
    if isinstance(mine, NumericSummary) and isinstance(theirs, NumericSummary):
        return mine.merge(theirs)
    if isinstance(mine, CategoricalSummary) and isinstance(theirs, CategoricalSummary):
        return mine.merge(theirs)
    raise ValueError(f"column {name!r} is numeric in one summary only")


def numeric_edges(reference: NumericStats) -> np.ndarray:
    """The fixed bins of a numeric column: the reference's knots (or values), and TAIL_BINS
    bins of a 40th of its std beyond each end."""
    core = reference.knots if reference.knots is not None else reference.xs
    if not len(core):
        return np.zeros(1)
    step = max(reference.std if math.isfinite(reference.std) else 0.0, 1e-3) / 40
    left = core[0] - step * np.arange(TAIL_BINS, 0, -1)
    right = core[-1] + step * np.arange(1, TAIL_BINS + 1)
    return np.unique(np.concatenate([left, core, right]))


def empty_summary(
    stats: ReferenceStats | None, numeric: list[str], categorical: list[str]
) -> WindowSummary:
    """A summary of no rows, with the bins the reference fixes (no numeric drift summaries
    without reference statistics)."""
    columns: dict[str, ColumnSummary] = {}
    for name in numeric:
        if stats is None:
            break
        ref = stats.columns[name]
        if not isinstance(ref, NumericStats):
            raise ValueError(f"numeric column {name!r} has categorical reference statistics")
        edges = numeric_edges(ref)
        # exact counts only against a reference with exact counts: a continuous reference is
        # compared on its knots, where the window's bins are as good (and far cheaper)
        exact: dict[float, int] | None = {} if ref.exact else None
        columns[name] = NumericSummary(edges, np.zeros(len(edges) + 1, dtype="int64"), exact=exact)
    for name in categorical:
        columns[name] = CategoricalSummary()
    return WindowSummary(0, columns)


def summarize(
    batch: Frame, stats: ReferenceStats | None, numeric: list[str], categorical: list[str]
) -> WindowSummary:
    """The mergeable statistics of one batch of rows (columns it lacks are left out)."""
    summary = empty_summary(stats, numeric, categorical)
    for name in categorical:
        if name in batch:
            counted = summary.columns[name]
            assert isinstance(counted, CategoricalSummary)
            nulls = counted.add(batch[name])
            summary.facts[name] = ColumnFacts.of(batch[name], missing=nulls)
    for name in numeric:
        if name not in batch:
            continue
        series = batch[name]
        facts = summary.facts[name] = ColumnFacts.of(series, numeric_feature=True)
        binned = summary.columns.get(name)
        if not isinstance(binned, NumericSummary):
            continue
        if not facts.numeric:  # validation reports the dtype; no drift measured on it
            del summary.columns[name]
            continue
        values = finite_values(series)
        binned.add(values, len(series) - len(values))
    summary.rows = frame_rows(batch)
    return summary


def summarize_batches(
    batches: Iterable[Frame],
    stats: ReferenceStats | None,
    numeric: list[str],
    categorical: list[str],
) -> WindowSummary:
    """Every batch summarised and merged: the window's statistics, one batch in memory."""
    total = empty_summary(stats, numeric, categorical)
    for batch in batches:
        total = total.merge(summarize(batch, stats, numeric, categorical))
    return total


def summarize_window(
    s3: Any,
    source: DataSource,
    columns: Columns,
    window: Window,
    stats: ReferenceStats,
    batch_rows: int = 50_000,
) -> WindowSummary:
    """The window's mergeable feature statistics, streamed from S3 batch by batch."""
    batches = WindowBatches(s3, source, columns, window, batch_rows=batch_rows)
    return summarize_batches(batches, stats, columns.numeric, columns.categorical)


def _integral_abs(x: np.ndarray, start: np.ndarray, end: np.ndarray) -> float:
    """Sum over the intervals [x_i, x_i+1] of the integral of |d|, d linear from start_i to
    end_i (the exact integral, a sign change inside an interval included)."""
    width = np.diff(x)
    same = start * end >= 0
    spread = np.abs(start) + np.abs(end)
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = np.where(spread > 0, (start * start + end * end) / (2 * spread), 0.0)
    return float(np.sum(np.where(same, spread / 2, crossing) * width))


def _cdf_at(
    points: np.ndarray, cdf: tuple[np.ndarray, np.ndarray, bool], right: bool = True
) -> np.ndarray:
    """G(x) (right=True) or G(x-) of a summary's CDF."""
    xs, shares, step = cdf
    if step:
        k = np.searchsorted(xs, points, side="right" if right else "left") - 1
        return np.asarray(np.where(k < 0, 0.0, shares[np.clip(k, 0, len(xs) - 1)]))
    return np.asarray(np.interp(points, xs, shares, left=0.0, right=1.0))


def summary_wasserstein(reference: NumericStats, summary: NumericSummary) -> float:
    """W1(reference, window) / max(std(reference), 0.001) from the merged summary: the
    integral of |F - G| over the union of both CDFs' breakpoints. Between two breakpoints
    each CDF is constant (a step) or linear, so the integral of each piece is exact: from
    F(x_i) - G(x_i) to F(x_i+1 -) - G(x_i+1 -)."""
    current = summary.cdf()
    x = np.unique(np.concatenate([reference.xs, current[0]]))
    if len(x) < 2:
        return 0.0
    start = reference.cdf(x[:-1]) - _cdf_at(x[:-1], current)
    end = reference.cdf(x[1:], right=False) - _cdf_at(x[1:], current, right=False)
    return _integral_abs(x, start, end) / max(reference.std, 0.001)


def summary_ks(reference: NumericStats, summary: NumericSummary) -> float:
    """Two-sample K-S p-value from sup |F - G| at every breakpoint (both limits)."""
    from scipy import stats as sstats

    current = summary.cdf()
    x = np.unique(np.concatenate([reference.xs, current[0]]))
    d = max(
        float(np.abs(reference.cdf(x) - _cdf_at(x, current)).max()),
        float(np.abs(reference.cdf(x, right=False) - _cdf_at(x, current, right=False)).max()),
    )
    n, m = sorted([float(reference.rows), float(summary.rows)], reverse=True)
    return float(np.clip(sstats.kstwo.sf(d, np.round(n * m / (n + m))), 0.0, 1.0))


def summary_numeric_score(method: str, reference: NumericStats, summary: NumericSummary) -> float:
    """A numeric column's drift score from its reference statistics and merged summary."""
    if method == "wasserstein":
        return summary_wasserstein(reference, summary)
    if method == "ks":
        return summary_ks(reference, summary)
    if method not in NUMERIC_FROM_STATS:
        raise ValueError(f"{method} cannot be computed from statistics")
    if reference.distinct <= _FEW_VALUES and summary.exact is not None:
        return categorical_score(method, reference.value_counts(), 0, summary.exact)
    current = summary.cdf()
    lo, hi = min(reference.xs[0], summary.low), max(reference.xs[-1], summary.high)
    edges = sturges_edges(lo, hi, reference.rows + summary.rows)
    cum_cur = np.concatenate(
        [_cdf_at(edges[:-1], current, right=False), _cdf_at(edges[-1:], current)]
    )
    cum_ref = np.concatenate([reference.cdf(edges[:-1], right=False), reference.cdf(edges[-1:])])
    return binned_score(method, np.diff(cum_ref), np.diff(cum_cur))


def feature_drift(
    stats: ReferenceStats,
    summary: WindowSummary,
    numeric: list[str],
    categorical: list[str],
    thresholds: DriftThresholds,
) -> tuple[ColumnDrift | None, ...]:
    """Each feature's verdict from the merged summary, in config order (numeric, categorical);
    None for a column whose method needs raw values (numeric hellinger)."""
    out: list[ColumnDrift | None] = []
    for kind, names in (("numeric", numeric), ("categorical", categorical)):
        for name in names:
            plan: Plan = feature_plan(name, kind, thresholds)
            ref, column = stats.columns[name], summary.columns.get(name)
            if column is None:
                raise ValueError(f"column {name!r} is not numeric in every batch: no drift summary")
            if isinstance(column, NumericSummary):
                assert isinstance(ref, NumericStats)
                empty = empty_verdict(plan, ref.rows, column.rows)
                if empty is not None or plan.method not in NUMERIC_FROM_STATS:
                    out.append(empty)
                    continue
                out.append(verdict(plan, summary_numeric_score(plan.method, ref, column)))
                continue
            empty = empty_verdict(plan, ref.rows, sum(column.counts.values()))
            if empty is not None:
                out.append(empty)
                continue
            if plan.method not in CATEGORICAL_FROM_STATS:
                out.append(None)
                continue
            if isinstance(ref, CategoricalStats):
                ref_counts, other = ref.counts, ref.other
            else:
                ref_counts, other = ref.value_counts(), 0
            score = categorical_score(plan.method, ref_counts, other, column.counts)
            out.append(verdict(plan, score))
    return tuple(out)
