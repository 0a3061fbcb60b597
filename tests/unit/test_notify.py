"""Which events a run produces, and messages that carry no markup from data."""

from __future__ import annotations

from typing import Any

import pytest

from retrain.sinks.notify import events_for, message
from tests.helpers import typed_record


def _record(**changes: Any) -> Any:
    base: dict[str, Any] = {
        "model": "m",
        "as_of": "2013-07-01",
        "metric": "roc_auc",
        "status": "completed",
        "decision": {"action": "keep", "reasons": ["stable"]},
        "validation": {"valid": True},
        "drift": None,
        "gate": None,
        "registered_version": None,
        "promoted": False,
    }
    return typed_record({**base, **changes})


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, []),
        ({"drift": {"dataset_drift": True, "drift_share": 0.6}}, ["drift"]),
        (
            {
                "decision": {"action": "retrain", "reasons": ["performance_drop"]},
                "registered_version": "2",
                "promoted": True,
                "gate": {"promote": True},
            },
            ["retrain", "promotion"],
        ),
        (
            {
                "decision": {"action": "retrain", "reasons": ["forced"]},
                "registered_version": "3",
                "gate": {"promote": False, "reasons": ["gain_below_min"]},
            },
            ["retrain", "rejected"],
        ),
        (
            {
                "decision": {"action": "retrain", "reasons": ["forced"]},
                "registered_version": "3",
                "gate": {"promote": True},
            },
            ["retrain"],
        ),
        (  # mode: approval, the gate passed: the challenger waits for a person
            {
                "decision": {"action": "retrain", "reasons": ["stale_model"]},
                "registered_version": "3",
                "gate": {"promote": True},
                "approval": {"state": "pending", "version": "3"},
            },
            ["retrain", "approval"],
        ),
        ({"approval": {"state": "approved", "version": "3"}}, []),
        ({"status": "failed", "error": "DataError: boom"}, ["failure"]),
        ({"validation": {"valid": False}}, ["failure"]),
    ],
)
def test_events_for(changes: dict[str, Any], expected: list[str]) -> None:
    assert events_for(_record(**changes)) == expected


def test_message_escapes_slack_control_characters() -> None:
    record = _record(status="failed", error="bad value <!channel> & <http://x|click>")
    payload = message("failure", record)
    assert "<!channel>" not in payload["text"] and "<http" not in payload["text"]
    assert "&lt;!channel&gt; &amp;" in payload["text"]
    assert payload["blocks"][0]["text"]["text"] == payload["text"]


def test_an_approval_request_says_where_a_person_answers_and_by_when() -> None:
    record = _record(
        approval={
            "state": "pending",
            "version": "3",
            "champion_version": "2",
            "expires_at": "2013-07-04T06:00:00+00:00",
            "form_url": "http://127.0.0.1:4200/deployments/deployment/abc/run",
        }
    )

    text = message("approval", record)["text"]

    assert "challenger v3 waits for a person (champion v2)" in text
    assert "answer at http://127.0.0.1:4200/deployments/deployment/abc/run" in text
    assert "by 2013-07-04T06:00:00+00:00" in text
    # the automation's own message is another one: a test of it must not be met by this
    assert "waits for approval until" not in text
