"""S3 and MLflow misbehaving under the real flow: transient faults are retried, persistent ones
fail the run cleanly, naming the service and the operation, with nothing half-done.

The loop's clients are pointed at a fault-injecting proxy (tests/faultproxy.py) in front of the
real LocalStack and MLflow server. Every case trains a fresh model on the same clean synthetic
window, so the outcome without faults (retrain because there is no champion, gate passes,
v1 promoted) is known from a baseline run through the proxies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from retrain.config import DataSource
from retrain.data.s3 import get_json
from retrain.errors import ServiceError
from retrain.registry import versions as registry
from retrain.settings import Settings
from retrain.sinks.reporting import decision_key
from tests.faultproxy import Fault, FaultProxy
from tests.helpers import (
    AS_OF,
    DAYS,
    FIRST_DAY,
    config_dict,
    empty_bucket,
    object_keys,
    unique,
    write_config,
    write_days,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MLFLOW_RETRIES = 3  # MLFLOW_HTTP_REQUEST_MAX_RETRIES: transient faults below stay under it
MLFLOW_TIMEOUT = 5  # MLFLOW_HTTP_REQUEST_TIMEOUT, seconds
CREATE_VERSION = r"^/api/2\.0/mlflow/model-versions/create"
SET_ALIAS = r"^/api/2\.0/mlflow/registered-models/alias"
LOG_ARTIFACT = r"^/api/2\.0/mlflow-artifacts/artifacts/.*/model/model\.skops$"
CREATE_RUN = r"^/api/2\.0/mlflow/runs/create"


@dataclass(frozen=True)
class Data:
    bucket: str
    source: DataSource
    root: Path


@dataclass(frozen=True)
class Proxies:
    s3: FaultProxy
    mlflow: FaultProxy


@dataclass(frozen=True)
class Outcome:
    name: str
    failed: bool
    error: BaseException | None
    record: dict[str, Any] | None


@pytest.fixture(scope="module")
def data(s3: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Data]:
    """Twenty clean days in a bucket of the module's own."""
    bucket = unique("faults")
    s3.create_bucket(Bucket=bucket)
    source = DataSource(bucket=bucket, prefix=unique("data"), format="parquet")
    write_days(s3, source, [FIRST_DAY + timedelta(days=i) for i in range(DAYS)])
    yield Data(bucket, source, tmp_path_factory.mktemp("fault-configs"))
    empty_bucket(s3, bucket)
    s3.delete_bucket(Bucket=bucket)


@pytest.fixture(scope="module")
def models(stack: Settings, s3: Any, mlflow: Any) -> Iterator[list[str]]:
    """Names of the models the module made, deleted from MLflow and S3 at the end."""
    made: list[str] = []
    yield made
    for name in made:
        if mlflow.search_registered_models(f"name='{name}'"):
            mlflow.delete_registered_model(name)
        for prefix in (f"decisions/{name}/", f"reports/{name}/"):
            empty_bucket(s3, stack.loop_bucket, prefix)


@pytest.fixture
def proxies(stack: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proxies]:
    """The loop's S3 and MLflow endpoints behind fault proxies; fast client and task retries."""
    import mlflow

    from flows import monitor

    assert stack.s3_endpoint_url
    with FaultProxy(stack.s3_endpoint_url) as s3p, FaultProxy(stack.mlflow_tracking_uri) as mlp:
        monkeypatch.setenv("RETRAIN_S3_ENDPOINT_URL", s3p.url)
        monkeypatch.setenv("RETRAIN_MLFLOW_TRACKING_URI", mlp.url)
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(MLFLOW_RETRIES))
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0.2")
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", str(MLFLOW_TIMEOUT))
        for task in vars(monitor).values():  # keep every Prefect retry, drop the waits
            if hasattr(task, "retry_delay_seconds") and hasattr(task, "fn"):
                monkeypatch.setattr(task, "retry_delay_seconds", 0)
        try:
            yield Proxies(s3p, mlp)
        finally:
            mlflow.set_tracking_uri(stack.mlflow_tracking_uri)  # the fluent API pointed at a proxy


def run(
    data: Data, models: list[str], settings: Settings, s3: Any, mp: pytest.MonkeyPatch
) -> Outcome:
    """Run the real flow for a fresh model over the shared window; read back its S3 record."""
    from flows.monitor import monitor_and_retrain

    name = unique("fault-model")
    models.append(name)
    folder = data.root / name
    write_config(folder, config_dict(name, data.bucket, data.source.prefix))
    mp.setenv("RETRAIN_CONFIG_DIR", str(folder))
    state = monitor_and_retrain(name, as_of=AS_OF, return_state=True)
    flow_run_id = str(state.state_details.flow_run_id)
    record = get_json(s3, settings.loop_bucket, decision_key(name, "auto", AS_OF, flow_run_id))
    error = state.result(raise_on_failure=False) if state.is_failed() else None
    assert error is None or isinstance(error, BaseException), error
    return Outcome(name, state.is_failed(), error, record)


def outcome_of(record: dict[str, Any]) -> dict[str, Any]:
    """The parts of a record faults must not change."""
    return {
        "status": record["status"],
        "decision": (record["decision"]["action"], record["decision"]["reasons"]),
        "gate": record["gate"]["promote"],
        "registered_version": record["registered_version"],
        "promoted": record["promoted"],
    }


@pytest.fixture(scope="module")
def baseline(stack: Settings, s3: Any, data: Data, models: list[str]) -> dict[str, Any]:
    """The outcome with no faults (and no proxies)."""
    with pytest.MonkeyPatch.context() as mp:
        outcome = run(data, models, stack, s3, mp)
    assert not outcome.failed, outcome.error
    assert outcome.record is not None
    expected = outcome_of(outcome.record)
    assert expected["promoted"] is True and expected["registered_version"] == "1", expected
    return expected


PARTITION = r"/dt=2024-01-17/part-0000\.parquet$"
LIST_DATA = r"\?list-type=2&prefix=data-"
PUT_RECORD = r"^/retrain-loop/decisions/.*\.json$"

# name -> (service, method, path regex, fault, how many consecutive matches to break)
TRANSIENT: dict[str, tuple[str, str, str, Fault, int]] = {
    "s3_get_partition_500": ("s3", "GET", PARTITION, Fault.error(500), 2),
    "s3_get_partition_reset": ("s3", "GET", PARTITION, Fault.reset(), 2),
    "s3_list_partitions_slowdown": ("s3", "GET", LIST_DATA, Fault.slow_down(), 1),
    "s3_put_record_503": ("s3", "PUT", PUT_RECORD, Fault.error(503), 2),
    "s3_put_record_answer_lost": ("s3", "PUT", PUT_RECORD, Fault.reset_after(), 1),
    "mlflow_create_run_500": ("mlflow", "POST", CREATE_RUN, Fault.error(500, "mlflow"), 2),
    "mlflow_log_model_reset": ("mlflow", "PUT", LOG_ARTIFACT, Fault.reset(), 1),
    "mlflow_create_version_503": ("mlflow", "POST", CREATE_VERSION, Fault.error(503, "mlflow"), 2),
    "mlflow_create_version_reset": ("mlflow", "POST", CREATE_VERSION, Fault.reset(), 1),
    "mlflow_create_version_answer_lost": ("mlflow", "POST", CREATE_VERSION, Fault.reset_after(), 1),
    "mlflow_set_alias_500": ("mlflow", "POST", SET_ALIAS, Fault.error(500, "mlflow"), 2),
    "mlflow_set_alias_hangs_past_timeout": (
        "mlflow",
        "POST",
        SET_ALIAS,
        Fault.latency(MLFLOW_TIMEOUT + 1.5),
        1,
    ),
    "latency_s3_get_and_mlflow_alias": ("both", "*", "", Fault.latency(0.8), 2),
}


@pytest.mark.parametrize("case", TRANSIENT, ids=list(TRANSIENT))
def test_transient_fault_is_retried_to_the_same_outcome(
    case: str,
    proxies: Proxies,
    baseline: dict[str, Any],
    stack: Settings,
    s3: Any,
    mlflow: Any,
    data: Data,
    models: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service, method, path, fault, count = TRANSIENT[case]
    if service == "both":
        rules = [
            proxies.s3.add("GET", PARTITION, fault, count=count),
            proxies.mlflow.add("POST", SET_ALIAS, fault, count=1),
        ]
    else:
        rules = [getattr(proxies, service).add(method, path, fault, count=count)]

    outcome = run(data, models, stack, s3, monkeypatch)

    assert not outcome.failed, outcome.error
    assert outcome.record is not None
    assert outcome_of(outcome.record) == baseline
    assert [rule.fired for rule in rules] == [rule.count for rule in rules]  # all injected
    assert_registry_consistent(mlflow, outcome.name, "1")
    if "log_model" in case:  # the retried upload stored the whole model, not a truncated one
        from retrain.registry.model_io import load_sklearn_model

        monkeypatch.undo()  # back to the real endpoints
        load_sklearn_model(f"models:/{outcome.name}@champion")


def assert_registry_consistent(mlflow: Any, name: str, champion: str | None) -> None:
    """One version per window, the alias where expected, and the champion fully tagged."""
    versions = mlflow.search_model_versions(f"name='{name}'")
    assert len(versions) <= 1, [(v.version, v.run_id) for v in versions]
    current = registry.get_champion(mlflow, name)
    assert (current.version if current else None) == champion
    if current is not None:
        tags = current.tags
        for key in ("as_of", "config_hash", "holdout_score", "gate", "previous_champion"):
            assert key in tags, (key, tags)
        assert registry.champion_history(mlflow, name)[-1]["version"] == champion


AWS_SECRET = "aws-SECRET-fault-3c1d"
WEBHOOK = "http://127.0.0.1:9/hook-SECRET-fault-8e2a"

# name -> (service, method, path regex, fault, message naming service + operation, champion after)
PERSISTENT: dict[str, tuple[str, str, str, Fault, str, str | None]] = {
    "s3_unreachable": ("s3", "HEAD", r"^/", Fault.reset(), "S3 HeadBucket {bucket}", None),
    "s3_get_partition": (
        "s3",
        "GET",
        PARTITION,
        Fault.error(500),
        "S3 GetObject s3://{bucket}/{prefix}/dt=2024-01-17/part-0000.parquet failed",
        None,
    ),
    "mlflow_log_model": (
        "mlflow",
        "PUT",
        LOG_ARTIFACT,
        Fault.reset(),
        "MLflow log model artifacts to run",
        None,
    ),
    "mlflow_create_version": (
        "mlflow",
        "POST",
        CREATE_VERSION,
        Fault.error(503, "mlflow"),
        "MLflow register model version of {name} failed",
        None,
    ),
    "mlflow_set_alias": (
        "mlflow",
        "POST",
        SET_ALIAS,
        Fault.error(500, "mlflow"),
        "MLflow move alias champion of {name} to v1 failed",
        None,
    ),
    "s3_put_record": (
        "s3",
        "PUT",
        PUT_RECORD,
        Fault.error(503),
        "S3 PutObject s3://{loop_bucket}/decisions/{name}/auto/2024-01-21/",
        "1",
    ),
}


@pytest.mark.parametrize("case", PERSISTENT, ids=list(PERSISTENT))
def test_persistent_fault_fails_cleanly_naming_service_and_operation(
    case: str,
    proxies: Proxies,
    stack: Settings,
    s3: Any,
    mlflow: Any,
    data: Data,
    models: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service, method, path, fault, needle, champion = PERSISTENT[case]
    rule = getattr(proxies, service).add(method, path, fault, count=None)
    monkeypatch.setenv("RETRAIN_AWS_SECRET_ACCESS_KEY", AWS_SECRET)  # LocalStack takes any
    monkeypatch.setenv("RETRAIN_WEBHOOK_URL", WEBHOOK)

    outcome = run(data, models, stack, s3, monkeypatch)

    name = outcome.name
    message = needle.format(
        bucket=data.bucket, prefix=data.source.prefix, name=name, loop_bucket=stack.loop_bucket
    )
    assert rule.fired >= 2  # the clients retried before giving up
    assert outcome.failed
    assert isinstance(outcome.error, ServiceError), outcome.error
    assert message in str(outcome.error)
    for secret in (AWS_SECRET, "hook-SECRET"):
        assert secret not in str(outcome.error)
        assert secret not in json.dumps(outcome.record)
    assert_registry_consistent(mlflow, name, champion)
    records = [
        get_json(s3, stack.loop_bucket, key)
        for key in object_keys(s3, stack.loop_bucket, f"decisions/{name}/")
    ]
    assert not [r for r in records if r["status"] == "completed"]  # none claims success
    if case == "s3_unreachable":  # refused before any side effect
        assert outcome.record is None
        assert mlflow.get_experiment_by_name(f"retrain-loop/{name}") is None
    elif case == "s3_put_record":  # promoted, then the record could not be written
        assert outcome.record is None
        runs = mlflow.search_runs(
            [mlflow.get_experiment_by_name(f"retrain-loop/{name}").experiment_id]
        )
        assert [(r.data.tags["status"], r.info.status) for r in runs] == [("failed", "RUNNING")]
        assert message in runs[0].data.tags["error"]
    else:
        assert outcome.record is not None
        assert outcome.record["status"] == "failed" and outcome.record["promoted"] is False
        assert message in outcome.record["error"]
        run_info = mlflow.get_run(outcome.record["mlflow_run_id"])
        assert (run_info.info.status, run_info.data.tags["status"]) == ("FAILED", "failed")
        registered = outcome.record["registered_version"]
        assert registered == ("1" if case == "mlflow_set_alias" else None)
        if registered:  # registered, fully tagged, not champion
            assert mlflow.get_model_version(name, registered).tags["gate"] == "promote"
