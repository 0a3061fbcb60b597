"""Tasks that read production data and past decision records from S3."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from retrain import data, reporting
from retrain.clients import s3_client
from retrain.config import ModelConfig
from retrain.data import LoadedWindow, Window
from retrain.settings import Settings
from retrain.training import mask_immature_labels


@task(retries=3, retry_delay_seconds=[2, 5, 15], cache_policy=NO_CACHE)
def load_window(
    settings: Settings, config: ModelConfig, window: Window, as_of: date
) -> LoadedWindow:
    """Read the window's daily partitions; labels not yet matured at `as_of` are nulled."""
    loaded = data.load_window(
        s3_client(settings),
        config.data,
        config.columns,
        window,
        max_rows=config.thresholds.max_window_rows,
    )
    frame = mask_immature_labels(loaded.frame, config, as_of)
    frame.attrs.update(loaded.frame.attrs)
    return LoadedWindow(
        frame, loaded.window, loaded.days_present, loaded.days_missing, loaded.files
    )


@task(retries=3, retry_delay_seconds=[2, 5, 15], cache_policy=NO_CACHE)
def load_history(
    settings: Settings, config: ModelConfig, mode: str, as_of: date
) -> list[dict[str, Any]]:
    """Decision records of earlier windows of this model and mode, one per window, oldest first."""
    s3 = s3_client(settings)
    keys = data.list_json(s3, settings.loop_bucket, reporting.decisions_prefix(config.name, mode))
    days = {k: day for k in keys if (day := reporting.as_of_of_key(k)) and day < as_of}
    recent_days = set(sorted(set(days.values()))[-50:])
    records = [
        rec
        for k in days
        if days[k] in recent_days
        and (rec := data.get_json(s3, settings.loop_bucket, k)) is not None
        and rec.get("status") == "completed"
    ]
    return reporting.latest_per_window(records)
