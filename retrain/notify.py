"""Notifications: which events a run produced, and a Slack-compatible message for each."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

EVENTS = ("drift", "retrain", "promotion", "rejected", "approval", "failure", "attention")


def events_for(record: dict[str, Any]) -> list[str]:
    """The events of one run's decision record, in a fixed order."""
    events = []
    if (record.get("drift") or {}).get("dataset_drift"):
        events.append("drift")
    if record.get("decision", {}).get("action") == "retrain":
        events.append("retrain")
    if record.get("promoted"):
        events.append("promotion")
    elif record.get("registered_version") and not (record.get("gate") or {}).get("promote"):
        events.append("rejected")
    if (record.get("approval") or {}).get("state") == "pending":
        events.append("approval")
    invalid = not (record.get("validation") or {}).get("valid", True)
    if record.get("status") == "failed" or invalid:
        events.append("failure")
    if record.get("attention"):
        events.append("attention")
    return events


def message(event: str, record: dict[str, Any]) -> dict[str, Any]:
    """A Slack-compatible payload (`text` + one mrkdwn block) for one event of a run."""
    model, as_of = record.get("model"), record.get("as_of")
    decision = record.get("decision", {})
    gate = record.get("gate") or {}
    drift = record.get("drift") or {}
    lines = {
        "drift": f"drift share {drift.get('drift_share')} "
        f"(columns: {', '.join(drift.get('drifted_columns', [])) or '-'}; target drift: "
        f"{'yes' if (drift.get('target') or {}).get('drifted') else 'no'})",
        "retrain": f"retraining because {', '.join(decision.get('reasons', []))}",
        "promotion": f"v{record.get('promoted_version')} promoted to champion "
        f"({record.get('metric')} {gate.get('challenger_score')} vs {gate.get('champion_score')})",
        "rejected": f"challenger v{record.get('registered_version')} rejected: "
        f"{', '.join(gate.get('reasons', []))}",
        "approval": _approval_line(record.get("approval") or {}),
        "failure": f"run failed or data invalid: {record.get('error') or decision.get('reasons')}",
        "attention": f"skipped and failed, needs a fix upstream: {record.get('attention')}",
    }
    text = mrkdwn(f"[retrain-loop] {model} window ending {as_of}: {event}: {lines[event]}")
    return {
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        "event": event,
        "model": model,
        "as_of": as_of,
        "flow_run_id": record.get("flow_run_id"),
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
