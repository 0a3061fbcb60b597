"""The record's estimated_performance on a window: rows not yet due, calibrated on matured ones."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from retrain.config import ModelConfig, parse_config
from retrain.data.s3 import Window
from retrain.decisions.policy import decide
from retrain.metrics import roc_auc
from retrain.monitoring.estimate import (
    earlier_estimate,
    estimate_days,
    lined_up,
    newest_rows,
    window_estimate,
)
from retrain.sinks.reporting import markdown
from retrain.training.pipeline import build_pipeline, features, target
from tests.helpers import LABEL, config_dict, merge, typed_record
from tests.streams import day, stream_day
from tests.unit.test_policy import BASE

DAYS = 7  # the window: days 20-26; label_delay_days 1, so day 26 is not yet due on day 27


def _config(**thresholds: float) -> ModelConfig:
    raw = merge(
        config_dict("cbpe", "production-data", "cbpe"), {"windows": {"monitoring_days": DAYS}}
    )
    return parse_config(merge(raw, {"thresholds": thresholds}) if thresholds else raw)


def _fit(config: ModelConfig) -> Pipeline:
    train = pd.concat([stream_day(day(i), "A") for i in range(10)], ignore_index=True)
    return build_pipeline(config).fit(features(train, config), target(train, config))


def _window(last_concept: str = "A") -> pd.DataFrame:
    frames = [stream_day(day(20 + i), "A") for i in range(DAYS - 1)]
    return pd.concat([*frames, stream_day(day(20 + DAYS - 1), last_concept)], ignore_index=True)


def test_estimate_on_the_day_not_yet_due_is_within_its_error_of_the_realised_metric() -> None:
    config = _config()
    model, frame = _fit(config), _window()
    as_of = day(20 + DAYS)
    estimate = window_estimate(model, frame, config, as_of)
    assert estimate is not None and "error" not in estimate
    assert estimate["metric"] == "roc_auc" and estimate["rows"] == 300
    assert estimate["days"] == [(as_of - timedelta(days=1)).isoformat()]
    assert estimate["calibrated_on"] == {
        "rows": 6 * 300,
        "start": day(20).isoformat(),
        "end": day(25).isoformat(),
    }
    pending = frame.iloc[-300:]
    realised = roc_auc(
        pending[LABEL].to_numpy(), model.predict_proba(features(pending, config))[:, 1]
    )
    assert abs(estimate["value"] - realised) <= 3 * estimate["standard_error"]
    assert 0 < estimate["standard_error"] < 0.05
    assert set(estimate["metrics"]) == {"accuracy", "precision", "recall", "f1", "roc_auc"}


def test_concept_flip_on_the_day_not_yet_due_is_invisible_until_labels_come() -> None:
    """The estimate cannot see a concept change: it stays where the calibration put it."""
    config = _config()
    model = _fit(config)
    as_of = day(20 + DAYS)
    same = window_estimate(model, _window("A"), config, as_of)
    flipped_frame = _window("B")
    flipped = window_estimate(model, flipped_frame, config, as_of)
    assert same is not None and flipped is not None
    pending = flipped_frame.iloc[-300:]
    realised = roc_auc(
        pending[LABEL].to_numpy(), model.predict_proba(features(pending, config))[:, 1]
    )
    assert realised < 0.5 < flipped["value"]
    assert abs(flipped["value"] - same["value"]) < 0.1


def test_no_estimate_without_rows_not_yet_due_or_for_regression() -> None:
    config = _config()
    model, frame = _fit(config), _window()
    too_late = window_estimate(model, frame, config, day(20 + DAYS + 5))
    assert too_late is not None and too_late["rows"] == 0 and too_late["value"] is None
    assert "not yet due" in too_late["error"]
    regression = parse_config(
        merge(
            config_dict("r", "production-data", "p"),
            {
                "task": "regression",
                "metric": "rmse",
                "estimator": {"class_path": "sklearn.linear_model.Ridge", "params": {}},
            },
        )
    )
    assert window_estimate(model, frame, regression, day(20 + DAYS)) is None


def test_the_estimate_reaches_the_policy_and_the_summary() -> None:
    config = _config()
    model, frame = _fit(config), _window()
    estimate = window_estimate(model, frame, config, day(20 + DAYS))
    assert estimate is not None
    value, se = estimate["value"], estimate["standard_error"]
    inputs = replace(BASE, estimated_metric=value, estimated_standard_error=se)
    over = config.thresholds.model_copy(update={"estimated_floor": value + 3 * se})
    under = config.thresholds.model_copy(update={"estimated_floor": value + 1 * se})
    assert decide(inputs, over).reasons == ("estimated_below_floor",)
    assert decide(inputs, under).reasons == ("stable",)
    assert decide(inputs, config.thresholds).details["estimated_metric"] == value
    record = {
        "model": "cbpe",
        "as_of": day(20 + DAYS).isoformat(),
        "mode": "auto",
        "metric": "roc_auc",
        "decision": decide(inputs, over).to_dict(),
        "champion": {"version": "3", "metric_now": 0.8},
        "estimated_performance": estimate,
    }
    text = markdown(typed_record(record), {})
    assert f"{value:.4f} ± {se:.4f}" in text and estimate["days"][0] in text
    assert "estimated (CBPE) on 300 rows" in text


def _record(as_of: str, version: str, days: list[str], value: float | None = 0.8) -> dict[str, Any]:
    return {
        "as_of": as_of,
        "champion": {"version": version},
        "estimated_performance": {
            "metric": "roc_auc",
            "value": value,
            "standard_error": 0.02,
            "days": days,
        },
    }


def test_earlier_estimate_is_the_newest_matured_one_of_this_champion() -> None:
    history = [
        _record("2024-03-04", "3", ["2024-03-03"]),
        _record("2024-03-11", "3", ["2024-03-10"]),
        _record("2024-03-12", "4", ["2024-03-11"]),  # another champion: not comparable
        _record("2024-03-13", "3", ["2024-03-12"], value=None),  # nothing was estimated
        _record("2024-03-14", "3", ["2024-03-13"]),  # not matured by Mar 14 with a 1-day delay
    ]
    history = [typed_record(r) for r in history]
    found = earlier_estimate(history, "3", date(2024, 3, 14), 1)
    assert found is not None and (found["as_of"], found["days"]) == ("2024-03-11", ["2024-03-10"])
    assert estimate_days(found) == Window(date(2024, 3, 10), date(2024, 3, 11))
    assert earlier_estimate(history, "5", date(2024, 3, 14), 1) is None
    assert earlier_estimate([], "3", date(2024, 3, 14), 1) is None
    # with the delay the Mar 13 estimate matures on Mar 15
    later = earlier_estimate(history, "3", date(2024, 3, 15), 1)
    assert later is not None and later["as_of"] == "2024-03-14"


def test_lined_up_estimate_and_realised_metric_in_the_summary() -> None:
    estimate = {**_record("2024-03-11", "3", ["2024-03-10"])["estimated_performance"]}
    checked = lined_up({**estimate, "as_of": "2024-03-11"}, 0.76, 290)
    assert checked["gap_in_standard_errors"] == pytest.approx(2.0)
    assert (checked["estimated"], checked["realised"], checked["rows"]) == (0.8, 0.76, 290)
    assert lined_up({**estimate, "as_of": "2024-03-11"}, None, 0)["gap_in_standard_errors"] is None
    record = {
        "model": "cbpe",
        "as_of": "2024-03-18",
        "mode": "auto",
        "metric": "roc_auc",
        "decision": {"action": "keep", "reasons": ["stable"]},
        "champion": {"version": "3", "metric_now": 0.8},
        "estimated_performance": {**estimate, "days": ["2024-03-17"], "earlier": checked},
    }
    text = markdown(typed_record(record), {})
    assert "estimated in the window ending 2024-03-11" in text
    assert "0.8000 ± 0.0200 estimated, 0.7600 realised (2.0000 SE)" in text


def test_calibration_keeps_the_newest_matured_rows() -> None:
    stamps = pd.Series(pd.date_range("2024-01-01", periods=10, freq="h", tz="UTC")[::-1])
    rows = np.array([True, True, False, True, True, True, False, True, True, True])
    kept = newest_rows(rows, stamps, 3)
    assert kept.tolist() == [True, True, False, True, False, False, False, False, False, False]
    assert newest_rows(rows, stamps, 8) is rows  # under the limit: all of them
