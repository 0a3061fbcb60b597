"""Tasks that read production data and past decision records from S3."""

from __future__ import annotations

from datetime import date
from time import perf_counter
from typing import Any

import pandas as pd
from prefect import Task, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun

from retrain.budget import timed
from retrain.clients import s3_client
from retrain.config import ConfigError, ModelConfig
from retrain.data import label_feed
from retrain.data import s3 as data
from retrain.data.label_feed import FEED_ATTR
from retrain.data.s3 import DataError, LoadedWindow, Window
from retrain.errors import service_call
from retrain.loop import ChampionState, history_window
from retrain.monitoring import window_scan
from retrain.monitoring.scoring import reference_statistics
from retrain.monitoring.window_scan import ScannedWindow
from retrain.registry.model_io import UntrustedModelError
from retrain.run_record import RunRecord, load_record
from retrain.settings import Settings
from retrain.sinks import reporting
from retrain.training.pipeline import mask_immature_labels


def retry_unless_bad_data(task: Task[Any, Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Retry I/O failures, never data or config errors: they fail the same way every time."""
    return not isinstance(
        state.result(raise_on_failure=False), DataError | ConfigError | UntrustedModelError
    )


# Options of a task that reads a service: I/O failures retried, bad data or config never.
RETRY_IO: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": [2, 5, 15],
    "retry_condition_fn": retry_unless_bad_data,
    "cache_policy": NO_CACHE,
}


@task(**{**RETRY_IO, "retries": 2, "retry_delay_seconds": [2, 5]})
@timed
def check_buckets(settings: Settings, config: ModelConfig) -> None:
    """Fail before any side effect when the data or loop bucket does not exist."""
    named = {
        config.data.bucket: f"data.bucket of model config {config.name!r}",
        settings.loop_bucket: "RETRAIN_LOOP_BUCKET (settings.loop_bucket)",
    }
    with service_call("S3", "HeadBucket", ", ".join(named)):
        missing = data.missing_buckets(s3_client(settings), list(named))
    if missing:
        raise ConfigError(
            "; ".join(f"bucket {b!r} named by {named[b]} does not exist" for b in missing)
        )


@task(**RETRY_IO)
@timed
def load_window(
    settings: Settings, config: ModelConfig, window: Window, as_of: date
) -> LoadedWindow:
    """Read the window's daily partitions; labels not yet matured at `as_of` are nulled."""
    with service_call("S3", "read window", _where(config, window)):
        loaded = data.load_window(
            s3_client(settings),
            config.data,
            config.columns,
            window,
            max_rows=config.thresholds.max_window_rows,
        )
    joined = _join_feed(settings, config, window, as_of, loaded.frame)
    frame = mask_immature_labels(joined, config, as_of)
    frame.attrs.update(joined.attrs)
    return LoadedWindow(
        frame, loaded.window, loaded.days_present, loaded.days_missing, loaded.files
    )


@task(**RETRY_IO)
@timed
def scan_window(
    settings: Settings,
    config: ModelConfig,
    window: Window,
    as_of: date,
    champion: ChampionState | None,
) -> ScannedWindow:
    """Read the window once, a batch at a time (never whole): labels not yet matured at `as_of`
    nulled, feature summaries merged, the champion's outputs and a sample of rows kept."""
    began = perf_counter()
    labels = _read_feed(settings, config, window, as_of)  # first: a broken feed fails early
    with service_call("S3", "read window", _where(config, window)):
        batches = data.WindowBatches(
            s3_client(settings),
            config.data,
            config.columns,
            window,
            max_rows=config.thresholds.max_window_rows,
            batch_rows=config.scale.predict_chunk_rows,
        )
        stats = None
        if champion is not None:
            stats = reference_statistics(champion.model, champion.reference, config, champion.stats)
        scanned = window_scan.scan_window(
            config,
            batches,
            as_of,
            model=champion.model if champion else None,
            stats=stats,
            join=label_feed.joiner(labels, config) if labels is not None else None,
        )
    if labels is not None:
        scanned.frame.attrs[FEED_ATTR] = labels.to_dict()
    get_run_logger().info(
        "read %d rows of %d files in batches in %.2f s%s",
        len(scanned.frame),
        len(scanned.files),
        perf_counter() - began,
        f" (champion v{champion.champion.version} scored them)" if champion else "",
    )
    return scanned


def _read_feed(
    settings: Settings, config: ModelConfig, window: Window, as_of: date
) -> label_feed.FeedLabels | None:
    """The label feed's labels of the window's days that arrived before `as_of` (None without
    a feed)."""
    if config.labels is None:
        return None
    source = label_feed.feed_source(config)
    where = f"s3://{source.bucket}/{source.prefix}/ {window.start}..{min(window.end, as_of)}"
    with service_call("S3", "read label feed", where):
        labels = label_feed.read_feed(s3_client(settings), config, window, as_of)
    get_run_logger().info(
        "label feed: %d labels of %d files (%d duplicates, %d corrected)",
        len(labels.ids),
        len(labels.files),
        labels.duplicates,
        labels.corrected,
    )
    return labels


def _join_feed(
    settings: Settings, config: ModelConfig, window: Window, as_of: date, frame: pd.DataFrame
) -> pd.DataFrame:
    """A loaded window with its labels from the label feed (unchanged without a feed)."""
    if config.labels is None:
        return frame
    source = label_feed.feed_source(config)
    where = f"s3://{source.bucket}/{source.prefix}/ {window.start}..{min(window.end, as_of)}"
    with service_call("S3", "read label feed", where):
        return label_feed.with_feed_labels(s3_client(settings), config, frame, window, as_of)


@task(**{**RETRY_IO, "retries": 2, "retry_delay_seconds": [2, 5]})
def check_label_feed(settings: Settings, config: ModelConfig) -> None:
    """Fail before any side effect when the model's label feed has no partition at all."""
    if config.labels is None:
        return
    source = label_feed.feed_source(config)
    where = f"s3://{source.bucket}/{source.prefix}/dt="
    with service_call("S3", "ListObjectsV2", where):
        label_feed.check_feed_prefix(s3_client(settings), config)


def _where(config: ModelConfig, window: Window) -> str:
    return f"s3://{config.data.bucket}/{config.data.prefix}/ {window.start}..{window.end}"


@task(retries=3, retry_delay_seconds=[2, 5, 15], cache_policy=NO_CACHE)
@timed
def prefix_seen(settings: Settings, config: ModelConfig) -> bool:
    """Whether the model's data prefix has any partition at all (asked when a window is empty)."""
    where = f"s3://{config.data.bucket}/{config.data.prefix}/dt="
    with service_call("S3", "ListObjectsV2", where):
        return data.prefix_has_partitions(s3_client(settings), config.data)


@task(retries=3, retry_delay_seconds=[2, 5, 15], cache_policy=NO_CACHE)
@timed
def load_history(
    settings: Settings, config: ModelConfig, mode: str, as_of: date
) -> list[RunRecord]:
    """Decision records of this model and mode for the windows ending in the look-back of its
    policy (retrain/loop.py `history_window`), one per window, oldest first; a stored record
    that does not match the schema fails naming its key and field."""
    s3 = s3_client(settings)
    prefix = reporting.decisions_prefix(config.name, mode)
    since = history_window(config, as_of).start
    with service_call("S3", "read decision records", f"s3://{settings.loop_bucket}/{prefix}"):
        keys = data.list_json(s3, settings.loop_bucket, prefix)
        stored = [
            (k, rec)
            for k in keys
            if (day := reporting.as_of_of_key(k))
            and since <= day < as_of
            and (rec := data.get_json(s3, settings.loop_bucket, k)) is not None
            and rec.get("status") == "completed"
        ]
    records = [load_record(rec, data.s3_uri(settings.loop_bucket, k)) for k, rec in stored]
    return reporting.latest_per_window(records)
