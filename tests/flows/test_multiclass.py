"""A three-class model with string labels through the loop on the real stack: a swap of two
classes' labels (class shares unchanged) is caught by macro F1, retrained and promoted, and the
served model recovers to within 0.02 of a fit on post-change data only; the class set, the
signature and the input example round-trip through MLflow and skops."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mlflow.models import get_model_info
from sklearn.metrics import accuracy_score, f1_score

from flows.monitor import monitor_and_retrain
from retrain.config import ModelConfig, load_config
from retrain.data.s3 import get_json, write_partition
from retrain.loop import InvalidDataError
from retrain.registry.model_io import load_sklearn_model
from retrain.settings import Settings
from retrain.sinks.reporting import decision_key
from retrain.training.pipeline import build_pipeline, features, target
from tests.helpers import ID, LABEL, SEGMENTS, TS, write_config
from tests.streams import START, day, stream_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROWS = 300
SWAP_DAY = 30  # from this day on, "low" and "high" swap labels
CLASSES = np.array(["high", "low", "mid"])
WEIGHTS = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])  # logits of low, mid, high


def three_class_day(i: int, rows: int = ROWS) -> pd.DataFrame:
    """Day `i` of the stream: the class of the largest noisy logit of (x1, x2)."""
    current = START + timedelta(days=i)
    rng = np.random.default_rng(1000 + i)
    x = rng.normal(0.0, 1.0, (rows, 2))
    logits = x @ WEIGHTS.T + rng.normal(0.0, 0.6, (rows, 3))
    names = np.array(["low", "mid", "high"])
    if i >= SWAP_DAY:
        names = np.array(["high", "mid", "low"])
    start = datetime(current.year, current.month, current.day, tzinfo=UTC)
    seconds = np.sort(rng.integers(0, 86400, rows))
    return pd.DataFrame(
        {
            ID: [f"{current:%Y%m%d}-{r:05d}" for r in range(rows)],
            TS: pd.Timestamp(start) + pd.to_timedelta(seconds, "s"),
            "x1": x[:, 0],
            "x2": x[:, 1],
            "segment": rng.choice(SEGMENTS, rows).astype(object),
            LABEL: names[logits.argmax(axis=1)].astype(object),
        }
    )


def _scores(model: Any, frame: pd.DataFrame, config: ModelConfig) -> tuple[float, float]:
    y, pred = target(frame, config), np.asarray(model.predict(features(frame, config)))
    return float(accuracy_score(y, pred)), float(f1_score(y, pred, average="macro"))


def test_label_swap_is_retrained_and_recovers(
    stack: Settings, s3: Any, mlflow: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"multiclass_{uuid.uuid4().hex[:8]}"
    raw = stream_config(
        name,
        stack.data_bucket,
        f"tests/streams/{name}",
        metric="f1_macro",
        classes=["high", "low", "mid"],
    )
    write_config(tmp_path, raw)
    monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(tmp_path))
    config = load_config(tmp_path / "model.yaml")
    frames = {i: three_class_day(i) for i in range(46)}
    for i in range(40):
        write_partition(s3, config.data, day(i), frames[i])

    first = monitor_and_retrain(name, as_of=day(25))
    assert first["decision"]["reasons"] == ["no_champion"] and first["promoted"]
    before = monitor_and_retrain(name, as_of=day(30))
    figures = before["monitoring"]["classes"]
    assert figures["classes"] == ["high", "low", "mid"]
    assert sum(figures["predicted_share"].values()) == pytest.approx(1.0)
    assert all(0.2 < figures["actual_share"][c] < 0.5 for c in CLASSES), figures
    assert all(r > 0.7 for r in figures["recall"].values()), figures
    assert 0.5 < figures["mean_confidence"] < 1.0
    assert set(figures["probability_drift"]) == set(CLASSES)
    quality = before["monitoring"]["quality"]["metrics"]
    assert quality["f1_macro"] > 0.8 and quality["roc_auc_ovr"] > 0.9, quality
    assert (
        quality["roc_auc"] is None and before["monitoring"]["predictions"]["positive_rate"] is None
    )

    estimate = before["estimated_performance"]  # multi-class CBPE of the window's last day
    assert estimate["metric"] == "f1_macro" and estimate["rows"] == ROWS, estimate
    assert abs(estimate["value"] - quality["f1_macro"]) < 0.05 and estimate["standard_error"] > 0

    runs = [monitor_and_retrain(name, as_of=day(d)) for d in (35, 40)]
    assert runs[0]["champion"]["metric_now"] < 0.6, runs[0]["champion"]  # the swap is seen
    assert "performance_drop" in runs[0]["decision"]["reasons"], runs[0]["decision"]
    promoted = [r for r in runs if r.get("promoted")]
    assert promoted, [(r["decision"], r.get("gate")) for r in runs]

    champion = load_sklearn_model(f"models:/{name}@champion")
    post = pd.concat([frames[i] for i in range(SWAP_DAY, 40)], ignore_index=True)
    fresh = build_pipeline(config).fit(features(post, config), target(post, config))
    later = pd.concat([frames[i] for i in range(40, 46)], ignore_index=True)
    served, best = _scores(champion, later, config), _scores(fresh, later, config)
    print(f"served accuracy, macro F1 {served}; post-change fit {best}")
    assert served[0] >= best[0] - 0.02 and served[1] >= best[1] - 0.02, (served, best)

    # the class set, the signature and the input example of a string-labelled version
    version = mlflow.get_model_version(name, promoted[-1]["registered_version"])
    assert json.loads(version.tags["classes"]) == ["high", "low", "mid"], version.tags
    info = get_model_info(f"models:/{name}/{version.version}")
    assert info.signature.inputs.input_names() == config.columns.features
    assert [np.dtype(c.type).kind for c in info.signature.outputs.inputs] == ["U"]  # text
    assert info.saved_input_example_info["type"] == "dataframe"
    assert list(champion.classes_) == ["high", "low", "mid"]
    assert set(champion.predict(features(later, config))) <= set(CLASSES)


def test_a_binary_metric_on_three_classes_is_refused_before_any_fit(
    stack: Settings, s3: Any, mlflow: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`metric: roc_auc` without `classes` declared passes config loading; the window's three
    label values stop the run at validation: named, and no model version is registered."""
    name = f"multiclass_refused_{uuid.uuid4().hex[:8]}"
    raw = stream_config(name, stack.data_bucket, f"tests/streams/{name}")
    write_config(tmp_path, raw)
    monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(tmp_path))
    config = load_config(tmp_path / "model.yaml")
    for i in range(25):
        write_partition(s3, config.data, day(i), three_class_day(i))
    state = monitor_and_retrain(name, as_of=day(25), force_retrain=True, return_state=True)
    assert state.is_failed()
    assert isinstance(state.result(raise_on_failure=False), InvalidDataError)
    run_id = str(state.state_details.flow_run_id)
    record = get_json(s3, stack.loop_bucket, decision_key(name, "auto", day(25), run_id))
    (problem,) = [p for p in record["validation"]["problems"] if p["code"] == "label_not_binary"]
    assert problem["message"] == (
        "metric 'roc_auc' needs a binary label but column 'label' holds 3 values "
        "['high', 'low', 'mid']; use a multi-class metric (f1_macro, roc_auc_ovr, accuracy, ...)"
    )
    assert record["decision"]["reasons"] == ["invalid_data"] and record.get("training") is None
    assert record["registered_version"] is None
    artifacts = {a.path for a in mlflow.list_artifacts(record["mlflow_run_id"])}
    assert not artifacts & {"model", "reference"}, artifacts
    assert mlflow.search_model_versions(f"name='{name}'") == []
