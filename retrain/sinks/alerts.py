"""Alerts through Prefect blocks: a run's events as Slack messages (prefect-slack's
`SlackWebhook`) and emails (prefect-email's `EmailServerCredentials`), beside the plain webhook."""

from __future__ import annotations

import html
import socket
import threading
from collections.abc import Callable
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from retrain.config import Alerts
from retrain.run_record import RunRecord
from retrain.sinks.notify import events_for, message

if TYPE_CHECKING:  # prefect-slack and prefect-email are loaded only when a model uses them
    from prefect_email import EmailServerCredentials
    from prefect_slack import SlackWebhook


class AlertError(RuntimeError):
    """A channel refused an alert or could not be reached."""


def email_message(event: str, record: RunRecord, sender: str, to: list[str]) -> EmailMessage:
    """One event of a run as a plain-text email: the Slack line, unescaped, and the run's ids."""
    payload = message(event, record)
    email = EmailMessage()
    email["Subject"] = f"[retrain-loop] {record.model} {record.as_of}: {event}"
    email["From"] = sender
    email["To"] = ", ".join(to)
    lines = [
        html.unescape(payload["text"]),
        "",
        f"model: {record.model}",
        f"window ending: {record.as_of} ({record.mode})",
        f"decision: {record.decision.action}",
        f"Prefect flow run: {record.flow_run_id}",
        f"MLflow run: {record.mlflow_run_id}",
    ]
    email.set_content("\n".join(lines) + "\n")
    return email


def send_slack(block: SlackWebhook, event: str, record: RunRecord) -> None:
    """Post the event's Slack message (text and its mrkdwn block) through the block's client."""
    payload = message(event, record)
    try:
        response = block.get_client(sync_client=True).send(
            text=payload["text"], blocks=payload["blocks"]
        )
    except Exception as exc:  # the URL is a secret: name the error's type only
        raise AlertError(f"Slack webhook unreachable: {type(exc).__name__}") from None
    if response.status_code >= 400:
        raise AlertError(f"Slack webhook answered HTTP {response.status_code}")


SMTP_TIMEOUT_SECONDS = 30.0
_SOCKET_DEFAULT = threading.Lock()


def send_email(
    credentials: EmailServerCredentials,
    email: EmailMessage,
    timeout_seconds: float = SMTP_TIMEOUT_SECONDS,
) -> None:
    """Send one email through the SMTP server the credentials block names, giving up after
    `timeout_seconds` of silence. prefect-email opens its `smtplib.SMTP` without a timeout (a
    server that accepts and never answers would hold the run for good), so the socket default
    timeout is set around the call; every other client of the loop sets its own timeouts."""
    try:
        with _SOCKET_DEFAULT:
            before = socket.getdefaulttimeout()
            socket.setdefaulttimeout(timeout_seconds)
            try:
                with credentials.get_server() as server:
                    server.send_message(email)
            finally:
                socket.setdefaulttimeout(before)
    except Exception as exc:  # SMTPException, OSError, TimeoutError
        raise AlertError(f"SMTP server refused or unreachable: {exc!r}") from exc


def send_all(
    alerts: Alerts, model: str, record: RunRecord, load: Callable[[str, str], Any]
) -> tuple[list[str], list[str]]:
    """Each of the record's events to each block the model's alerts name, the block of a kind
    (`slack` or `email`) loaded by `load(kind, name)`; returns what was sent (`slack:<event>`)
    and what failed, and why: a block that cannot be loaded or a channel that refuses is
    reported, never raised."""
    events = events_for(record)

    def to_email(creds: Any, event: str) -> None:
        sender = alerts.email_from or creds.username or "retrain-loop@localhost"
        send_email(creds, email_message(event, record, sender, alerts.email_to))

    channels: list[tuple[str, str | None, Callable[[Any, str], None]]] = [
        ("slack", alerts.slack_webhook_block, lambda block, e: send_slack(block, e, record)),
        ("email", alerts.email_credentials_block, to_email),
    ]
    sent: list[str] = []
    failed: list[str] = []
    for kind, name, send in channels:
        if not name or not events:
            continue
        try:
            block = load(kind, name)
        except Exception as exc:  # no block of that name, the server unreachable
            failed.append(f"{kind} alerts of {model} not sent: block {name!r}: {exc}")
            continue
        for event in events:
            try:
                send(block, event)
            except Exception as exc:  # AlertError, and whatever a block's client raises
                failed.append(f"{kind} alert {event} of {model} failed: {exc}")
                continue
            sent.append(f"{kind}:{event}")
    return sent, failed
