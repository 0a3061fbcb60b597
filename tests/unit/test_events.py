"""Which Prefect events a decision record, an answer and a rollback produce, with which figures."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from retrain.sinks import events
from retrain.sinks.events import answer_events, record_events, retrain_started, rolled_back
from tests.helpers import typed_record

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def _record(**changes: Any) -> Any:
    base: dict[str, Any] = {
        "model": "m",
        "as_of": "2013-07-01",
        "mode": "auto",
        "metric": "roc_auc",
        "flow_run_id": "f1",
        "record_uri": "s3://loop/decisions/m/auto/2013-07-01/f1.json",
        "status": "completed",
        "decision": {"action": "keep", "reasons": ["stable"]},
        "validation": {"valid": True},
        "champion": {"version": "3", "metric_now": 0.7},
        "forced": False,
    }
    return typed_record({**base, **changes})


GATE = {"promote": True, "challenger_score": 0.75, "champion_score": 0.7, "ci_low": 0.01}


def _names(evs: list[events.LoopEvent]) -> list[str]:
    return [e.name.removeprefix("retrain.model.") for e in evs]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, []),
        ({"drift": {"dataset_drift": True, "drift_share": 0.4}}, ["drift-detected"]),
        (
            {"registered_version": "4", "gate": GATE, "promoted": True, "promoted_version": "4"},
            ["challenger-registered", "promoted"],
        ),
        (
            {"registered_version": "4", "gate": {**GATE, "promote": False}},
            ["challenger-registered", "rejected-by-gate"],
        ),
        (
            {
                "registered_version": "4",
                "gate": GATE,
                "approval": {"state": "pending", "version": "4", "superseded": ["2"]},
            },
            ["challenger-registered", "approval-superseded", "approval-requested"],
        ),
        ({"status": "failed", "error": "boom"}, ["run-failed"]),
        ({"validation": {"valid": False}}, ["run-failed"]),
        ({"attention": "no partitions"}, ["needs-attention"]),
    ],
)
def test_record_events(changes: dict[str, Any], expected: list[str]) -> None:
    evs = record_events(_record(**changes))
    assert _names(evs) == expected
    for e in evs:
        assert e.resource["prefect.resource.id"] == "retrain.model.m"
        assert e.payload["record_uri"].startswith("s3://")


def test_promoted_carries_from_and_to_versions() -> None:
    (_, promoted) = record_events(
        _record(registered_version="4", gate=GATE, promoted=True, promoted_version="4")
    )
    assert (promoted.payload["from_version"], promoted.payload["to_version"]) == ("3", "4")
    assert (
        promoted.payload["challenger_metric"] == 0.75 and promoted.payload["by"] == "retrain-loop"
    )


def test_answers_and_rollback() -> None:
    record = _record(gate=GATE)
    base = {"version": "4", "by": "alice", "comment": "ok", "at": "t", "champion_version": "3"}
    assert _names(answer_events(record, {**base, "state": "approved"})) == ["promoted"]
    (approved,) = answer_events(record, {**base, "state": "approved"})
    assert approved.payload["by"] == "alice" and approved.payload["from_version"] == "3"
    assert _names(answer_events(record, {**base, "state": "rejected"})) == ["rejected-by-person"]
    assert _names(answer_events(record, {**base, "state": "expired"})) == ["approval-expired"]
    assert _names(answer_events(record, {**base, "state": "refused"})) == ["approval-refused"]
    assert answer_events(record, {**base, "state": "superseded"}) == []
    back = rolled_back("m", "4", "3", "bad", "bob")
    assert back.payload == {
        "model": "m",
        "from_version": "4",
        "to_version": "3",
        "reason": "bad",
        "by": "bob",
    }
    assert retrain_started(_record(forced=True)).payload["forced"] is True


def test_the_documented_table_names_every_event_and_its_fields() -> None:
    rows = re.findall(
        r"^\| `(retrain\.model\.[a-z-]+)` \| [^|]+ \| (.+) \|$", DOC.read_text(), re.M
    )
    assert sorted(name for name, _ in rows) == sorted(events.EVENT_NAMES)
    samples = {
        **{e.name: e for e in record_events(_record(drift={"dataset_drift": True}))},
        events.RETRAIN_STARTED: retrain_started(_record()),
        events.ROLLED_BACK: rolled_back("m", "4", "3", "bad", "bob"),
    }
    for name, fields in rows:
        if name in samples:
            documented = re.findall(r"`([a-z_]+)`", fields)
            assert set(documented) <= set(samples[name].payload), name


def test_the_approval_request_shows_what_a_person_decides_on() -> None:
    from retrain.registry.approval import request_markdown, request_summary

    record = _record(
        gate={**GATE, "ci_high": 0.09, "gain": 0.05, "segment_gains": {"JFK": -0.01}},
        drift={"drift_share": 0.4, "drifted_columns": ["temp"]},
        training={"winner": "56d", "served_fit": {"start": "2013-05-01", "end": "2013-07-01"}},
        decision={"action": "retrain", "reasons": ["drift"]},
    ).dump()  # the approval request reads the record the run is still filling in
    state = {"version": "4", "champion_version": "3", "expires_at": "T", "form_url": "http://f"}
    text = request_markdown(record, state, {"Evidently drift report (HTML)": "http://e"})
    for shown in ("0.7500", "0.7000", "0.0100 .. 0.0900", "JFK", "temp", "2013-05-01", "http://f"):
        assert shown in text, shown
    assert "[Evidently drift report (HTML)](http://e)" in text
    summary = request_summary(record, state)
    assert "gate interval 0.0100 .. 0.0900" in summary and "Answer it: http://f" in summary
