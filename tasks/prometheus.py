"""Pushes of a run's metrics to the Prometheus Pushgateway; a failed push never fails the run."""

from __future__ import annotations

import logging
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from retrain.budget import timed
from retrain.config import ModelConfig
from retrain.run_record import RunRecord
from retrain.settings import Settings, get_settings
from retrain.sinks.prometheus import Sample, push, record_version, run_samples, window_samples


def _push(url: str, model: str, samples: list[Sample], logger: Any) -> bool:
    try:
        push(url, model, samples)
    except Exception as exc:  # whatever goes wrong, the run's outcome stands
        logger.warning("metrics of %s not pushed to the Pushgateway at %s: %s", model, url, exc)
        return False
    return True


@task(cache_policy=NO_CACHE)
@timed
def push_window_metrics(settings: Settings, config: ModelConfig, record: RunRecord) -> bool:
    """Push the decision record's metrics, labelled by model and champion version."""
    samples = window_samples(record, config)
    return _push(settings.pushgateway_url, config.name, samples, get_run_logger())


def push_run_outcome(flow: Any, flow_run: Any, state: Any) -> None:
    """Flow state hook: push the run's outcome, duration and (on success) the time of success.
    It runs for every final state, so failures before the model's lock is taken count too."""
    logger = logging.getLogger("retrain.sinks.prometheus")
    model = str((flow_run.parameters or {}).get("model", "unknown"))
    finished = datetime.now(UTC)
    started = flow_run.start_time or flow_run.expected_start_time or finished
    seconds = (finished - started).total_seconds()
    version = None
    if state.is_completed():
        with suppress(Exception):  # the record the flow returned, when it can be read back
            version = record_version(state.result(raise_on_failure=False))
    samples = run_samples(model, bool(state.is_completed()), seconds, finished, version)
    _push(get_settings().pushgateway_url, model, samples, logger)
