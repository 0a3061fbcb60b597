"""The monitoring metric set: every value checked against one computed by hand on small frames."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from retrain import metrics
from retrain.config import DriftThresholds, ModelConfig
from retrain.data.validation import capture_schema
from retrain.drift.reference import PREDICTION, SCORE, ReferenceStats, numeric_stats
from retrain.drift.summary import ColumnDrift, DriftSummary
from retrain.drift.window_stats import summarize
from retrain.monitoring.history import window_step, window_timestamp_ms
from retrain.monitoring.metric_set import (
    ChampionFacts,
    champion_outputs,
    matured_metric,
    monitor_window,
)
from retrain.monitoring.outputs import (
    prediction_summary,
    served_agreement,
    served_summary,
    training_range,
)
from retrain.monitoring.quality import Quality, classification_quality, regression_quality
from retrain.monitoring.traffic import (
    error_rate,
    expected_rows_per_day,
    inputs_summary,
    latency_percentiles,
    new_categories,
    rows_per_day,
    traffic_summary,
)
from retrain.registry.model_io import model_signature
from retrain.sinks.reporting import markdown, served_mismatch
from retrain.training.pipeline import (
    INPUT_EXAMPLE_ROWS,
    build_pipeline,
    evaluate,
    features,
    input_example,
    target,
    training_scores,
)
from tests.helpers import LABEL, TS, config_dict, day_frame, merge, typed_record

RIDGE = "sklearn.linear_model.Ridge"
Y = np.array([1, 0, 1, 1, 0, 0])
P = np.array([0.9, 0.2, 0.4, 0.7, 0.6, 0.1])
C = (P > 0.5).astype(int)  # 1 0 0 1 1 0: tp 2, fp 1, fn 1, tn 2


def test_classification_metrics_by_hand() -> None:
    assert metrics.precision(Y, C) == pytest.approx(2 / 3)
    assert metrics.recall(Y, C) == pytest.approx(2 / 3)
    expected_loss = -np.mean(np.log([0.9, 0.8, 0.4, 0.7, 0.4, 0.9]))
    assert metrics.log_loss(Y, P) == pytest.approx(expected_loss)
    expected_brier = np.mean([0.01, 0.04, 0.36, 0.09, 0.36, 0.01])
    assert metrics.brier(Y, P) == pytest.approx(expected_brier)
    with pytest.raises(ValueError, match="no row is predicted positive"):
        metrics.precision(Y, np.zeros(6, dtype=int))
    with pytest.raises(ValueError, match="no positive row"):
        metrics.recall(np.zeros(6, dtype=int), C)
    with pytest.raises(ValueError, match="probabilities"):
        metrics.brier(Y, P + 1)


def test_classification_quality_set() -> None:
    q = classification_quality(Y, C, P)
    m = q.metrics
    assert q.rows == 6 and q.undefined == {}
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["roc_auc"] == pytest.approx(8 / 9)  # 8 of the 9 positive-negative pairs ordered
    assert m["positive_rate_predicted"] == pytest.approx(0.5)
    assert m["positive_rate_actual"] == pytest.approx(0.5)
    single = classification_quality(np.ones(3, dtype=int), np.ones(3, dtype=int), P[:3])
    assert single.metrics["roc_auc"] is None and "single class" in single.undefined["roc_auc"]
    single = classification_quality(np.ones(3, dtype=int), np.ones(3, dtype=int), None)
    assert single.metrics["log_loss"] is None and "predict_proba" in single.undefined["log_loss"]
    assert single.metrics["precision"] == 1.0
    empty = classification_quality(np.array([], dtype=int), np.array([], dtype=int), None)
    assert empty.metrics["accuracy"] is None and empty.undefined["accuracy"]


def test_regression_quality_set() -> None:
    y, v = np.array([2.0, 4.0, 6.0, 8.0]), np.array([3.0, 4.0, 4.0, 8.0])
    m = regression_quality(y, v).metrics
    assert m["rmse"] == pytest.approx(math.sqrt(5 / 4))
    assert m["mae"] == pytest.approx(3 / 4)
    assert m["r2"] == pytest.approx(1 - 5 / 20)
    assert m["mape"] == pytest.approx((0.5 + 0 + 1 / 3 + 0) / 4)
    zero = regression_quality(np.array([0.0, 1.0]), np.array([0.5, 1.0]))
    assert zero.metrics["mape"] is None
    assert zero.undefined["mape"] == "mape is undefined: 1 of 2 targets are zero"
    constant = regression_quality(np.array([3.0, 3.0]), np.array([2.0, 4.0]))
    assert constant.metrics["r2"] is None and "constant" in constant.undefined["r2"]


def test_served_agreement() -> None:
    champion = np.array([1, 0, 1, 0])
    assert served_agreement(np.array([1, 0, 0, 0]), champion, True) == 0.75
    # a served score counts as class 1 above 0.5
    assert served_agreement(np.array([0.9, 0.5, 0.7, 0.2]), champion, True) == 1.0
    values = np.array([10.0, 20.0, 30.0])
    assert served_agreement(values * (1 + 1e-6), values, False) == 1.0
    assert served_agreement(np.array([10.0, 21.0, 30.0]), values, False) == pytest.approx(2 / 3)


def test_served_summary_flags_another_model() -> None:
    stats = numeric_stats(pd.Series(np.linspace(0.0, 1.0, 200)))
    same = served_summary(
        "served", pd.Series(np.linspace(0.0, 1.0, 200)), (np.linspace(0, 1, 200) > 0.5), True,
        stats, DriftThresholds(),
    )  # fmt: skip
    assert same.agreement == 1.0 and not same.mismatch and same.rows == 200
    other = served_summary(
        "served",
        pd.Series([1.0, 0.0, None, 0.0]),
        np.array([1, 1, 1, 1]),
        True,
        None,
        DriftThresholds(),
    )
    assert other.rows == 3 and other.agreement == pytest.approx(1 / 3) and other.mismatch
    assert other.drift is None and other.drift_note and "reference" in other.drift_note
    classes = served_summary(
        "served", pd.Series([1, 0] * 50), np.array([1, 0] * 50), True, stats, DriftThresholds()
    )
    assert classes.agreement == 1.0 and classes.drift is None  # classes against stored scores
    assert classes.drift_note and "not comparable" in classes.drift_note
    assert same.drift is not None and not same.drift.drifted and same.drift_note is None


def test_new_categories() -> None:
    series = pd.Series(["a", "b", "z", "z", None, "y", "a"])
    found = new_categories(series, ["a", "b", "c"])
    assert (found.distinct, found.rows) == (2, 3)
    assert found.share == pytest.approx(3 / 6)
    assert found.values == ("z", "y")
    assert new_categories(pd.Series([1, 2]), ["1", "2"]).rows == 0  # compared as strings


def test_inputs_missing_and_drift_referenced() -> None:
    frame = pd.DataFrame({"x": [1.0, None, 3.0, None], "s": ["a", "q", None, "a"]})
    schema = {"features": {"s": {"categories": ["a"], "categories_truncated": False}}}
    column = ColumnDrift("x", "numeric", "wasserstein", 0.25, 0.1, True)
    drift = DriftSummary((column,), 1.0, True, None, None, 10, 4)
    features = summarize(frame, None, ["x"], ["s"])
    inputs = inputs_summary(features, ["x"], ["s"], schema, drift)
    assert inputs.missing_share == {"x": 0.5, "s": 0.25}
    assert inputs.new_categories["s"] is not None and inputs.new_categories["s"].values == ("q",)
    assert inputs.drift_score == {"x": 0.25} and inputs.drift_method == {"x": "wasserstein"}
    truncated = {"features": {"s": {"categories": ["a"], "categories_truncated": True}}}
    assert inputs_summary(features, ["x"], ["s"], truncated, None).new_categories == {"s": None}


def _stamps(days: list[int], hours: int = 3) -> pd.Series:
    return pd.Series(
        [datetime(2024, 1, d, hours, tzinfo=UTC) for d in days], dtype="datetime64[ns, UTC]"
    )


def test_rows_per_day_and_missing_days() -> None:
    days = [date(2024, 1, d) for d in range(1, 5)]
    per_day = rows_per_day(_stamps([1, 1, 2, 4, 4, 4, 9]), days)  # the 9th is outside
    assert per_day == {"2024-01-01": 2, "2024-01-02": 1, "2024-01-03": 0, "2024-01-04": 3}
    frame = pd.DataFrame({TS: _stamps([1, 1, 2, 4, 4, 4])})
    traffic = traffic_summary(frame, TS, days, expected=3.0)
    assert traffic.days_missing == ("2024-01-03",)
    assert traffic.mean_rows_per_day == 1.5 and traffic.volume_ratio == 0.5
    assert traffic.rows_per_second == pytest.approx(6 / (4 * 86400))
    assert traffic.latency_ms is None and traffic.error_rate is None
    naive = rows_per_day(pd.Series(pd.to_datetime(["2024-01-03 23:59"])), days)
    assert naive["2024-01-03"] == 1


def test_expected_rows_per_day_from_reference_sample() -> None:
    # a 6-row sample over three days (3, 1, 2 rows) of 600 training rows: median 2 -> 200 a day
    sample = _stamps([1, 1, 1, 2, 3, 3])
    assert expected_rows_per_day(sample, 600) == pytest.approx(200.0)
    # a day without sampled rows inside the span counts as 0: counts 2, 0, 1 -> median 1
    assert expected_rows_per_day(_stamps([1, 1, 3]), 30) == pytest.approx(10.0)
    assert expected_rows_per_day(pd.Series([], dtype="datetime64[ns, UTC]"), 10) is None


def test_latency_percentiles_and_error_rate() -> None:
    latency = pd.Series([float(v) for v in range(1, 101)] + [None, np.inf])
    points, rows = latency_percentiles(latency)
    assert rows == 100
    assert points == {"p50": pytest.approx(50.5), "p95": pytest.approx(95.05), "p99": 99.01}
    assert error_rate(pd.Series([True, False, None, False])) == (pytest.approx(1 / 3), 3)
    assert error_rate(pd.Series([0, 2, 0, 0])) == (0.25, 4)
    assert error_rate(pd.Series(["ok", "error", "TRUE", None])) == (pytest.approx(2 / 3), 3)
    frame = pd.DataFrame(
        {TS: _stamps([1, 1, 2, 2]), "ms": [10.0, 20.0, 30.0, 40.0], "err": [0, 0, 1, 0]}
    )
    traffic = traffic_summary(frame, TS, [date(2024, 1, 1), date(2024, 1, 2)], None, "ms", "err")
    assert traffic.latency_ms == {
        "p50": 25.0,
        "p95": pytest.approx(38.5),
        "p99": pytest.approx(39.7),
    }
    assert traffic.error_rate == 0.25 and traffic.volume_ratio is None


def test_prediction_summary_scores() -> None:
    scores = np.array([0.05, 0.15, 0.15, 0.95, 1.0])
    p = prediction_summary(
        scores, kind="score", classes=(scores > 0.5).astype(int), bounds=(0.1, 0.99),
        drift=None, served=None,
    )  # fmt: skip
    assert p.histogram is not None and p.histogram_fixed
    assert p.histogram.counts == (1, 2, 0, 0, 0, 0, 0, 0, 0, 2)
    assert p.outlier_share == pytest.approx(2 / 5)  # 0.05 below, 1.0 above
    assert p.mean_confidence == pytest.approx(np.mean([0.95, 0.85, 0.85, 0.95, 1.0]))
    assert p.positive_rate == pytest.approx(2 / 5)
    assert p.quantiles["0.5"] == pytest.approx(0.15) and p.quantiles["1.0"] == 1.0


def test_prediction_summary_values_on_training_range() -> None:
    values = np.array([-5.0, 0.0, 5.0, 9.9, 12.0])
    p = prediction_summary(
        values, kind="value", classes=None, bounds=(0.0, 10.0), drift=None, served=None
    )
    assert p.histogram is not None and p.histogram.edges[0] == 0.0 and p.histogram.edges[-1] == 10
    assert (p.histogram.below, p.histogram.above) == (1, 1)
    assert p.histogram.counts == (1, 0, 0, 0, 0, 1, 0, 0, 0, 1)
    assert p.outlier_share == pytest.approx(2 / 5) and p.mean_confidence is None
    unknown = prediction_summary(
        values, kind="value", classes=None, bounds=None, drift=None, served=None
    )
    assert unknown.outlier_share is None and unknown.outlier_note and not unknown.histogram_fixed
    assert training_range(numeric_stats(pd.Series([3.0, -1.0, 7.0]))) == (-1.0, 7.0)


def _config(**overrides: object) -> ModelConfig:
    return ModelConfig.model_validate(merge(config_dict("m", "bucket", "p"), dict(overrides)))


def _fitted(config: ModelConfig) -> tuple[object, pd.DataFrame]:
    train = pd.concat([day_frame(date(2024, 1, d), 150) for d in (1, 2, 3)], ignore_index=True)
    model = build_pipeline(config).fit(features(train, config), target(train, config))
    return model, train


def test_monitor_window_classification_with_served_prediction() -> None:
    config = _config(columns={"prediction": "served", "latency_ms": "ms", "error": "err"})
    model, train = _fitted(config)
    window = pd.concat([day_frame(date(2024, 1, d), 100) for d in (5, 7)], ignore_index=True)
    outputs = champion_outputs(model, window, config)
    window["served"] = outputs.classes
    window.loc[:9, "served"] = 1 - window.loc[:9, "served"]  # 10 of 200 rows disagree
    window.loc[:99, LABEL] = None  # day 5's labels have not matured
    window["ms"], window["err"] = np.arange(200.0), 0
    trained = pd.Series(model.predict_proba(features(train, config))[:, 1])
    stats = ReferenceStats(len(train), {PREDICTION: numeric_stats(trained)})
    facts = ChampionFacts(outputs, capture_schema(train, config.columns), train, stats)
    days = [date(2024, 1, d) for d in range(4, 9)]
    m = monitor_window(window, config, days, facts, None)
    assert m.quality is not None and m.quality.rows == 100
    labelled = window.iloc[100:]
    expected = metrics.score("roc_auc", labelled[LABEL], outputs.values[100:])
    assert m.quality.metrics["roc_auc"] == pytest.approx(expected)
    assert m.predictions is not None and m.predictions.served is not None
    assert m.predictions.served.agreement == pytest.approx(0.95) and m.predictions.served.mismatch
    assert m.predictions.training_range is not None and m.predictions.outlier_share is not None
    assert m.traffic.days_missing == ("2024-01-04", "2024-01-06", "2024-01-08")
    assert m.traffic.expected_rows_per_day == pytest.approx(150.0)
    assert m.traffic.latency_ms is not None and m.traffic.latency_ms["p50"] == 99.5
    assert m.inputs.new_categories["segment"] is not None
    record = {"monitoring": m.to_dict()}
    json.dumps(record, allow_nan=False)
    assert "95.0%" in (served_mismatch(typed_record(record)) or "")
    flat = m.flat_metrics()
    assert flat["quality/roc_auc"] == pytest.approx(expected)
    assert flat["predictions/served_agreement"] == pytest.approx(0.95)
    assert flat["traffic/days_missing"] == 3 and flat["traffic/latency_p99_ms"] > 190
    assert "inputs/missing_share/x1" in flat


def test_monitor_window_regression_and_no_champion() -> None:
    config = _config(
        task="regression",
        metric="rmse",
        estimator={"class_path": RIDGE, "params": {}},
    )
    model, train = _fitted(config)
    window = day_frame(date(2024, 1, 5), 50)
    outputs = champion_outputs(model, window, config)
    facts = ChampionFacts(outputs, capture_schema(train, config.columns), train, None)
    m = monitor_window(window, config, [date(2024, 1, 5)], facts, None)
    assert m.quality is not None and m.quality.metrics["mape"] is None  # 0/1 labels hold zeros
    y = window[LABEL].to_numpy(float)
    assert m.quality.metrics["mae"] == pytest.approx(np.mean(np.abs(outputs.values - y)))
    assert m.predictions is not None and m.predictions.outlier_share is None  # no stats stored
    bare = monitor_window(window, config, [date(2024, 1, 5)], None, None)
    assert bare.quality is None and bare.predictions is None and bare.traffic.rows == 50


def test_training_range_of_scores_for_a_classifier_scored_on_classes() -> None:
    config = _config(metric="f1")
    model, train = _fitted(config)
    scores = training_scores(model, train, config)
    assert scores is not None and scores.min() >= 0.0 and scores.max() <= 1.0
    assert training_scores(model, train, _config()) is None  # roc_auc: the predictions are scores
    window = day_frame(date(2024, 1, 5), 100)
    outputs = champion_outputs(model, window, config)
    classes = pd.Series(model.predict(features(train, config)).astype(float))
    schema = capture_schema(train, config.columns)
    only_classes = ReferenceStats(len(train), {PREDICTION: numeric_stats(classes)})
    facts = ChampionFacts(outputs, schema, train, only_classes)
    m = monitor_window(window, config, [date(2024, 1, 5)], facts, None)
    assert m.predictions is not None and m.predictions.training_range is None
    with_scores = ReferenceStats(
        len(train),
        {PREDICTION: numeric_stats(classes), SCORE: numeric_stats(pd.Series(scores))},
    )
    facts = ChampionFacts(outputs, schema, train, with_scores)
    m = monitor_window(window, config, [date(2024, 1, 5)], facts, None)
    assert m.predictions is not None
    assert m.predictions.training_range == (scores.min(), scores.max())
    outside = (outputs.values < scores.min()) | (outputs.values > scores.max())
    assert m.predictions.outlier_share == pytest.approx(outside.mean())


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"metric": "f1"},
        {"metric": "accuracy"},
        {"task": "regression", "metric": "rmse", "estimator": {"class_path": RIDGE}},
        {"task": "regression", "metric": "mae", "estimator": {"class_path": RIDGE}},
    ],
)
def test_quality_holds_the_champion_metric_the_policy_reads(overrides: dict[str, object]) -> None:
    """The flow takes champion.metric_now from monitoring: it must equal `evaluate` exactly."""
    config = _config(**overrides)
    model, _ = _fitted(config)
    window = pd.concat([day_frame(date(2024, 1, d), 100) for d in (5, 6)], ignore_index=True)
    window.loc[:49, LABEL] = None
    facts = ChampionFacts(champion_outputs(model, window, config), {}, window, None)
    m = monitor_window(window, config, [date(2024, 1, 5)], facts, None)
    assert m.quality is not None
    expected = evaluate(model, window[window[LABEL].notna()], config)
    assert m.quality.metrics[config.metric] == pytest.approx(expected, rel=1e-12)


def test_summary_shows_monitoring() -> None:
    config = _config(columns={"prediction": "served"})
    model, train = _fitted(config)
    window = day_frame(date(2024, 1, 5), 100)
    outputs = champion_outputs(model, window, config)
    window["served"] = 1 - np.asarray(outputs.classes)
    facts = ChampionFacts(outputs, capture_schema(train, config.columns), train, None)
    m = monitor_window(window, config, [date(2024, 1, 5)], facts, None)
    record = {
        "model": "m", "as_of": "2024-01-06", "mode": "auto", "metric": "roc_auc",
        "decision": {"action": "keep", "reasons": ["stable"]}, "monitoring": m.to_dict(),
    }  # fmt: skip
    text = markdown(typed_record(record), {})
    assert "**Served predictions disagree with the champion:** served agrees" in text
    assert "## Monitoring" in text and "- Traffic: 100 rows" in text


def test_window_step_and_timestamp() -> None:
    assert window_step(date(1970, 1, 2)) == 1
    assert window_step(date(2024, 1, 21)) - window_step(date(2024, 1, 14)) == 7
    assert window_timestamp_ms(date(2024, 1, 21)) == 1705795200000


def test_input_example_holds_features_only() -> None:
    config = _config()
    frame = day_frame(date(2024, 1, 5), 50)
    example = input_example(frame, config)
    assert len(example) == INPUT_EXAMPLE_ROWS == 5
    assert list(example.columns) == config.columns.features


def test_signature_requires_every_feature_and_accepts_nulls() -> None:
    from mlflow.models.utils import _enforce_schema

    config = _config()
    model, train = _fitted(config)
    frame = train.head(5).copy()
    frame.loc[frame.index[0], "x1"] = np.nan
    example = input_example(frame, config)
    signature = model_signature(model, example)
    assert signature.inputs.required_input_names() == config.columns.features
    enforced = _enforce_schema(example, signature.inputs)  # a null is a value, not a missing column
    assert np.isnan(enforced["x1"].iloc[0]) and len(model.predict(enforced)) == 5


def test_the_champions_metric_comes_from_the_monitoring_quality_else_its_outputs() -> None:
    """matured_metric (what evaluate_champion runs): the quality's value on the same rows,
    or scored from the outputs (no second predict); a reason when neither can give one."""
    config = _config()
    model, _ = _fitted(config)
    window = day_frame(date(2024, 1, 5), 100)
    outputs = champion_outputs(model, window, config)
    known = window[LABEL].notna().to_numpy()
    scored = matured_metric(config, window, known, None, outputs, None)
    assert scored == pytest.approx(
        metrics.score("roc_auc", window[LABEL].to_numpy()[known], outputs.values[known])
    )
    quality = Quality(rows=100, metrics={"roc_auc": 0.61}, undefined={})
    assert matured_metric(config, window, known, quality, None, None) == 0.61
    single = Quality(rows=100, metrics={"roc_auc": None}, undefined={"roc_auc": "one class"})
    with pytest.raises(ValueError, match="one class"):
        matured_metric(config, window, known, single, outputs, None)
    with pytest.raises(ValueError, match="could not convert"):
        matured_metric(config, window, known, None, None, "could not convert 'x'")
    with pytest.raises(ValueError, match="did not score the window"):
        matured_metric(config, window, known, None, None, None)
