"""Reference statistics kept with a champion, so a drift run costs one pass over the new window.

Numeric columns keep their exact value counts when they have few distinct values, else
`QUANTILES` quantiles (a piecewise-linear CDF between them), with mean, std, min and max;
categorical columns keep value counts (the `TOP_K` most frequent, the rest pooled).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

STATS_VERSION = 1
QUANTILES = 1001
MAX_ATOMS = 2000  # numeric columns with at most this many distinct values are stored exactly
TOP_K = 1000  # categorical values kept by name; the rarer ones are pooled into OTHER
OTHER = "__other__"
PREDICTION = "__prediction__"
SCORE = "__score__"  # a classifier's positive-class probability, when PREDICTION holds classes

Frame: TypeAlias = pd.DataFrame | Mapping[str, pd.Series]


@dataclass(frozen=True)
class NumericStats:
    """A numeric column's finite values as a CDF: exact atoms, or quantile knots."""

    rows: int
    nulls: int
    mean: float
    std: float
    distinct: int
    xs: np.ndarray = field(repr=False)  # sorted distinct values (atoms) or distinct knot values
    u_lo: np.ndarray = field(repr=False)  # F(x-) at each x
    u_hi: np.ndarray = field(repr=False)  # F(x) at each x
    exact: bool
    counts: np.ndarray | None = field(default=None, repr=False)  # per atom, when exact
    grid: np.ndarray | None = field(default=None, repr=False)  # u of each knot, when not exact
    knots: np.ndarray | None = field(default=None, repr=False)  # F^-1(grid), when not exact

    def cdf(self, x: np.ndarray, *, right: bool = True) -> np.ndarray:
        """F(x) (right=True) or F(x-): a step between atoms, linear between knots."""
        x = np.asarray(x, dtype="float64")
        xs, lo, hi = self.xs, self.u_lo, self.u_hi
        k = np.searchsorted(xs, x, side="right" if right else "left") - 1  # last knot <=/< x
        base = np.where(k < 0, 0.0, hi[np.clip(k, 0, len(xs) - 1)])
        if self.exact or len(xs) < 2:
            return base
        inside = (k >= 0) & (k < len(xs) - 1)
        kk = np.clip(k, 0, len(xs) - 2)
        x0, x1 = xs[kk], xs[kk + 1]
        t = (x - x0) / (x1 - x0)
        return np.where(inside, hi[kk] + t * (lo[kk + 1] - hi[kk]), base)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """F^-1(u): the step inverse for atoms, linear between knots otherwise."""
        if self.grid is None or self.knots is None:
            k = np.searchsorted(self.u_hi, u, side="left")
            return self.xs[np.clip(k, 0, len(self.xs) - 1)]
        return np.interp(u, self.grid, self.knots)

    def value_counts(self) -> dict[Any, int]:
        """Exact counts per value (only for exact stats)."""
        if not self.exact or self.counts is None:
            raise ValueError("value counts are kept only for columns with few distinct values")
        return {float(v): int(c) for v, c in zip(self.xs, self.counts, strict=True)}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "numeric",
            "rows": self.rows,
            "nulls": self.nulls,
            "mean": self.mean,
            "std": self.std,
            "distinct": self.distinct,
        }
        if self.grid is not None and self.knots is not None:
            out["grid"] = self.grid.tolist()
            out["quantiles"] = self.knots.tolist()
        else:
            out["values"] = self.xs.tolist()
            out["counts"] = self.counts.tolist() if self.counts is not None else []
        return out


@dataclass(frozen=True)
class CategoricalStats:
    """A categorical column's non-null value counts; values beyond the top K pooled in `other`."""

    rows: int
    nulls: int
    counts: dict[Any, int]
    other: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "categorical",
            "rows": self.rows,
            "nulls": self.nulls,
            "values": list(self.counts),
            "counts": list(self.counts.values()),
            "other": self.other,
        }


ColumnStats = NumericStats | CategoricalStats


@dataclass(frozen=True)
class ReferenceStats:
    """Per-column statistics of a champion's reference data (its whole training split)."""

    rows: int
    columns: dict[str, ColumnStats]

    def to_json(self) -> str:
        payload = {
            "version": STATS_VERSION,
            "rows": self.rows,
            "columns": {name: s.to_dict() for name, s in self.columns.items()},
        }
        return json.dumps(payload, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ReferenceStats:
        payload = json.loads(text)
        if payload.get("version") != STATS_VERSION:
            raise ValueError(f"unsupported reference statistics version {payload.get('version')}")
        columns = {name: _from_dict(d) for name, d in payload["columns"].items()}
        return cls(rows=int(payload["rows"]), columns=columns)


def quantile_grid(rows: int) -> np.ndarray:
    """QUANTILES evenly spaced probabilities, refined geometrically in both tails down to 1/rows.

    The tails are where a linear quantile function is furthest from the data (a normal's
    top 0.1% spans 3.1 to 4.9 std), so they get knots of their own.
    """
    step = 1.0 / (QUANTILES - 1)
    tail = step / 2.0 ** np.arange(1, 64)
    tail = tail[tail >= 0.5 / max(rows, 1)]
    return np.unique(np.concatenate([np.linspace(0.0, 1.0, QUANTILES), tail, 1.0 - tail]))


def _sorted_quantiles(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """np.quantile(values, grid) (linear method) for values already sorted, without a partition."""
    h = grid * (len(values) - 1)
    lo = np.floor(h).astype("int64")
    hi = np.minimum(lo + 1, len(values) - 1)
    return values[lo] + (h - lo) * (values[hi] - values[lo])


def _numeric_from_knots(
    grid: np.ndarray,
    knots: np.ndarray,
    rows: int,
    nulls: int,
    mean: float,
    std: float,
    distinct: int,
) -> NumericStats:
    xs, first = np.unique(knots, return_index=True)
    last = len(knots) - 1 - np.unique(knots[::-1], return_index=True)[1]
    return NumericStats(
        rows, nulls, mean, std, distinct, xs, grid[first], grid[last], False, None, grid, knots
    )


def _numeric_from_atoms(
    values: np.ndarray, counts: np.ndarray, nulls: int, mean: float, std: float
) -> NumericStats:
    rows = int(counts.sum())
    cum = np.cumsum(counts) / rows
    lo = np.concatenate([[0.0], cum[:-1]])
    return NumericStats(rows, nulls, mean, std, len(values), values, lo, cum, True, counts)


def _from_dict(d: dict[str, Any]) -> ColumnStats:
    if d["type"] == "categorical":
        pairs = dict(zip(d["values"], d["counts"], strict=True))
        return CategoricalStats(int(d["rows"]), int(d["nulls"]), pairs, int(d["other"]))
    mean, std = float(d["mean"]), float(d["std"])
    if "values" in d:
        values = np.asarray(d["values"], dtype="float64")
        counts = np.asarray(d["counts"], dtype="int64")
        return _numeric_from_atoms(values, counts, int(d["nulls"]), mean, std)
    grid = np.asarray(d["grid"], dtype="float64")
    knots = np.asarray(d["quantiles"], dtype="float64")
    rows, nulls, distinct = int(d["rows"]), int(d["nulls"]), int(d["distinct"])
    return _numeric_from_knots(grid, knots, rows, nulls, mean, std, distinct)


def finite_sorted(series: pd.Series) -> np.ndarray:
    """The finite values of a numeric column as sorted float64 (nulls and infinities dropped)."""
    finite = finite_values(series)
    finite.sort()
    return finite


def finite_values(series: pd.Series) -> np.ndarray:
    """The finite values of a numeric column as float64, in row order (a new array)."""
    if pd.api.types.is_float_dtype(series) and not isinstance(
        series.dtype, pd.api.extensions.ExtensionDtype
    ):
        values = np.asarray(series, dtype="float64")
    elif pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
    else:
        raise ValueError(f"numeric column {series.name!r} has dtype {series.dtype}")
    return values[np.isfinite(values)]


def numeric_stats(series: pd.Series) -> NumericStats:
    """Statistics of a numeric column: exact counts if few distinct values, else quantiles."""
    values = finite_sorted(series)
    return numeric_stats_sorted(values, nulls=len(series) - len(values))


def numeric_stats_sorted(values: np.ndarray, nulls: int = 0) -> NumericStats:
    """Statistics from already sorted finite values."""
    if not len(values):
        empty = np.empty(0)
        return NumericStats(0, nulls, math.nan, math.nan, 0, empty, empty, empty, True, empty)
    mean, std = float(np.mean(values)), float(np.std(values))
    starts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
    if len(starts) <= MAX_ATOMS:
        counts = np.diff(np.append(starts, len(values)))
        return _numeric_from_atoms(values[starts], counts, nulls, mean, std)
    grid = quantile_grid(len(values))
    knots = _sorted_quantiles(values, grid)
    return _numeric_from_knots(grid, knots, len(values), nulls, mean, std, len(starts))


def categorical_stats(series: pd.Series, top_k: int = TOP_K) -> CategoricalStats:
    """Non-null value counts of a column; values past the top K are pooled."""
    counts = series.value_counts(dropna=True, sort=True)
    kept = counts.iloc[:top_k]
    other = int(counts.iloc[top_k:].sum())
    return CategoricalStats(
        rows=int(counts.sum()),
        nulls=int(series.isna().sum()),
        counts={_plain(k): int(v) for k, v in kept.items()},
        other=other,
    )


def _plain(value: Any) -> Any:
    """A JSON-native form of a category value (numpy scalars become Python ones)."""
    return value.item() if hasattr(value, "item") else value


def is_categorical_dtype(series: pd.Series) -> bool:
    """Booleans and non-numbers are counted by value, never as a distribution of numbers."""
    return pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series)


def compute_reference_stats(
    frame: Frame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    extra: Sequence[str] = (),
) -> ReferenceStats:
    """Statistics of every feature, plus `extra` columns (label, prediction) typed by dtype."""
    columns: dict[str, ColumnStats] = {}
    for name in numeric:
        columns[name] = numeric_stats(frame[name])
    for name in categorical:
        columns[name] = categorical_stats(frame[name])
    for name in extra:
        series = frame[name]
        columns[name] = (
            categorical_stats(series) if is_categorical_dtype(series) else numeric_stats(series)
        )
    return ReferenceStats(rows=frame_rows(frame), columns=columns)


def frame_rows(frame: Frame) -> int:
    """Rows of a frame, or of a mapping of equally long columns."""
    return len(frame) if isinstance(frame, pd.DataFrame) else len(next(iter(frame.values())))
