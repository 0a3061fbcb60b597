"""Task that scores champion and challenger on the same holdout rows and applies the gate."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from retrain.budget import timed
from retrain.config import ModelConfig
from retrain.decisions.gate import GateResult
from retrain.decisions.tournament import Tournament, gate_contest
from retrain.loop import ChampionState


@task(cache_policy=NO_CACHE)
@timed
def gate_challenger(
    config: ModelConfig, contest: Tournament, champion: ChampionState | None
) -> GateResult:
    """Promote only what clears the floor, the configured test and every segment, on the
    holdout both models are scored on."""
    result = gate_contest(config, contest, champion.model if champion else None)
    get_run_logger().info(
        "gate (%s): %s (%s); challenger %s %.4f vs champion %s",
        result.mode,
        "promote" if result.promote else "reject",
        ", ".join(result.reasons),
        contest.choice.winner,
        result.challenger_score,
        "-" if result.champion_score is None else f"{result.champion_score:.4f}",
    )
    return result
