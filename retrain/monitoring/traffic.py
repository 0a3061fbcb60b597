"""Inputs and traffic of one window: missing values, new categories, volume per day, latency,
errors and throughput. Pure and vectorised: one pass over the columns it reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from retrain.drift.summary import DriftSummary
from retrain.drift.window_stats import WindowSummary

LATENCY_PERCENTILES = (50, 95, 99)
LISTED_CATEGORIES = 10


@dataclass(frozen=True)
class NewCategories:
    """Values of a categorical column unseen in training: how many, on what share of rows."""

    distinct: int
    rows: int
    share: float  # of the column's non-null rows
    values: tuple[str, ...]  # the most frequent, at most LISTED_CATEGORIES


@dataclass(frozen=True)
class Inputs:
    """Per feature column: share of missing values, new categories, the drift step's score."""

    missing_share: dict[str, float]
    new_categories: dict[str, NewCategories | None]  # None: training kept no full category list
    drift_score: dict[str, float | None]  # referenced from the drift step, never recomputed
    drift_method: dict[str, str]


@dataclass(frozen=True)
class Traffic:
    """Volume per UTC day against the expected volume, and serving health when the data has it.

    Throughput is rows per second of the whole window (rows / window seconds)."""

    rows: int
    days: int
    rows_per_day: dict[str, int]  # every day of the window, 0 for a day without rows
    mean_rows_per_day: float
    expected_rows_per_day: float | None
    volume_ratio: float | None  # mean_rows_per_day / expected_rows_per_day
    days_missing: tuple[str, ...]  # days of the window without a single row
    rows_per_second: float
    latency_ms: dict[str, float] | None  # p50, p95, p99 of the finite latencies
    latency_rows: int
    error_rate: float | None  # share of rows with a known outcome that failed
    error_rows: int


def missing_shares(features: WindowSummary, columns: list[str]) -> dict[str, float]:
    """Share of null values of each column (0 for an empty window, 1 for an absent column)."""
    shares = {}
    for column in columns:
        facts = features.facts.get(column)
        shares[column] = 1.0 if facts is None else facts.null_rate if facts.rows else 0.0
    return shares


def new_categories(series: pd.Series, seen: list[str]) -> NewCategories:
    """Values (compared as strings, as validation does) absent from the training categories."""
    counts = series.value_counts(dropna=True)
    return new_categories_of(dict(counts.items()), seen)


def new_categories_of(found: dict[Any, int], seen: list[str]) -> NewCategories:
    """`new_categories` from a column's non-null value counts (a streamed window's summary)."""
    counts = pd.Series(found, dtype="int64")
    counts = counts[counts > 0]
    counts.index = counts.index.astype(str)
    counts = counts.groupby(level=0, sort=False).sum().sort_values(ascending=False, kind="stable")
    unseen = counts[~counts.index.isin(seen)]
    total = int(counts.sum())
    rows = int(unseen.sum())
    return NewCategories(
        distinct=len(unseen),
        rows=rows,
        share=rows / total if total else 0.0,
        values=tuple(unseen.index[:LISTED_CATEGORIES]),
    )


def inputs_summary(
    features: WindowSummary,
    numeric: list[str],
    categorical: list[str],
    schema: dict[str, Any] | None,
    drift: DriftSummary | None,
) -> Inputs:
    """Missing values and new categories of the window (from its feature summary); drift
    scores as the drift step gave."""
    expected = (schema or {}).get("features", {})
    found: dict[str, NewCategories | None] = {}
    for column in categorical:
        entry = expected.get(column) or {}
        complete = "categories" in entry and not entry.get("categories_truncated")
        counts = features.categories(column)
        found[column] = new_categories_of(counts, entry["categories"]) if complete else None
    columns = drift.columns if drift else ()
    return Inputs(
        missing_share=missing_shares(features, [*numeric, *categorical]),
        new_categories=found,
        drift_score={c.column: _finite(c.score) for c in columns},
        drift_method={c.column: c.method for c in columns},
    )


def utc_days(timestamps: pd.Series) -> np.ndarray:
    """The UTC calendar day of each timestamp (tz-aware converted, naive read as UTC)."""
    ts = timestamps
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return np.asarray(ts.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]"))


def rows_per_day(timestamps: pd.Series, days: list[date]) -> dict[str, int]:
    """Rows of each day of `days` (rows outside them are not counted)."""
    index = np.array(days, dtype="datetime64[D]")
    values = utc_days(timestamps.dropna())
    position = np.searchsorted(index, values)
    inside = (position < len(index)) & (index[np.minimum(position, len(index) - 1)] == values)
    counts = np.bincount(position[inside], minlength=len(index))
    return {d.isoformat(): int(n) for d, n in zip(days, counts, strict=True)}


def expected_rows_per_day(reference_timestamps: pd.Series, training_rows: int) -> float | None:
    """Median rows per day of the training window, estimated from the stored reference sample
    (its per-day counts over the days it spans, scaled up to the training rows)."""
    days = utc_days(reference_timestamps.dropna())
    if not len(days) or training_rows <= 0:
        return None
    first = days.min()
    counts = np.bincount((days - first).astype(np.int64))
    return float(np.median(counts)) * training_rows / len(days)


def latency_percentiles(values: pd.Series) -> tuple[dict[str, float] | None, int]:
    """p50, p95 and p99 (linear interpolation, numpy's default) of the finite latencies."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
    numbers = numbers[np.isfinite(numbers)]
    if not len(numbers):
        return None, 0
    points = np.percentile(numbers, LATENCY_PERCENTILES)
    named = {f"p{p}": float(v) for p, v in zip(LATENCY_PERCENTILES, points, strict=True)}
    return named, len(numbers)


def error_rate(values: pd.Series) -> tuple[float | None, int]:
    """Share of rows whose outcome is known (not null) that failed: true or non-zero."""
    known = values.dropna()
    if not len(known):
        return None, 0
    if pd.api.types.is_bool_dtype(known) or pd.api.types.is_numeric_dtype(known):
        return float(known.astype(bool).mean()), len(known)
    failed = known.astype(str).str.strip().str.lower().isin(("true", "1", "error", "failed"))
    return float(failed.mean()), len(known)


def traffic_summary(
    frame: pd.DataFrame,
    timestamp: str,
    days: list[date],
    expected: float | None,
    latency: str | None = None,
    error: str | None = None,
) -> Traffic:
    """Rows per day against the expected volume, missing days, latency, errors, throughput."""
    per_day = rows_per_day(frame[timestamp], days)
    mean = sum(per_day.values()) / len(days) if days else 0.0
    lat, lat_rows = (
        latency_percentiles(frame[latency]) if latency and latency in frame else (None, 0)
    )
    err, err_rows = error_rate(frame[error]) if error and error in frame else (None, 0)
    return Traffic(
        rows=len(frame),
        days=len(days),
        rows_per_day=per_day,
        mean_rows_per_day=mean,
        expected_rows_per_day=expected,
        volume_ratio=mean / expected if expected else None,
        days_missing=tuple(d for d, n in per_day.items() if n == 0),
        rows_per_second=len(frame) / (len(days) * 86400) if days else 0.0,
        latency_ms=lat,
        latency_rows=lat_rows,
        error_rate=err,
        error_rows=err_rows,
    )


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
