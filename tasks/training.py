"""Task that trains a challenger and stores it with its reference sample and schema."""

from __future__ import annotations

from datetime import date

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from retrain.clients import mlflow_client
from retrain.config import ModelConfig
from retrain.data import LoadedWindow
from retrain.drift_stats import PREDICTION, ReferenceStats, compute_reference_stats
from retrain.errors import service_call
from retrain.loop import RunInfo
from retrain.model_io import log_sklearn_model
from retrain.registry import log_reference
from retrain.settings import Settings
from retrain.training import TrainedChallenger, predict, reference_sample, train_challenger
from retrain.validation import capture_schema


@task(cache_policy=NO_CACHE)
def train_model(config: ModelConfig, window: LoadedWindow, as_of: date) -> TrainedChallenger:
    """Fit a challenger on the older matured rows, holding out the newest days."""
    trained = train_challenger(window.frame, config, as_of)
    get_run_logger().info(
        "challenger trained on %d rows, holdout %d rows from %s: %s %.4f",
        len(trained.split.train),
        len(trained.split.holdout),
        trained.split.holdout_start.date(),
        config.metric,
        trained.holdout_score,
    )
    return trained


def _reference_stats(config: ModelConfig, trained: TrainedChallenger) -> ReferenceStats:
    """Drift statistics of the whole training split and of the model's predictions on it."""
    train, cols = trained.split.train, config.columns
    frame = {c: train[c] for c in (*cols.features, cols.label)}
    frame[PREDICTION] = pd.Series(predict(trained.model, train, config), index=train.index)
    return compute_reference_stats(frame, cols.numeric, cols.categorical, [cols.label, PREDICTION])


@task(retries=3, retry_delay_seconds=[2, 5, 15], cache_policy=NO_CACHE)
def log_challenger(
    settings: Settings, config: ModelConfig, run: RunInfo, trained: TrainedChallenger
) -> str:
    """Store the model (skops), drift reference sample, statistics and schema; returns its URI."""
    client = mlflow_client(settings)
    train = trained.split.train
    log_reference(
        client,
        run.mlflow_run_id,
        reference_sample(train, config),
        capture_schema(train, config.columns, task=str(config.task)),
        _reference_stats(config, trained),
    )
    client.log_metric(run.mlflow_run_id, f"challenger_train_{config.metric}", trained.train_score)
    client.log_metric(
        run.mlflow_run_id, f"challenger_holdout_{config.metric}", trained.holdout_score
    )
    with service_call("MLflow", "log model artifacts to run", run.mlflow_run_id):
        return log_sklearn_model(client, run.mlflow_run_id, trained.model)
