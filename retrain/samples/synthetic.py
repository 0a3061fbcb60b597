"""A synthetic reference and current window with known shifts, in the data contract's layout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from retrain.config import Columns, DataSource
from retrain.data.s3 import Window, write_partition

DATA_VERSION = 2  # bump when the generated data changes (2: one day generated at a time)
DAYS = 7
REFERENCE_START = date(2026, 1, 1)
CURRENT_START = REFERENCE_START + timedelta(days=DAYS)
# Numeric columns, in order: (how the current window differs, amount). Shifts are in units of
# the reference std, so the normed Wasserstein distance of a pure shift is the amount itself.
NUMERIC_CHANGES: tuple[tuple[str, float], ...] = (
    ("shift", 0.5),
    ("shift", 0.3),
    ("scale", 1.3),  # normed W1 = 0.3 * sqrt(2/pi) = 0.24 for a normal
    ("shift", 0.2),
    ("shift", 0.15),
    ("scale", 1.15),  # 0.12
    ("shift", 0.12),
    ("shift", 0.05),
    ("scale", 1.05),  # 0.04
    ("shift", 0.03),
)
# Categorical columns, in order: the share of rows moved to another distribution.
CATEGORICAL_CHANGES: tuple[tuple[str, float], ...] = (
    ("mix", 0.5),
    ("new", 0.04),  # 4% of rows take a category the reference never had (validation allows 5%)
    ("mix", 0.15),
    ("mix", 0.04),
)
_CARDINALITIES = (3, 5, 8, 12, 20, 30, 50, 4, 6, 100)
_SHAPES = ("normal", "lognormal", "uniform", "integer")


@dataclass(frozen=True)
class Layout:
    """Where the benchmark data lives and which columns it has."""

    source: DataSource
    columns: Columns
    reference: Window
    current: Window


def layout(bucket: str, rows: int, numeric: int, categorical: int) -> Layout:
    prefix = f"drift-bench/r{rows}-n{numeric}-c{categorical}"
    columns = Columns(
        id="id",
        timestamp="ts",
        numeric=[f"n{i:02d}" for i in range(numeric)],
        categorical=[f"c{i:02d}" for i in range(categorical)],
        label="label",
    )
    end = CURRENT_START + timedelta(days=DAYS)
    return Layout(
        DataSource(bucket=bucket, prefix=prefix),
        columns,
        Window(REFERENCE_START, CURRENT_START),
        Window(CURRENT_START, end),
    )


def _numeric(rng: np.random.Generator, shape: str, rows: int) -> np.ndarray:
    if shape == "lognormal":
        return rng.lognormal(0.0, 0.6, rows)
    if shape == "uniform":
        return rng.uniform(-3.0, 3.0, rows)
    if shape == "integer":  # few distinct values: stored as exact counts
        return rng.poisson(20.0, rows).astype("float64")
    return rng.normal(10.0, 2.0, rows)


def _probabilities(rng: np.random.Generator, k: int) -> np.ndarray:
    weights = rng.gamma(2.0, 1.0, k)
    return weights / weights.sum()


def frame(
    columns: Columns,
    rows: int,
    start: date,
    *,
    current: bool,
    seed: int,
    days: int = DAYS,
    first_id: int | None = None,
) -> pd.DataFrame:
    """One side's rows, spread over `days` days from `start`; the current side carries the
    shifts. Ids count from `first_id` (0 for the reference side, `rows` for the current)."""
    rng = np.random.default_rng(seed)
    base = np.random.default_rng(1234)  # the same category distributions on both sides
    first = first_id if first_id is not None else (rows if current else 0)
    data: dict[str, Any] = {"id": np.arange(rows, dtype="int64") + first}
    offsets = np.sort(rng.integers(0, days * 86_400, rows))
    data["ts"] = pd.Timestamp(start, tz="UTC") + pd.to_timedelta(offsets, unit="s")
    for i, name in enumerate(columns.numeric):
        shape = _SHAPES[i % len(_SHAPES)]
        values = _numeric(rng, shape, rows)
        if current and i < len(NUMERIC_CHANGES):
            kind, amount = NUMERIC_CHANGES[i]
            std = _reference_std(shape)
            values = (
                values + amount * std
                if kind == "shift"
                else (values.mean() + (values - values.mean()) * amount)
            )
        data[name] = values
    for i, name in enumerate(columns.categorical):
        k = _CARDINALITIES[i % len(_CARDINALITIES)]
        p = _probabilities(base, k)
        q = _probabilities(base, k)
        names = np.array([f"{name}_v{j:03d}" for j in range(k)], dtype=object)
        picks = names[rng.choice(k, rows, p=p)]
        if current and i < len(CATEGORICAL_CHANGES):
            kind, share = CATEGORICAL_CHANGES[i]
            moved = rng.random(rows) < share
            if kind == "new":
                picks[moved] = f"{name}_new"
            else:
                picks[moved] = names[rng.choice(k, int(moved.sum()), p=q[::-1])]
        data[name] = picks
    score = (data[columns.numeric[0]] - 10.0) / 2.0 if columns.numeric else 0.0
    data["label"] = (score + rng.normal(0.0, 1.0, rows) > 0.3).astype("float64")
    return pd.DataFrame(data)


def _reference_std(shape: str) -> float:
    if shape == "lognormal":
        return float(np.sqrt((np.exp(0.36) - 1) * np.exp(0.36)))
    if shape == "uniform":
        return 6.0 / np.sqrt(12.0)
    if shape == "integer":
        return float(np.sqrt(20.0))
    return 2.0


ROW_GROUP_ROWS = 100_000  # as a writer with ~40 MB row groups here (Spark's default: 128 MB)


def write_side(s3: Any, where: Layout, rows: int, *, current: bool, seed: int) -> int:
    """Write one side as DAYS daily partitions, each generated on its own (one day in memory at
    a time); returns the bytes written."""
    window = where.current if current else where.reference
    written, first = 0, rows if current else 0
    for offset, day in enumerate(window.days()):
        n = rows // DAYS + (1 if offset < rows % DAYS else 0)
        part = frame(
            where.columns,
            n,
            day,
            current=current,
            seed=seed * 1000 + offset,
            days=1,
            first_id=first,
        )
        first += n
        key = write_partition(s3, where.source, day, part, row_group_rows=ROW_GROUP_ROWS)
        written += s3.head_object(Bucket=where.source.bucket, Key=key)["ContentLength"]
    return written
