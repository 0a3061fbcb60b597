"""A model's monitoring history in MLflow: one long-lived run per model and mode, in experiment
`retrain-loop/<model>/monitoring`, holding one point per window of every monitored metric
(step = days since 1970-01-01 of the window end, timestamp = the window end), so the MLflow UI
charts the model over time. A window already in the history is never logged twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow import MlflowClient

HISTORY_TAG = "monitoring_history"
SENTINEL = "traffic/rows"  # logged for every window, and last: its point means "window logged"
MAX_BATCH = 1000  # MLflow's limit of metrics per log_batch call
EPOCH = date(1970, 1, 1)


def history_experiment_name(model: str) -> str:
    return f"retrain-loop/{model}/monitoring"


def window_step(as_of: date) -> int:
    """The step of a window: days from 1970-01-01 to its end (evenly spaced in the charts)."""
    return (as_of - EPOCH).days


def window_timestamp_ms(as_of: date) -> int:
    """Midnight UTC of the window end, in milliseconds (the charts' wall-time axis)."""
    return int(datetime.combine(as_of, time.min, tzinfo=UTC).timestamp() * 1000)


def history_run(client: MlflowClient, model: str, mode: str) -> str:
    """The model's monitoring run for `mode`, created (with its experiment) at first use."""
    name = history_experiment_name(model)
    experiment = client.get_experiment_by_name(name)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
    found = client.search_runs(
        [experiment_id],
        f"tags.{HISTORY_TAG} = 'true' and tags.mode = '{mode}'",
        order_by=["attributes.start_time ASC"],
        max_results=1,
    )
    if found:
        return str(found[0].info.run_id)
    run = client.create_run(
        experiment_id,
        run_name=f"monitoring-{model}-{mode}",
        tags={HISTORY_TAG: "true", "mode": mode, "model": model},
    )
    client.set_terminated(run.info.run_id, "FINISHED")  # metrics can still be logged to it
    return str(run.info.run_id)


def logged_steps(client: MlflowClient, run_id: str) -> set[int]:
    """Steps (windows) the history already holds."""
    return {int(m.step) for m in client.get_metric_history(run_id, SENTINEL)}


def log_window(client: MlflowClient, run_id: str, as_of: date, values: dict[str, float]) -> bool:
    """Log one window's metrics with log_batch; False (nothing logged) when the window is
    already there. The sentinel goes last, so a write cut short is redone whole by a retry
    (MLflow ignores a repeated identical point)."""
    from mlflow.entities import Metric

    step = window_step(as_of)
    if step in logged_steps(client, run_id):
        return False
    stamp = window_timestamp_ms(as_of)
    keys = sorted(values, key=lambda k: (k == SENTINEL, k))
    points = [Metric(k, float(values[k]), stamp, step) for k in keys]
    for start in range(0, len(points), MAX_BATCH):
        client.log_batch(run_id, metrics=points[start : start + MAX_BATCH])
    return True
