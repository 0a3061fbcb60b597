"""Task that scores champion and challenger on the same holdout rows and applies the gate."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from retrain.budget import timed
from retrain.config import ModelConfig
from retrain.gate import GateResult, gate
from retrain.loop import ChampionState
from retrain.tournament import Tournament
from retrain.training import metric_classes, predict, target


@task(cache_policy=NO_CACHE)
@timed
def gate_challenger(
    config: ModelConfig, contest: Tournament, champion: ChampionState | None
) -> GateResult:
    """Promote only what clears the floor, the configured test and every segment, on the
    holdout both models are scored on."""
    holdout = contest.holdout
    t = config.thresholds
    segment = config.columns.segment
    y = target(holdout, config)
    models = (contest.gate_model, champion.model if champion else None)
    classes = metric_classes(config, y, *models)
    result = gate(
        config.metric,
        y,
        predict(contest.gate_model, holdout, config, classes),
        predict(champion.model, holdout, config, classes) if champion else None,
        min_gain=t.min_gain,
        floor=t.absolute_floor,
        resamples=t.bootstrap_resamples,
        alpha=t.bootstrap_alpha,
        seed=0,
        segments=holdout[segment].to_numpy() if segment else None,
        max_segment_regression=t.max_segment_regression,
        min_segment_rows=t.min_segment_rows,
        mode=t.gate_mode,
        margin=t.non_inferiority_margin,
        classes=classes,
    )
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
