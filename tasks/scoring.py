"""Task that predicts with the champion on the window once, for every step that needs it."""

from __future__ import annotations

from time import perf_counter

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from retrain.config import ModelConfig
from retrain.data import LoadedWindow
from retrain.loop import ChampionState
from retrain.scoring import ChampionOutputs, champion_outputs


@task(cache_policy=NO_CACHE)
def predict_champion(
    config: ModelConfig, window: LoadedWindow, champion: ChampionState
) -> ChampionOutputs:
    """The champion's outputs on every window row, predicted in chunks (one predict per run)."""
    began = perf_counter()
    outputs = champion_outputs(champion.model, window.frame, config)
    get_run_logger().info(
        "champion v%s predicted %d rows in %.2f s (chunks of %d rows)",
        champion.champion.version,
        outputs.rows,
        perf_counter() - began,
        config.scale.predict_chunk_rows,
    )
    return outputs
