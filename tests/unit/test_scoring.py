"""The champion's outputs on a window: predicted once, in chunks, and read by every step."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from retrain.config import ModelConfig
from retrain.data.validation import capture_schema
from retrain.metrics import prediction_for_metric
from retrain.monitoring.estimate import window_estimate
from retrain.monitoring.metric_set import ChampionFacts, monitor_window
from retrain.monitoring.scoring import (
    champion_outputs,
    has_training_scores,
    row_chunks,
    score_outputs,
)
from retrain.training.pipeline import (
    build_pipeline,
    evaluate,
    features,
    mask_immature_labels,
    matured,
    matured_mask,
    matured_rows,
    target,
    training_scores,
)
from tests.helpers import LABEL, config_dict, day_frame, merge

AS_OF = date(2024, 1, 10)


def _config(**overrides: Any) -> ModelConfig:
    return ModelConfig.model_validate(merge(config_dict("m", "bucket", "p"), dict(overrides)))


def _fitted(config: ModelConfig) -> Any:
    train = pd.concat([day_frame(date(2024, 1, d), 150) for d in (1, 2, 3)], ignore_index=True)
    return build_pipeline(config).fit(features(train, config), target(train, config))


def _window(config: ModelConfig) -> pd.DataFrame:
    frame = pd.concat([day_frame(date(2024, 1, d), 700) for d in range(5, 10)], ignore_index=True)
    return mask_immature_labels(frame, config, AS_OF)


class _Counting:
    """A fitted model that counts the rows it is asked to predict."""

    def __init__(self, model: Any) -> None:
        self.model, self.rows, self.calls = model, 0, 0
        self.classes_ = model.classes_

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        self.rows, self.calls = self.rows + len(x), self.calls + 1
        return np.asarray(self.model.predict_proba(x))

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        self.rows, self.calls = self.rows + len(x), self.calls + 1
        return np.asarray(self.model.predict(x))


def test_row_chunks_cover_every_row_once() -> None:
    parts = list(row_chunks(10, 4))
    assert [(p.start, p.stop) for p in parts] == [(0, 4), (4, 8), (8, 10)]
    assert list(row_chunks(0, 4)) == []
    with pytest.raises(ValueError, match="chunk_rows"):
        list(row_chunks(10, 0))


@pytest.mark.parametrize("metric", ["roc_auc", "f1"])
def test_chunked_outputs_equal_one_predict_on_the_whole_window(metric: str) -> None:
    config = _config(metric=metric)
    model, window = _fitted(config), _window(config)
    counting = _Counting(model)
    chunked = champion_outputs(counting, window, config, chunk_rows=1000)
    assert counting.calls == 4 and counting.rows == len(window)  # 3,500 rows in chunks of 1,000
    proba = model.predict_proba(features(window, config))
    assert chunked.kind == "score" and chunked.values.dtype == np.float32
    np.testing.assert_array_equal(chunked.values, proba[:, 1].astype(np.float32))
    np.testing.assert_array_equal(chunked.classes, model.classes_[proba.argmax(axis=1)])
    expected = prediction_for_metric(model, features(window, config), metric)
    np.testing.assert_allclose(chunked.for_metric(metric), expected, rtol=1e-6)


def test_chunked_regression_outputs_equal_one_predict() -> None:
    config = _config(
        task="regression",
        metric="mae",
        estimator={"class_path": "sklearn.linear_model.Ridge", "params": {}},
    )
    train = pd.concat([day_frame(date(2024, 1, d), 150) for d in (1, 2, 3)], ignore_index=True)
    model = build_pipeline(config).fit(features(train, config), target(train, config))
    window = _window(config)
    outputs = champion_outputs(model, window, config, chunk_rows=999)
    assert outputs.kind == "value" and outputs.classes is None
    np.testing.assert_array_equal(outputs.values, model.predict(features(window, config)))


def test_every_consumer_reads_the_one_predict() -> None:
    """Monitoring, the champion's metric and CBPE read the run's outputs: no model call more."""
    config = _config()
    model, window = _fitted(config), _window(config)
    counting = _Counting(model)
    outputs = champion_outputs(counting, window, config)
    assert counting.calls == 1
    schema = capture_schema(window, config.columns)
    facts = ChampionFacts(outputs, schema, window, None)
    monitoring = monitor_window(window, config, [AS_OF], facts, None)
    known = matured_mask(window, config)
    metric = score_outputs(outputs, window, config, known)
    estimate = window_estimate(counting, window, config, AS_OF, outputs)
    assert counting.calls == 1 and counting.rows == len(window)
    assert monitoring.quality is not None
    assert monitoring.quality.metrics["roc_auc"] == pytest.approx(metric)
    assert metric == pytest.approx(evaluate(model, matured(window, config), config), abs=1e-6)
    assert estimate is not None and estimate["value"] is not None
    assert estimate == window_estimate(model, window, config, AS_OF)  # same as predicting anew


def test_matured_rows_are_counted_without_a_copy() -> None:
    config = _config()
    window = _window(config)
    assert matured_rows(window, config) == len(matured(window, config)) == 2800
    assert matured_rows(window.drop(columns=[LABEL]), config) == 0


def test_training_scores_come_from_the_same_outputs() -> None:
    """The reference statistics keep a classifier's scores apart exactly when
    `training_scores` gives them, and the one chunked predict gives the same values."""
    for metric in ("f1", "roc_auc"):
        config = _config(metric=metric)
        model, window = _fitted(config), _window(config)
        outputs = champion_outputs(model, window, config, chunk_rows=1000)
        expected = training_scores(model, window, config)
        assert has_training_scores(config, outputs) is (expected is not None)
        if expected is not None:
            np.testing.assert_allclose(outputs.values, expected, rtol=1e-6)
