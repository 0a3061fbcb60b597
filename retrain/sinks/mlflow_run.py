"""The MLflow run that records one loop execution: opened when the run starts (tags, config),
given the decision record when it ends (S3 first, the run mirrors it: JSON, tags, metrics)."""

from __future__ import annotations

from contextlib import suppress
from datetime import date
from typing import Any

from retrain.config import ModelConfig
from retrain.data import s3 as data
from retrain.errors import ServiceError, service_call
from retrain.loop import RunInfo
from retrain.registry.versions import now_iso, tag_value
from retrain.run_record import RunRecord


def experiment_name(model: str) -> str:
    return f"retrain-loop/{model}"


def open_run(
    client: Any, config: ModelConfig, as_of: date, mode: str, flow_run_id: str, commit: str
) -> RunInfo:
    """Create the run (and the model's experiment on first use), tagged with the window end,
    mode, flow run, config hash and commit, the config logged as `config.json`."""
    name = experiment_name(config.name)
    with service_call("MLflow", "open experiment", name):
        experiment = client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
    info = RunInfo(
        model=config.name,
        as_of=as_of,
        mode=mode,
        mlflow_run_id="",
        experiment_id=experiment_id,
        flow_run_id=flow_run_id,
        config_hash=config.config_hash(),
        git_commit=commit,
        started_at=now_iso(),
    )
    with service_call("MLflow", "create run in experiment", name):
        run = client.create_run(
            experiment_id,
            run_name=f"{config.name}-{as_of.isoformat()}-{mode}",
            tags={
                "as_of": as_of.isoformat(),
                "mode": mode,
                "prefect_flow_run_id": flow_run_id,
                "config_hash": info.config_hash,
                "git_commit": info.git_commit,
            },
        )
        client.log_param(run.info.run_id, "as_of", as_of.isoformat())
        client.log_dict(run.info.run_id, config.model_dump(mode="json"), "config.json")
    return RunInfo(**{**info.__dict__, "mlflow_run_id": run.info.run_id})


def store_record(s3: Any, client: Any, bucket: str, key: str, rid: str, typed: RunRecord) -> None:
    """Write the record to S3 (the copy later runs read back), then mirror it on the MLflow run
    `rid` and close that run; when S3 refuses, the run is tagged failed, never left open as if
    completed."""
    stored = typed.dump()
    uri = data.s3_uri(bucket, key)
    try:
        with service_call("S3", "PutObject", uri):
            data.put_json(s3, bucket, key, stored)
    except ServiceError as exc:
        with suppress(Exception):  # best effort: the run must not look completed
            client.set_tag(rid, "status", "failed")
            client.set_tag(rid, "error", tag_value(str(exc)))
        raise
    with service_call("MLflow", "log decision record to run", rid):
        client.log_dict(rid, stored, "decision.json")
        client.set_tag(rid, "decision", typed.decision.action)
        client.set_tag(rid, "decision_reasons", tag_value(typed.decision.reasons))
        client.set_tag(rid, "status", typed.status)
        for name, value in run_metrics(typed).items():
            client.log_metric(rid, name, value)
        client.set_terminated(rid, "FINISHED" if typed.status == "completed" else "FAILED")


def run_metrics(record: RunRecord) -> dict[str, float]:
    """The record's numbers logged as the run's metrics: drift share, champion and gate scores,
    rows."""
    out: dict[str, float] = {}
    if record.drift is not None and record.drift.drift_share is not None:
        out["drift_share"] = float(record.drift.drift_share)
    if record.champion is not None and record.champion.metric_now is not None:
        out[f"champion_{record.metric}"] = float(record.champion.metric_now)
    gate = record.gate
    if gate is not None:
        scores = {"champion": gate.champion_score, "challenger": gate.challenger_score}
        for side, score in scores.items():
            if score is not None:
                out[f"gate_{side}_{record.metric}"] = float(score)
    out["rows"] = float((record.window.rows if record.window else None) or 0)
    return out
