"""Task that sends a run's events to the model's Slack and email Prefect blocks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from retrain.alerts import email_message, send_email, send_slack
from retrain.budget import timed
from retrain.config import ModelConfig
from retrain.notify import events_for
from retrain.run_record import RunRecord


def _load(kind: str, name: str) -> Any:
    """The Prefect block of that kind (`slack` or `email`) saved under `name`."""
    if kind == "slack":
        from prefect_slack import SlackWebhook

        return SlackWebhook.load(name)
    from prefect_email import EmailServerCredentials

    return EmailServerCredentials.load(name)


@task(cache_policy=NO_CACHE)
@timed
def send_alerts(config: ModelConfig, record: RunRecord) -> list[str]:
    """Each event to each block the model's config names (`slack:<event>`, `email:<event>`
    sent); a block that cannot be loaded or a channel that refuses never fails the run."""
    alerts, logger = config.alerts, get_run_logger()
    events = events_for(record)

    def to_email(creds: Any, event: str) -> None:
        sender = alerts.email_from or creds.username or "retrain-loop@localhost"
        send_email(creds, email_message(event, record, sender, alerts.email_to))

    channels: list[tuple[str, str | None, Callable[[Any, str], None]]] = [
        ("slack", alerts.slack_webhook_block, lambda block, e: send_slack(block, e, record)),
        ("email", alerts.email_credentials_block, to_email),
    ]
    sent: list[str] = []
    for kind, name, send in channels:
        if not name or not events:
            continue
        try:
            block = _load(kind, name)
        except Exception as exc:  # no block of that name, the server unreachable
            logger.warning("%s alerts of %s not sent: block %r: %s", kind, config.name, name, exc)
            continue
        for event in events:
            try:
                send(block, event)
            except Exception as exc:  # AlertError, and whatever a block's client raises
                logger.warning("%s alert %s of %s failed: %s", kind, event, config.name, exc)
                continue
            sent.append(f"{kind}:{event}")
    if sent:
        logger.info("alerts sent: %s", ", ".join(sent))
    return sent
