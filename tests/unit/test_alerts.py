"""The alerts block of a model config, and a run's event as an email."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from retrain.config import ModelConfig
from retrain.sinks.alerts import email_message, send_all
from tests.helpers import config_dict, merge, typed_record

RECORD: dict[str, Any] = {
    "model": "m1",
    "as_of": "2024-01-21",
    "mode": "auto",
    "metric": "roc_auc",
    "flow_run_id": "fr-1",
    "mlflow_run_id": "ml-1",
    "decision": {"action": "retrain", "reasons": ["below_floor"]},
    "gate": {"promote": False, "reasons": ["segment b regressed <by 0.1>"]},
    "registered_version": "4",
}


def _config(**overrides: Any) -> ModelConfig:
    return ModelConfig.model_validate(merge(config_dict("m1", "bucket", "prefix"), overrides))


def test_alerts_default_to_none_and_leave_the_config_hash_alone() -> None:
    plain = _config()
    assert plain.alerts.slack_webhook_block is None and plain.alerts.email_to == []
    routed = _config(alerts={"slack_webhook_block": "team-slack"})
    assert routed.config_hash() == plain.config_hash()


def test_an_email_block_needs_recipients() -> None:
    with pytest.raises(ValueError, match="email_to"):
        _config(alerts={"email_credentials_block": "smtp"})
    assert _config(alerts={"email_credentials_block": "smtp", "email_to": ["a@x"]}).alerts


def test_the_email_says_what_happened_unescaped() -> None:
    email = email_message("rejected", typed_record(RECORD), "loop@x", ["a@x", "b@y"])
    assert email["Subject"] == "[retrain-loop] m1 2024-01-21: rejected"
    assert email["From"] == "loop@x" and email["To"] == "a@x, b@y"
    body = email.get_content()
    assert "challenger v4 rejected: segment b regressed <by 0.1>" in body
    assert "Prefect flow run: fr-1" in body and "MLflow run: ml-1" in body


def test_an_smtp_server_that_never_answers_costs_a_timeout_not_the_run() -> None:
    """A real socket that accepts connections and never sends the SMTP greeting; the send runs
    in a daemon thread so that a send without a timeout fails this test instead of hanging it."""
    import socket
    import threading

    from prefect_email import EmailServerCredentials

    from retrain.sinks.alerts import send_email

    errors: list[BaseException] = []

    def send(port: int) -> None:
        creds = EmailServerCredentials(
            smtp_server="127.0.0.1", smtp_port=port, smtp_type="INSECURE"
        )
        email = email_message(
            "failure", typed_record(RECORD), "loop@example.com", ["oncall@example.com"]
        )
        try:
            send_email(creds, email, timeout_seconds=1.0)
        except BaseException as exc:
            errors.append(exc)

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        sender = threading.Thread(target=send, args=(silent.getsockname()[1],), daemon=True)
        sender.start()
        sender.join(timeout=15)
        assert not sender.is_alive(), "send_email still waiting on a silent SMTP server"
    assert len(errors) == 1 and "AlertError" in type(errors[0]).__name__, errors
    assert "timed out" in str(errors[0])
    assert socket.getdefaulttimeout() is None  # restored


class FakeSlack:
    """A Slack block whose client answers `status` and keeps what it was sent."""

    def __init__(self, status: int = 200) -> None:
        self.status, self.sent = status, []

    def get_client(self, sync_client: bool) -> Any:
        return self

    def send(self, text: str, blocks: list[Any]) -> Any:
        self.sent.append(text)
        return SimpleNamespace(status_code=self.status)


def test_every_event_goes_to_every_named_block_and_failures_are_reported() -> None:
    """send_all (what send_alerts runs): events retrain and rejected to Slack; an email block
    that cannot be loaded is reported, not raised."""
    config = _config(
        alerts={
            "slack_webhook_block": "team",
            "email_credentials_block": "smtp",
            "email_to": ["a@x"],
        }
    )
    slack = FakeSlack()

    def load(kind: str, name: str) -> Any:
        if kind == "email":
            raise ValueError(f"no block {name}")
        return slack

    sent, failed = send_all(config.alerts, "m1", typed_record(RECORD), load)
    assert sent == ["slack:retrain", "slack:rejected"] and len(slack.sent) == 2
    assert failed == ["email alerts of m1 not sent: block 'smtp': no block smtp"]


def test_a_refusing_channel_fails_that_alert_only() -> None:
    config = _config(alerts={"slack_webhook_block": "team"})
    sent, failed = send_all(config.alerts, "m1", typed_record(RECORD), lambda k, n: FakeSlack(500))
    assert sent == []
    assert failed == [
        "slack alert retrain of m1 failed: Slack webhook answered HTTP 500",
        "slack alert rejected of m1 failed: Slack webhook answered HTTP 500",
    ]
    quiet = _config()  # no block named: nothing sent, nothing loaded
    assert send_all(quiet.alerts, "m1", typed_record(RECORD), lambda k, n: 1 / 0) == ([], [])
