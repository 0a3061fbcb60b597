"""One column's drift verdict and the pieces both drift engines build it from: which method and
threshold a column gets (`feature_plan`), the verdict for a side with no values
(`empty_verdict`), the verdict of a score (`verdict`). `retrain.drift.summary` (whole frames) and
`retrain.drift.window_stats` (mergeable summaries of batches) both import them; neither imports the
other's internals."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from retrain.config import DriftThresholds, check_drift_method
from retrain.drift.measures import is_drift
from retrain.drift.report import Plan

ALL_NULL = "all_null"


@dataclass(frozen=True)
class ColumnDrift:
    """One column's drift verdict; kind is numeric, categorical, prediction or target."""

    column: str
    kind: str
    method: str
    score: float
    threshold: float
    drifted: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (a non-finite score becomes null)."""
        out = asdict(self)
        out["score"] = self.score if math.isfinite(self.score) else None
        return out


def feature_plan(column: str, kind: str, thresholds: DriftThresholds) -> Plan:
    override = thresholds.per_column.get(column)
    if override is not None:
        method, threshold = override.method, override.threshold
    elif kind == "numeric":
        method, threshold = thresholds.numeric_method, thresholds.numeric_threshold
    else:
        method, threshold = thresholds.categorical_method, thresholds.categorical_threshold
    try:
        check_drift_method(method, kind)
    except ValueError as exc:
        raise ValueError(f"drift of column {column!r}: {exc}") from None
    return Plan(column, kind, kind, method, threshold)


def finite_counts(series: pd.Series, counts: pd.Series) -> dict[Any, int]:
    """Value counts (non-null, finite) from the series' non-null value counts already taken."""
    if pd.api.types.is_float_dtype(series):
        counts = counts[np.isfinite(counts.index.to_numpy(dtype="float64"))]
    return {(k.item() if hasattr(k, "item") else k): int(v) for k, v in counts.items() if v}


def empty_verdict(plan: Plan, reference_rows: int, current_rows: int) -> ColumnDrift | None:
    """A verdict for a column with no values on a side (Evidently raises on those)."""
    if reference_rows and current_rows:
        return None
    drifted = bool(reference_rows) != bool(current_rows)
    return ColumnDrift(plan.column, plan.kind, ALL_NULL, 1.0 if drifted else 0.0, 0.0, drifted)


def verdict(plan: Plan, score: float) -> ColumnDrift:
    drifted = is_drift(plan.method, score, plan.threshold)
    return ColumnDrift(plan.column, plan.kind, plan.method, score, plan.threshold, drifted)
