"""Task that scores champion and challenger on the same holdout rows and applies the gate."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from retrain.config import ModelConfig
from retrain.gate import GateResult, gate
from retrain.loop import ChampionState
from retrain.training import TrainedChallenger, predict, target


@task(cache_policy=NO_CACHE)
def gate_challenger(
    config: ModelConfig, trained: TrainedChallenger, champion: ChampionState | None
) -> GateResult:
    """Promote only on a real win: min_gain, the floor, and a paired bootstrap on the same rows."""
    holdout = trained.split.holdout
    t = config.thresholds
    result = gate(
        config.metric,
        target(holdout, config),
        predict(trained.model, holdout, config),
        predict(champion.model, holdout, config) if champion else None,
        min_gain=t.min_gain,
        floor=t.absolute_floor,
        resamples=t.bootstrap_resamples,
        alpha=t.bootstrap_alpha,
        seed=0,
    )
    get_run_logger().info(
        "gate: %s (%s); challenger %.4f vs champion %s",
        "promote" if result.promote else "reject",
        ", ".join(result.reasons),
        result.challenger_score,
        "-" if result.champion_score is None else f"{result.champion_score:.4f}",
    )
    return result
