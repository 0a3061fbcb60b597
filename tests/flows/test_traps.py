"""Traps a new model's owner fell into, against the real stack: a broken sibling config, replay of
weeks before the current champion's training, and a target-only concept change."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from flows.monitor import monitor_and_retrain
from flows.operate import replay
from retrain.data.s3 import write_partition
from retrain.decisions.timeline import LaterChampionError
from retrain.operate.deployment_names import Purpose, deployment_name, deployment_path
from retrain.registry import versions as registry
from retrain.settings import Settings
from tests.helpers import (
    AS_OF,
    FIRST_DAY,
    LABEL,
    Scenario,
    day_frame,
    empty_bucket,
    merge,
    scenario,
    unique,
    write_config,
    write_days,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
DAYS = 35  # 2024-01-01 .. 2024-02-04
CHANGE = date(2024, 1, 22)  # the concept change of the target-drift stream


@pytest.fixture(scope="module")
def bucket(s3: Any) -> Iterator[str]:
    name = unique("traps")
    s3.create_bucket(Bucket=name)
    yield name
    empty_bucket(s3, name)
    s3.delete_bucket(Bucket=name)


def _days() -> list[date]:
    return [FIRST_DAY + timedelta(days=i) for i in range(DAYS)]


def _run(name: str, config_dir: Path, as_of: date, **kwargs: Any) -> Any:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RETRAIN_CONFIG_DIR", str(config_dir))
        return monitor_and_retrain(name, as_of=as_of, return_state=True, **kwargs)


def test_a_broken_sibling_config_does_not_stop_a_good_model(
    stack: Settings, s3: Any, bucket: str, tmp_path: Path
) -> None:
    name = unique("isolated").replace("-", "_")
    good = scenario(tmp_path, name, bucket)
    write_days(s3, good.source, _days()[:21])
    sibling = merge(good.config.model_dump(mode="json"), {"name": "other", "thresholdz": {}})
    write_config(good.config_dir, sibling, "other.yaml")
    write_config(good.config_dir, "name: [unclosed", "garbage.yaml")

    state = _run(name, good.config_dir, AS_OF)

    assert state.is_completed(), state.message
    assert state.result()["decision"]["reasons"] == ["no_champion"]


def test_deploy_names_each_bad_file_once_and_deploys_the_good_model(
    stack: Settings, bucket: str, tmp_path: Path
) -> None:
    name = unique("deployed").replace("-", "_")
    good = scenario(tmp_path, name, bucket)
    raw = good.config.model_dump(mode="json")
    write_config(good.config_dir, {**raw, "name": "typo", "thresholdz": {}}, "typo.yaml")
    write_config(good.config_dir, {**raw, "metric": "roc"}, "bad_metric.yaml")

    out = subprocess.run(
        [sys.executable, "scripts/deploy.py", "--config-dir", str(good.config_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 3, out.stderr  # headline + one line per file
    assert "2 model config file(s) cannot be used" in out.stderr
    assert "typo.yaml: thresholdz: Extra inputs are not permitted" in out.stderr
    assert "bad_metric.yaml:" in out.stderr and "metric 'roc'" in out.stderr
    assert f"deployed {deployment_path(name, Purpose.SCHEDULED)}" in out.stdout

    from prefect import get_client

    async def deployed() -> str:
        async with get_client() as client:
            path = deployment_path(name, Purpose.SCHEDULED)
            return (await client.read_deployment_by_name(path)).name

    assert asyncio.run(deployed()) == deployment_name(name, Purpose.SCHEDULED)


@pytest.fixture(scope="module")
def later_champion(
    stack: Settings, s3: Any, mlflow: Any, bucket: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    """A model whose champion v1 was trained for 2024-01-21, then v2 (forced) for 2024-02-04."""
    name = unique("replayed").replace("-", "_")
    case = scenario(tmp_path_factory.mktemp("replay"), name, bucket)
    write_days(s3, case.source, _days())
    first = _run(name, case.config_dir, AS_OF)
    assert first.is_completed() and first.result()["promoted"], first.message
    second = _run(name, case.config_dir, date(2024, 2, 4), force_retrain=True)
    assert second.is_completed(), second.message
    record = second.result()
    if not record["promoted"]:  # the gate may keep v1: make v2 the champion by hand
        registry.promote(
            mlflow,
            name,
            record["registered_version"],
            "1",
            "test: a later champion",
            as_of=date(2024, 2, 4),
        )
    assert registry.get_champion(mlflow, name).trained_as_of == date(2024, 2, 4)  # type: ignore[union-attr]
    yield case


def test_auto_run_before_the_champions_training_is_refused(later_champion: Scenario) -> None:
    case = later_champion
    name = case.config.name

    state = _run(name, case.config_dir, date(2024, 1, 28))

    assert state.is_failed()
    error = state.result(raise_on_failure=False)
    assert isinstance(error, LaterChampionError), error
    assert "trained for the window ending 2024-02-04" in str(error) and "shadow" in str(error)


def test_replay_judges_each_week_with_the_champion_it_had_then(
    later_champion: Scenario, mlflow: Any
) -> None:
    case = later_champion
    name = case.config.name
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RETRAIN_CONFIG_DIR", str(case.config_dir))
        rows = replay(name, start=date(2024, 1, 14), end=date(2024, 1, 28), step_days=7)

    assert [r["as_of"] for r in rows] == ["2024-01-14", "2024-01-21", "2024-01-28"]
    # v1 was trained for 01-21 (on the week 01-14..01-20): it first scores the week from 01-21;
    # the two weeks before had no champion trained before them, and today's v2 never serves
    assert [r["champion_version"] for r in rows] == [None, None, "1"]
    assert all(r["decision"] == "retrain" and r["reasons"] == "no_champion" for r in rows[:2])
    for row in rows:  # every served version was trained before its window's first day
        if row["champion_version"] is not None:
            trained = mlflow.get_model_version(name, row["champion_version"]).tags["as_of"]
            start = date.fromisoformat(row["as_of"]) - timedelta(days=7)
            assert date.fromisoformat(trained) <= start, (row, trained)
    assert all(r["days_since_retrain"] is None or r["days_since_retrain"] >= 0 for r in rows)
    assert not any(r["promoted"] for r in rows)
    assert registry.get_champion(mlflow, name).trained_as_of == date(2024, 2, 4)  # type: ignore[union-attr]


def _concept_changed(day: date) -> pd.DataFrame:
    """Same features every day; from CHANGE on, the label's threshold on them moves (the
    positive rate jumps), a change the features cannot show."""
    frame = day_frame(day)
    if day < CHANGE:
        return frame
    rng = np.random.default_rng(day.toordinal() + 1)
    effect = frame["segment"].map({"a": 0.8, "b": -0.4, "c": -0.2}).to_numpy()
    latent = 1.5 * frame["x1"] + 1.0 * frame["x2"] + effect + rng.normal(0.0, 0.7, len(frame))
    return frame.assign(**{LABEL: (latent > -1.5).astype("int64")})


async def _summary(flow_run_id: str) -> str:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return next(a.data for a in found if a.type == "markdown")


def test_target_only_concept_change_is_shown_and_retrains_when_configured(
    stack: Settings, s3: Any, bucket: str, tmp_path: Path
) -> None:
    name = unique("concept").replace("-", "_")
    quiet = {"thresholds": {"performance_drop": 0.5}}  # only target drift may trigger
    case = scenario(tmp_path, name, bucket, **quiet)
    for day in _days():
        write_partition(s3, case.source, day, _concept_changed(day))
    after = date(2024, 2, 4)
    assert _run(name, case.config_dir, AS_OF).result()["promoted"]

    state = _run(name, case.config_dir, after)  # target_drift_trigger is off by default
    record = state.result()
    assert record["drift"]["target"]["drifted"] is True
    assert record["drift"]["dataset_drift"] is False, record["drift"]["drifted_columns"]
    assert record["decision"]["action"] == "keep"
    summary = asyncio.run(_summary(str(state.state_details.flow_run_id)))
    assert "drifted: none" in summary and "Target drift (label): drifted" in summary
    assert "get-artifact?path=decision.json" in summary and "](s3://" not in summary

    raw = merge(case.config.model_dump(mode="json"), {"thresholds": {"drift": {}}})
    raw["thresholds"]["drift"]["target_drift_trigger"] = True
    write_config(case.config_dir, raw)
    record = _run(name, case.config_dir, after).result()

    assert record["decision"]["action"] == "retrain"
    assert record["decision"]["reasons"] == ["target_drift"]
    assert record["registered_version"] is not None
