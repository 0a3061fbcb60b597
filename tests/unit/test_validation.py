"""Data validation: one case per problem code, a clean window, and the schema round trip."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

from retrain.config import Columns, Thresholds
from retrain.data.validation import ValidationReport, capture_schema, validate_window

COLUMNS = Columns(
    id="id",
    timestamp="ts",
    numeric=["n0", "n1"],
    categorical=["c0", "c1"],
    label="label",
    prediction="pred",
)
ROWS = 400
START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 11, 8, tzinfo=UTC)


def _frame(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, ROWS).astype(float)
    labels[rng.random(ROWS) < 0.3] = np.nan
    seconds = rng.integers(0, 7 * 86400, ROWS)
    return pd.DataFrame(
        {
            "id": np.arange(ROWS) + seed * ROWS,
            "ts": pd.Timestamp(START) + pd.to_timedelta(np.sort(seconds), unit="s"),
            "n0": rng.normal(0, 1, ROWS),
            "n1": rng.normal(5, 2, ROWS),
            "c0": pd.Categorical(rng.choice(["a", "b", "c"], ROWS)),
            "c1": rng.choice(["x", "y", "z"], ROWS).astype(object),
            "label": labels,
            "pred": rng.random(ROWS),
        }
    )


SCHEMA = capture_schema(_frame(seed=1), COLUMNS, task="classification")


def _validate(df: pd.DataFrame, **kw: Any) -> ValidationReport:
    kw.setdefault("window_start", START)
    kw.setdefault("window_end", END)
    kw.setdefault("task", "classification")
    return validate_window(
        df, COLUMNS, kw.pop("thresholds", Thresholds()), kw.pop("schema", SCHEMA), **kw
    )


def _set(
    column: str, make: Callable[[pd.DataFrame], Any]
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def mutate(df: pd.DataFrame) -> pd.DataFrame:
        df[column] = make(df)
        return df

    return mutate


def _share_of(value: str, share: float) -> Callable[[pd.DataFrame], Any]:
    def make(df: pd.DataFrame) -> Any:
        hit = np.arange(len(df)) < int(share * len(df))
        return np.where(hit, value, df["c1"]).astype(object)

    return make


def _null_share(share: float) -> Callable[[pd.DataFrame], Any]:
    return lambda df: df["n1"].where(np.arange(len(df)) >= int(share * len(df)))


CASES: list[tuple[str, Callable[[pd.DataFrame], pd.DataFrame], str, str | None, str]] = [
    ("too_few_rows", lambda df: df.head(50), "too_few_rows", None, "error"),
    ("missing_feature", lambda df: df.drop(columns=["n1"]), "missing_column", "n1", "error"),
    ("missing_id", lambda df: df.drop(columns=["id"]), "missing_column", "id", "error"),
    ("missing_label", lambda df: df.drop(columns=["label"]), "missing_column", "label", "error"),
    (
        "missing_prediction",
        lambda df: df.drop(columns=["pred"]),
        "missing_column",
        "pred",
        "warning",
    ),
    ("unexpected_column", _set("extra", lambda df: 1), "unexpected_column", "extra", "warning"),
    (
        "numbers_as_strings",
        _set("n0", lambda df: df["n0"].astype(str)),
        "dtype_changed",
        "n0",
        "error",
    ),
    ("all_null", _set("n1", lambda df: np.nan), "all_null", "n1", "error"),
    ("null_rate_absolute", _set("n1", _null_share(0.6)), "null_rate", "n1", "error"),
    ("null_rate_increase", _set("n1", _null_share(0.3)), "null_rate", "n1", "error"),
    ("unseen_many", _set("c1", _share_of("new", 0.2)), "unseen_categories", "c1", "error"),
    ("unseen_few", _set("c1", _share_of("new", 0.01)), "unseen_categories", "c1", "warning"),
    (
        "duplicate_ids",
        _set("id", lambda df: df["id"] % (ROWS - 5)),
        "duplicate_ids",
        "id",
        "warning",
    ),
    (
        "outside_window",
        _set("ts", lambda df: df["ts"] + pd.Timedelta(days=3)),
        "timestamp_outside_window",
        "ts",
        "warning",
    ),
    (
        "bad_timestamp",
        _set("ts", lambda df: np.where(df.index < 3, "not a date", df["ts"].astype(str))),
        "bad_timestamp",
        "ts",
        "error",
    ),
    ("numeric_timestamp", _set("ts", lambda df: df["id"]), "bad_timestamp", "ts", "error"),
    (
        "single_class",
        _set("label", lambda df: df["label"].where(df["label"].isna(), 1.0)),
        "single_class",
        "label",
        "warning",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "code", "column", "severity"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_each_problem_is_found(
    mutate: Callable[[pd.DataFrame], pd.DataFrame], code: str, column: str | None, severity: str
) -> None:
    report = _validate(mutate(_frame()))
    found = [p for p in report.problems if p.code == code and p.column == column]
    assert len(found) == 1, report.problems
    problem = found[0]
    assert problem.severity == severity
    assert column is None or repr(column) in problem.message
    assert report.valid is (severity == "warning")
    others = [p for p in report.problems if p is not problem]
    assert all(p.severity == "warning" for p in others), others
    if severity == "error":
        assert report.reasons() == [f"{code}:{column}" if column else code]


def test_clean_window_is_valid_without_problems() -> None:
    report = _validate(_frame())
    assert report.problems == ()
    assert report.valid
    assert report.reasons() == []
    assert json.loads(json.dumps(report.to_dict())) == {
        "valid": True,
        "reasons": [],
        "problems": [],
    }


def test_without_schema_only_the_config_is_checked() -> None:
    df = _share_of("new", 0.5)(_frame())
    frame = _frame().assign(c1=df, n1=_null_share(0.3)(_frame()))
    assert _validate(frame, schema=None).problems == ()


def test_schema_round_trips_through_json() -> None:
    train = _frame(seed=1)
    train["flag"] = train["n0"] > 0
    schema = capture_schema(train, COLUMNS, task="classification")
    assert json.loads(json.dumps(schema)) == schema
    assert set(schema["features"]["c0"]["categories"]) == {"a", "b", "c"}
    assert schema["features"]["n0"]["kind"] == "numeric"
    assert schema["label"]["classes"] == ["0.0", "1.0"]
    round_tripped = json.loads(json.dumps(schema))
    df = _set("c1", _share_of("new", 0.2))(_frame())
    assert _validate(df, schema=round_tripped) == _validate(df, schema=schema)


def test_naive_window_bounds_are_read_as_utc() -> None:
    df = _frame()
    naive = {"window_start": START.replace(tzinfo=None), "window_end": END.replace(tzinfo=None)}
    assert _validate(df, **naive).problems == ()
    shifted = df.assign(ts=df["ts"].dt.tz_localize(None) - pd.Timedelta(days=1))
    codes = [p.code for p in _validate(shifted, **naive).problems]
    assert codes == ["timestamp_outside_window"]


def test_iso_strings_are_accepted_as_timestamps() -> None:
    df = _frame()
    df["ts"] = df["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _validate(df).problems == ()


def test_categorical_turned_numeric_is_a_warning_compared_as_text() -> None:
    train = _frame(seed=1)
    train["c1"] = train["c1"].map({"x": "1", "y": "2", "z": "3"})
    schema = capture_schema(train, COLUMNS)
    df = _frame().assign(c1=lambda d: d["c1"].map({"x": 1, "y": 2, "z": 3}))
    report = _validate(df, schema=schema)
    assert [(p.code, p.column, p.severity) for p in report.problems] == [
        ("dtype_changed", "c1", "warning")
    ]
    assert report.valid


def test_regression_skips_single_class() -> None:
    df = _frame().assign(label=1.0)
    assert _validate(df, task="regression").problems == ()
