"""A person's answer to a challenger waiting in `mode: approval`, and the expiry of requests
nobody answered. The `approve/<model>: approve` deployment's run form is the answer's form in
the UI."""

from __future__ import annotations

from typing import Literal

from prefect import flow, get_run_logger

from retrain.clients import mlflow_client
from retrain.config import Mode, load_config
from retrain.config_folder import load_model_config, scan_configs
from retrain.registry import approval
from retrain.settings import get_settings
from retrain.sinks import events
from tasks.approval import close_request
from tasks.events import emit_events
from tasks.locks import model_lock


@flow(name="approve", log_prints=True)
def approve(
    model: str,
    decision: Literal["approve", "reject"],
    who: str,
    comment: str = "",
    version: str | None = None,
) -> dict[str, str]:
    """Approve or reject the challenger that waits for `model` (its request is the `approval`
    artifact of the run that registered it).

    Args:
        model: name of the monitored model.
        decision: approve moves `champion` to the challenger (if the champion is still the one
            the gate compared it with); reject leaves the champion.
        who: who answers (kept in the alias history, the version's tags and the record).
        comment: why (kept with the answer).
        version: the challenger version you read about; empty means the one waiting now.
    """
    settings = get_settings()
    config = load_model_config(settings.config_dir, model)
    client = mlflow_client(settings)
    with model_lock(config.name):
        try:
            request, closed = approval.answer(
                client, config.name, version, decision == "approve", who, comment
            )
        except approval.ApprovalError as exc:
            if exc.request is not None and exc.closed is not None:
                record = close_request(settings, exc.request, exc.closed)
                emit_events(events.answer_events(record, exc.closed))
            raise
    record = close_request(settings, request, closed)
    emit_events(
        events.answer_events(record, {**closed, "champion_version": request.champion_version})
    )
    get_run_logger().info(
        "%s v%s of %s (by %s: %s)", closed["state"], request.version, model, who, comment or "-"
    )
    return closed


@flow(name="approval-expiry", log_prints=True)
def expire_approvals(model: str | None = None) -> list[dict[str, str]]:
    """Close every pending request whose time has passed as expired (recorded, notified by its
    event); the champion stays. Scheduled hourly by `make deploy`.

    Args:
        model: one model; every model of the config folder in `mode: approval` when empty.
    """
    settings = get_settings()
    if model:
        names = [load_model_config(settings.config_dir, model).name]
    else:
        configs = [load_config(p) for p in scan_configs(settings.config_dir).paths.values()]
        names = [c.name for c in configs if c.mode is Mode.approval]
    client, expired = mlflow_client(settings), []
    for name in names:
        with model_lock(name):
            due = approval.expire_due(client, name)
        if due is None:
            continue
        request, closed = due
        record = close_request(settings, request, closed)
        emit_events(events.answer_events(record, closed))
        expired.append(closed)
        print(f"{name}: request for v{request.version} expired ({request.expires_at})")
    return expired
