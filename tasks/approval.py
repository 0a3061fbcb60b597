"""Tasks of `mode: approval`: open a request for a gated challenger, close one (answered,
expired, refused, superseded) in the registry, the decision record and Prefect."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import get_client, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from retrain.clients import mlflow_client, s3_client
from retrain.config import ModelConfig
from retrain.data import s3 as data
from retrain.loop import RunInfo
from retrain.operate.deployment_names import Purpose, deployment_path
from retrain.registry import approval
from retrain.run_record import RunRecord
from retrain.settings import Settings
from retrain.sinks import reporting


def prefect_ui(settings: Settings) -> str:
    """The Prefect UI's address: the API URL without its `/api`."""
    return settings.prefect_api_url.rstrip("/").removesuffix("/api")


def form_url(settings: Settings, model: str) -> str | None:
    """The run form of the model's `approve` deployment, or None when it is not deployed."""
    try:
        with get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name(deployment_path(model, Purpose.APPROVE))
    except Exception:  # not deployed (a flow run outside `make deploy`)
        return None
    return f"{prefect_ui(settings)}/deployments/deployment/{deployment.id}/run"


def request_links(settings: Settings, run: RunInfo, links: dict[str, str]) -> dict[str, str]:
    """Where the evidence lives: the MLflow version, the Evidently report, the decision record."""
    mlflow_ui = settings.mlflow_tracking_uri.rstrip("/")
    run_page = f"{mlflow_ui}/#/experiments/{run.experiment_id}/runs/{run.mlflow_run_id}"
    return {"MLflow run (decision record, reports)": f"{run_page}/artifacts", **links}


@task(retries=3, retry_delay_seconds=[2, 5, 15], cache_policy=NO_CACHE)
def request_approval(
    settings: Settings,
    config: ModelConfig,
    run: RunInfo,
    record: dict[str, Any],
    links: dict[str, str],
) -> dict[str, Any]:
    """Mark the registered challenger pending (alias `challenger`, tags), supersede an older
    request, and show the request as a Prefect artifact; returns the record's `approval` part."""
    client = mlflow_client(settings)
    version = str(record["registered_version"])
    key = reporting.decision_key(run.model, run.mode, run.as_of, run.flow_run_id)
    record_uri = data.s3_uri(settings.loop_bucket, key)
    expires_at = approval.expiry(datetime.now(UTC), config.approval.expires_after_hours)
    champion = record["approval"].get("champion_version")
    superseded = approval.open_request(
        client, config.name, version, champion, record_uri, expires_at
    )
    for old, closed in superseded:
        update_record(settings, old.record_uri, closed)
    state = approval.pending_state(
        config.name,
        version,
        champion,
        expires_at,
        form_url(settings, config.name),
        settings.mlflow_tracking_uri,
        [old.version for old, _ in superseded],
    )
    artifact = reporting.artifact_key(config.name, "approval")
    evidence = {
        f"MLflow model version v{version}": state["version_url"],
        **request_links(settings, run, links),
    }
    create_markdown_artifact(
        key=artifact,
        markdown=approval.request_markdown(record, state, evidence),
        description=approval.request_summary(record, state),
    )
    # the key's page shows the description; the artifact's own page stays blank in 3.8.8's UI
    # under headless Chromium, so the link is the key's (the full table is one click away)
    state["request_url"] = f"{prefect_ui(settings)}/artifacts/key/{artifact}"
    get_run_logger().info(
        "challenger v%s of %s waits for approval until %s", version, config.name, expires_at
    )
    return state


def update_record(settings: Settings, record_uri: str, answer: dict[str, str]) -> RunRecord:
    """Write a request's end into the decision record that opened it (S3, and the MLflow run's
    decision.json): who, when, why; promoted when approved."""
    return approval.record_answer(s3_client(settings), mlflow_client(settings), record_uri, answer)


@task(retries=3, retry_delay_seconds=[2, 5, 15], cache_policy=NO_CACHE)
def close_request(
    settings: Settings, request: approval.Request, closed: dict[str, str]
) -> RunRecord:
    """Record how a request ended (its decision record) and show it as a Prefect artifact."""
    record = update_record(settings, request.record_uri, closed)
    create_markdown_artifact(
        key=reporting.artifact_key(request.model, "approval"),
        markdown=f"# {reporting.md(request.model)}: challenger v{request.version} "
        f"{closed['state']}\n\nBy {reporting.md(closed['by'])} at {closed['at']}: "
        f"{reporting.md(closed.get('comment') or '-')}\n",
        description=f"{request.model}: challenger v{request.version} {closed['state']}",
    )
    return record
