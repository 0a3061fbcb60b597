"""Alerts through Prefect blocks saved on the real Prefect server: a SlackWebhook block posting
to a local Slack-format receiver and an EmailServerCredentials block sending to a local SMTP
server; the flow's runs reach both with the events' content, a missing block fails no run."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from flows.monitor import monitor_and_retrain
from retrain.config import load_config
from retrain.settings import Settings
from tasks.alerts import send_alerts
from tests.helpers import smtp_receiver, typed_record, webhook_receiver, write_config
from tests.streams import day, stream_config, write_stream

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CHEAP: dict[str, Any] = {
    "training": {"candidates": [{"days": 20}], "archived_versions": 0, "refit": False},
    "thresholds": {"bootstrap_resamples": 50},
}


@dataclass
class Channels:
    slack_block: str
    email_block: str
    slack: list[dict[str, Any]]
    emails: list[EmailMessage]


@pytest.fixture(scope="module")
def channels(stack: Settings) -> Iterator[Channels]:
    """Both receivers, and a block of each kind pointing at them, saved on the server."""
    from prefect_email import EmailServerCredentials
    from prefect_slack import SlackWebhook

    tag = uuid.uuid4().hex[:8]
    with webhook_receiver("/services/T0/B0/x") as (url, slack), smtp_receiver() as (port, emails):
        SlackWebhook(url=url).save(f"alerts-slack-{tag}")
        EmailServerCredentials(smtp_server="127.0.0.1", smtp_port=port, smtp_type="INSECURE").save(
            f"alerts-email-{tag}"
        )
        yield Channels(f"alerts-slack-{tag}", f"alerts-email-{tag}", slack, emails)


def _model(stack: Settings, folder: Path, channels: Channels, **alerts: Any) -> str:
    name = f"alerts_{uuid.uuid4().hex[:8]}"
    routes = {
        "slack_webhook_block": channels.slack_block,
        "email_credentials_block": channels.email_block,
        "email_to": ["oncall@example.com"],
        "email_from": "loop@example.com",
        **alerts,
    }
    raw = stream_config(name, stack.data_bucket, f"tests/alerts/{name}", **CHEAP, alerts=routes)
    write_config(folder, raw)
    return name


def _of(channels: Channels, model: str) -> tuple[list[str], list[EmailMessage]]:
    texts = [m["text"] for m in channels.slack if f" {model} " in m["text"]]
    return texts, [e for e in channels.emails if f" {model} " in e["Subject"]]


def test_a_bootstrap_run_alerts_retrain_and_promotion_on_both_channels(
    stack: Settings, s3: Any, channels: Channels, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _model(stack, tmp_path, channels)
    write_stream(s3, load_config(tmp_path / "model.yaml").data, 25, lambda _: "A")
    monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(tmp_path))
    record = monitor_and_retrain(name, as_of=day(25))
    assert record["promoted_version"] == "1"
    texts, emails = _of(channels, name)
    head = f"[retrain-loop] {name} window ending {day(25)}"
    assert texts == [
        f"{head}: retrain: retraining because no_champion",
        f"{head}: promotion: v1 promoted to champion "
        f"(roc_auc {record['gate']['challenger_score']} vs None)",
    ]
    slack = next(m for m in channels.slack if m["text"] == texts[0])
    assert slack["path"] == "/services/T0/B0/x" and slack["blocks"][0]["text"]["text"] == texts[0]
    assert [e["Subject"] for e in emails] == [
        f"[retrain-loop] {name} {day(25)}: retrain",
        f"[retrain-loop] {name} {day(25)}: promotion",
    ]
    assert emails[0]["To"] == "oncall@example.com" and emails[0]["From"] == "loop@example.com"
    body = emails[1].get_content()
    assert (
        "v1 promoted to champion" in body and f"Prefect flow run: {record['flow_run_id']}" in body
    )


def test_drift_refusal_and_failure_reach_both_channels(
    stack: Settings, channels: Channels, tmp_path: Path
) -> None:
    """The flow's task on a record of a run that saw drift, refused its challenger and failed."""
    from prefect import flow

    name = _model(stack, tmp_path, channels)
    config = load_config(tmp_path / "model.yaml")
    record = {
        "model": name,
        "as_of": str(day(30)),
        "mode": "auto",
        "metric": "roc_auc",
        "status": "failed",
        "error": "RuntimeError: boom",
        "drift": {"dataset_drift": True, "drift_share": 0.67, "drifted_columns": ["x1", "x2"]},
        "decision": {"action": "retrain", "reasons": ["persistent_drift"]},
        "gate": {"promote": False, "reasons": ["gain 0.001 < min_gain 0.005"]},
        "registered_version": "2",
    }

    @flow(name="alerts-probe")
    def probe() -> list[str]:
        return send_alerts(config, typed_record(record))

    events = ["drift", "retrain", "rejected", "failure"]
    assert probe() == [f"{k}:{e}" for k in ("slack", "email") for e in events]
    texts, emails = _of(channels, name)
    assert [t.split(": ")[1] for t in texts] == events
    assert "drift share 0.67 (columns: x1, x2; target drift: no)" in texts[0]
    assert "challenger v2 rejected: gain 0.001 &lt; min_gain 0.005" in texts[2]
    assert "run failed or data invalid: RuntimeError: boom" in texts[3]
    assert [e["Subject"].rsplit(": ", 1)[1] for e in emails] == events
    assert "rejected: gain 0.001 < min_gain 0.005" in emails[2].get_content()


def test_a_missing_block_fails_no_run(
    stack: Settings, channels: Channels, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from prefect import flow

    missing = f"no-such-block-{uuid.uuid4().hex[:8]}"
    name = _model(stack, tmp_path, channels, slack_webhook_block=missing)
    config = load_config(tmp_path / "model.yaml")
    record = {"model": name, "as_of": str(day(30)), "status": "failed", "error": "E: x"}

    @flow(name="alerts-probe")
    def probe() -> list[str]:
        return send_alerts(config, typed_record(record))

    with caplog.at_level(logging.WARNING):
        state = probe(return_state=True)
    assert state.is_completed() and state.result() == ["email:failure"]
    assert any(missing in r.getMessage() for r in caplog.records), caplog.text


def test_a_run_failing_before_its_record_still_alerts_both_channels(
    stack: Settings, channels: Channels, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No decision record is opened when the data bucket is missing; the channels hear anyway."""
    from retrain.config import ConfigError

    name = f"alerts_{uuid.uuid4().hex[:8]}"
    bucket = f"no-such-bucket-{uuid.uuid4().hex[:8]}"
    routes = {
        "slack_webhook_block": channels.slack_block,
        "email_credentials_block": channels.email_block,
        "email_to": ["oncall@example.com"],
    }
    write_config(tmp_path, stream_config(name, bucket, "tests/alerts/x", **CHEAP, alerts=routes))
    monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match=bucket):
        monitor_and_retrain(name, as_of=day(25))
    texts, emails = _of(channels, name)
    assert len(texts) == 1 and texts[0].startswith(f"[retrain-loop] {name} window ending {day(25)}")
    assert f"run failed or data invalid: ConfigError: bucket '{bucket}'" in texts[0]
    assert [e["Subject"] for e in emails] == [f"[retrain-loop] {name} {day(25)}: failure"]
    assert f"bucket '{bucket}' named by data.bucket" in emails[0].get_content()
