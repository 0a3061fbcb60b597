"""Tasks over the MLflow registry: read the champion, register a challenger, move the alias."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from retrain.budget import timed
from retrain.clients import mlflow_client
from retrain.config import Mode, ModelConfig
from retrain.data.s3 import Window
from retrain.decisions import timeline
from retrain.decisions.plan import ChampionChoice
from retrain.errors import service_call
from retrain.loop import ChampionState
from retrain.registry import champions
from retrain.registry import page as registry_page
from retrain.registry import versions as registry
from retrain.settings import Settings
from tasks.data import RETRY_IO, retry_unless_bad_data


@task(**RETRY_IO)
@timed
def find_champion(settings: Settings, config: ModelConfig) -> ChampionState | None:
    """The champion with its model (loaded without pickle), reference sample and schema."""
    client = mlflow_client(settings)
    with service_call("MLflow", "read champion of", config.name):
        champion = registry.get_champion(client, config.name)
        if champion is None:
            get_run_logger().info("no champion for %s yet", config.name)
            return None
        if registry.repair_history(client, champion):
            get_run_logger().warning("champion v%s was missing from its history", champion.version)
        state = champions.load_state(client, champion)
    get_run_logger().info("champion of %s is v%s", config.name, champion.version)
    return state


@task(**RETRY_IO)
@timed
def find_archived(
    settings: Settings, config: ModelConfig, champion: ChampionState | None
) -> dict[str, Any]:
    """Earlier champions (up to training.archived_versions), loaded without pickle."""
    if champion is None or not config.training.archived_versions:
        return {}
    client = mlflow_client(settings)
    with service_call("MLflow", "read archived versions of", config.name):
        models = champions.archived_models(
            client, config.name, champion.champion.version, config.training.archived_versions
        )
    get_run_logger().info("archived candidates of %s: %s", config.name, list(models) or "none")
    return models


@task(retries=3, retry_delay_seconds=[2, 5, 15], cache_policy=NO_CACHE)
@timed
def register_challenger(
    settings: Settings,
    config: ModelConfig,
    source: str,
    run_id: str,
    tags: dict[str, Any],
    description: str,
    run_tags: dict[str, Any] | None = None,
) -> str:
    """Register the challenger as a new version, all tags set at creation (`run_tags`, the
    details, go on its MLflow run); a rerun of the same window, mode and config (after a crash)
    reuses the version registered before."""
    client = mlflow_client(settings)
    with service_call("MLflow", "register model version of", config.name):
        version, reused = registry.register_once(
            client,
            config.name,
            registry_page.model_description(config),
            registry.VersionSpec(source, run_id, tags, description, run_tags or {}),
        )
    if reused:
        get_run_logger().info(
            "reusing %s v%s registered for this window by MLflow run %s",
            config.name,
            version.version,
            version.run_id,
        )
    else:
        get_run_logger().info("registered %s v%s", config.name, version.version)
    return str(version.version)


@task(cache_policy=NO_CACHE)
@timed
def promote_challenger(
    settings: Settings,
    config: ModelConfig,
    version: str,
    expected: str | None,
    reason: str,
    as_of: date,
) -> str | None:
    """Move `champion` to the challenger, re-checking that it still beats the current champion;
    the move records the run's window end (`as_of`) for the loop's timeline.

    The flow holds the model's lock (tasks/locks.py) around the whole run."""
    client = mlflow_client(settings)
    with service_call("MLflow", f"move alias champion of {config.name} to", f"v{version}"):
        previous = registry.promote(client, config.name, version, expected, reason, as_of=as_of)
    get_run_logger().info("champion of %s: v%s -> v%s", config.name, previous or "-", version)
    return previous


def _retry_unless_refused(task: Any, task_run: Any, state: Any) -> bool:
    refused = isinstance(state.result(raise_on_failure=False), timeline.LaterChampionError)
    return not refused and retry_unless_bad_data(task, task_run, state)


@task(
    retries=3,
    retry_delay_seconds=[2, 5, 15],
    retry_condition_fn=_retry_unless_refused,
    cache_policy=NO_CACHE,
)
@timed
def champion_for_window(
    settings: Settings,
    config: ModelConfig,
    current: ChampionState | None,
    window: Window,
    mode: str,
) -> ChampionState | None:
    """The champion that may score this window (retrain/decisions/timeline.py): the current one,
    unless
    its training data reaches into the window; then, in shadow mode, the one the loop had for
    the window; in auto mode a refusal for a past window, the current one for a rerun of the
    window it was trained for."""
    if current is None:
        return None
    choice = champions.choice_for_window(current.champion, window, Mode(mode))
    if choice is ChampionChoice.current:
        return current
    if choice is ChampionChoice.refuse:
        raise timeline.LaterChampionError(timeline.refusal(current.champion, window))
    if choice is ChampionChoice.rerun:
        get_run_logger().warning(
            "rerun of the window %s..%s that champion v%s was trained for: it stays champion, "
            "and its score here is on rows it trained on",
            window.start,
            window.end,
            current.champion.version,
        )
        return current
    client = mlflow_client(settings)
    with service_call("MLflow", "read the champion history of", config.name):
        then = champions.champion_then(client, config.name, window)
    if then is None:
        get_run_logger().info(
            "%s had no champion trained before the window %s..%s",
            config.name,
            window.start,
            window.end,
        )
        return None
    get_run_logger().info(
        "window ending %s: champion then was v%s (trained for %s), not today's v%s",
        window.end,
        then.champion.version,
        then.champion.trained_as_of,
        current.champion.version,
    )
    return then
