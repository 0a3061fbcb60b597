"""Drift measured by Evidently, parsed into a typed summary with our dataset verdict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retrain.config import ColumnDrift as ColumnDriftConfig
from retrain.config import DriftThresholds
from retrain.drift.summary import ALL_NULL, DriftSummary, run_drift

NUMERIC = ["n0", "n1", "n2", "n3"]
CATEGORICAL = ["c0", "c1"]
ROWS = 1500


def _frame(seed: int, rows: int = ROWS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {c: rng.normal(0.0, 1.0, rows) for c in NUMERIC}
    data["c0"] = pd.Categorical(rng.choice(["a", "b", "c"], rows))
    data["c1"] = rng.choice(["x", "y"], rows).astype(object)
    data["flag"] = rng.random(rows) < 0.3
    data["pred"] = rng.random(rows)
    labels = rng.integers(0, 2, rows).astype(float)
    labels[rng.random(rows) < 0.5] = np.nan
    data["label"] = labels
    return pd.DataFrame(data)


def _drift(
    reference: pd.DataFrame, current: pd.DataFrame, thresholds: DriftThresholds | None = None, **kw
) -> DriftSummary:
    summary, _ = run_drift(
        reference,
        current,
        numeric=NUMERIC,
        categorical=CATEGORICAL,
        thresholds=thresholds or DriftThresholds(),
        **kw,
    )
    return summary


def test_identical_frames_do_not_drift() -> None:
    ref = _frame(0)
    summary = _drift(ref, ref.copy())
    assert summary.drifted_columns == []
    assert summary.drift_share == 0.0
    assert summary.dataset_drift is False
    assert [c.column for c in summary.columns] == NUMERIC + CATEGORICAL
    assert {c.kind for c in summary.columns} == {"numeric", "categorical"}
    assert (summary.reference_rows, summary.current_rows) == (ROWS, ROWS)


def test_shifted_column_drifts_alone() -> None:
    ref, cur = _frame(0), _frame(1)
    cur["n1"] += 2 * ref["n1"].std()
    summary = _drift(ref, cur)
    assert summary.drifted_columns == ["n1"]
    n1 = next(c for c in summary.columns if c.column == "n1")
    assert (n1.method, n1.threshold) == ("wasserstein", 0.1)
    assert n1.score > 1.5


def test_new_dominant_category_drifts() -> None:
    ref, cur = _frame(0), _frame(1)
    rng = np.random.default_rng(2)
    cur["c1"] = np.where(rng.random(ROWS) < 0.8, "z", cur["c1"]).astype(object)
    summary = _drift(ref, cur)
    assert summary.drifted_columns == ["c1"]


def test_category_dtype_with_new_category_and_booleans() -> None:
    ref, cur = _frame(0), _frame(1)
    cur["c0"] = pd.Categorical(np.where(cur["flag"], "new", "a"))
    summary, _ = run_drift(
        ref,
        cur,
        numeric=["n0"],
        categorical=["c0", "flag"],
        thresholds=DriftThresholds(categorical_method="chisquare", categorical_threshold=0.05),
    )
    assert summary.drifted_columns == ["c0"]


def test_boolean_numeric_column_is_measured() -> None:
    ref, cur = _frame(0), _frame(1)
    cur["flag"] = True
    summary, _ = run_drift(ref, cur, numeric=["flag"], categorical=[], thresholds=DriftThresholds())
    assert summary.drifted_columns == ["flag"]


def test_per_column_override_is_used() -> None:
    ref, cur = _frame(0), _frame(1)
    cur["n2"] += 0.3
    default = _drift(ref, cur)
    assert "n2" in default.drifted_columns
    per_column = {"n2": ColumnDriftConfig(method="ks", threshold=1e-300)}
    summary = _drift(ref, cur, DriftThresholds(per_column=per_column))
    n2 = next(c for c in summary.columns if c.column == "n2")
    assert (n2.method, n2.threshold) == ("ks", 1e-300)
    assert not n2.drifted


def test_override_method_must_fit_the_column_kind() -> None:
    ref = _frame(0)
    per_column = {"n0": ColumnDriftConfig(method="chisquare", threshold=0.05)}
    with pytest.raises(ValueError, match="n0"):
        _drift(ref, ref, DriftThresholds(per_column=per_column))


@pytest.mark.parametrize(("share", "expected"), [(0.5, False), (1 / 3, True)])
def test_dataset_share_is_ours(share: float, expected: bool) -> None:
    ref, cur = _frame(0), _frame(1)
    cur["n0"] += 3.0
    cur["n3"] -= 3.0
    summary = _drift(ref, cur, DriftThresholds(dataset_share=share))
    assert summary.drifted_columns == ["n0", "n3"]
    assert summary.drift_share == pytest.approx(2 / 6)
    assert summary.dataset_drift is expected


def test_prediction_and_target_absent_unless_asked() -> None:
    ref = _frame(0)
    summary = _drift(ref, _frame(1))
    assert summary.prediction is None
    assert summary.target is None


def test_prediction_and_target_drift_when_asked() -> None:
    ref, cur = _frame(0), _frame(1)
    cur["pred"] = cur["pred"] ** 4
    cur.loc[cur["label"].notna(), "label"] = 1.0
    summary = _drift(ref, cur, prediction="pred", target="label")
    assert summary.prediction is not None
    assert summary.target is not None
    assert (summary.prediction.kind, summary.prediction.method) == ("prediction", "wasserstein")
    assert (summary.target.kind, summary.target.method) == ("target", "jensenshannon")
    assert summary.prediction.drifted
    assert summary.target.drifted
    assert "pred" not in summary.drifted_columns


def test_target_skipped_without_enough_labels() -> None:
    ref, cur = _frame(0), _frame(1)
    cur["label"] = np.nan
    cur.loc[:5, "label"] = 1.0
    assert _drift(ref, cur, target="label").target is None


def test_reports_written_and_json_parses(tmp_path: Path) -> None:
    ref, cur = _frame(0), _frame(1)
    summary, reports = run_drift(
        ref,
        cur,
        numeric=NUMERIC,
        categorical=CATEGORICAL,
        thresholds=DriftThresholds(),
        prediction="pred",
        out_dir=tmp_path / "drift",
    )
    assert reports is not None
    assert reports.html == tmp_path / "drift" / "drift_report.html"
    assert reports.html.stat().st_size > 10_000
    payload = json.loads(reports.json.read_text())
    columns = {m["config"]["column"] for m in payload["metrics"]}
    assert columns == {*NUMERIC, *CATEGORICAL, "pred"}
    assert json.loads(json.dumps(summary.to_dict()))["drift_share"] == summary.drift_share


def test_report_is_built_on_the_configured_sample_and_says_so(tmp_path: Path) -> None:
    ref, cur = _frame(0), _frame(1)
    summary, reports = run_drift(
        ref,
        cur,
        numeric=NUMERIC,
        categorical=CATEGORICAL,
        thresholds=DriftThresholds(report_rows=400),
        out_dir=tmp_path / "drift",
    )
    assert reports is not None
    assert summary.report_sample_rows == 400 and summary.current_rows == ROWS
    note = "a random sample of 400 of the window&#x27;s 1,500 rows"
    assert note in reports.html.read_text()
    assert "400 of the window's 1,500 rows" in json.loads(reports.json.read_text())["sample"]


def test_no_reports_without_out_dir() -> None:
    ref = _frame(0)
    _, reports = run_drift(ref, ref, numeric=NUMERIC, categorical=[], thresholds=DriftThresholds())
    assert reports is None


@pytest.mark.parametrize("side", ["reference", "current"])
def test_all_null_column_on_one_side_drifts(side: str) -> None:
    ref, cur = _frame(0), _frame(1)
    target = ref if side == "reference" else cur
    target["n0"] = np.nan
    target["c0"] = pd.Categorical([None] * ROWS, categories=["a", "b", "c"])
    summary = _drift(ref, cur)
    by_name = {c.column: c for c in summary.columns}
    for name in ("n0", "c0"):
        assert by_name[name].method == ALL_NULL
        assert by_name[name].score == 1.0
        assert by_name[name].drifted
    assert summary.drifted_columns == ["n0", "c0"]


def test_all_null_on_both_sides_is_not_drift() -> None:
    ref, cur = _frame(0), _frame(1)
    ref["n0"] = np.nan
    cur["n0"] = np.nan
    n0 = _drift(ref, cur).columns[0]
    assert (n0.method, n0.drifted) == (ALL_NULL, False)


def test_missing_column_is_a_clear_error() -> None:
    ref = _frame(0)
    with pytest.raises(ValueError, match=r"current data lacks columns \['n3'\]"):
        _drift(ref, ref.drop(columns=["n3"]))
