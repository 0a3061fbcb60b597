"""The decision record as Prometheus samples, and a push that cannot reach the Pushgateway."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

import pytest

from retrain.config import ModelConfig
from retrain.sinks.prometheus import (
    PushError,
    Sample,
    push,
    record_version,
    run_samples,
    window_samples,
)
from tests.helpers import config_dict, merge, typed_record


def _config(**overrides: Any) -> ModelConfig:
    raw = merge(config_dict("m1", "bucket", "prefix"), overrides)
    return ModelConfig.model_validate(raw)


RECORD: dict[str, Any] = {
    "model": "m1",
    "as_of": "2024-01-21",
    "metric": "roc_auc",
    "champion": {"version": "3", "metric_now": 0.55},
    "drift": {"drift_share": 0.4, "drifted_columns": ["x1", "segment"]},
    "window": {"rows": 1000, "labelled_rows": 800},
    "decision": {"action": "retrain", "reasons": ["below_floor"]},
    "gate": {"champion_score": 0.56, "challenger_score": 0.71},
    "promoted": True,
}


def _by_key(samples: list[Sample]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in samples}
    assert len(out) == len(samples), "two samples with the same name and labels"
    return out


def _get(samples: list[Sample], name: str, **labels: str) -> float:
    return _by_key(samples)[(name, tuple(sorted(labels.items())))]


def test_record_maps_to_labelled_samples() -> None:
    samples = window_samples(typed_record(RECORD), _config(thresholds={"absolute_floor": 0.6}))
    v = {"model": "m1", "version": "3"}
    assert _get(samples, "retrain_window_metric", **v, metric="roc_auc") == 0.55
    assert _get(samples, "retrain_champion_metric", **v, metric="roc_auc") == 0.56
    assert _get(samples, "retrain_challenger_metric", **v, metric="roc_auc") == 0.71
    assert _get(samples, "retrain_drift_share", **v) == 0.4
    assert _get(samples, "retrain_drifted_columns", **v) == 2
    assert _get(samples, "retrain_window_rows", **v) == 1000
    assert _get(samples, "retrain_window_labelled_rows", **v) == 800
    assert _get(samples, "retrain_decision", **v, action="retrain") == 1
    assert _get(samples, "retrain_decision", **v, action="keep") == 0
    assert _get(samples, "retrain_decision", **v, action="skip") == 0
    assert _get(samples, "retrain_promoted", **v) == 1
    end = datetime(2024, 1, 21, tzinfo=UTC).timestamp()
    assert _get(samples, "retrain_window_end_timestamp_seconds", **v) == end
    floor = {"model": "m1", "metric": "roc_auc", "bound": "min"}
    assert _get(samples, "retrain_metric_floor", **floor) == 0.6
    assert _get(samples, "retrain_drift_threshold", model="m1") == 0.5
    assert _get(samples, "retrain_expected_interval_seconds", model="m1") == 5 * 86400


def test_the_monitoring_section_is_exported_with_bounded_labels() -> None:
    """The record's monitoring numbers become one series each, keyed like the MLflow history;
    per-day counts, histograms, text and nulls give none, and the config's metric (already
    `metric_now`) is not exported twice."""
    monitoring = {
        "quality": {
            "rows": 900,
            "metrics": {"roc_auc": 0.99, "f1": 0.7, "log_loss": float("nan"), "mape": None},
            "undefined": {"mape": "no target"},
        },
        "predictions": {
            "mean": 0.3,
            "quantiles": {"0.05": 0.01, "0.5": 0.25, "0.95": 0.8},
            "histogram": {"edges": [0.0, 0.5, 1.0], "counts": [600, 300]},
            "drift": {"score": 0.04},
            "served": {"agreement": 0.5, "drift": None},
        },
        "inputs": {"missing_share": {"dep_time": 0.02}, "new_categories": {"origin": None}},
        "traffic": {
            "rows": 900,
            "rows_per_day": {"2013-03-04": 450, "2013-03-05": 450},
            "days_missing": ["2013-03-06"],
            "latency_ms": {"p99": 120.0},
        },
    }
    samples = window_samples(typed_record({**RECORD, "monitoring": monitoring}), _config())
    metrics = {s.labels["metric"]: s.value for s in samples if s.name == "retrain_window_metric"}
    assert metrics == {
        "roc_auc": 0.55,
        "quality/f1": 0.7,
        "predictions/mean": 0.3,
        "predictions/p05": 0.01,
        "predictions/p50": 0.25,
        "predictions/p95": 0.8,
        "predictions/drift_score": 0.04,
        "predictions/served_agreement": 0.5,
        "inputs/missing_share/dep_time": 0.02,
        "traffic/rows": 900.0,
        "traffic/days_missing": 1.0,
        "traffic/latency_p99_ms": 120.0,
    }


def test_a_record_without_champion_drift_or_retrain_gives_only_what_it_has() -> None:
    record = {
        "model": "m1",
        "as_of": "2024-01-21",
        "metric": "rmse",
        "champion": {},
        "decision": {"action": "none", "reasons": []},
        "promoted": False,
    }
    config = _config(
        task="regression",
        metric="rmse",
        estimator={"class_path": "sklearn.linear_model.Ridge", "params": {}},
        thresholds={"absolute_floor": 10.0},
    )
    names = {s.name for s in window_samples(typed_record(record), config)}
    assert names == {
        "retrain_window_end_timestamp_seconds",
        "retrain_promoted",
        "retrain_drift_threshold",
        "retrain_expected_interval_seconds",
        "retrain_metric_floor",
    }
    floor = next(
        s for s in window_samples(typed_record(record), config) if s.name == "retrain_metric_floor"
    )
    assert floor.labels["bound"] == "max"  # an error metric must stay below its floor
    assert all(
        s.labels.get("version", "none") == "none"
        for s in window_samples(typed_record(record), config)
    )


def test_run_outcome_samples() -> None:
    end = datetime(2024, 1, 21, 12, tzinfo=UTC)
    ok = _by_key(run_samples("m1", True, 12.5, end, record_version(RECORD)))
    v3 = (("model", "m1"), ("version", "3"))
    assert ok[("retrain_run_outcome", (*v3[:1], ("outcome", "success"), v3[1]))] == 1
    assert ok[("retrain_run_outcome", (*v3[:1], ("outcome", "failure"), v3[1]))] == 0
    assert ok[("retrain_run_duration_seconds", v3)] == 12.5
    assert ok[("retrain_last_success_timestamp_seconds", v3)] == end.timestamp()
    failed = _by_key(run_samples("m1", False, 3.0, end))
    unknown = (("model", "m1"), ("outcome", "failure"), ("version", "unknown"))
    assert failed[("retrain_run_outcome", unknown)] == 1
    assert not any(name == "retrain_last_success_timestamp_seconds" for name, _ in failed)


def test_record_version() -> None:
    assert record_version(RECORD) == "3"
    assert record_version({"champion": {}}) == "none"  # no champion yet
    assert record_version(None) is None  # a run that returned no record


def test_push_to_an_unreachable_gateway_names_its_url() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(PushError, match=url.replace(".", r"\.")):
        push(url, "m1", run_samples("m1", True, 1.0, datetime.now(UTC)), timeout=2)


def test_compose_prometheus_config_is_the_host_one() -> None:
    """monitoring/prometheus/prometheus.compose.yml is what stack/prometheus.py writes on the
    host, with compose's addresses."""
    from pathlib import Path

    import yaml

    from stack.prometheus import config

    path = Path(__file__).resolve().parents[2] / "monitoring/prometheus/prometheus.compose.yml"
    expected = config(
        "pushgateway:9091", "/etc/prometheus/alerts.yml", alertmanager="alertmanager:9093"
    )
    assert yaml.safe_load(path.read_text()) == expected
    assert expected["scrape_configs"][0]["honor_labels"] is True
    assert expected["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "alertmanager:9093"
    ]


def test_the_label_free_estimate_is_exported_beside_the_realised_metric() -> None:
    record = {
        **RECORD,
        "estimated_performance": {"metric": "roc_auc", "value": 0.71, "standard_error": 0.01},
    }
    samples = window_samples(typed_record(record), _config())
    v = {"model": "m1", "version": "3", "metric": "roc_auc"}
    assert _get(samples, "retrain_estimated_metric", **v) == 0.71
    assert _get(samples, "retrain_estimated_metric_stderr", **v) == 0.01
    assert not [s for s in window_samples(typed_record(RECORD), _config()) if "estimated" in s.name]
