"""The window as a snapshot in the Evidently UI; a UI that does not take it never fails the run."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from retrain.budget import timed
from retrain.config import ModelConfig
from retrain.run_record import RunRecord
from retrain.settings import Settings
from retrain.sinks.evidently_ui import EvidentlyUIError, add_window


@task(cache_policy=NO_CACHE)
@timed
def add_window_snapshot(settings: Settings, config: ModelConfig, record: RunRecord) -> str | None:
    """Add the decision record's window to the model's Evidently UI project; its URL, or None."""
    logger = get_run_logger()
    url = settings.evidently_ui_url
    try:
        link = add_window(url, config.name, config.description, record, config.metric)
    except EvidentlyUIError as exc:
        logger.warning(
            "window of %s not added to the Evidently UI at %s: %s", config.name, url, exc
        )
        return None
    logger.info("Evidently UI snapshot: %s", link)
    return link
