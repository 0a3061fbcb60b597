"""Notifications: which events a run produced, and a Slack-compatible message for each."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from retrain.run_record import RunRecord

EVENTS = ("drift", "retrain", "promotion", "rejected", "approval", "failure", "attention")


def events_for(record: RunRecord) -> list[str]:
    """The events of one run's decision record, in a fixed order."""
    events = []
    gate, approval = record.gate, record.approval
    if record.drift is not None and record.drift.dataset_drift:
        events.append("drift")
    if record.decision.action == "retrain":
        events.append("retrain")
    if record.promoted:
        events.append("promotion")
    elif record.registered_version and not (gate and gate.promote):
        events.append("rejected")
    if approval is not None and approval.state == "pending":
        events.append("approval")
    invalid = record.validation is not None and not record.validation.valid
    if record.status == "failed" or invalid:
        events.append("failure")
    if record.attention:
        events.append("attention")
    return events


def message(event: str, record: RunRecord) -> dict[str, Any]:
    """A Slack-compatible payload (`text` + one mrkdwn block) for one event of a run."""
    model, as_of = record.model, record.as_of.isoformat()
    decision, gate, drift = record.decision, record.gate, record.drift
    lines = {
        "drift": f"drift share {drift.drift_share if drift else None} "
        f"(columns: {', '.join(drift.drifted_columns if drift else []) or '-'}; target drift: "
        f"{'yes' if drift and drift.target and drift.target.drifted else 'no'})",
        "retrain": f"retraining because {', '.join(decision.reasons)}",
        "promotion": f"v{record.promoted_version} promoted to champion ({record.metric} "
        f"{gate.challenger_score if gate else None} vs {gate.champion_score if gate else None})",
        "rejected": f"challenger v{record.registered_version} rejected: "
        f"{', '.join(gate.reasons if gate else [])}",
        "approval": _approval_line(record.approval.dump() if record.approval else {}),
        "failure": f"run failed or data invalid: {record.error or decision.reasons}",
        "attention": f"skipped and failed, needs a fix upstream: {record.attention}",
    }
    text = mrkdwn(f"[retrain-loop] {model} window ending {as_of}: {event}: {lines[event]}")
    return {
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        "event": event,
        "model": model,
        "as_of": as_of,
        "flow_run_id": record.flow_run_id,
    }


def _approval_line(approval: dict[str, Any]) -> str:
    """A challenger waiting in mode: approval: where a person answers, and by when."""
    where = approval.get("form_url") or approval.get("request_url") or "the approve deployment"
    return (
        f"challenger v{approval.get('version')} waits for a person (champion "
        f"v{approval.get('champion_version') or '-'}): answer at {where} by "
        f"{approval.get('expires_at')}"
    )


def mrkdwn(text: str) -> str:
    """Escape Slack's control characters so data can never ping a channel or inject a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def post(url: str, payload: dict[str, Any], timeout: float = 10.0) -> int:
    """POST a JSON payload; returns the HTTP status. The URL is a secret: never put it in errors."""
    req = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        raise NotificationError(f"webhook answered HTTP {exc.code}") from None
    except OSError as exc:
        raise NotificationError(f"webhook unreachable: {type(exc).__name__}") from None


class NotificationError(RuntimeError):
    """The webhook refused or could not be reached (message carries no URL)."""
