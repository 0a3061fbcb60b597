"""Task that emits the loop's Prefect events (retrain/sinks/events.py says which)."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event

from retrain.sinks.events import LoopEvent


@task(cache_policy=NO_CACHE)
def emit_events(events: list[LoopEvent]) -> list[str]:
    """Send each event to the Prefect server (related to this flow run); an events client that
    cannot send never fails the run: the decision record already holds the facts."""
    logger, sent = get_run_logger(), []
    for event in events:
        try:
            emit_event(event=event.name, resource=event.resource, payload=event.payload)
        except Exception as exc:  # the events client logs and drops on its own; belt and braces
            logger.warning("event %s not emitted: %s", event.name, exc)
            continue
        sent.append(event.name)
    if sent:
        logger.info("events: %s", ", ".join(sent))
    return sent
