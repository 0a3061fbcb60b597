"""The monitoring history in MLflow after real flow runs: one point per window (steps = window
ends, a rerun adds none), and the registered version's signature and input example."""

from __future__ import annotations

import json
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mlflow.models import get_model_info

from flows.monitor import monitor_and_retrain
from retrain.config import load_config
from retrain.data.s3 import write_partition
from retrain.monitoring.history import (
    HISTORY_TAG,
    SENTINEL,
    history_experiment_name,
    log_window,
    window_step,
    window_timestamp_ms,
)
from retrain.settings import Settings
from tests.helpers import AS_OF, FIRST_DAY, ID, LABEL, TS, config_dict, day_frame, write_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_history_one_point_per_window_and_version_schema(
    stack: Settings, s3: Any, mlflow: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"history_{uuid.uuid4().hex[:8]}"
    raw = config_dict(name, stack.data_bucket, f"tests/history/{name}")
    raw["columns"].update(prediction="served", latency_ms="ms")
    write_config(tmp_path, raw)
    monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(tmp_path))
    config = load_config(tmp_path / "model.yaml")
    for i in range((AS_OF - FIRST_DAY).days):
        day = FIRST_DAY + timedelta(days=i)
        frame = day_frame(day)  # production served the label itself: "another model"
        frame = frame.assign(served=frame[LABEL], ms=np.arange(len(frame), dtype=float))
        write_partition(s3, config.data, day, frame)
    first, second = AS_OF - timedelta(days=5), AS_OF

    bootstrap = monitor_and_retrain(name, as_of=first)  # no champion yet: inputs and traffic
    assert bootstrap["promoted_version"] == "1"
    assert bootstrap["monitoring"]["quality"] is None
    record = monitor_and_retrain(name, as_of=second)
    auc_now = record["monitoring"]["quality"]["metrics"]["roc_auc"]
    assert auc_now is not None and record["champion"]["metric_now"] == auc_now
    monitoring = record["monitoring"]
    assert monitoring["traffic"]["days_missing"] == []
    assert monitoring["traffic"]["latency_ms"]["p50"] == (len(day_frame(FIRST_DAY)) - 1) / 2
    served = monitoring["predictions"]["served"]
    assert served["mismatch"] and 0.5 < served["agreement"] < 0.99, served

    experiment = mlflow.get_experiment_by_name(history_experiment_name(name))
    runs = mlflow.search_runs([experiment.experiment_id], f"tags.{HISTORY_TAG} = 'true'")
    assert [r.data.tags["mode"] for r in runs] == ["auto"]
    run_id = runs[0].info.run_id
    rows = mlflow.get_metric_history(run_id, SENTINEL)
    assert sorted((m.step, m.timestamp) for m in rows) == [
        (window_step(first), window_timestamp_ms(first)),
        (window_step(second), window_timestamp_ms(second)),
    ]
    assert [m.value for m in sorted(rows, key=lambda m: m.step)] == [
        bootstrap["window"]["rows"],
        record["window"]["rows"],
    ]
    # the same window again (a rerun) adds no point, whatever its values
    assert not log_window(mlflow, run_id, second, {SENTINEL: 1.0, "quality/roc_auc": 0.5})
    assert len(mlflow.get_metric_history(run_id, SENTINEL)) == 2
    auc = mlflow.get_metric_history(run_id, "quality/roc_auc")
    assert [(m.step, m.value) for m in auc] == [
        (window_step(second), pytest.approx(record["monitoring"]["quality"]["metrics"]["roc_auc"]))
    ]
    # the label-free estimate of the window's last (unlabelled) day, beside the realised metric
    estimate = record["estimated_performance"]
    assert estimate["value"] is not None, estimate
    points = {
        key: [(m.step, m.value) for m in mlflow.get_metric_history(run_id, key)]
        for key in ("estimated/roc_auc", "estimated/roc_auc_stderr")
    }
    assert points == {
        "estimated/roc_auc": [(window_step(second), pytest.approx(estimate["value"]))],
        "estimated/roc_auc_stderr": [
            (window_step(second), pytest.approx(estimate["standard_error"]))
        ],
    }

    info = get_model_info(f"models:/{name}/1")
    assert info.signature is not None
    assert info.signature.inputs.input_names() == config.columns.features
    assert info.signature.inputs.required_input_names() == config.columns.features
    assert info.saved_input_example_info["type"] == "dataframe"
    version = mlflow.get_model_version(name, "1")
    with tempfile.TemporaryDirectory() as tmp:
        path = mlflow.download_artifacts(version.run_id, "model/input_example.json", tmp)
        example = json.loads(Path(path).read_text().replace("NaN", "null"))
    # five rows of features only: no id, timestamp, label, and nothing of the settings
    assert example["columns"] == config.columns.features and len(example["data"]) == 5
    assert not {ID, TS, LABEL} & set(example["columns"])
    text = json.dumps(example)
    assert stack.mlflow_tracking_uri not in text and str(stack.s3_endpoint_url) not in text
