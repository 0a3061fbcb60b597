"""Validate a window of production data against the config and the champion's training schema."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from retrain.config import Columns, Thresholds
from retrain.data.maturity import ARRIVED
from retrain.data.timestamps import as_utc, utc_timestamps
from retrain.drift.window_stats import ColumnFacts, WindowSummary, summarize
from retrain.metrics import BINARY_ONLY

SCHEMA_VERSION = 1
MAX_CATEGORIES = 1000
MAX_LISTED = 10
_MAX_LABEL_CLASSES = 50
ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Problem:
    """One finding; an error makes the window invalid, a warning is only reported."""

    code: str
    column: str | None
    message: str
    severity: str


@dataclass(frozen=True)
class ValidationReport:
    """Every problem found in one window."""

    problems: tuple[Problem, ...]

    @property
    def valid(self) -> bool:
        """True when no problem is an error."""
        return not any(p.severity == ERROR for p in self.problems)

    def reasons(self) -> list[str]:
        """Machine-readable reasons ("code:column", or "code") of the errors."""
        return [
            f"{p.code}:{p.column}" if p.column else p.code
            for p in self.problems
            if p.severity == ERROR
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "valid": self.valid,
            "reasons": self.reasons(),
            "problems": [asdict(p) for p in self.problems],
        }


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _top_categories(series: pd.Series) -> tuple[list[str], bool]:
    counts = series.value_counts(dropna=True)
    counts = counts[counts > 0]
    return [str(v) for v in counts.index[:MAX_CATEGORIES]], len(counts) > MAX_CATEGORIES


def _feature_schema(series: pd.Series, kind: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "kind": kind,
        "dtype": str(series.dtype),
        "numeric": _is_numeric(series),
        "null_rate": float(series.isna().mean()) if len(series) else 0.0,
    }
    if kind == "categorical":
        entry["categories"], entry["categories_truncated"] = _top_categories(series)
    return entry


def _label_schema(series: pd.Series, task: str | None) -> dict[str, Any]:
    labels = series.dropna()
    classes: list[str] | None = None
    if task != "regression" and labels.nunique() <= _MAX_LABEL_CLASSES:
        classes = sorted(str(v) for v in labels.unique())
    return {"dtype": str(series.dtype), "classes": classes}


def capture_schema(
    train: pd.DataFrame, columns: Columns, *, task: str | None = None
) -> dict[str, Any]:
    """The training data's schema (JSON-serialisable), stored with the model version."""
    features = {c: _feature_schema(train[c], "numeric") for c in columns.numeric}
    features |= {c: _feature_schema(train[c], "categorical") for c in columns.categorical}
    return {
        "version": SCHEMA_VERSION,
        "rows": len(train),
        "features": features,
        "label": {"name": columns.label, **_label_schema(train[columns.label], task)},
    }


def _problem(code: str, column: str | None, message: str, severity: str = ERROR) -> Problem:
    return Problem(code=code, column=column, message=message, severity=severity)


def _check_columns(df: pd.DataFrame, columns: Columns, summarised: list[str]) -> list[Problem]:
    """`summarised`: feature columns present in the window though not in `df` (streamed)."""
    present = {*df.columns, *summarised}
    required = [columns.id, columns.timestamp, *columns.features, columns.label]
    problems = [
        _problem("missing_column", c, f"required column {c!r} is absent")
        for c in required
        if c not in present
    ]
    problems += [
        _problem("missing_column", c, f"optional column {c!r} is absent; not monitored", WARNING)
        for c in columns.optional
        if c not in present
    ]
    problems += [
        _problem(
            "missing_column", c, f"required column {c!r} is absent from some files of the window"
        )
        for c in required
        if c in present and c in df.attrs.get("missing_columns", ())
    ]
    known = {*required, *columns.optional, ARRIVED}  # ARRIVED: joined from a label feed
    # The loader keeps only configured columns and lists the files' other columns in attrs.
    extra = [*df.columns, *df.attrs.get("extra_columns", ())]
    problems += [
        _problem(
            "unexpected_column", str(c), f"column {c!r} is not in the config; ignored", WARNING
        )
        for c in dict.fromkeys(extra)
        if c not in known
    ]
    return problems


def _check_dtype(
    name: str, facts: ColumnFacts, kind: str, expected: dict[str, Any] | None
) -> list[Problem]:
    if kind == "numeric" and not facts.numeric:
        hint = " (numbers stored as strings?)" if facts.numbers_as_text else ""
        trained = f", trained as {expected['dtype']}" if expected else ""
        msg = f"numeric feature {name!r} has dtype {facts.dtype}{trained}{hint}"
        return [_problem("dtype_changed", name, msg)]
    if kind == "categorical" and expected and not expected["numeric"] and facts.number:
        msg = (
            f"categorical feature {name!r} is now numeric ({facts.dtype}), "
            f"trained as {expected['dtype']}; its values are compared as text"
        )
        return [_problem("dtype_changed", name, msg, WARNING)]
    return []


def _check_nulls(
    name: str, facts: ColumnFacts, thresholds: Thresholds, expected: dict[str, Any] | None
) -> list[Problem]:
    rate = facts.null_rate
    if rate == 1.0:
        return [_problem("all_null", name, f"feature {name!r} is null in all {facts.rows} rows")]
    if rate > thresholds.max_null_rate:
        limit = thresholds.max_null_rate
        msg = f"feature {name!r} is {rate:.1%} null, above max_null_rate {limit:.1%}"
        return [_problem("null_rate", name, msg)]
    if expected is not None:
        limit = expected["null_rate"] + thresholds.max_null_rate_increase
        if rate > limit:
            msg = (
                f"feature {name!r} is {rate:.1%} null, was {expected['null_rate']:.1%} in "
                f"training; more than max_null_rate_increase "
                f"{thresholds.max_null_rate_increase:.1%} above it"
            )
            return [_problem("null_rate", name, msg)]
    return []


def _check_categories(
    name: str, found: dict[object, int], thresholds: Thresholds, expected: dict[str, Any]
) -> list[Problem]:
    seen = set(expected["categories"])
    counts = pd.Series(found, dtype="int64").sort_values(ascending=False, kind="stable")
    counts = counts[counts > 0]
    unseen = counts[[str(v) not in seen for v in counts.index]]
    if unseen.empty:
        return []
    share = float(unseen.sum() / counts.sum())
    listed = ", ".join(repr(str(v)) for v in unseen.index[:MAX_LISTED])
    msg = (
        f"feature {name!r}: {int(unseen.sum())} of {int(counts.sum())} non-null rows "
        f"({share:.1%}) hold values unseen in training ({len(unseen)} distinct): {listed}"
    )
    too_many = share > thresholds.max_unseen_category_share
    if too_many and expected.get("categories_truncated"):
        msg += f" (training kept only its top {MAX_CATEGORIES} categories)"
        too_many = False
    elif too_many:
        msg += f"; above max_unseen_category_share {thresholds.max_unseen_category_share:.1%}"
    return [_problem("unseen_categories", name, msg, ERROR if too_many else WARNING)]


def _check_features(
    summary: WindowSummary,
    columns: Columns,
    thresholds: Thresholds,
    schema: dict[str, Any] | None,
) -> list[Problem]:
    expected_features: dict[str, Any] = (schema or {}).get("features", {})
    problems: list[Problem] = []
    kinds = [(c, "numeric") for c in columns.numeric] + [
        (c, "categorical") for c in columns.categorical
    ]
    for column, kind in kinds:
        facts = summary.facts.get(column)
        if facts is None:
            continue
        expected = expected_features.get(column)
        problems += _check_dtype(column, facts, kind, expected)
        nulls = _check_nulls(column, facts, thresholds, expected)
        problems += nulls
        if kind == "categorical" and expected and "categories" in expected and not nulls:
            problems += _check_categories(column, summary.categories(column), thresholds, expected)
    return problems


def _check_timestamps(
    series: pd.Series, window_start: datetime | None, window_end: datetime | None
) -> list[Problem]:
    name = str(series.name)
    parsed = utc_timestamps(series)
    if parsed is None:
        msg = f"timestamp column {name!r} has dtype {series.dtype}; expected datetimes"
        return [_problem("bad_timestamp", name, msg)]
    bad = parsed.isna() & series.notna()
    if bad.any():
        example = series[bad].iloc[0]
        count = int(bad.sum())
        msg = f"{count} of {len(series)} values of {name!r} are not datetimes, e.g. {example!r}"
        return [_problem("bad_timestamp", name, msg)]
    outside = pd.Series(False, index=series.index)
    if window_start is not None:
        outside |= parsed < as_utc(window_start)
    if window_end is not None:
        outside |= parsed >= as_utc(window_end)
    if not outside.any():
        return []
    msg = (
        f"{int(outside.sum())} of {len(series)} rows have {name!r} outside "
        f"[{window_start}, {window_end})"
    )
    return [_problem("timestamp_outside_window", name, msg, WARNING)]


def _check_row_count(df: pd.DataFrame, thresholds: Thresholds) -> list[Problem]:
    """No rows is a warning (the policy skips with no_data); fewer than min_rows is an error."""
    if len(df) == 0:
        return [_problem("no_data", None, "the window has no rows", WARNING)]
    if len(df) < thresholds.min_rows:
        msg = f"the window has {len(df)} rows, fewer than min_rows {thresholds.min_rows}"
        return [_problem("too_few_rows", None, msg)]
    return []


def _check_duplicate_ids(df: pd.DataFrame, id_column: str) -> list[Problem]:
    if id_column not in df.columns:
        return []
    duplicates = int(df[id_column].duplicated().sum())
    if not duplicates:
        return []
    msg = f"{duplicates} rows repeat an earlier {id_column!r}"
    return [_problem("duplicate_ids", id_column, msg, WARNING)]


def _check_label(series: pd.Series, task: str | None) -> list[Problem]:
    if task != "classification":
        return []
    classes = series.dropna().unique()
    if len(classes) != 1:
        return []
    name = str(series.name)
    msg = f"all {int(series.notna().sum())} non-null labels of {name!r} are {str(classes[0])!r}"
    return [_problem("single_class", name, msg, WARNING)]


def _class_text(value: Any) -> str:
    """A class as text, 1, 1.0 and "1.0" alike (a label column with nulls is read as floats)."""
    text = str(value)
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def _check_label_classes(
    series: pd.Series, metric: str | None, declared: list[Any] | None, schema: dict[str, Any] | None
) -> list[Problem]:
    """Labels the metric cannot score (a binary-only metric on three values, f1 on labels not
    0/1) and labels outside the declared classes (errors) or the champion's (a warning)."""
    name = str(series.name)
    values = pd.unique(series.dropna())
    shown = sorted(str(v) for v in values)[:MAX_LISTED]
    problems: list[Problem] = []
    if metric in BINARY_ONLY and len(values) > 2:
        msg = (
            f"metric {metric!r} needs a binary label but column {name!r} holds {len(values)} "
            f"values {shown}; use a multi-class metric (f1_macro, roc_auc_ovr, accuracy, ...)"
        )
        problems.append(_problem("label_not_binary", name, msg))
    elif metric == "f1" and len(values) and not pd.Series(values).isin((0, 1)).all():
        msg = (
            f"metric 'f1' needs labels coded 0/1 (1 positive) but column {name!r} holds {shown}; "
            "use f1_macro, or code the positive class 1"
        )
        problems.append(_problem("label_not_binary", name, msg))
    known = {_class_text(v) for v in declared} if declared else None
    severity = ERROR
    if known is None and schema and (schema.get("label") or {}).get("classes") is not None:
        known, severity = {_class_text(v) for v in schema["label"]["classes"]}, WARNING
    unseen = sorted(str(v) for v in values if _class_text(v) not in known) if known else []
    if unseen:
        where = "the declared classes" if severity == ERROR else "the champion's training labels"
        msg = f"column {name!r} holds classes {unseen[:MAX_LISTED]} outside {where} "
        msg += str(sorted(known or ()))
        problems.append(_problem("unseen_class", name, msg, severity))
    return problems


def validate_window(
    df: pd.DataFrame,
    columns: Columns,
    thresholds: Thresholds,
    schema: dict[str, Any] | None,
    *,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    task: str | None = None,
    features: WindowSummary | None = None,
    metric: str | None = None,
    classes: list[Any] | None = None,
) -> ValidationReport:
    """Every problem of a window; with no schema (no champion yet) only the config is checked.

    The feature columns are checked from `features`, the window's merged summary when it was
    streamed (`df` then holds the per-row columns only), else from `df`'s own columns. With
    `metric` (and the declared `classes`), the labels are checked against what it can score."""
    if features is None:
        features = summarize(df, None, list(columns.numeric), list(columns.categorical))
    problems = _check_row_count(df, thresholds)
    problems += _check_duplicate_ids(df, columns.id)
    problems += _check_columns(df, columns, list(features.facts))
    if columns.timestamp in df.columns:
        problems += _check_timestamps(df[columns.timestamp], window_start, window_end)
    problems += _check_features(features, columns, thresholds, schema)
    if columns.label in df.columns:
        problems += _check_label(df[columns.label], task)
        if task == "classification":
            problems += _check_label_classes(df[columns.label], metric, classes, schema)
    return ValidationReport(problems=tuple(problems))
