"""Approval requests in MLflow: a gated challenger waits behind the `challenger` alias with an
`approval` tag until a person answers, the request expires, or a newer challenger supersedes it.

The request lives in the registry (alias and tags), not in a waiting process: it survives a
restart of the stack and never holds the model's lock (docs/approval.md says why)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from retrain.data import s3 as data
from retrain.operate.deployment_names import Purpose, deployment_name
from retrain.registry import versions as registry
from retrain.registry.versions import get_champion, now_iso, tag_value
from retrain.run_record import RunRecord, load_record
from retrain.sinks.reporting import md

CHALLENGER = "challenger"
STATE_TAG = "approval"
PENDING, APPROVED, REJECTED, EXPIRED, SUPERSEDED, REFUSED = (
    "pending",
    "approved",
    "rejected",
    "expired",
    "superseded",
    "refused",
)


class ApprovalError(RuntimeError):
    """The answer cannot apply: no such pending request, expired, or the champion moved. When
    the refusal closed the request (expired, refused), `request` and `closed` say how."""

    def __init__(
        self,
        message: str,
        request: Request | None = None,
        closed: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.request, self.closed = request, closed


@dataclass(frozen=True)
class Request:
    """A pending request as the registry holds it."""

    model: str
    version: str
    champion_version: str | None
    requested_at: str
    expires_at: str
    record_uri: str

    def expired(self, now: datetime) -> bool:
        return now >= datetime.fromisoformat(self.expires_at)


def expiry(now: datetime, hours: float) -> str:
    return (now + timedelta(hours=hours)).isoformat(timespec="seconds")


def pending_state(
    model: str,
    version: str,
    champion: str | None,
    expires_at: str,
    form_url: str | None,
    mlflow_ui: str,
    superseded: list[str],
) -> dict[str, Any]:
    """The decision record's `approval` part of a request just opened (`request_url` is filled
    in once its Prefect artifact exists)."""
    return {
        "state": PENDING,
        "version": version,
        "champion_version": champion,
        "expires_at": expires_at,
        "form_url": form_url,
        "request_url": None,
        "version_url": f"{mlflow_ui.rstrip('/')}/#/models/{model}/versions/{version}",
        "superseded": superseded,
    }


def record_answer(s3: Any, client: Any, record_uri: str, answer: dict[str, str]) -> RunRecord:
    """Write a request's end into the decision record that opened it (S3, and the MLflow run's
    decision.json and `approval` tag): who, when, why; promoted when approved."""
    bucket, key = record_uri.removeprefix("s3://").split("/", 1)
    record: dict[str, Any] = data.get_json(s3, bucket, key) or {}
    if not record:
        raise ApprovalError(f"decision record {record_uri} not found")
    record["approval"] = {**(record.get("approval") or {}), **answer}
    if answer["state"] == APPROVED:
        record.update(promoted=True, promoted_version=answer["version"])
    typed = load_record(record, record_uri)  # checked before it is written back
    data.put_json(s3, bucket, key, record)
    if record.get("mlflow_run_id"):
        client.log_dict(record["mlflow_run_id"], record, "decision.json")
        client.set_tag(record["mlflow_run_id"], "approval", answer["state"])
    return typed


def pending(client: MlflowClient, name: str) -> Request | None:
    """The request behind the `challenger` alias, if it still waits for an answer."""
    try:
        mv = client.get_model_version_by_alias(name, CHALLENGER)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise
    tags = dict(mv.tags)
    if tags.get(STATE_TAG) != PENDING:
        return None
    return Request(
        model=name,
        version=str(mv.version),
        champion_version=tags.get("approval_champion") or None,
        requested_at=tags.get("approval_requested_at", ""),
        expires_at=tags["approval_expires_at"],
        record_uri=tags.get("approval_record", ""),
    )


def open_request(
    client: MlflowClient,
    name: str,
    version: str,
    champion_version: str | None,
    record_uri: str,
    expires_at: str,
) -> list[tuple[Request, dict[str, str]]]:
    """Mark `version` pending and point `challenger` at it; returns the older pending request it
    supersedes (closed as superseded) and how, if any."""
    older = pending(client, name)
    superseded = []
    if older is not None and older.version != str(version):
        why = f"superseded by v{version}"
        superseded.append(
            (older, close(client, name, older.version, SUPERSEDED, "retrain-loop", why))
        )
    tags = {
        STATE_TAG: PENDING,
        "approval_requested_at": now_iso(),
        "approval_expires_at": expires_at,
        "approval_champion": champion_version or "",
        "approval_record": record_uri,
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    client.set_registered_model_alias(name, CHALLENGER, version)
    return superseded


def close(
    client: MlflowClient, name: str, version: str, state: str, who: str, comment: str
) -> dict[str, str]:
    """End a request: its state, who, when and why on the version's tags; the alias removed."""
    answer = {"state": state, "by": who, "at": now_iso(), "comment": comment}
    for key, value in answer.items():
        client.set_model_version_tag(name, version, f"{STATE_TAG}_{key}", tag_value(value))
    client.set_model_version_tag(name, version, STATE_TAG, state)
    mv = client.get_model_version(name, version)
    if CHALLENGER in (mv.aliases or []):
        client.delete_registered_model_alias(name, CHALLENGER)
    return {**answer, "version": str(version)}


def answer(
    client: MlflowClient,
    name: str,
    version: str | None,
    approve: bool,
    who: str,
    comment: str,
    now: datetime | None = None,
) -> tuple[Request, dict[str, str]]:
    """Apply a person's answer to the pending request: approving moves `champion` with the same
    compare-and-set as auto mode; rejecting leaves it. A request that has expired, or whose
    champion moved since the gate compared with it, is closed as such and the answer refused."""
    if not who.strip():
        raise ApprovalError("say who answers: the `who` field is empty")
    request = pending(client, name)
    if request is None or (version is not None and str(version) != request.version):
        waiting = f"v{request.version} waits" if request else "nothing waits"
        raise ApprovalError(f"no pending approval request for {name} v{version} ({waiting})")
    now = now or datetime.now(UTC)
    if request.expired(now):
        closed = close(
            client, name, request.version, EXPIRED, "retrain-loop", f"expired {request.expires_at}"
        )
        raise ApprovalError(
            f"the request for {name} v{request.version} expired at {request.expires_at}; "
            "nothing promoted",
            request,
            closed,
        )
    if not approve:
        return request, close(client, name, request.version, REJECTED, who, comment)
    current = get_champion(client, name)
    current_version = current.version if current else None
    if current_version != request.champion_version:
        why = (
            f"champion of {name} is now v{current_version}, not v{request.champion_version} that "
            f"the gate compared v{request.version} with; not promoting"
        )
        closed = close(client, name, request.version, REFUSED, who, why)
        raise ApprovalError(why, request, closed)
    reason = f"approved by {who}" + (f": {comment}" if comment else "")
    registry.promote(client, name, request.version, request.champion_version, reason, who)
    return request, close(client, name, request.version, APPROVED, who, comment)


def expire_due(
    client: MlflowClient, name: str, now: datetime | None = None
) -> tuple[Request, dict[str, str]] | None:
    """Close the pending request as expired when its time has passed; returns it and how."""
    request = pending(client, name)
    if request is None or not request.expired(now or datetime.now(UTC)):
        return None
    why = f"expired {request.expires_at}"
    return request, close(client, name, request.version, EXPIRED, "retrain-loop", why)


def request_markdown(
    record: dict[str, Any], approval: dict[str, Any], links: dict[str, str]
) -> str:
    """What a person reads before answering: scores with the gate's interval, segments, drift,
    training window, and links to the version, the Evidently report and the decision record."""
    gate = record.get("gate") or {}
    drift = record.get("drift") or {}
    training = record.get("training") or {}
    served = training.get("served_fit") or {}
    metric = record.get("metric")
    version, champion = approval.get("version"), approval.get("champion_version")
    url = approval.get("form_url")
    name = deployment_name(str(record.get("model")), Purpose.APPROVE)
    form = f"[{md(name)}]({url})" if url else "(not deployed: make deploy)"
    lines = [
        f"# {md(record.get('model'))}: challenger v{md(version)} waits for approval",
        "",
        f"Window ending {md(record.get('as_of'))}; retrained because "
        f"{md(', '.join((record.get('decision') or {}).get('reasons', [])))}. "
        f"Expires {md(approval.get('expires_at'))} (then rejected as expired).",
        "",
        f"**Answer it** with the approve form: {form}",
        "",
        f"| {md(metric)} on the gate's holdout | score |",
        "|---|---|",
        f"| champion v{md(champion or '-')} | {_num(gate.get('champion_score'))} |",
        f"| challenger v{md(version)} | {_num(gate.get('challenger_score'))} |",
        f"| gain (challenger - champion) | {_num(gate.get('gain'))} |",
        f"| gate interval ({md(gate.get('mode'))}) | {_num(gate.get('ci_low'))} .. "
        f"{_num(gate.get('ci_high'))} (p {_num(gate.get('p_value'))}, "
        f"{md(gate.get('n_rows'))} rows) |",
        "",
        f"Gate: {md(', '.join(gate.get('reasons', [])))}",
        "",
    ]
    segments = gate.get("segment_gains") or {}
    if segments:
        lines += ["| segment | gain |", "|---|---|"]
        lines += [f"| {md(k)} | {_num(v)} |" for k, v in sorted(segments.items())]
        regressed = ", ".join(gate.get("regressed_segments", [])) or "none"
        lines += ["", f"Regressed segments: {md(regressed)}", ""]
    drifted = ", ".join(drift.get("drifted_columns", [])) or "none"
    lines += [
        f"Drift: share {_num(drift.get('drift_share'))}, dataset drift "
        f"{'yes' if drift.get('dataset_drift') else 'no'}; drifted columns: {md(drifted)}",
        "",
        f"Training window: {md(served.get('start'))} .. {md(served.get('end'))} "
        f"({md(served.get('rows'))} rows, recipe {md(training.get('winner'))})",
        "",
    ]
    lines += [f"- [{md(label)}]({url})" for label, url in links.items() if url]
    return "\n".join(lines) + "\n"


def request_summary(record: dict[str, Any], approval: dict[str, Any]) -> str:
    """The request in a few lines (the artifact's description, shown on its page in the UI)."""
    gate = record.get("gate") or {}
    drift = record.get("drift") or {}
    served = (record.get("training") or {}).get("served_fit") or {}
    gains = sorted((gate.get("segment_gains") or {}).items())
    segments = ", ".join(f"{k} {v:+.3f}" for k, v in gains)
    champion = approval.get("champion_version")
    against = (
        f"champion v{md(champion)} {_num(gate.get('champion_score'))}"
        if champion
        else "no champion yet"
    )
    return (
        f"{md(record.get('model'))}: challenger v{md(approval.get('version'))} waits for approval "
        f"until {md(approval.get('expires_at'))}. {md(record.get('metric'))} on the gate's "
        f"holdout: challenger {_num(gate.get('challenger_score'))} vs {against}, "
        f"gate interval {_num(gate.get('ci_low'))} .. {_num(gate.get('ci_high'))} "
        f"({md(', '.join(gate.get('reasons', [])))}); segments "
        f"{md(segments) or '-'}; "
        f"drift share {_num(drift.get('drift_share'))}; trained on {md(served.get('start'))} .. "
        f"{md(served.get('end'))}. Answer it: {approval.get('form_url') or 'make deploy first'}"
    )


def _num(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else md("-" if value is None else value)
