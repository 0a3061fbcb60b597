"""The run's MLflow run: opened with its tags and config, given the record S3 first (fakes of
the S3 and MLflow clients, no stack)."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest

from retrain.config import parse_config
from retrain.errors import ServiceError
from retrain.sinks import mlflow_run
from tests.helpers import config_dict, typed_record


class FakeMlflow:
    """The MlflowClient calls of open_run and store_record, recorded in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, *args, *sorted(kwargs.items())))
            if name == "get_experiment_by_name":
                return None
            if name == "create_experiment":
                return "7"
            if name == "create_run":
                return SimpleNamespace(info=SimpleNamespace(run_id="run-1"))
            return None

        return call


class FakeS3:
    def __init__(self, fail: bool = False) -> None:
        self.fail, self.objects = fail, {}

    def put_object(self, Bucket: str, Key: str, Body: bytes, ContentType: str) -> None:
        if self.fail:
            raise ConnectionError("S3 down")
        self.objects[(Bucket, Key)] = Body


def test_a_run_opens_in_the_models_experiment_tagged_with_its_window() -> None:
    config = parse_config(config_dict("m", "bucket", "p"))
    client = FakeMlflow()
    info = mlflow_run.open_run(client, config, date(2024, 1, 8), "shadow", "flow-1", "abc")
    assert (info.mlflow_run_id, info.experiment_id, info.flow_run_id) == ("run-1", "7", "flow-1")
    assert (info.git_commit, info.config_hash) == ("abc", config.config_hash())
    names = [c[0] for c in client.calls]
    assert names == [
        "get_experiment_by_name",
        "create_experiment",
        "create_run",
        "log_param",
        "log_dict",
    ]
    tags = dict(client.calls[2][2:])["tags"]
    assert tags == {
        "as_of": "2024-01-08",
        "mode": "shadow",
        "prefect_flow_run_id": "flow-1",
        "config_hash": config.config_hash(),
        "git_commit": "abc",
    }


RECORD = {
    "status": "completed",
    "metric": "roc_auc",
    "decision": {"action": "keep", "reasons": ["stable"]},
    "drift": {"drift_share": 0.25, "dataset_drift": False},
    "window": {"start": "2024-01-01", "end": "2024-01-08", "rows": 120},
}


def test_the_record_goes_to_s3_then_the_run_which_it_closes() -> None:
    typed = typed_record(RECORD)
    s3, client = FakeS3(), FakeMlflow()
    mlflow_run.store_record(s3, client, "loop", "decisions/m.json", "run-1", typed)
    assert list(s3.objects) == [("loop", "decisions/m.json")]
    assert ("set_tag", "run-1", "decision", "keep") in client.calls
    assert ("log_metric", "run-1", "drift_share", 0.25) in client.calls
    assert client.calls[-1] == ("set_terminated", "run-1", "FINISHED")
    assert mlflow_run.run_metrics(typed) == {"drift_share": 0.25, "rows": 120.0}


def test_an_s3_refusal_tags_the_run_failed_and_raises() -> None:
    client = FakeMlflow()
    with pytest.raises(ServiceError, match="S3 PutObject"):
        mlflow_run.store_record(
            FakeS3(fail=True), client, "loop", "k", "run-1", typed_record(RECORD)
        )
    assert [c[:3] for c in client.calls] == [
        ("set_tag", "run-1", "status"),
        ("set_tag", "run-1", "error"),
    ]
