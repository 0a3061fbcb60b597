"""Tasks that open the run's records and close them: MLflow run, S3 decision record, artifact."""

from __future__ import annotations

import urllib.parse
from datetime import date
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from retrain.budget import close_budget, timed
from retrain.clients import mlflow_client, s3_client
from retrain.config import ModelConfig
from retrain.data import s3 as data
from retrain.loop import RunInfo, git_commit
from retrain.registry.versions import now_iso
from retrain.run_record import RunRecord, load_record
from retrain.settings import Settings
from retrain.sinks import mlflow_run, reporting


@task(retries=3, retry_delay_seconds=[2, 5, 15], cache_policy=NO_CACHE)
@timed
def start_run(settings: Settings, config: ModelConfig, as_of: date, mode: str) -> RunInfo:
    """Open the MLflow run that records this loop execution."""
    flow_run_id = str(flow_run.get_id() or "local")
    commit = git_commit(settings.git_commit)
    return mlflow_run.open_run(mlflow_client(settings), config, as_of, mode, flow_run_id, commit)


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
    s3, client = s3_client(settings), mlflow_client(settings)
    mlflow_run.store_record(s3, client, settings.loop_bucket, key, run.mlflow_run_id, typed)
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
