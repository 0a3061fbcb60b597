"""Task that sends one webhook message per event of a run (drift, retrain, promotion, ...)."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import SecretStr

from retrain.budget import timed
from retrain.run_record import RunRecord
from retrain.settings import Settings
from retrain.sinks.notify import events_for, message, post


@task(retries=2, retry_delay_seconds=[1, 2], cache_policy=NO_CACHE)
def post_event(url: SecretStr, event: str, record: RunRecord) -> str:
    """Post one event's message to the webhook (three attempts in all)."""
    post(url.get_secret_value(), message(event, record))
    return event


@task(cache_policy=NO_CACHE)
@timed
def notify(settings: Settings, record: RunRecord) -> list[str]:
    """Post each event to the webhook from settings; a failing webhook never fails the run."""
    events = events_for(record)
    if settings.webhook_url is None or not events:
        return []
    logger = get_run_logger()
    sent = []
    for event in events:
        state = post_event(settings.webhook_url, event, record, return_state=True)
        if state.is_completed():
            sent.append(event)
        else:
            logger.warning("notification %s failed: %s", event, state.message)
    logger.info("notified: %s", ", ".join(sent) or "nothing")
    return sent
