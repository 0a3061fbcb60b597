"""Tasks that score the champion on the window's matured labels and estimate it on the rest."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from retrain.config import ModelConfig
from retrain.data import LoadedWindow
from retrain.estimate import lined_up, window_estimate
from retrain.loop import ChampionState
from retrain.monitoring import Monitoring
from retrain.training import evaluate, matured


@task(cache_policy=NO_CACHE)
def evaluate_champion(
    config: ModelConfig,
    window: LoadedWindow,
    champion: ChampionState | None,
    monitoring: Monitoring | None = None,
) -> tuple[float | None, str | None]:
    """The champion's metric on rows whose labels have matured, or why it has none.

    Taken from the window's monitoring quality when it was computed (the same rows and
    formula: no second predict). Whether there are enough rows to act on is the policy's call
    (min_labelled_rows); a metric that cannot be computed is reported, never silently dropped.
    """
    rows = matured(window.frame, config)
    if champion is None:
        return None, None
    if rows.empty:
        return None, "no matured labelled rows in the window"
    quality = monitoring.quality if monitoring is not None else None
    try:
        if quality is not None and config.metric in quality.metrics:
            value = quality.metrics[config.metric]
            if value is None:
                raise ValueError(quality.undefined.get(config.metric, "undefined"))
        else:
            value = evaluate(champion.model, rows, config)
    except ValueError as exc:  # e.g. a single class among the matured labels
        get_run_logger().warning("champion not scored on this window: %s", exc)
        return None, str(exc)
    get_run_logger().info(
        "champion v%s %s on %d matured rows: %.4f",
        champion.champion.version,
        config.metric,
        len(rows),
        value,
    )
    return value, None


@task(cache_policy=NO_CACHE)
def estimate_performance(
    config: ModelConfig, window: LoadedWindow, champion: ChampionState | None, as_of: date
) -> dict[str, Any] | None:
    """CBPE of the champion's metric on the rows whose labels are not yet due (classification)."""
    if champion is None or window.frame.empty:
        return None
    estimate = window_estimate(champion.model, window.frame, config, as_of)
    if estimate and estimate.get("value") is not None:
        get_run_logger().info(
            "champion v%s estimated %s on %d rows whose labels are not yet due (%s): %.4f ± %.4f",
            champion.champion.version,
            config.metric,
            estimate["rows"],
            ", ".join(estimate["days"]),
            estimate["value"],
            estimate["standard_error"],
        )
    return estimate


@task(cache_policy=NO_CACHE)
def check_estimate(
    config: ModelConfig, days: LoadedWindow, champion: ChampionState, estimate: dict[str, Any]
) -> dict[str, Any]:
    """An earlier window's estimate beside the champion's realised metric on the same days."""
    rows = matured(days.frame, config)
    realised = None
    if not rows.empty:
        try:
            realised = evaluate(champion.model, rows, config)
        except ValueError as exc:
            get_run_logger().warning("earlier estimate not checked: %s", exc)
    checked = lined_up(estimate, realised, len(rows))
    get_run_logger().info(
        "estimate of the window ending %s, now realised: %s", estimate.get("as_of"), checked
    )
    return checked
