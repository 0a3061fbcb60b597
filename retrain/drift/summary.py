"""Drift of a window against a champion's reference: full-data statistics decide, Evidently reports.

Every verdict comes from the reference statistics stored with the champion
(`retrain.drift.reference`) and one pass over the window's columns (`retrain.drift.measures`,
Evidently 0.7's stattests computed from statistics). Evidently itself runs on a bounded
sample only: for the HTML and JSON reports, and for a method statistics cannot give
(numeric `hellinger`), whose verdict is then the sample's (listed in `sampled_columns`).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from retrain.config import DriftThresholds
from retrain.drift.measures import (
    CATEGORICAL_FROM_STATS,
    NUMERIC_FROM_STATS,
    categorical_score,
    numeric_score,
)
from retrain.drift.reference import (
    CategoricalStats,
    ColumnStats,
    Frame,
    NumericStats,
    ReferenceStats,
    compute_reference_stats,
    finite_sorted,
    frame_rows,
    is_categorical_dtype,
)
from retrain.drift.report import (
    EVIDENTLY_METHODS,
    DriftReports,
    Plan,
    parse_snapshot,
    sample_report,
)
from retrain.drift.verdict import (
    ALL_NULL,
    ColumnDrift,
    empty_verdict,
    feature_plan,
    finite_counts,
    verdict,
)

if TYPE_CHECKING:
    from retrain.drift.window_stats import WindowSummary

__all__ = [
    "ALL_NULL",
    "EVIDENTLY_METHODS",
    "ColumnDrift",
    "DriftReports",
    "DriftSummary",
    "column_drift",
    "run_drift",
]
MIN_TARGET_ROWS = 30
_MAX_CLASSES = 20


@dataclass(frozen=True)
class DriftSummary:
    """One window's drift: per-column verdicts from full-data statistics, our dataset verdict."""

    columns: tuple[ColumnDrift, ...]
    drift_share: float
    dataset_drift: bool
    prediction: ColumnDrift | None
    target: ColumnDrift | None
    reference_rows: int
    current_rows: int
    report_sample_rows: int | None = None  # rows of the window in the Evidently report
    sampled_columns: tuple[str, ...] = ()  # verdicts taken from the sample, not full data

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
            "report_sample_rows": self.report_sample_rows,
            "sampled_columns": list(self.sampled_columns),
        }


def _stat_kind(reference: ColumnStats, current: pd.Series) -> str:
    """Numeric for continuous numbers; categorical for labels, classes and few distinct values."""
    if isinstance(reference, CategoricalStats) or is_categorical_dtype(current):
        return "categorical"
    if reference.distinct > _MAX_CLASSES:  # no need to count the window's (10M scores, say)
        return "numeric"
    distinct = max(reference.distinct, current.nunique())
    return "categorical" if distinct <= _MAX_CLASSES else "numeric"


def _role_plan(column: str, role: str, stat_kind: str, thresholds: DriftThresholds) -> Plan:
    if stat_kind == "numeric":
        return Plan(
            column, role, stat_kind, thresholds.numeric_method, thresholds.numeric_threshold
        )
    return Plan(
        column, role, stat_kind, thresholds.categorical_method, thresholds.categorical_threshold
    )


def _value_counts(series: pd.Series) -> dict[Any, int]:
    """Non-null (and finite) value counts, as Evidently sees a categorical column."""
    return finite_counts(series, series.value_counts(dropna=True, sort=False))


def _measure(plan: Plan, reference: ColumnStats, current: pd.Series) -> ColumnDrift | None:
    """One column's verdict from statistics; None when its method needs raw values."""
    if plan.stat_kind == "numeric":
        if not isinstance(reference, NumericStats):
            raise ValueError(f"numeric column {plan.column!r} has categorical reference statistics")
        values = finite_sorted(current)
        empty = empty_verdict(plan, reference.rows, len(values))
        if empty is not None or plan.method not in NUMERIC_FROM_STATS:
            return empty
        return verdict(plan, numeric_score(plan.method, reference, values))
    counts = _value_counts(current)
    empty = empty_verdict(plan, reference.rows, sum(counts.values()))
    if empty is not None:
        return empty
    if isinstance(reference, CategoricalStats):
        ref_counts, other = reference.counts, reference.other
    else:
        ref_counts, other = reference.value_counts(), 0
    return verdict(plan, categorical_score(plan.method, ref_counts, other, counts))


def _plans(
    stats: ReferenceStats,
    current: Frame,
    numeric: list[str],
    categorical: list[str],
    thresholds: DriftThresholds,
    prediction: str | None,
    target: str | None,
    min_target_rows: int,
    summarised: Collection[str] = (),
) -> tuple[list[Plan], Plan | None, Plan | None]:
    named = [*numeric, *categorical, *(c for c in (prediction, target) if c)]
    if not numeric and not categorical:
        raise ValueError("drift needs at least one numeric or categorical feature column")
    if len(set(named)) != len(named):
        raise ValueError(f"a column is named twice among features, prediction and target: {named}")
    for side, names in (("reference", stats.columns), ("current", {*current, *summarised})):
        missing = [c for c in named if c not in names]
        if missing:
            raise ValueError(f"{side} data lacks columns {missing}")
    features = [feature_plan(c, "numeric", thresholds) for c in numeric]
    features += [feature_plan(c, "categorical", thresholds) for c in categorical]
    pred_plan = None
    if prediction:
        kind = _stat_kind(stats.columns[prediction], current[prediction])
        pred_plan = _role_plan(prediction, "prediction", kind, thresholds)
    target_plan = None
    if target:
        ref_labels, cur_labels = stats.columns[target], current[target].dropna()
        if min(ref_labels.rows, len(cur_labels)) >= min_target_rows:
            kind = _stat_kind(ref_labels, cur_labels)
            target_plan = _role_plan(target, "target", kind, thresholds)
    return features, pred_plan, target_plan


def _from_stats(plan: Plan) -> bool:
    methods = NUMERIC_FROM_STATS if plan.stat_kind == "numeric" else CATEGORICAL_FROM_STATS
    return plan.method in methods


def column_drift(
    column: str,
    role: str,
    reference: ColumnStats,
    current: pd.Series,
    thresholds: DriftThresholds,
) -> ColumnDrift | None:
    """One more column's drift against reference statistics, judged as the prediction is (the
    served prediction against the champion's training predictions, say); None when its method
    needs raw values, ValueError when the two sides are not the same kind of values."""
    plan = _role_plan(column, role, _stat_kind(reference, current), thresholds)
    return _measure(plan, reference, current)


def run_drift(
    reference: Frame,
    current: Frame,
    *,
    numeric: list[str],
    categorical: list[str],
    thresholds: DriftThresholds,
    prediction: str | None = None,
    target: str | None = None,
    out_dir: Path | None = None,
    min_target_rows: int = MIN_TARGET_ROWS,
    reference_stats: ReferenceStats | None = None,
    report_sample_rows: int | None = None,
    summary: WindowSummary | None = None,
    sample: Frame | None = None,
) -> tuple[DriftSummary, DriftReports | None]:
    """Feature, prediction and target drift of `current` against the reference statistics.

    `reference` is the champion's reference sample: the reference side of the Evidently
    report, and the source of the statistics when `reference_stats` is not given. Reports
    (on at most `report_sample_rows` rows a side, `thresholds.report_rows` when None) are
    saved only when out_dir is given.

    A streamed window gives its features as `summary` (merged batch statistics on the
    reference's bins, `retrain.drift.window_stats`) and a `sample` of its whole rows for the report;
    `current` then holds the prediction and target columns of every row.
    """
    from retrain.drift.window_stats import feature_drift  # it builds on this module

    report_sample_rows = report_sample_rows or thresholds.report_rows
    extra = [c for c in (prediction, target) if c]
    stats = reference_stats or compute_reference_stats(reference, numeric, categorical, extra)
    summarised = summary.facts if summary is not None else ()
    features, pred_plan, target_plan = _plans(
        stats,
        current,
        numeric,
        categorical,
        thresholds,
        prediction,
        target,
        min_target_rows,
        summarised,
    )
    plans = [*features, *(p for p in (pred_plan, target_plan) if p is not None)]
    sampled = [p for p in plans if not _from_stats(p)]
    rows = frame_rows(current)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Evidently (mostly Python, plotly) runs beside the statistics (mostly numpy, no GIL)
        pending = None
        if sampled or out_dir is not None:
            shown = sample if sample is not None else current
            args = (reference, shown, plans, report_sample_rows, out_dir, rows)
            pending = pool.submit(sample_report, *args)
        verdicts: dict[str, ColumnDrift] = {}
        if summary is not None:
            found = feature_drift(stats, summary, numeric, categorical, thresholds)
            verdicts = {p.column: v for p, v in zip(features, found, strict=True) if v is not None}
        verdicts |= {
            p.column: v
            for p in plans
            if p.column not in summarised
            and (v := _measure(p, stats.columns[p.column], current[p.column])) is not None
        }
        report = pending.result() if pending is not None else None
    if report is not None and report.result is not None:
        waiting = [p for p in sampled if p.column not in verdicts and p in report.shown]
        for p, (score, threshold, failed) in parse_snapshot(report.result, waiting).items():
            verdicts[p.column] = ColumnDrift(p.column, p.kind, p.method, score, threshold, failed)
    for p in sampled:  # no values in the sample either: nothing to judge by
        verdicts.setdefault(p.column, verdict(p, math.nan))
    columns = tuple(verdicts[p.column] for p in features)
    share = sum(c.drifted for c in columns) / len(columns)
    return (
        DriftSummary(
            columns=columns,
            drift_share=share,
            dataset_drift=share >= thresholds.dataset_share,
            prediction=verdicts[pred_plan.column] if pred_plan else None,
            target=verdicts[target_plan.column] if target_plan else None,
            reference_rows=stats.rows,
            current_rows=rows,
            report_sample_rows=report.rows if report is not None else None,
            sampled_columns=tuple(
                p.column for p in sampled if verdicts[p.column].method != ALL_NULL
            ),
        ),
        report.files if report is not None else None,
    )
