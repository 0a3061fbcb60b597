"""Deployment runs through the Prefect API, for the `retrain` command line: start one (so it is a
normal run in the UI, on the worker), wait for its end, read its artifacts, list a model's runs.

Prefect reads PREFECT_API_URL when it is first imported; `use_api` sets it from the loop's own
settings (`RETRAIN_PREFECT_API_URL`, `.env`) so nobody exports it by hand.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from retrain.settings import Settings

FINAL = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})
OPEN = ("SCHEDULED", "PENDING", "RUNNING", "PAUSED", "CANCELLING")


@dataclass(frozen=True)
class RunState:
    """Where a flow run stands: its id, name, state type and name, message, and UI page."""

    id: str
    name: str
    state: str  # Prefect's state type: SCHEDULED, RUNNING, COMPLETED, FAILED, ...
    state_name: str  # e.g. "Late", "Completed"
    message: str
    url: str
    deployment: str = ""
    start: str = ""
    parameters: dict[str, Any] | None = None

    @property
    def final(self) -> bool:
        return self.state in FINAL

    @property
    def ok(self) -> bool:
        return self.state == "COMPLETED"


def ui_url(settings: Settings) -> str:
    """The Prefect UI behind the API URL."""
    return settings.prefect_api_url.rstrip("/").removesuffix("/api")


def use_api(settings: Settings) -> None:
    """Point the Prefect client at the loop's server (before Prefect is imported, or refreshed)."""
    os.environ["PREFECT_API_URL"] = settings.prefect_api_url
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    import sys

    if "prefect.context" in sys.modules:
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()


def _state(flow_run: Any, settings: Settings, deployment: str = "") -> RunState:
    state = flow_run.state
    start = flow_run.start_time or flow_run.expected_start_time
    return RunState(
        id=str(flow_run.id),
        name=flow_run.name,
        state=state.type.value if state else "SCHEDULED",
        state_name=state.name if state else "Scheduled",
        message=(state.message or "") if state else "",
        url=f"{ui_url(settings)}/runs/flow-run/{flow_run.id}",
        deployment=deployment,
        start=start.isoformat(timespec="seconds") if start else "",
        parameters=dict(flow_run.parameters or {}),
    )


def start(settings: Settings, path: str, parameters: dict[str, Any]) -> RunState:
    """Create a run of the deployment `<flow>/<name>` for the worker; returns at once."""
    from prefect.deployments import run_deployment

    flow_run = run_deployment(path, parameters=parameters, timeout=0, as_subflow=False)
    return _state(flow_run, settings, path)


def wait(
    settings: Settings,
    run: RunState,
    timeout_s: float,
    on_change: Callable[[RunState], None] | None = None,
    poll_s: float = 2.0,
) -> RunState:
    """Poll the run until it ends (or `timeout_s` passes: then its last state, not final)."""
    from prefect import get_client

    deadline, last = time.monotonic() + timeout_s, run
    with get_client(sync_client=True) as client:
        while True:
            now = _state(client.read_flow_run(uuid.UUID(run.id)), settings, run.deployment)
            if on_change and now.state_name != last.state_name:
                on_change(now)
            last = now
            if now.final or time.monotonic() > deadline:
                return now
            time.sleep(poll_s)


def artifacts(run_id: str) -> list[dict[str, Any]]:
    """The artifacts a flow run created: key, type, data (a table's rows are JSON text)."""
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[uuid.UUID(run_id)])
            )
        )
    return [{"key": a.key, "type": a.type, "data": a.data} for a in found]


def model_runs(
    settings: Settings, model: str, limit: int = 10, open_only: bool = False
) -> list[RunState]:
    """The newest runs of a model's deployments (tag `model:<name>`) that have started, newest
    first; with `open_only`, those not ended yet (scheduled, pending, running, paused)."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        DeploymentFilterTags,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        deployments = client.read_deployments(
            deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=[f"model:{model}"]))
        )
        names = {d.id: d.name for d in deployments}
        if not names:
            return []
        states = FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType(s) for s in OPEN]))
        started = FlowRunFilterState(
            type=FlowRunFilterStateType(not_any_=[StateType.SCHEDULED, StateType.PENDING])
        )
        found = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=list(names))),
            flow_run_filter=FlowRunFilter(state=states if open_only else started),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC,
            limit=limit,
        )
    return [
        _state(r, settings, names.get(r.deployment_id, "") if r.deployment_id else "")
        for r in found
    ]
