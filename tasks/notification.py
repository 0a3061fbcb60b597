"""Task that sends one webhook message per event of a run (drift, retrain, promotion, ...)."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from retrain.budget import timed
from retrain.notify import NotificationError, events_for, message, post
from retrain.run_record import RunRecord
from retrain.settings import Settings


@task(cache_policy=NO_CACHE)
@timed
def notify(settings: Settings, record: RunRecord) -> list[str]:
    """Post each event to the webhook from settings; a failing webhook never fails the run."""
    events = events_for(record)
    logger = get_run_logger()
    if settings.webhook_url is None or not events:
        return []
    url = settings.webhook_url.get_secret_value()
    sent = []
    for event in events:
        for attempt in range(3):
            try:
                post(url, message(event, record))
            except NotificationError as exc:
                logger.warning("notification %s attempt %d failed: %s", event, attempt + 1, exc)
                continue
            sent.append(event)
            break
    logger.info("notified: %s", ", ".join(sent) or "nothing")
    return sent
