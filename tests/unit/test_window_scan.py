"""A window read in batches (retrain.monitoring.window_scan) is judged as the same window loaded
whole:
validation, monitoring inputs, the champion's outputs and the drift verdicts agree."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from retrain.config import ModelConfig, parse_config
from retrain.data.s3 import Window
from retrain.data.validation import capture_schema, validate_window
from retrain.drift.reference import PREDICTION
from retrain.drift.summary import run_drift
from retrain.drift.window import window_drift
from retrain.loop import ChampionState
from retrain.monitoring.metric_set import monitor_window
from retrain.monitoring.scoring import champion_outputs, concat_outputs, reference_statistics
from retrain.monitoring.window_scan import RowSample, ScannedWindow, scan_batches
from retrain.registry.versions import Champion
from retrain.samples import synthetic
from retrain.training.pipeline import features, mask_immature_labels

ROWS = 12_000
WHERE = synthetic.layout("bucket", ROWS, 6, 4)
COLS = WHERE.columns
START = date(2026, 1, 1)
AS_OF = START + timedelta(days=synthetic.DAYS)
W1_TOLERANCE = 2e-3  # retrain/drift/window_stats.py: binned normed W1 vs the one-shot value


def _config() -> ModelConfig:
    return parse_config(
        {
            "name": "scan",
            "data": WHERE.source.model_dump(),
            "columns": COLS.model_dump(),
            "task": "classification",
            "metric": "roc_auc",
            "estimator": {"class_path": "sklearn.linear_model.LogisticRegression"},
            "windows": {"label_delay_days": 2},
            "thresholds": {"drift": {"report_rows": 500}},
        }
    )


@pytest.fixture(scope="module")
def setup() -> tuple[ModelConfig, object, pd.DataFrame, pd.DataFrame]:
    config = _config()
    reference = synthetic.frame(COLS, ROWS, START - timedelta(days=7), current=False, seed=1)
    current = synthetic.frame(COLS, ROWS, START, current=True, seed=2)
    current.loc[::97, COLS.numeric[1]] = np.nan
    current.loc[::83, COLS.categorical[0]] = None
    model = make_pipeline(
        make_column_transformer(
            (make_pipeline(SimpleImputer(), StandardScaler()), COLS.numeric),
            (OneHotEncoder(handle_unknown="ignore"), COLS.categorical),
        ),
        LogisticRegression(max_iter=300),
    ).fit(features(reference, config), reference[COLS.label])
    return config, model, reference, current


def _batches(frame: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    return [frame.iloc[i : i + size] for i in range(0, len(frame), size)]


@pytest.mark.parametrize("batch_rows", [1_000, 5_000])
def test_a_window_scanned_in_batches_is_judged_as_the_whole_window(
    setup: tuple[ModelConfig, object, pd.DataFrame, pd.DataFrame], batch_rows: int
) -> None:
    config, model, reference, current = setup
    sample_ref = reference.sample(n=2000, random_state=0)
    stats = reference_statistics(model, sample_ref, config, None)
    schema = capture_schema(reference, COLS, task="classification")
    frame, summary, sample, outputs, error = scan_batches(
        _batches(current, batch_rows), config, AS_OF, model=model, stats=stats
    )
    whole = mask_immature_labels(current, config, AS_OF)
    assert error is None and outputs is not None
    assert list(frame.columns) == [COLS.id, COLS.timestamp, COLS.label]  # no feature kept
    pd.testing.assert_series_equal(frame[COLS.label], whole[COLS.label].reset_index(drop=True))
    assert frame[COLS.label].isna().sum() > 0  # the newest two days' labels were masked

    one_shot = champion_outputs(model, whole, config)
    np.testing.assert_array_equal(outputs.values, one_shot.values)
    np.testing.assert_array_equal(outputs.class_index, one_shot.class_index)

    validation = validate_window(whole, COLS, config.thresholds, schema, task="classification")
    streamed = validate_window(
        frame, COLS, config.thresholds, schema, task="classification", features=summary
    )
    assert streamed.problems == validation.problems
    assert any(p.code == "unseen_categories" for p in streamed.problems)  # something to compare

    days = [START + timedelta(days=i) for i in range(synthetic.DAYS)]
    loaded_inputs = monitor_window(whole, config, days, None, None).inputs
    scanned_inputs = monitor_window(frame, config, days, None, None, summary).inputs
    assert scanned_inputs == loaded_inputs

    reference_side = sample_ref.assign(
        **{PREDICTION: model.predict_proba(features(sample_ref, config))[:, 1]}
    )
    drift_args = {
        "numeric": COLS.numeric,
        "categorical": COLS.categorical,
        "thresholds": config.thresholds.drift,
        "prediction": PREDICTION,
        "target": COLS.label,
        "reference_stats": stats,
    }
    loaded_current = whole.assign(**{PREDICTION: one_shot.values})
    loaded, _ = run_drift(reference_side, loaded_current, **drift_args)
    rows_only = {PREDICTION: pd.Series(outputs.values), COLS.label: frame[COLS.label]}
    scanned, _ = run_drift(reference_side, rows_only, summary=summary, sample=sample, **drift_args)
    assert scanned.current_rows == loaded.current_rows == ROWS
    assert scanned.prediction == loaded.prediction and scanned.target == loaded.target
    for mine, theirs in zip(scanned.columns, loaded.columns, strict=True):
        assert (mine.column, mine.method, mine.drifted) == (
            theirs.column,
            theirs.method,
            theirs.drifted,
        )
        assert mine.score == pytest.approx(theirs.score, abs=W1_TOLERANCE)
        if mine.kind == "categorical":
            assert mine.score == pytest.approx(theirs.score, rel=1e-12)

    assert len(sample) == 500
    assert set(sample.columns) == {*COLS.features, COLS.label, PREDICTION}
    # each sampled row carries the champion's prediction of that row
    again = champion_outputs(model, sample, config).values
    np.testing.assert_allclose(sample[PREDICTION].to_numpy(), again, rtol=1e-6)


def test_text_in_a_numeric_column_of_one_batch_is_reported_as_for_the_whole_window(
    setup: tuple[ModelConfig, object, pd.DataFrame, pd.DataFrame],
) -> None:
    config, model, reference, current = setup
    stats = reference_statistics(model, reference.head(2000), config, None)
    schema = capture_schema(reference, COLS, task="classification")
    broken = current.copy()
    broken[COLS.numeric[0]] = broken[COLS.numeric[0]].astype(object)
    broken.loc[8_000:, COLS.numeric[0]] = "n/a"
    frame, summary, _, _, _ = scan_batches(
        _batches(broken, 4_000), config, AS_OF, model=model, stats=stats
    )
    assert COLS.numeric[0] not in summary.columns  # no drift summary of a column with text
    report = validate_window(
        frame, COLS, config.thresholds, schema, task="classification", features=summary
    )
    assert f"dtype_changed:{COLS.numeric[0]}" in report.reasons()
    whole = validate_window(broken, COLS, config.thresholds, schema, task="classification")
    assert report.problems == whole.problems


class _FailsOnSecondBatch:
    """A champion that cannot score its second batch (as a pipeline refusing its inputs)."""

    classes_ = np.array([0.0, 1.0])

    def __init__(self) -> None:
        self.calls = 0

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        self.calls += 1
        if self.calls == 2:
            raise ValueError("Input X contains NaN")
        return np.full((len(x), 2), 0.5)


def test_a_batch_the_champion_cannot_score_leaves_no_outputs_and_its_error(
    setup: tuple[ModelConfig, object, pd.DataFrame, pd.DataFrame],
) -> None:
    config, _, _, current = setup
    model = _FailsOnSecondBatch()
    frame, _, sample, outputs, error = scan_batches(
        _batches(current, 4_000), config, AS_OF, model=model
    )
    assert outputs is None and error == "ValueError: Input X contains NaN"
    assert model.calls == 2 and len(frame) == ROWS  # the window is still read whole
    assert len(sample) == 500


def test_an_empty_window_has_every_configured_column() -> None:
    config = _config()
    frame, summary, sample, outputs, error = scan_batches([], config, AS_OF)
    assert len(frame) == 0 and outputs is None and error is None and len(sample) == 0
    report = validate_window(frame, COLS, config.thresholds, None, features=summary)
    assert report.reasons() == [] and [p.code for p in report.problems] == ["no_data"]


def test_row_sample_is_uniform_over_batches() -> None:
    frame = pd.DataFrame({"x": np.arange(100_000)})
    sample = RowSample(2_000, ["x"], seed=3)
    for part in _batches(frame, 7_000):
        sample.add(part, {"y": part["x"].to_numpy() * 2})
    picked = sample.frame()
    assert len(picked) == 2_000 and picked["x"].is_unique
    assert (picked["y"] == picked["x"] * 2).all()  # extra arrays follow their rows
    # each tenth of the stream holds about a tenth of the sample (binomial sd ~ 13)
    counts = np.bincount(picked["x"].to_numpy() // 10_000, minlength=10)
    assert counts.min() > 140 and counts.max() < 260


def test_outputs_of_batches_concatenate_to_the_outputs_of_the_whole(
    setup: tuple[ModelConfig, object, pd.DataFrame, pd.DataFrame],
) -> None:
    config, model, _, current = setup
    parts = [champion_outputs(model, b, config) for b in _batches(current, 5_000)]
    merged, whole = concat_outputs(parts), champion_outputs(model, current, config)
    np.testing.assert_array_equal(merged.values, whole.values)
    np.testing.assert_array_equal(merged.classes, whole.classes)


def test_window_drift_compares_the_scanned_window_with_the_champions_reference(
    setup: tuple[ModelConfig, object, pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    """window_drift (what the measure_drift task runs) builds the frames run_drift compares:
    the champion's reference sample with its own predictions, the window's rows with the
    champion's outputs, the merged summary and the row sample."""
    config, model, reference, current = setup
    sample_ref = reference.sample(n=2000, random_state=0)
    stats = reference_statistics(model, sample_ref, config, None)
    frame, summary, sample, outputs, _ = scan_batches(
        _batches(current, 5_000), config, AS_OF, model=model, stats=stats
    )
    assert outputs is not None
    window = ScannedWindow(frame, Window(START, AS_OF), (), (), (), summary, sample, outputs, None)
    champion = ChampionState(Champion("scan", "1", "run", {}), model, sample_ref, {}, stats)

    (tmp_path / "got").mkdir()
    (tmp_path / "expected").mkdir()
    got, reports = window_drift(config, window, champion, outputs, tmp_path / "got")

    reference_side = sample_ref.assign(
        **{PREDICTION: model.predict_proba(features(sample_ref, config))[:, 1]}
    )
    rows_only = {PREDICTION: pd.Series(outputs.values), COLS.label: frame[COLS.label]}
    expected, _ = run_drift(
        reference_side,
        rows_only,
        numeric=COLS.numeric,
        categorical=COLS.categorical,
        thresholds=config.thresholds.drift,
        prediction=PREDICTION,
        target=COLS.label,
        reference_stats=stats,
        summary=summary,
        sample=sample,
        out_dir=tmp_path / "expected",
    )
    assert got == expected
    assert reports is not None and reports.html.parent == tmp_path / "got"
    assert reports.html.exists() and reports.json.exists()
