"""Tasks that run the candidate tournament, refit its winner and store a challenger."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from retrain.budget import timed
from retrain.clients import mlflow_client
from retrain.config import ModelConfig
from retrain.data.s3 import LoadedWindow
from retrain.data.validation import capture_schema
from retrain.decisions.tournament import Tournament, run_tournament
from retrain.drift.reference import PREDICTION, SCORE, ReferenceStats, compute_reference_stats
from retrain.errors import service_call
from retrain.loop import ChampionState, RunInfo
from retrain.monitoring.class_outputs import proba_columns
from retrain.monitoring.scoring import champion_outputs, has_training_scores
from retrain.registry.model_io import log_sklearn_model
from retrain.registry.versions import log_reference
from retrain.settings import Settings
from retrain.training.pipeline import (
    Fit,
    fit_recipe,
    input_example,
    reference_sample,
    slices,
)


@task(cache_policy=NO_CACHE)
@timed
def hold_tournament(
    config: ModelConfig,
    window: LoadedWindow,
    as_of: date,
    champion: ChampionState | None,
    archived: dict[str, Any],
) -> Tournament:
    """Compare the recipes and archived champions on the validation slice; fit the winner."""
    incumbent = champion.champion.recipe if champion else None
    contest = run_tournament(window.frame, config, as_of, incumbent, archived)
    log = get_run_logger()
    for entry in contest.entries:
        log.info(
            "candidate %s: %s %s%s",
            entry.name,
            config.metric,
            "-" if entry.validation_score is None else f"{entry.validation_score:.4f}",
            f" ({entry.error})" if entry.error else "",
        )
    log.info("tournament winner %s (%s)", contest.choice.winner, contest.choice.reason)
    return contest


@task(cache_policy=NO_CACHE)
@timed
def refit_winner(
    config: ModelConfig, window: LoadedWindow, contest: Tournament, as_of: date
) -> Fit:
    """Fit the gated recipe again on its window up to the label cutoff, holdout included."""
    assert contest.recipe is not None, "only a recipe is refitted"
    fit = fit_recipe(window.frame, config, contest.recipe, slices(config, as_of).cutoff)
    get_run_logger().info(
        "refitted %s on %d rows %s..%s in %.1f s",
        contest.recipe.name,
        len(fit.train),
        fit.start.date(),
        fit.end.date(),
        fit.seconds,
    )
    return fit


def _reference_stats(config: ModelConfig, fit: Fit) -> ReferenceStats:
    """Drift statistics of the whole training set and of the model's predictions on it (one
    chunked predict, as on a window)."""
    train, cols = fit.train, config.columns
    outputs = champion_outputs(fit.model, train, config)
    frame = {c: train[c] for c in (*cols.features, cols.label)}
    frame[PREDICTION] = pd.Series(outputs.drift_values(config.metric), index=train.index)
    extra = [cols.label, PREDICTION]
    if has_training_scores(config, outputs):  # the range of the scores monitoring bins and bounds
        frame[SCORE] = pd.Series(outputs.values, index=train.index)
        extra.append(SCORE)
    if outputs.proba is not None and outputs.labels is not None:  # each class's probability
        for j, column in enumerate(proba_columns(outputs.labels)):
            frame[column] = pd.Series(outputs.proba[:, j], index=train.index)
            extra.append(column)
    return compute_reference_stats(frame, cols.numeric, cols.categorical, extra)


@task(retries=3, retry_delay_seconds=[2, 5, 15], cache_policy=NO_CACHE)
@timed
def log_challenger(
    settings: Settings, config: ModelConfig, run: RunInfo, fit: Fit, holdout_score: float
) -> str:
    """Store the model (skops), drift reference sample, statistics and schema; returns its URI."""
    client = mlflow_client(settings)
    log_reference(
        client,
        run.mlflow_run_id,
        reference_sample(fit.train, config),
        capture_schema(fit.train, config.columns, task=str(config.task)),
        _reference_stats(config, fit),
    )
    client.log_metric(run.mlflow_run_id, f"challenger_holdout_{config.metric}", holdout_score)
    client.log_metric(run.mlflow_run_id, "challenger_fit_seconds", fit.seconds)
    with service_call("MLflow", "log model artifacts to run", run.mlflow_run_id):
        return log_sklearn_model(
            client, run.mlflow_run_id, fit.model, input_example=input_example(fit.train, config)
        )
