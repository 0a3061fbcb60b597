"""The Evidently side of drift: a report of ValueDrift metrics on a bounded sample of both sides."""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from retrain.drift.reference import Frame, frame_rows

if TYPE_CHECKING:  # importing evidently takes seconds; the summary types must stay cheap
    from evidently import Dataset

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
_VALUE_DRIFT = "evidently:metric_v2:ValueDrift"


@dataclass(frozen=True)
class DriftReports:
    """Where the Evidently reports of one run were saved."""

    html: Path
    json: Path


@dataclass(frozen=True)
class Plan:
    """A column to measure: our role for it, how Evidently should treat it, and the test."""

    column: str
    kind: str
    stat_kind: str
    method: str
    threshold: float


def _has_values(series: pd.Series, stat_kind: str) -> bool:
    """Whether Evidently would have anything left after dropping nulls (and infinities)."""
    if stat_kind == "numeric" and pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        return bool(np.isfinite(values).any())
    return bool(series.notna().any())


def _sample(frame: Frame, columns: list[str], rows: int, seed: int = 0) -> pd.DataFrame:
    """At most `rows` random rows (kept in order) of the named columns."""
    total = frame_rows(frame)
    if total <= rows:
        return pd.DataFrame({c: frame[c].reset_index(drop=True) for c in columns})
    picked = np.sort(np.random.default_rng(seed).choice(total, rows, replace=False))
    return pd.DataFrame({c: frame[c].iloc[picked].reset_index(drop=True) for c in columns})


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


def _dataset(frame: pd.DataFrame, plans: list[Plan]) -> Dataset:
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


def parse_snapshot(
    result: dict[str, Any], plans: list[Plan]
) -> dict[Plan, tuple[float, float, bool]]:
    """(score, threshold, failed) per column, found by metric type and column, never by position."""
    failed = {t["metric_config"]["metric_id"]: t["status"] == "FAIL" for t in result["tests"]}
    by_column = {
        m["config"]["column"]: m for m in result["metrics"] if m["config"]["type"] == _VALUE_DRIFT
    }
    verdicts = {}
    for plan in plans:
        metric = by_column.get(plan.column)
        if metric is None or metric["id"] not in failed:
            raise RuntimeError(f"Evidently returned no drift result for column {plan.column!r}")
        threshold = float(metric["config"]["threshold"])
        verdicts[plan] = (float(metric["value"]), threshold, failed[metric["id"]])
    return verdicts


def _report(
    reference: pd.DataFrame, current: pd.DataFrame, plans: list[Plan], note: str = ""
) -> Any:
    """Run one Evidently report: a ValueDrift (with its pass/fail test) per measured column."""
    from evidently import Report
    from evidently.metrics import ValueDrift

    metrics = [
        ValueDrift(column=p.column, method=EVIDENTLY_METHODS[p.method], threshold=p.threshold)
        for p in plans
    ]
    # chi-square divides by zero on a category absent from the reference; its p-value is still 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        report = Report(metrics, metadata={"sample": note} if note else None, include_tests=True)
        return report.run(_dataset(current, plans), _dataset(reference, plans))


def sample_note(sample_rows: int, window_rows: int, reference_rows: int) -> str:
    """What the report says about the rows it was built on."""
    return (
        f"Built on a random sample of {sample_rows:,} of the window's {window_rows:,} rows "
        f"(thresholds.drift.report_rows) against {reference_rows:,} rows of the champion's "
        "reference sample. The loop's drift verdicts come from statistics of the full window."
    )


def _save(snapshot: Any, out_dir: Path, note: str) -> DriftReports:
    out_dir.mkdir(parents=True, exist_ok=True)
    reports = DriftReports(html=out_dir / "drift_report.html", json=out_dir / "drift_report.json")
    # Evidently 0.7.23 silently writes nothing when given a Path instead of a str.
    snapshot.save_html(str(reports.html))
    snapshot.save_json(str(reports.json))
    _add_banner(reports.html, note)
    payload = json.loads(reports.json.read_text(encoding="utf-8"))
    payload["sample"] = note  # Evidently 0.7.23 leaves the report's metadata out of its JSON
    reports.json.write_text(json.dumps(payload), encoding="utf-8")
    return reports


def _add_banner(html: Path, note: str) -> None:
    """Say at the top of the HTML report what it was built on (Evidently does not show the
    report's metadata on the page)."""
    text = html.read_text(encoding="utf-8")
    body = text.find("<body")
    close = text.find(">", body) + 1 if body >= 0 else 0
    banner = (
        '<div id="retrain-sample-note" style="font-family:sans-serif;padding:8px 16px;'
        f'background:#fff4d6;border-bottom:1px solid #e0c060">{escape(note)}</div>'
    )
    html.write_text(text[:close] + banner + text[close:], encoding="utf-8")


@dataclass(frozen=True)
class SampleReport:
    """What the Evidently report on a sample gave: its result, the shown plans, saved files."""

    result: dict[str, Any] | None
    shown: list[Plan]
    rows: int
    files: DriftReports | None


def sample_report(
    reference: Frame,
    current: Frame,
    plans: list[Plan],
    rows: int,
    out_dir: Path | None,
    window_rows: int | None = None,
) -> SampleReport:
    """An Evidently report on at most `rows` rows a side, of the columns with values there
    (`current` may be a sample already: `window_rows` is then the window's own row count)."""
    names = [p.column for p in plans if p.column in reference]
    ref, cur = _sample(reference, names, rows), _sample(current, names, rows)
    shown = [
        p
        for p in plans
        if p.column in ref
        and _has_values(ref[p.column], p.stat_kind)
        and _has_values(cur[p.column], p.stat_kind)
    ]
    if not shown:
        return SampleReport(None, shown, len(cur), None)
    note = sample_note(len(cur), window_rows or frame_rows(current), len(ref))
    snapshot = _report(ref, cur, shown, note)
    files = _save(snapshot, out_dir, note) if out_dir is not None else None
    return SampleReport(snapshot.dict(), shown, len(cur), files)
