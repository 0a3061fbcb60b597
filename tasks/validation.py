"""Task that checks a window against the champion's training schema."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from retrain.budget import timed
from retrain.config import ModelConfig
from retrain.data.validation import ValidationReport, validate_window
from retrain.loop import ChampionState
from retrain.monitoring.window_scan import ScannedWindow
from retrain.training.pipeline import day_start


@task(cache_policy=NO_CACHE)
@timed
def validate_data(
    config: ModelConfig, window: ScannedWindow, champion: ChampionState | None, as_of: date
) -> ValidationReport:
    """Missing or new columns, dtypes, unseen categories, null rates and row counts."""
    report = validate_window(
        window.frame,
        config.columns,
        config.thresholds,
        champion.schema if champion else None,
        window_start=day_start(window.window.start),
        window_end=day_start(as_of),
        task=str(config.task),
        features=window.features,
        metric=config.metric,
        classes=config.classes if isinstance(config.classes, list) else None,
    )
    logger = get_run_logger()
    for problem in report.problems:
        log = logger.error if problem.severity == "error" else logger.warning
        log("%s %s: %s", problem.code, problem.column or "-", problem.message)
    return report
