"""Task that scores the champion on the window's matured labels."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from retrain.config import ModelConfig
from retrain.data import LoadedWindow
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
