"""Tasks that compute the window's monitoring metric set and add it to the MLflow history."""

from __future__ import annotations

from time import perf_counter

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from retrain.budget import timed
from retrain.clients import mlflow_client
from retrain.config import ModelConfig
from retrain.drift.summary import DriftSummary
from retrain.errors import service_call
from retrain.loop import ChampionState, RunInfo
from retrain.monitoring.history import history_run, log_window, window_step
from retrain.monitoring.metric_set import ChampionFacts, Monitoring, monitor_window
from retrain.monitoring.scoring import ChampionOutputs
from retrain.monitoring.window_scan import ScannedWindow
from retrain.settings import Settings


@task(retries=2, retry_delay_seconds=[5, 15], cache_policy=NO_CACHE)
@timed
def compute_monitoring(
    settings: Settings,
    config: ModelConfig,
    window: ScannedWindow,
    champion: ChampionState | None,
    drift: DriftSummary | None,
    outputs: ChampionOutputs | None = None,
) -> Monitoring:
    """Quality, predictions, inputs and traffic of the window, from the run's champion outputs
    and the window's merged feature summary."""
    facts = None
    if champion is not None:
        if outputs is None:
            raise ValueError("monitoring a champion needs its outputs on the window")
        facts = ChampionFacts(outputs, champion.schema, champion.reference, champion.stats)
    began = perf_counter()
    monitoring = monitor_window(
        window.frame, config, window.window.days(), facts, drift, window.features
    )
    get_run_logger().info(
        "monitoring metrics of %d rows in %.3f s (champion predict excluded)",
        len(window.frame),
        perf_counter() - began,
    )
    return monitoring


@task(retries=3, retry_delay_seconds=[2, 5, 15], cache_policy=NO_CACHE)
@timed
def log_monitoring_history(
    settings: Settings, run: RunInfo, monitoring: Monitoring, extra: dict[str, float] | None = None
) -> bool:
    """Add the window to the model's monitoring run in MLflow (its metric set, and `extra` points
    such as the label-free estimate); False when the window is already there."""
    client = mlflow_client(settings)
    values = {**monitoring.flat_metrics(), **(extra or {})}
    with service_call("MLflow", "log monitoring history of", run.model):
        history = history_run(client, run.model, run.mode)
        logged = log_window(client, history, run.as_of, values)
    get_run_logger().info(
        "monitoring history run %s, step %d: %s",
        history,
        window_step(run.as_of),
        "logged" if logged else "already there, not logged again",
    )
    return logged
