"""Drift between the champion's reference data and a window, measured by Evidently 0.7."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from retrain.config import CATEGORICAL_DRIFT_METHODS, NUMERIC_DRIFT_METHODS, DriftThresholds

# Our config's method names -> Evidently's registered stattest names (identical in 0.7.23).
EVIDENTLY_METHODS = {
    "wasserstein": "wasserstein",
    "ks": "ks",
    "psi": "psi",
    "kl_div": "kl_div",
    "jensenshannon": "jensenshannon",
    "hellinger": "hellinger",
    "chisquare": "chisquare",
    "z": "z",
}
ALL_NULL = "all_null"
MIN_TARGET_ROWS = 30
_MAX_CLASSES = 20
_VALUE_DRIFT = "evidently:metric_v2:ValueDrift"
_ALLOWED = {"numeric": NUMERIC_DRIFT_METHODS, "categorical": CATEGORICAL_DRIFT_METHODS}

if TYPE_CHECKING:  # importing evidently takes seconds; the summary types must stay cheap
    from evidently import Dataset


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


@dataclass(frozen=True)
class DriftReports:
    """Where the Evidently reports of one run were saved."""

    html: Path
    json: Path


@dataclass(frozen=True)
class DriftSummary:
    """The drift of one window, parsed once from Evidently's snapshot."""

    columns: tuple[ColumnDrift, ...]
    drift_share: float
    dataset_drift: bool
    prediction: ColumnDrift | None
    target: ColumnDrift | None
    reference_rows: int
    current_rows: int

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the feature columns that drifted."""
        return [c.column for c in self.columns if c.drifted]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form, for artifacts, tags and the decision record."""
        return {
            "columns": [c.to_dict() for c in self.columns],
            "drifted_columns": self.drifted_columns,
            "drift_share": self.drift_share,
            "dataset_drift": self.dataset_drift,
            "prediction": self.prediction.to_dict() if self.prediction else None,
            "target": self.target.to_dict() if self.target else None,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
        }


@dataclass(frozen=True)
class _Plan:
    """A column to measure: our role for it, how Evidently should treat it, and the test."""

    column: str
    kind: str
    stat_kind: str
    method: str
    threshold: float


def _feature_plan(column: str, kind: str, thresholds: DriftThresholds) -> _Plan:
    override = thresholds.per_column.get(column)
    if override is not None:
        method, threshold = override.method, override.threshold
    elif kind == "numeric":
        method, threshold = thresholds.numeric_method, thresholds.numeric_threshold
    else:
        method, threshold = thresholds.categorical_method, thresholds.categorical_threshold
    if method not in _ALLOWED[kind]:
        raise ValueError(
            f"drift method {method!r} does not apply to {kind} column {column!r}; "
            f"one of {sorted(_ALLOWED[kind])}"
        )
    return _Plan(column, kind, kind, method, threshold)


def _stat_kind(reference: pd.Series, current: pd.Series) -> str:
    """Numeric for continuous numbers; categorical for labels, classes and few distinct values."""
    if pd.api.types.is_bool_dtype(reference) or not pd.api.types.is_numeric_dtype(reference):
        return "categorical"
    distinct = max(reference.nunique(), current.nunique())
    return "categorical" if distinct <= _MAX_CLASSES else "numeric"


def _role_plan(column: str, role: str, stat_kind: str, thresholds: DriftThresholds) -> _Plan:
    if stat_kind == "numeric":
        return _Plan(
            column, role, stat_kind, thresholds.numeric_method, thresholds.numeric_threshold
        )
    return _Plan(
        column, role, stat_kind, thresholds.categorical_method, thresholds.categorical_threshold
    )


def _has_values(series: pd.Series, stat_kind: str) -> bool:
    """Whether Evidently would have anything left after dropping nulls (and infinities)."""
    if stat_kind == "numeric" and pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        return bool(np.isfinite(values).any())
    return bool(series.notna().any())


def _all_null(plan: _Plan, reference: pd.DataFrame, current: pd.DataFrame) -> ColumnDrift | None:
    """A verdict for a column empty on a side (Evidently raises on those); None otherwise."""
    ref_ok = _has_values(reference[plan.column], plan.stat_kind)
    cur_ok = _has_values(current[plan.column], plan.stat_kind)
    if ref_ok and cur_ok:
        return None
    drifted = ref_ok != cur_ok
    return ColumnDrift(plan.column, plan.kind, ALL_NULL, 1.0 if drifted else 0.0, 0.0, drifted)


def _for_evidently(series: pd.Series, stat_kind: str) -> pd.Series:
    """Numeric columns as float64 (Evidently cannot subtract booleans or nullable NA)."""
    if stat_kind != "numeric":
        return series
    if not pd.api.types.is_numeric_dtype(series):
        raise ValueError(f"numeric column {series.name!r} has dtype {series.dtype}")
    if pd.api.types.is_bool_dtype(series) or isinstance(
        series.dtype, pd.api.extensions.ExtensionDtype
    ):
        return pd.Series(series.to_numpy(dtype="float64", na_value=np.nan), index=series.index)
    return series


def _dataset(frame: pd.DataFrame, plans: list[_Plan]) -> Dataset:
    """An Evidently Dataset of just the measured columns, with their types fixed by us."""
    from evidently import DataDefinition, Dataset

    data = pd.DataFrame({p.column: _for_evidently(frame[p.column], p.stat_kind) for p in plans})
    definition = DataDefinition(
        numerical_columns=[p.column for p in plans if p.stat_kind == "numeric"],
        categorical_columns=[p.column for p in plans if p.stat_kind == "categorical"],
        text_columns=[],
        datetime_columns=[],
        unknown_columns=[],
        list_columns=[],
    )
    return Dataset.from_pandas(data, data_definition=definition)


def _parse_snapshot(result: dict[str, Any], plans: list[_Plan]) -> dict[str, ColumnDrift]:
    """One verdict per measured column, found by metric type and column, never by position."""
    failed = {t["metric_config"]["metric_id"]: t["status"] == "FAIL" for t in result["tests"]}
    by_column = {
        m["config"]["column"]: m for m in result["metrics"] if m["config"]["type"] == _VALUE_DRIFT
    }
    verdicts = {}
    for plan in plans:
        metric = by_column.get(plan.column)
        if metric is None or metric["id"] not in failed:
            raise RuntimeError(f"Evidently returned no drift result for column {plan.column!r}")
        config = metric["config"]
        verdicts[plan.column] = ColumnDrift(
            column=plan.column,
            kind=plan.kind,
            method=plan.method,
            score=float(metric["value"]),
            threshold=float(config["threshold"]),
            drifted=failed[metric["id"]],
        )
    return verdicts


def _report(reference: pd.DataFrame, current: pd.DataFrame, plans: list[_Plan]) -> Any:
    """Run one Evidently report: a ValueDrift (with its pass/fail test) per measured column."""
    from evidently import Report
    from evidently.metrics import ValueDrift

    metrics = [
        ValueDrift(column=p.column, method=EVIDENTLY_METHODS[p.method], threshold=p.threshold)
        for p in plans
    ]
    # chi-square divides by zero on a category absent from the reference; its p-value is still 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        return Report(metrics, include_tests=True).run(
            _dataset(current, plans), _dataset(reference, plans)
        )


def _save(snapshot: Any, out_dir: Path) -> DriftReports:
    out_dir.mkdir(parents=True, exist_ok=True)
    reports = DriftReports(html=out_dir / "drift_report.html", json=out_dir / "drift_report.json")
    # Evidently 0.7.23 silently writes nothing when given a Path instead of a str.
    snapshot.save_html(str(reports.html))
    snapshot.save_json(str(reports.json))
    return reports


def _plans(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    thresholds: DriftThresholds,
    prediction: str | None,
    target: str | None,
    min_target_rows: int,
) -> tuple[list[_Plan], _Plan | None, _Plan | None]:
    named = [*numeric, *categorical, *(c for c in (prediction, target) if c)]
    if not numeric and not categorical:
        raise ValueError("drift needs at least one numeric or categorical feature column")
    if len(set(named)) != len(named):
        raise ValueError(f"a column is named twice among features, prediction and target: {named}")
    for side, frame in (("reference", reference), ("current", current)):
        missing = [c for c in named if c not in frame.columns]
        if missing:
            raise ValueError(f"{side} data lacks columns {missing}")
    features = [_feature_plan(c, "numeric", thresholds) for c in numeric]
    features += [_feature_plan(c, "categorical", thresholds) for c in categorical]
    pred_plan = None
    if prediction:
        kind = _stat_kind(reference[prediction], current[prediction])
        pred_plan = _role_plan(prediction, "prediction", kind, thresholds)
    target_plan = None
    if target:
        ref_labels, cur_labels = reference[target].dropna(), current[target].dropna()
        if min(len(ref_labels), len(cur_labels)) >= min_target_rows:
            kind = _stat_kind(ref_labels, cur_labels)
            target_plan = _role_plan(target, "target", kind, thresholds)
    return features, pred_plan, target_plan


def run_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    numeric: list[str],
    categorical: list[str],
    thresholds: DriftThresholds,
    prediction: str | None = None,
    target: str | None = None,
    out_dir: Path | None = None,
    min_target_rows: int = MIN_TARGET_ROWS,
) -> tuple[DriftSummary, DriftReports | None]:
    """Feature, prediction and target drift from one Evidently report; the dataset verdict is ours.

    Reports are saved only when out_dir is given and at least one column had values to compare.
    """
    features, pred_plan, target_plan = _plans(
        reference, current, numeric, categorical, thresholds, prediction, target, min_target_rows
    )
    all_plans = [*features, *(p for p in (pred_plan, target_plan) if p is not None)]
    verdicts = {p.column: v for p in all_plans if (v := _all_null(p, reference, current))}
    measured = [p for p in all_plans if p.column not in verdicts]
    reports = None
    if measured:
        snapshot = _report(reference, current, measured)
        verdicts.update(_parse_snapshot(snapshot.dict(), measured))
        reports = _save(snapshot, out_dir) if out_dir is not None else None
    columns = tuple(verdicts[p.column] for p in features)
    share = sum(c.drifted for c in columns) / len(columns)
    return (
        DriftSummary(
            columns=columns,
            drift_share=share,
            dataset_drift=share >= thresholds.dataset_share,
            prediction=verdicts[pred_plan.column] if pred_plan else None,
            target=verdicts[target_plan.column] if target_plan else None,
            reference_rows=len(reference),
            current_rows=len(current),
        ),
        reports,
    )
