"""Prefect events of the loop's decisions: which events a decision record (or an answer to an
approval request, or a rollback) produces, with the model as the resource and the figures in the
payload. Pure: tasks/events.py emits them. docs/events.md is the table of these names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from retrain.run_record import RunRecord

PREFIX = "retrain.model"
DRIFT_DETECTED = f"{PREFIX}.drift-detected"
RETRAIN_STARTED = f"{PREFIX}.retrain-started"
CHALLENGER_REGISTERED = f"{PREFIX}.challenger-registered"
APPROVAL_REQUESTED = f"{PREFIX}.approval-requested"
APPROVAL_SUPERSEDED = f"{PREFIX}.approval-superseded"
APPROVAL_EXPIRED = f"{PREFIX}.approval-expired"
APPROVAL_REFUSED = f"{PREFIX}.approval-refused"
PROMOTED = f"{PREFIX}.promoted"
REJECTED_BY_GATE = f"{PREFIX}.rejected-by-gate"
REJECTED_BY_PERSON = f"{PREFIX}.rejected-by-person"
ROLLED_BACK = f"{PREFIX}.rolled-back"
RUN_FAILED = f"{PREFIX}.run-failed"
NEEDS_ATTENTION = f"{PREFIX}.needs-attention"
RETRAIN_REQUESTED = f"{PREFIX}.retrain-requested"  # emitted by people or systems, not the loop

EVENT_NAMES = (
    DRIFT_DETECTED,
    RETRAIN_STARTED,
    CHALLENGER_REGISTERED,
    APPROVAL_REQUESTED,
    APPROVAL_SUPERSEDED,
    APPROVAL_EXPIRED,
    APPROVAL_REFUSED,
    PROMOTED,
    REJECTED_BY_GATE,
    REJECTED_BY_PERSON,
    ROLLED_BACK,
    RUN_FAILED,
    NEEDS_ATTENTION,
)


@dataclass(frozen=True)
class LoopEvent:
    """One Prefect event: its name, the model it concerns and what happened, in figures."""

    name: str
    resource: dict[str, str]
    payload: dict[str, Any] = field(default_factory=dict)


def model_resource(model: str) -> dict[str, str]:
    """The resource of every loop event: the monitored model (automations match on its id)."""
    return {
        "prefect.resource.id": f"{PREFIX}.{model}",
        "prefect.resource.name": model,
        "prefect.resource.role": "model",
    }


def _head(record: RunRecord) -> dict[str, Any]:
    """Fields every event of a run carries: which window, which mode, which records."""
    return {
        "model": record.model,
        "as_of": record.as_of.isoformat(),
        "mode": record.mode,
        "metric": record.metric,
        "flow_run_id": record.flow_run_id,
        "record_uri": record.record_uri,
    }


def _event(name: str, record: RunRecord, **payload: Any) -> LoopEvent:
    return LoopEvent(name, model_resource(record.model), {**_head(record), **payload})


def retrain_started(record: RunRecord) -> LoopEvent:
    """The policy chose to retrain: emitted before the tournament starts."""
    champion = record.champion
    return _event(
        RETRAIN_STARTED,
        record,
        reasons=list(record.decision.reasons),
        forced=record.forced,
        champion_version=champion.version if champion else None,
        champion_metric=champion.metric_now if champion else None,
    )


def record_events(record: RunRecord) -> list[LoopEvent]:
    """The events a closed decision record produces, in a fixed order (retrain-started is
    emitted when the retrain starts, not here)."""
    events: list[LoopEvent] = []
    drift, gate = record.drift, record.gate
    approval = record.approval.dump() if record.approval else {}
    if drift is not None and drift.dataset_drift:
        events.append(
            _event(
                DRIFT_DETECTED,
                record,
                drift_share=drift.drift_share,
                drifted_columns=list(drift.drifted_columns),
                target_drifted=bool(drift.target and drift.target.drifted),
            )
        )
    if record.registered_version:
        events.append(
            _event(
                CHALLENGER_REGISTERED,
                record,
                version=record.registered_version,
                challenger_metric=gate.challenger_score if gate else None,
                champion_metric=gate.champion_score if gate else None,
                gate_passed=bool(gate and gate.promote),
            )
        )
    for old in approval.get("superseded", []):
        events.append(
            _event(
                APPROVAL_SUPERSEDED,
                record,
                version=old,
                superseded_by=approval.get("version"),
            )
        )
    if approval.get("state") == "pending":
        events.append(approval_requested(record, approval))
    if record.promoted:
        events.append(
            _event(
                PROMOTED,
                record,
                from_version=record.champion_version,
                to_version=record.promoted_version,
                challenger_metric=gate.challenger_score if gate else None,
                champion_metric=gate.champion_score if gate else None,
                by="retrain-loop",
                reinstated=record.reinstated_version is not None,
            )
        )
    if gate is not None and not gate.promote:
        events.append(
            _event(
                REJECTED_BY_GATE,
                record,
                version=record.registered_version or record.reinstated_version,
                challenger_metric=gate.challenger_score,
                champion_metric=gate.champion_score,
                ci_low=gate.ci_low,
                reasons=list(gate.reasons),
            )
        )
    invalid = record.validation is not None and not record.validation.valid
    if record.status == "failed" or invalid:
        events.append(run_failed(record))
    if record.attention:
        events.append(_event(NEEDS_ATTENTION, record, problem=record.attention))
    return events


def run_failed(record: RunRecord) -> LoopEvent:
    """A run that raised (with or without its decision record), or refused its window's data."""
    return _event(RUN_FAILED, record, error=record.error, reasons=list(record.decision.reasons))


def approval_requested(record: RunRecord, approval: dict[str, Any]) -> LoopEvent:
    """A gated challenger waits for a person: the figures they decide on and the form's link."""
    gate = record.gate
    return _event(
        APPROVAL_REQUESTED,
        record,
        version=approval.get("version"),
        champion_version=approval.get("champion_version"),
        challenger_metric=gate.challenger_score if gate else None,
        champion_metric=gate.champion_score if gate else None,
        ci_low=gate.ci_low if gate else None,
        ci_high=gate.ci_high if gate else None,
        expires_at=approval.get("expires_at"),
        form_url=approval.get("form_url"),
        request_url=approval.get("request_url"),
    )


def answer_events(record: RunRecord, answer: dict[str, Any]) -> list[LoopEvent]:
    """The events of a request's end: approved (promoted), rejected by a person, expired, or
    refused (the champion changed since the gate compared with it)."""
    base = {
        "version": answer.get("version"),
        "by": answer.get("by"),
        "comment": answer.get("comment"),
        "at": answer.get("at"),
    }
    state = answer.get("state")
    gate = record.gate
    if state == "approved":
        return [
            _event(
                PROMOTED,
                record,
                from_version=answer.get("champion_version"),
                to_version=answer.get("version"),
                challenger_metric=gate.challenger_score if gate else None,
                champion_metric=gate.champion_score if gate else None,
                by=answer.get("by"),
                comment=answer.get("comment"),
                reinstated=False,
            )
        ]
    if state == "rejected":
        return [_event(REJECTED_BY_PERSON, record, **base)]
    if state == "expired":
        return [_event(APPROVAL_EXPIRED, record, **base, expires_at=answer.get("expires_at"))]
    if state == "refused":
        return [_event(APPROVAL_REFUSED, record, **base, reason=answer.get("reason"))]
    return []


def rolled_back(model: str, before: str, after: str, reason: str, actor: str) -> LoopEvent:
    """The champion alias moved back to the version it replaced."""
    return LoopEvent(
        ROLLED_BACK,
        model_resource(model),
        {
            "model": model,
            "from_version": before,
            "to_version": after,
            "reason": reason,
            "by": actor,
        },
    )
