"""The decision record's schema: stored version-1 records load and upgrade, every section
round-trips to the same JSON, a missing or misspelt field fails naming it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from retrain.run_record import RECORD_VERSION, RecordError, RunRecord, load_record

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "records"
# written by main at cebbdc2 (before the schema): a flights replay on a local stack, the
# bootstrap window (no champion yet) and a retrain whose challenger was promoted
V1 = ["v1_bootstrap.json", "v1_retrain.json"]
SECTIONS = [
    "window",
    "validation",
    "labels",
    "drift",
    "monitoring",
    "champion",
    "estimated_performance",
    "decision",
    "training",
    "gate",
]


def _v1(name: str) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    assert raw["record_version"] == 1
    return raw


@pytest.mark.parametrize("name", V1)
def test_a_stored_version_1_record_loads_and_upgrades(name: str) -> None:
    raw = _v1(name)
    record = RunRecord.model_validate(raw)
    assert record.record_version == RECORD_VERSION == 2
    assert record.status == "completed" and record.decision.action == "retrain"
    # the same JSON back, but for its version: what people and jq read keeps its shape
    assert record.dump() == {**raw, "record_version": RECORD_VERSION}
    assert raw["record_version"] == 1  # the input is not changed


def test_the_typed_sections_read_what_was_stored() -> None:
    raw = _v1("v1_retrain.json")
    record = load_record(raw)
    assert record.champion is not None and record.gate is not None and record.training
    assert record.champion_version == raw["champion"]["version"]
    assert record.gate.challenger_score == raw["gate"]["challenger_score"]
    assert record.training.served_fit is not None
    assert record.training.served_fit.rows == raw["training"]["served_fit"]["rows"]
    assert record.window is not None and record.window.rows == raw["window"]["rows"]
    assert record.as_of.isoformat() == raw["as_of"]
    bootstrap = load_record(_v1("v1_bootstrap.json"))
    assert bootstrap.champion is not None and bootstrap.champion_version is None  # stored {}
    assert bootstrap.drift is None and "drift" not in bootstrap.dump()


@pytest.mark.parametrize("section", SECTIONS)
def test_every_section_round_trips(section: str) -> None:
    raw = _v1("v1_retrain.json")
    dumped = json.dumps(load_record(raw).dump())
    again = RunRecord.model_validate(json.loads(dumped))
    assert again.dump()[section] == raw[section]


@pytest.mark.parametrize("field", ["decision", "status", "as_of", "model"])
def test_a_record_missing_a_required_field_fails_naming_it(field: str) -> None:
    raw = _v1("v1_retrain.json")
    del raw[field]
    with pytest.raises(RecordError, match=rf"{field}: Field required"):
        load_record(raw, "s3://loop/decisions/x.json")


@pytest.mark.parametrize("section", ["window", "validation", "champion"])
def test_a_completed_record_needs_the_sections_every_run_writes(section: str) -> None:
    raw = _v1("v1_retrain.json")
    del raw[section]
    with pytest.raises(RecordError, match=rf"needs {section}"):
        load_record(raw)


def test_a_misspelt_field_fails_naming_it() -> None:
    raw = {**_v1("v1_retrain.json"), "gaet": {"promote": True}}
    with pytest.raises(RecordError, match=r"gaet: Extra inputs are not permitted"):
        load_record(raw, "the run's record")


def test_a_section_with_a_wrong_type_fails_naming_the_path() -> None:
    raw = _v1("v1_retrain.json")
    raw["gate"] = {**raw["gate"], "promote": "perhaps"}  # neither true nor false
    with pytest.raises(RecordError, match=r"gate\.promote"):
        load_record(raw)


def test_a_record_of_a_newer_version_is_refused() -> None:
    with pytest.raises(RecordError, match="record_version 3"):
        load_record({**_v1("v1_retrain.json"), "record_version": 3})


def test_a_failure_before_the_record_opened_needs_only_the_head() -> None:
    record = load_record(
        {
            "record_version": 2,
            "model": "m",
            "as_of": "2024-01-08",
            "mode": "auto",
            "metric": "roc_auc",
            "status": "failed",
            "error": "ServiceError: S3 down",
            "decision": {"action": "none", "reasons": [], "details": {}},
        }
    )
    assert record.window is None and record.error == "ServiceError: S3 down"
