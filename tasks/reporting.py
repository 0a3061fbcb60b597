"""Tasks that open the run's records and close them: MLflow run, S3 decision record, artifact."""

from __future__ import annotations

import urllib.parse
from contextlib import suppress
from datetime import date
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from retrain import data, reporting
from retrain.budget import close_budget, timed
from retrain.clients import mlflow_client, s3_client
from retrain.config import ModelConfig
from retrain.errors import ServiceError, service_call
from retrain.loop import RunInfo, git_commit
from retrain.registry import now_iso, tag_value
from retrain.run_record import RunRecord, load_record
from retrain.settings import Settings


def experiment_name(model: str) -> str:
    return f"retrain-loop/{model}"


@task(retries=3, retry_delay_seconds=[2, 5, 15], cache_policy=NO_CACHE)
@timed
def start_run(settings: Settings, config: ModelConfig, as_of: date, mode: str) -> RunInfo:
    """Open the MLflow run that records this loop execution."""
    client = mlflow_client(settings)
    name = experiment_name(config.name)
    with service_call("MLflow", "open experiment", name):
        experiment = client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
    flow_run_id = str(flow_run.get_id() or "local")
    info = RunInfo(
        model=config.name,
        as_of=as_of,
        mode=mode,
        mlflow_run_id="",
        experiment_id=experiment_id,
        flow_run_id=flow_run_id,
        config_hash=config.config_hash(),
        git_commit=git_commit(settings.git_commit),
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


@task(retries=3, retry_delay_seconds=[2, 5, 15], cache_policy=NO_CACHE)
@timed
def record_decision(settings: Settings, run: RunInfo, record: dict[str, Any]) -> RunRecord:
    """Check the record against its schema (retrain/run_record.py: a misspelt or missing section
    fails here, naming the field), write it to S3 and the MLflow run (tags, metrics, JSON) and
    close the run; the typed record is what every sink reads."""
    key = reporting.decision_key(run.model, run.mode, run.as_of, run.flow_run_id)
    uri = data.s3_uri(settings.loop_bucket, key)
    record = {**record, "finished_at": now_iso(), "record_key": key, "record_uri": uri}
    if "seconds" in record:  # the steps so far, their total and the untimed rest, as written
        record["seconds"] = dict(close_budget() or record["seconds"])
    typed = load_record(record, f"the decision record of {run.model} {run.as_of}")
    stored = typed.dump()
    client = mlflow_client(settings)
    rid = run.mlflow_run_id
    try:  # S3 first: it is the record later runs read back; MLflow only mirrors it
        with service_call("S3", "PutObject", uri):
            data.put_json(s3_client(settings), settings.loop_bucket, key, stored)
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
        for name, value in _metrics(typed).items():
            client.log_metric(rid, name, value)
        client.set_terminated(rid, "FINISHED" if typed.status == "completed" else "FAILED")
    get_run_logger().info(reporting.headline(typed))
    return typed


@task(cache_policy=NO_CACHE)
@timed
def publish_summary(
    settings: Settings, run: RunInfo, record: RunRecord, report_links: dict[str, str]
) -> None:
    """A Prefect markdown artifact: what happened and why, with links."""
    mlflow_ui = settings.mlflow_tracking_uri.rstrip("/")
    run_page = f"{mlflow_ui}/#/experiments/{run.experiment_id}/runs/{run.mlflow_run_id}"
    links = {
        "MLflow run": run_page,
        "run artifacts (reports, decision record)": f"{run_page}/artifacts",
        "registered model": f"{mlflow_ui}/#/models/{run.model}",
        "Evidently drift report (HTML)": _artifact_url(mlflow_ui, run, report_links.get("html")),
        "drift report (JSON)": _artifact_url(mlflow_ui, run, report_links.get("json")),
        "decision record (JSON)": _artifact_url(mlflow_ui, run, "decision.json"),
    }
    create_markdown_artifact(
        key=reporting.artifact_key(run.model, "decision"),
        markdown=reporting.markdown(record, links),
        description=reporting.headline(record),
    )


def _artifact_url(mlflow_ui: str, run: RunInfo, path: str | None) -> str:
    """An HTTP link a browser opens: the MLflow server serves run artifacts at get-artifact.
    A drift report's S3 URI maps to its copy under the run's `drift/` folder."""
    if not path:
        return ""
    name = path if not path.startswith("s3://") else "drift/" + path.rsplit("/", 1)[-1]
    query = urllib.parse.urlencode({"path": name, "run_uuid": run.mlflow_run_id})
    return f"{mlflow_ui}/get-artifact?{query}"


def _metrics(record: RunRecord) -> dict[str, float]:
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
