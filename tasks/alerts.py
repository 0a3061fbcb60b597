"""Task that sends a run's events to the model's Slack and email Prefect blocks."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from retrain.budget import timed
from retrain.config import ModelConfig
from retrain.run_record import RunRecord
from retrain.sinks import alerts


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
    sent, failed = alerts.send_all(config.alerts, config.name, record, _load)
    logger = get_run_logger()
    for problem in failed:
        logger.warning("%s", problem)
    if sent:
        logger.info("alerts sent: %s", ", ".join(sent))
    return sent
