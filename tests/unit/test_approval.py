"""An approval request's part of the decision record, and its answer written back (fakes of
the S3 and MLflow clients, no stack)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from retrain.registry import approval
from tests.helpers import typed_record


def test_a_request_just_opened_is_pending_with_its_version_page() -> None:
    state = approval.pending_state(
        "m", "4", "3", "2024-01-09T00:00:00+00:00", None, "http://mlflow/", ["2"]
    )
    assert state == {
        "state": "pending",
        "version": "4",
        "champion_version": "3",
        "expires_at": "2024-01-09T00:00:00+00:00",
        "form_url": None,
        "request_url": None,
        "version_url": "http://mlflow/#/models/m/versions/4",
        "superseded": ["2"],
    }


class FakeS3:
    def __init__(self, objects: dict[tuple[str, str], bytes]) -> None:
        self.objects = objects

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        if (Bucket, Key) not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)])}

    def put_object(self, Bucket: str, Key: str, Body: bytes, ContentType: str) -> None:
        self.objects[(Bucket, Key)] = Body


class FakeMlflow:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def log_dict(self, run_id: str, record: dict[str, Any], path: str) -> None:
        self.calls.append(("log_dict", run_id, path))

    def set_tag(self, run_id: str, key: str, value: str) -> None:
        self.calls.append(("set_tag", run_id, key, value))


def test_an_approval_is_written_into_the_record_that_asked_and_promotes() -> None:
    stored = typed_record(
        {"mlflow_run_id": "run-1", "approval": {"state": "pending", "version": "4"}}
    ).dump()
    s3 = FakeS3({("loop", "decisions/m.json"): json.dumps(stored).encode()})
    client = FakeMlflow()
    answer = {"state": "approved", "version": "4", "by": "ann", "at": "T"}

    typed = approval.record_answer(s3, client, "s3://loop/decisions/m.json", answer)

    written = json.loads(s3.objects[("loop", "decisions/m.json")])
    assert written["approval"]["by"] == "ann" and written["approval"]["state"] == "approved"
    assert written["promoted"] is True and written["promoted_version"] == "4"
    assert typed.promoted is True
    assert client.calls == [
        ("log_dict", "run-1", "decision.json"),
        ("set_tag", "run-1", "approval", "approved"),
    ]


def test_an_answer_to_a_missing_record_is_refused() -> None:
    with pytest.raises(approval.ApprovalError, match="not found"):
        approval.record_answer(FakeS3({}), FakeMlflow(), "s3://loop/k.json", {"state": "rejected"})
