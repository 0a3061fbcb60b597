"""Operating the loop through the real Prefect server and worker, and the MLflow registry."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from flows.monitor import monitor_and_retrain
from flows.operate import champion_history, replay, rollback
from retrain.data import s3 as data
from retrain.operate.deployment_names import Purpose, deployment_path
from retrain.registry import versions as registry
from retrain.registry.versions import PromotionError
from retrain.settings import Settings
from tests.flows.conftest import MECHANICS, FlightsModel
from tests.helpers import webhook_receiver

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "hook-SECRET-5d1e"
AWS_SECRET = "aws-SECRET-77c2"
# The week before 2013-07-01 drifts against v1's January-February reference (7 of the 15
# columns, share 0.47 >= 0.3): a fact of the data, the same on every run.
SUMMER_DRIFT_EVENT = ("2013-07-01", "drift")


def _deploy() -> None:
    out = subprocess.run(
        [sys.executable, "scripts/deploy.py"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stdout + out.stderr


async def _schedules(name: str) -> list[Any]:
    from prefect import get_client

    async with get_client() as client:
        deployment = await client.read_deployment_by_name(name)
        return await client.read_deployment_schedules(deployment.id)


async def _scheduled_runs(name: str) -> list[Any]:
    from prefect import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    async with get_client() as client:
        deployment = await client.read_deployment_by_name(name)
        return await client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
            ),
        )


def _git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_deployment_spec_is_deterministic_and_tracked() -> None:
    def spec() -> str:
        out = subprocess.run(
            [sys.executable, "scripts/deploy.py", "--print"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    first = spec()
    assert first == spec()  # same configs, same bytes
    assert "entrypoint: flows/monitor.py:monitor_and_retrain" in first
    assert first == (ROOT / "prefect.yaml").read_text()  # the tracked file is the rendering
    check = subprocess.run([sys.executable, "scripts/deploy.py", "--check"], cwd=ROOT)
    assert check.returncode == 0
    tracked = subprocess.run(["git", "ls-files", "prefect.yaml"], cwd=ROOT, capture_output=True)
    assert tracked.stdout.strip() == b"prefect.yaml"


def test_redeploy_keeps_one_schedule_per_deployment(stack: Settings) -> None:
    import asyncio

    before = _git_status()
    _deploy()
    _deploy()
    assert _git_status() == before  # deploying never dirties the checkout
    assert (ROOT / "prefect.yaml").is_file()
    scheduled = deployment_path("flights_delay", Purpose.SCHEDULED)
    assert len(asyncio.run(_schedules(scheduled))) == 1
    assert asyncio.run(_schedules(deployment_path("flights_delay", Purpose.RETRAIN_NOW))) == []
    assert asyncio.run(_schedules(deployment_path("flights_delay", Purpose.REPLAY))) == []
    # the server's scheduler (a 60 s loop) turns the weekly schedule into scheduled runs
    deadline, runs = time.monotonic() + 150, []
    while not runs and time.monotonic() < deadline:
        time.sleep(5)
        runs = asyncio.run(_scheduled_runs(scheduled))
    assert runs, "the Prefect scheduler created no scheduled run of the weekly deployment"
    assert all(r.expected_start_time.weekday() == 0 for r in runs)  # cron 0 6 * * 1: Mondays
    assert all(r.expected_start_time.hour == 6 for r in runs)


def test_new_model_deployed_and_run_on_the_worker(
    flights_model: Callable[[str], FlightsModel], mlflow: Any, stack: Settings
) -> None:
    """Configure a model, deploy it, run its deployment on the worker through the server."""
    import asyncio

    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
    from prefect.deployments import run_deployment

    model = flights_model("deployed")
    out = subprocess.run(
        [sys.executable, "scripts/deploy.py", "--config-dir", str(model.config_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    name = deployment_path(model.name, Purpose.SCHEDULED)

    async def form() -> dict[str, Any]:
        async with get_client() as client:
            deployment = await client.read_deployment_by_name(name)
            return deployment.parameter_openapi_schema

    schema = asyncio.run(form())
    assert schema["properties"]["model"]["enum"] == [model.name]
    assert schema["properties"]["as_of"]["anyOf"][0]["format"] == "date"
    assert schema["properties"]["force_retrain"]["type"] == "boolean"
    with pytest.raises(Exception, match=r"(?i)validation|enum|not one of"):
        run_deployment(name, parameters={"model": "no_such_model"}, timeout=0, as_subflow=False)

    flow_run = run_deployment(
        name, parameters={"as_of": "2013-03-04"}, timeout=600, as_subflow=False
    )
    assert flow_run.state is not None and flow_run.state.is_completed(), flow_run.state

    async def artifacts() -> list[Any]:
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run.id])
                )
            )

    found = asyncio.run(artifacts())
    markdown = [a for a in found if a.type == "markdown"]
    assert markdown and "no\\_champion" in markdown[0].data and "MLflow run" in markdown[0].data
    champion = registry.get_champion(mlflow, model.name)
    assert champion is not None and champion.version == "1"
    assert mlflow.get_run(champion.run_id).data.tags["prefect_flow_run_id"] == str(flow_run.id)


@pytest.fixture(scope="module")
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local Slack-compatible receiver that keeps every message and raw body it gets."""
    with webhook_receiver(f"/services/{WEBHOOK_SECRET}") as receiver:
        yield receiver


@pytest.fixture(scope="module")
def operated(flights_model: Callable[..., FlightsModel]) -> FlightsModel:
    """The flights data of this module's models, seeded once (the loop's mechanics)."""
    return flights_model("operated", MECHANICS)


@pytest.fixture(scope="module")
def promoted_twice(
    operated: FlightsModel,
    webhook: tuple[str, list[dict[str, Any]]],
) -> Iterator[tuple[FlightsModel, list[dict[str, Any]]]]:
    """A model with v1 (bootstrap) then v2 promoted on the degraded summer, with a webhook."""
    model = operated
    url, _ = webhook
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RETRAIN_CONFIG_DIR", str(model.config_dir))
        mp.setenv("RETRAIN_WEBHOOK_URL", url)
        mp.setenv("RETRAIN_AWS_SECRET_ACCESS_KEY", AWS_SECRET)
        records = [
            monitor_and_retrain(model.name, as_of=date(2013, 3, 4)),
            monitor_and_retrain(model.name, as_of=date(2013, 7, 1)),
        ]
        assert [r["promoted"] for r in records] == [True, True]
        yield model, records


def test_webhook_gets_one_message_per_event_and_no_secret(
    promoted_twice: tuple[FlightsModel, list[dict[str, Any]]],
    webhook: tuple[str, list[dict[str, Any]]],
) -> None:
    _, records = promoted_twice
    _, received = webhook
    events = [(m["as_of"], m["event"]) for m in received]
    assert events == [
        ("2013-03-04", "retrain"),
        ("2013-03-04", "promotion"),
        SUMMER_DRIFT_EVENT,
        ("2013-07-01", "retrain"),
        ("2013-07-01", "promotion"),
    ]
    assert all(m["text"].startswith("[retrain-loop]") for m in received)
    for message in received:
        assert WEBHOOK_SECRET not in message["raw"] and AWS_SECRET not in message["raw"]
    assert all(AWS_SECRET not in json.dumps(r) for r in records)


def test_rollback_round_trip_and_history(
    promoted_twice: tuple[FlightsModel, list[dict[str, Any]]], mlflow: Any
) -> None:
    model, _ = promoted_twice
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RETRAIN_CONFIG_DIR", str(model.config_dir))
        moved = rollback(model.name, reason="bad complaints from ops", requested_by="alice")
        assert (moved["from"], moved["to"]) == ("2", "1")
        assert registry.get_champion(mlflow, model.name).version == "1"  # type: ignore[union-attr]
        rows = champion_history(model.name)
        with pytest.raises(PromotionError, match="nothing to roll back to"):
            rollback.fn(model.name, reason="again")
    assert [(r["version"], r["previous"]) for r in rows] == [("1", ""), ("2", "1"), ("1", "2")]
    assert rows[-1]["by"] == "alice" and "bad complaints" in rows[-1]["reason"]
    assert rows[0]["until"] == rows[1]["at"] and rows[-1]["until"] == "now"


@pytest.fixture(scope="module")
def stale_champion(operated: FlightsModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second model on the same data whose only champion, v1 of January-February, is stale
    by July: replaying July retrains and the gate would promote (its config folder)."""
    config_dir = operated.write_variant(
        tmp_path_factory.mktemp("replayed"), name=f"{operated.name}_replayed"
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RETRAIN_CONFIG_DIR", str(config_dir))
        record = monitor_and_retrain(f"{operated.name}_replayed", as_of=date(2013, 3, 4))
    assert record["promoted"] is True
    return config_dir


def test_replay_in_shadow_moves_no_alias_where_the_gate_would_promote(
    operated: FlightsModel, stale_champion: Path, mlflow: Any, s3: Any, stack: Settings
) -> None:
    name = f"{operated.name}_replayed"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RETRAIN_CONFIG_DIR", str(stale_champion))
        rows = replay(name, start=date(2013, 7, 8), end=date(2013, 7, 29), step_days=7)
    assert [r["as_of"] for r in rows] == ["2013-07-08", "2013-07-15", "2013-07-22", "2013-07-29"]
    would_promote = [r for r in rows if r["would_promote"]]
    assert would_promote, rows  # else shadow mode had nothing to hold back
    assert mlflow.get_registered_model(name).aliases == {registry.CHAMPION: "1"}
    assert [h["version"] for h in registry.champion_history(mlflow, name)] == ["1"]
    for row in rows:
        keys = data.list_json(s3, stack.loop_bucket, f"decisions/{name}/shadow/{row['as_of']}/")
        stored = data.get_json(s3, stack.loop_bucket, keys[-1])
        assert stored["mode"] == "shadow" and stored["promoted"] is False
        assert stored["decision"]["action"] == row["decision"]
        assert bool((stored.get("gate") or {}).get("promote")) == row["would_promote"]
        if row["would_promote"]:
            shadow = mlflow.get_model_version(name, stored["registered_version"])
            assert shadow.tags["mode"] == "shadow" and shadow.aliases == []


def test_two_concurrent_runs_for_one_model_promote_once(
    flights_model: Callable[[str], FlightsModel], mlflow: Any
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    model = flights_model("concurrent")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RETRAIN_CONFIG_DIR", str(model.config_dir))
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [
                pool.submit(monitor_and_retrain, model.name, as_of=date(2013, 3, 4))
                for _ in range(2)
            ]
            records = [f.result() for f in futures]
    assert sorted(r["promoted"] for r in records) == [False, True]
    assert len(registry.champion_history(mlflow, model.name)) == 1
    assert registry.get_champion(mlflow, model.name).version == "1"  # type: ignore[union-attr]
