"""Decisions on synthetic streams with a known change, through the flow on the real stack:
an abrupt concept change, a concept that comes back, a stable stream, persistent covariate
drift, and the cooldown against the floor."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from flows.monitor import monitor_and_retrain
from retrain.config import DataSource, load_config
from retrain.metrics import score
from retrain.registry import versions as registry
from retrain.settings import Settings
from retrain.training.pipeline import build_pipeline, features, target
from tests.helpers import write_config
from tests.streams import day, stream_config, write_stream

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _model(
    stack: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **overrides: Any
) -> tuple[str, DataSource]:
    name = f"stream_{uuid.uuid4().hex[:8]}"
    raw = stream_config(name, stack.data_bucket, f"tests/streams/{name}", **overrides)
    write_config(tmp_path, raw)
    monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(tmp_path))
    return name, load_config(tmp_path / "model.yaml").data


def _run(name: str, at: int) -> dict[str, Any]:
    return monitor_and_retrain(name, as_of=day(at))


def test_concept_change_then_return(
    stack: Settings, s3: Any, mlflow: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A until day 30, B until day 50, A again: the loop follows B within two windows with a
    model as good as one trained on B only, and brings back an A model when A returns."""
    name, source = _model(stack, tmp_path, monkeypatch)
    concept = {**dict.fromkeys(range(30), "A"), **dict.fromkeys(range(30, 50), "B")}
    frames = write_stream(s3, source, 60, lambda i: concept.get(i, "A"))

    assert _run(name, 25)["promoted_version"] == "1"  # bootstrap on A
    first = _run(name, 35)  # days 30..34 are B: the A champion collapses
    assert {"below_floor", "performance_drop"} <= set(first["decision"]["reasons"])
    assert not first["promoted"]  # nothing fitted yet has seen enough B to clear the floor
    second = _run(name, 40)
    assert second["promoted"] and second["training"]["winner"] == "4d", second["training"]
    assert second["training"]["refit"] is True
    after = _run(name, 45)
    assert after["decision"]["action"] == "keep"
    # the champion against a model trained on post-change data only, on the same rows
    config = load_config(tmp_path / "model.yaml")
    b_only = build_pipeline(config)
    b_frame = pd.concat(frames[30:40])
    b_only.fit(features(b_frame, config), target(b_frame, config))
    window = pd.concat(frames[40:44])  # the matured days of the window ending at day 45
    b_score = score(
        "roc_auc", target(window, config), b_only.predict_proba(features(window, config))[:, 1]
    )
    assert after["champion"]["metric_now"] >= b_score - 0.02, (after["champion"], b_score)

    back = _run(name, 55)  # days 50..54 are A again
    assert back["promoted"], (back["decision"], back.get("gate"), back.get("training"))
    served = registry.get_champion(mlflow, name)
    assert served is not None and served.version == back["promoted_version"]
    assert back["reinstated_version"] == "1", back["training"]  # the A version, no training
    assert _run(name, 60)["champion"]["metric_now"] > 0.85


def test_stable_stream_promotes_nothing_worse(
    stack: Settings, s3: Any, mlflow: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No change at all, a retrain every window (staleness): each promotion is at most the
    margin worse than the champion it replaced on the same holdout, and quality holds."""
    name, source = _model(stack, tmp_path, monkeypatch, thresholds={"max_model_age_days": 5})
    write_stream(s3, source, 45, lambda _: "A")
    records = [_run(name, at) for at in (25, 30, 35, 40, 45)]
    assert all(r["decision"]["action"] == "retrain" for r in records)
    assert records[1]["decision"]["reasons"] == ["stale_model"]
    for rec in records[1:]:
        gate = rec["gate"]
        if rec["promoted"]:
            assert gate["challenger_score"] >= gate["champion_score"] - 0.01, gate
    scores = [r["champion"]["metric_now"] for r in records[1:]]
    assert min(scores) >= scores[0] - 0.02, scores


def test_persistent_drift_retrains_on_the_second_drifting_window(
    stack: Settings, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both features shift from day 30 (same concept): drift in window 35 is not persistent
    yet; in window 40 it is (2 of 2 windows of the same champion), so the loop retrains."""
    name, source = _model(stack, tmp_path, monkeypatch)
    write_stream(s3, source, 40, lambda _: "A", lambda i: 1.5 if i >= 30 else 0.0)
    _run(name, 25)
    first, second = _run(name, 35), _run(name, 40)
    assert first["drift"]["dataset_drift"] and second["drift"]["dataset_drift"]
    assert first["decision"]["reasons"] == ["stable", "drift_not_persistent"]
    assert "persistent_drift" in second["decision"]["reasons"]
    assert second["decision"]["details"]["drift_windows"] == 2


def test_cooldown_holds_triggers_but_not_a_champion_below_the_floor(
    stack: Settings, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Concept B from day 30. Within a 30-day cooldown after the bootstrap promotion the
    performance drop waits; once a floor is configured, the champion below it does not."""
    relaxed = {"thresholds": {"cooldown_days": 30, "absolute_floor": None}}
    name, source = _model(stack, tmp_path, monkeypatch, **relaxed)
    write_stream(s3, source, 40, lambda i: "A" if i < 30 else "B")
    assert _run(name, 25)["promoted"]
    held = _run(name, 35)
    assert held["decision"]["reasons"] == ["cooldown"]
    assert "performance_drop" in held["decision"]["details"]["suppressed_triggers"]
    assert held["decision"]["details"]["days_since_promotion"] == 10
    floored = {"thresholds": {"cooldown_days": 30, "absolute_floor": 0.6}}
    write_config(tmp_path, stream_config(name, stack.data_bucket, source.prefix, **floored))
    rescued = _run(name, 40)  # 15 days after the promotion, still inside the cooldown
    assert rescued["decision"]["action"] == "retrain"
    assert rescued["decision"]["reasons"][0] == "below_floor"
    assert rescued["promoted"], rescued.get("gate")
