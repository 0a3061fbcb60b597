"""A run's metrics as Prometheus samples (pure), and the push of them to a Pushgateway.

Every run pushes into the group {job="retrain_loop", model=<name>} with POST (pushadd): the
families it sends replace the same families of the group, the others stay. So a failed run does
not erase the time of the last success, and a run that measured no drift leaves the last drift
share in place (the `version` label says which champion it was measured on).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from retrain.config import ModelConfig
from retrain.decisions.policy import Action
from retrain.monitoring.metric_set import flat_metrics
from retrain.run_record import RunRecord

JOB = "retrain_loop"
NO_VERSION = "none"
UNKNOWN_VERSION = "unknown"
OUTCOMES = ("success", "failure")

HELP = {
    "retrain_window_metric": "The champion's score on the window's matured labels; the "
    "record's monitoring section adds one series per numeric field (metric=field path).",
    "retrain_metric_floor": "The model's absolute floor for its metric (bound=min: higher is "
    "better, the metric must stay above; bound=max: it must stay below).",
    "retrain_champion_metric": "The champion's score on the gate's holdout (retrains only).",
    "retrain_challenger_metric": "The challenger's score on the gate's holdout (retrains only).",
    "retrain_drift_share": "Share of the feature columns that drifted in the window.",
    "retrain_drift_threshold": "Share of drifted columns the model's config calls dataset drift.",
    "retrain_drifted_columns": "Number of feature columns that drifted in the window.",
    "retrain_window_rows": "Rows in the window.",
    "retrain_window_labelled_rows": "Rows of the window whose labels have matured.",
    "retrain_window_end_timestamp_seconds": "End (exclusive) of the window, Unix time.",
    "retrain_decision": "1 for the action the policy took for the window, 0 for the others.",
    "retrain_promoted": "1 when the run moved the champion alias, else 0.",
    "retrain_expected_interval_seconds": "How often the model is expected to run (one "
    "monitoring window).",
    "retrain_run_outcome": "1 for the outcome of the model's last flow run, 0 for the other.",
    "retrain_run_duration_seconds": "Wall time of the model's last flow run.",
    "retrain_run_finished_timestamp_seconds": "When the model's last flow run ended, Unix time.",
    "retrain_last_success_timestamp_seconds": "When a flow run of the model last succeeded.",
}


@dataclass(frozen=True)
class Sample:
    """One series of the push: metric name, its labels, its value."""

    name: str
    labels: Mapping[str, str]
    value: float


class PushError(RuntimeError):
    """The Pushgateway did not take the push (unreachable, or an error answer)."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def record_version(record: Any) -> str | None:
    """The champion version a flow run's returned record names, if it is a record."""
    if not isinstance(record, Mapping):
        return None
    champion = record.get("champion") or {}
    return str(champion.get("version") or NO_VERSION)


def window_samples(record: RunRecord, config: ModelConfig) -> list[Sample]:
    """The samples of one decision record: the window's metrics, the model's bounds, the
    decision. Fields the record lacks (no champion, no drift, no retrain) give no sample."""
    model = config.name
    champion, gate, drift, window = record.champion, record.gate, record.drift, record.window
    estimate = record.estimated_performance
    labels = {"model": model, "version": record.champion_version or NO_VERSION}
    metric = record.metric or config.metric
    out: list[Sample] = []

    def add(name: str, value: Any, **extra: str) -> None:
        if (number := _number(value)) is not None:
            out.append(Sample(name, {**labels, **extra}, number))

    add("retrain_window_metric", champion.metric_now if champion else None, metric=metric)
    monitoring = record.monitoring.dump() if record.monitoring else {}
    for field, value in flat_metrics(monitoring).items():
        if field != f"quality/{metric}":  # that one is metric_now, exported above
            add("retrain_window_metric", value, metric=field)
    if estimate is not None:
        add("retrain_estimated_metric", estimate.value, metric=str(estimate.metric))
        add("retrain_estimated_metric_stderr", estimate.standard_error, metric=metric)
    if gate is not None:
        add("retrain_champion_metric", gate.champion_score, metric=metric)
        add("retrain_challenger_metric", gate.challenger_score, metric=metric)
    if drift is not None:
        add("retrain_drift_share", drift.drift_share)
        add("retrain_drifted_columns", len(drift.drifted_columns))
    if window is not None:
        add("retrain_window_rows", window.rows)
        add("retrain_window_labelled_rows", window.labelled_rows)
    end = datetime.fromisoformat(f"{record.as_of.isoformat()}T00:00:00+00:00")
    add("retrain_window_end_timestamp_seconds", end.timestamp())
    action = record.decision.action
    if action in set(Action):
        for each in Action:
            add("retrain_decision", float(each == action), action=str(each))
    add("retrain_promoted", float(record.promoted))
    return out + bound_samples(config)


def bound_samples(config: ModelConfig) -> list[Sample]:
    """What the alert rules compare the window's series with, from the model's config."""
    t = config.thresholds
    model = {"model": config.name}
    out = [
        Sample("retrain_drift_threshold", model, t.drift.dataset_share),
        Sample(
            "retrain_expected_interval_seconds", model, config.windows.monitoring_days * 86400.0
        ),
    ]
    if t.absolute_floor is not None:
        bound = "min" if config.higher_is_better else "max"
        labels = {**model, "metric": config.metric, "bound": bound}
        out.append(Sample("retrain_metric_floor", labels, t.absolute_floor))
    return out


def run_samples(
    model: str, success: bool, seconds: float, finished: datetime, version: str | None = None
) -> list[Sample]:
    """The samples of a flow run's end: outcome, duration, and (on success) the last success;
    `version` is the champion the run's record names (`unknown` when the run returned none)."""
    labels = {"model": model, "version": version or UNKNOWN_VERSION}
    ended = finished.timestamp()
    out = [
        Sample("retrain_run_outcome", {**labels, "outcome": o}, float((o == "success") == success))
        for o in OUTCOMES
    ]
    out.append(Sample("retrain_run_duration_seconds", labels, max(seconds, 0.0)))
    out.append(Sample("retrain_run_finished_timestamp_seconds", labels, ended))
    if success:
        out.append(Sample("retrain_last_success_timestamp_seconds", labels, ended))
    return out


def push(url: str, model: str, samples: list[Sample], timeout: float = 5.0) -> None:
    """POST the samples to the Pushgateway's group {job, model}; PushError when it fails."""
    from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway

    registry = CollectorRegistry()
    gauges: dict[str, Gauge] = {}
    for s in samples:
        if s.name not in gauges:
            gauges[s.name] = Gauge(
                s.name, HELP.get(s.name, s.name), sorted(s.labels), registry=registry
            )
        gauges[s.name].labels(**s.labels).set(s.value)
    try:
        pushadd_to_gateway(url, JOB, registry, grouping_key={"model": model}, timeout=timeout)
    except Exception as exc:  # URLError, HTTPError, timeouts, a malformed URL
        raise PushError(f"push to the Pushgateway at {url} failed: {exc}") from exc
