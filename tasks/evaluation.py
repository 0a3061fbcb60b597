"""Tasks that score the champion on the window's matured labels and estimate it on the rest."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from retrain.budget import timed
from retrain.config import ModelConfig
from retrain.loop import ChampionState
from retrain.monitoring.estimate import lined_up, window_estimate
from retrain.monitoring.metric_set import Monitoring, matured_metric
from retrain.monitoring.scoring import ChampionOutputs, score_outputs
from retrain.monitoring.window_scan import ScannedWindow
from retrain.training.pipeline import matured_mask


@task(cache_policy=NO_CACHE)
@timed
def evaluate_champion(
    config: ModelConfig,
    window: ScannedWindow,
    champion: ChampionState | None,
    monitoring: Monitoring | None = None,
    outputs: ChampionOutputs | None = None,
) -> tuple[float | None, str | None]:
    """The champion's metric on rows whose labels have matured, or why it has none.

    Taken from the window's monitoring quality when it was computed (the same rows and
    formula), else from the run's champion outputs: no second predict. Whether there are
    enough rows to act on is the policy's call (min_labelled_rows); a metric that cannot be
    computed is reported, never silently dropped.
    """
    known = matured_mask(window.frame, config)
    if champion is None:
        return None, None
    if not known.any():
        return None, "no matured labelled rows in the window"
    quality = monitoring.quality if monitoring is not None else None
    outputs = outputs if outputs is not None else window.outputs
    try:
        value = matured_metric(config, window.frame, known, quality, outputs, window.predict_error)
    except ValueError as exc:  # e.g. a single class among the matured labels
        get_run_logger().warning("champion not scored on this window: %s", exc)
        return None, str(exc)
    get_run_logger().info(
        "champion v%s %s on %d matured rows: %.4f",
        champion.champion.version,
        config.metric,
        int(known.sum()),
        value,
    )
    return value, None


@task(cache_policy=NO_CACHE)
@timed
def estimate_performance(
    config: ModelConfig,
    window: ScannedWindow,
    champion: ChampionState | None,
    as_of: date,
    outputs: ChampionOutputs | None = None,
) -> dict[str, Any] | None:
    """CBPE of the champion's metric on the rows whose labels are not yet due (classification),
    from the run's champion outputs."""
    if champion is None or window.frame.empty:
        return None
    outputs = outputs if outputs is not None else window.outputs
    estimate = window_estimate(champion.model, window.frame, config, as_of, outputs)
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
@timed
def check_estimate(
    config: ModelConfig, days: ScannedWindow, champion: ChampionState, estimate: dict[str, Any]
) -> dict[str, Any]:
    """An earlier window's estimate beside the champion's realised metric on the same days."""
    known = matured_mask(days.frame, config)
    realised = None
    if known.any():
        try:
            if days.outputs is None:
                raise ValueError(days.predict_error or "the champion did not score those days")
            realised = score_outputs(days.outputs, days.frame, config, known)
        except ValueError as exc:
            get_run_logger().warning("earlier estimate not checked: %s", exc)
    checked = lined_up(estimate, realised, int(known.sum()))
    get_run_logger().info(
        "estimate of the window ending %s, now realised: %s", estimate.get("as_of"), checked
    )
    return checked
