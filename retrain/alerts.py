"""Alerts through Prefect blocks: a run's events as Slack messages (prefect-slack's
`SlackWebhook`) and emails (prefect-email's `EmailServerCredentials`), beside the plain webhook."""

from __future__ import annotations

import html
import socket
import threading
from email.message import EmailMessage
from typing import TYPE_CHECKING

from retrain.notify import message
from retrain.run_record import RunRecord

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
