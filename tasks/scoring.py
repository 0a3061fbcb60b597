"""Task that gives every step the champion's outputs on the window, predicted once."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from retrain.budget import timed
from retrain.config import ModelConfig
from retrain.loop import ChampionState
from retrain.monitoring.scoring import ChampionOutputs
from retrain.monitoring.window_scan import ScannedWindow


@task(cache_policy=NO_CACHE)
@timed
def predict_champion(
    config: ModelConfig, window: ScannedWindow, champion: ChampionState
) -> ChampionOutputs:
    """The champion's outputs on every window row: scored batch by batch as the window was read
    (one predict per run); the error of a batch it could not score, if any."""
    if window.predict_error is not None or window.outputs is None:
        raise ValueError(
            f"champion v{champion.champion.version} of {config.name} could not score the window "
            f"ending {window.window.end}: {window.predict_error or 'no outputs'}"
        )
    get_run_logger().info(
        "champion v%s scored %d rows (batches of %d rows, as the window was read)",
        champion.champion.version,
        window.outputs.rows,
        config.scale.predict_chunk_rows,
    )
    return window.outputs
