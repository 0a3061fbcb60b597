"""`mode: approval` on the real stack: the challenger waits behind the `challenger` alias, a
person answers through the approve deployment (the API the Prefect UI's run form calls), and
every decision is a Prefect event read back through the events API; the shipped automations
exist once after deploying twice and fire on a test event."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from flows.approval import approve, expire_approvals
from flows.monitor import monitor_and_retrain
from flows.operate import rollback
from retrain.data import s3 as data
from retrain.decisions.attention import NeedsAttentionError
from retrain.operate.deployment_names import Purpose, deployment_name, deployment_path
from retrain.registry import approval
from retrain.registry import versions as registry
from retrain.registry.approval import ApprovalError
from retrain.settings import Settings
from tests.flows.conftest import MECHANICS, FlightsModel
from tests.helpers import merge, webhook_receiver

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
EVENTS_DOC = ROOT / "docs" / "events.md"


def documented_events() -> dict[str, list[str]]:
    """docs/events.md's table: event name -> its payload fields."""
    rows = re.findall(
        r"^\| `(retrain\.model\.[a-z-]+)` \| [^|]+ \| (.+) \|$", EVENTS_DOC.read_text(), re.M
    )
    return {name: re.findall(r"`([a-z_]+)`", fields) for name, fields in rows}


def read_events(settings: Settings, model: str) -> list[dict[str, Any]]:
    """Every event of the model's resource, through the Prefect events API."""
    body = {
        "filter": {
            "event": {"prefix": ["retrain.model."]},
            "resource": {"id": [f"retrain.model.{model}"]},
        },
        "limit": 50,  # the most the API returns in one page
    }
    req = urllib.request.Request(
        f"{settings.prefect_api_url}/events/filter",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return list(json.loads(resp.read())["events"])


def wait_for(check: Callable[[], Any], seconds: float = 60.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(2)


def deploy(config_dir: Path) -> str:
    out = subprocess.run(
        [sys.executable, "scripts/deploy.py", "--config-dir", str(config_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@dataclass
class Story:
    """One model's life in approval mode: the records of its runs, in order."""

    model: FlightsModel
    received: list[dict[str, Any]]
    records: dict[str, dict[str, Any]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def story(flights_model: Callable[..., FlightsModel], stack: Settings) -> Iterator[Story]:
    """A flights model in approval mode whose Slack block posts to a local receiver, deployed
    twice (its approve deployment, the shipped automations)."""
    from prefect_slack import SlackWebhook

    block = f"approval-slack-{uuid.uuid4().hex[:8]}"
    with webhook_receiver("/services/T0/B0/approval") as (url, received):
        SlackWebhook(url=url).save(block)
        # non-inferiority: a fresher model passes the gate unless clearly worse, so each forced
        # retrain below makes a request
        overrides = merge(
            MECHANICS,
            {
                "mode": "approval",
                "alerts": {"slack_webhook_block": block},
                "thresholds": {"gate_mode": "non_inferiority"},
            },
        )
        model = flights_model("approval", overrides)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("RETRAIN_CONFIG_DIR", str(model.config_dir))
            yield Story(model, received)


def run(story: Story, as_of: str, **kwargs: Any) -> dict[str, Any]:
    record = monitor_and_retrain(story.model.name, as_of=date.fromisoformat(as_of), **kwargs)
    story.records[as_of] = record
    return record


def stored(settings: Settings, s3: Any, record: dict[str, Any]) -> dict[str, Any]:
    bucket, key = record["record_uri"].removeprefix("s3://").split("/", 1)
    found: dict[str, Any] = data.get_json(s3, bucket, key)
    return found


def test_deploying_twice_leaves_one_of_each_automation(story: Story, stack: Settings) -> None:
    from prefect import get_client

    first, second = deploy(story.model.config_dir), deploy(story.model.config_dir)
    assert f"created automation retrain-loop: retrain {story.model.name} on request" in first
    assert f"updated automation retrain-loop: retrain {story.model.name} on request" in second
    names = [
        "retrain-loop: approval requested",
        "retrain-loop: approval closed without promotion",
        "retrain-loop: run needs attention",
        f"retrain-loop: retrain {story.model.name} on request",
    ]
    with get_client(sync_client=True) as client:
        for name in names:
            assert len(client.read_automations_by_name(name)) == 1, name
            assert f"automation {name}" in second


def test_approval_mode_registers_the_challenger_and_leaves_the_alias(
    story: Story, mlflow: Any, stack: Settings, s3: Any
) -> None:
    record = run(story, "2013-03-04")
    name = story.model.name
    assert record["registered_version"] == "1" and record["promoted"] is False
    assert record["approval"]["state"] == "pending" and record["approval"]["version"] == "1"
    assert record["approval"]["form_url"].endswith("/run")  # the approve deployment's form
    assert registry.get_champion(mlflow, name) is None
    mv = mlflow.get_model_version_by_alias(name, approval.CHALLENGER)
    assert mv.version == "1" and mv.tags["approval"] == "pending"
    assert mv.tags["approval_record"] == record["record_uri"]
    assert stored(stack, s3, record)["approval"]["state"] == "pending"
    # the automation told the Slack block, with the form's link
    asked = wait_for(lambda: [m for m in story.received if "waits for approval until" in m["text"]])
    assert asked and record["approval"]["form_url"] in asked[0]["text"]


def test_approval_through_the_deployment_form_moves_the_champion(
    story: Story, mlflow: Any, stack: Settings, s3: Any
) -> None:
    from prefect.deployments import run_deployment

    name = story.model.name
    flow_run = run_deployment(
        deployment_path(name, Purpose.APPROVE),
        parameters={"decision": "approve", "who": "alice", "comment": "scores hold up"},
        timeout=600,
        as_subflow=False,
    )
    assert flow_run.state is not None and flow_run.state.is_completed(), flow_run.state
    champion = registry.get_champion(mlflow, name)
    assert champion is not None and champion.version == "1"
    tags = mlflow.get_model_version(name, "1").tags
    assert (tags["approval"], tags["approval_by"]) == ("approved", "alice")
    assert tags["approval_comment"] == "scores hold up" and tags["approval_at"]
    history = registry.champion_history(mlflow, name)
    assert (
        history[-1]["by"] == "alice"
        and "approved by alice: scores hold up" in history[-1]["reason"]
    )
    assert approval.CHALLENGER not in mlflow.get_registered_model(name).aliases
    record = stored(stack, s3, story.records["2013-03-04"])
    assert record["approval"]["state"] == "approved" and record["approval"]["by"] == "alice"
    assert record["promoted"] is True and record["promoted_version"] == "1"


def test_a_second_challenger_waits_against_the_approved_champion(story: Story) -> None:
    record = run(story, "2013-07-01", force_retrain=True)
    assert record["approval"]["state"] == "pending" and record["registered_version"] == "2"
    assert record["approval"]["champion_version"] == "1"


def test_the_prefect_ui_shows_the_pending_request_and_its_form(story: Story) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "scripts/browser_check.py",
            "--model",
            story.model.name,
            "--approval",
            "--out",
            str(ROOT / "out" / "screenshots"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert (ROOT / "out" / "screenshots" / "prefect_approval_form.png").stat().st_size > 10_000


def test_a_rejection_leaves_the_champion(
    story: Story, mlflow: Any, stack: Settings, s3: Any
) -> None:
    record = story.records["2013-07-01"]
    answer = approve(story.model.name, "reject", "bob", "summer model, wait a week")
    assert answer["state"] == "rejected"
    assert registry.get_champion(mlflow, story.model.name).version == "1"  # type: ignore[union-attr]
    tags = mlflow.get_model_version(story.model.name, "2").tags
    assert (tags["approval"], tags["approval_by"]) == ("rejected", "bob")
    assert stored(stack, s3, record)["approval"]["comment"] == "summer model, wait a week"
    assert stored(stack, s3, record)["promoted"] is False


def test_a_newer_challenger_supersedes_a_pending_one(
    story: Story, mlflow: Any, stack: Settings, s3: Any
) -> None:
    older = run(story, "2013-07-08", force_retrain=True)
    newer = run(story, "2013-07-15", force_retrain=True)
    old_v, new_v = older["approval"]["version"], newer["approval"]["version"]
    assert newer["approval"]["superseded"] == [old_v]
    assert mlflow.get_model_version(story.model.name, old_v).tags["approval"] == "superseded"
    assert mlflow.get_model_version_by_alias(story.model.name, approval.CHALLENGER).version == new_v
    assert stored(stack, s3, older)["approval"]["state"] == "superseded"
    with pytest.raises(
        ApprovalError, match=f"no pending approval request .* v{old_v} .*v{new_v} waits"
    ):
        approve.fn(story.model.name, "approve", "carol", version=old_v)


def test_approval_after_the_champion_changed_is_refused(story: Story, mlflow: Any) -> None:
    name = story.model.name
    pending = approval.pending(mlflow, name)
    assert pending is not None and pending.champion_version == "1"
    registry.promote(mlflow, name, "2", "1", "promoted by hand meanwhile", "dave")
    with pytest.raises(ApprovalError, match=r"champion of .* is now v2, not v1 that the gate"):
        approve(name, "approve", "carol", "ship it")
    assert registry.get_champion(mlflow, name).version == "2"  # type: ignore[union-attr]
    tags = mlflow.get_model_version(name, pending.version).tags
    assert tags["approval"] == "refused" and "is now v2" in tags["approval_comment"]


def test_an_unanswered_request_expires_and_is_recorded(
    story: Story, mlflow: Any, stack: Settings, s3: Any, tmp_path: Path
) -> None:
    hasty = story.model.write_variant(tmp_path, approval={"expires_after_hours": 0.0005})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RETRAIN_CONFIG_DIR", str(hasty))
        record = run(story, "2013-07-22", force_retrain=True)
        version = record["approval"]["version"]
        time.sleep(3)  # 0.0005 h = 1.8 s
        expired = expire_approvals(story.model.name)
    assert [e["version"] for e in expired] == [version]
    tags = mlflow.get_model_version(story.model.name, version).tags
    assert tags["approval"] == "expired" and tags["approval_by"] == "retrain-loop"
    assert stored(stack, s3, record)["approval"]["state"] == "expired"
    assert registry.get_champion(mlflow, story.model.name).version == "2"  # type: ignore[union-attr]
    closed = wait_for(
        lambda: [
            m for m in story.received if "closed (retrain.model.approval-expired)" in m["text"]
        ]
    )
    assert closed, [m["text"] for m in story.received]


def test_rollback_and_attention_runs(story: Story, tmp_path: Path) -> None:
    moved = rollback(story.model.name, reason="ops complaint", requested_by="erin")
    assert (moved["from"], moved["to"]) == ("2", "1")
    lost = story.model.write_variant(
        tmp_path,
        data={
            **story.model.config.data.model_dump(),
            "prefix": "tests/nowhere-" + uuid.uuid4().hex,
        },
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RETRAIN_CONFIG_DIR", str(lost))
        with pytest.raises(NeedsAttentionError, match="no_partitions"):
            monitor_and_retrain(story.model.name, as_of=date(2013, 7, 29))


def test_each_documented_event_once_per_occurrence(story: Story, stack: Settings, s3: Any) -> None:
    documented = documented_events()
    assert len(documented) == 13, documented
    records = list(story.records.values())
    prefix = f"decisions/{story.model.name}/approval/2013-07-29/"
    lost = data.get_json(s3, stack.loop_bucket, data.list_json(s3, stack.loop_bucket, prefix)[-1])
    assert lost["attention"] and lost["status"] == "completed"
    refused = not lost["validation"]["valid"]  # run-failed: a run that raised or refused its data
    gated = [r for r in records if r.get("gate")]
    expected = Counter(
        {
            "retrain.model.drift-detected": sum(
                bool((r.get("drift") or {}).get("dataset_drift")) for r in records
            ),
            "retrain.model.retrain-started": len(gated),
            "retrain.model.challenger-registered": len(gated),
            "retrain.model.approval-requested": 5,
            "retrain.model.approval-superseded": 1,
            "retrain.model.promoted": 1,
            "retrain.model.rejected-by-gate": sum(not r["gate"]["promote"] for r in gated),
            "retrain.model.rejected-by-person": 1,
            "retrain.model.approval-expired": 1,
            "retrain.model.approval-refused": 1,
            "retrain.model.rolled-back": 1,
            "retrain.model.run-failed": int(refused),
            "retrain.model.needs-attention": 1,
        }
    )
    assert (
        expected["retrain.model.drift-detected"] >= 1
    )  # the summer drifts (tests/flows/test_operate.py)
    total = sum(expected.values())
    events = wait_for(
        lambda: (found := read_events(stack, story.model.name)) and len(found) >= total and found
    )
    assert Counter(e["event"] for e in events) == expected
    for event in events:
        assert event["resource"]["prefect.resource.id"] == f"retrain.model.{story.model.name}"
        missing = [f for f in documented[event["event"]] if f not in event["payload"]]
        assert not missing, (event["event"], missing, event["payload"])
    promoted = next(e for e in events if e["event"] == "retrain.model.promoted")["payload"]
    assert (promoted["from_version"], promoted["to_version"], promoted["by"]) == (
        None,
        "1",
        "alice",
    )
    back = next(e for e in events if e["event"] == "retrain.model.rolled-back")["payload"]
    assert (back["from_version"], back["to_version"], back["by"]) == ("2", "1", "erin")


def test_the_retrain_automation_runs_the_monitor_on_a_test_event(
    story: Story, stack: Settings
) -> None:
    import asyncio

    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
    from prefect.events import emit_event

    emit_event(
        "retrain.model.retrain-requested",
        resource={"prefect.resource.id": f"retrain.model.{story.model.name}"},
    )

    async def runs() -> list[Any]:
        async with get_client() as client:
            return await client.read_flow_runs(
                deployment_filter=DeploymentFilter(
                    name=DeploymentFilterName(
                        any_=[deployment_name(story.model.name, Purpose.RETRAIN_NOW)]
                    )
                ),
            )

    started = wait_for(
        lambda: [r for r in asyncio.run(runs()) if r.parameters.get("force_retrain")], 90
    )
    assert started and started[0].parameters["model"] == story.model.name
