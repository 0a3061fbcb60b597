"""Security: secrets stay out of every record, models load only trusted types, S3 keys cannot
climb out of their folder, and values from data are escaped in the markdown the loop writes."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from retrain.config import DataSource
from retrain.data.s3 import Window, list_partitions, partition_prefix, write_partition
from retrain.registry.model_io import UntrustedModelError, load_sklearn_model, log_sklearn_model
from retrain.settings import Settings
from retrain.sinks.reporting import decision_key, markdown, report_prefix
from tests.helpers import (
    AS_OF,
    DAYS,
    FIRST_DAY,
    day_frame,
    empty_bucket,
    object_keys,
    put_parquet,
    scenario,
    typed_record,
    unique,
    window_days,
    write_days,
)

pytestmark = pytest.mark.integration

AWS_SECRET = f"test-SECRET-8f3a{uuid.uuid4().hex[:6]}"
WEBHOOK_TOKEN = f"SECRET-TOKEN-{uuid.uuid4().hex[:6]}"
UNREACHABLE_WEBHOOK = f"https://hooks.example.invalid/{WEBHOOK_TOKEN}"
SCRIPT = "<script>alert(1)</script>"
PIPE_AND_BREAK = "a|b\n# not a heading"
HOSTILE_COLUMN = "note|<b>x</b>\n# not a heading"


# ---------------------------------------------------------------- secrets never leak


class _Webhook(BaseHTTPRequestHandler):
    """A local Slack-compatible webhook that keeps what it is sent."""

    received: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received.append((self.path, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:  # keep the test output quiet
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    """A reachable webhook URL whose path is the secret token."""
    _Webhook.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/{WEBHOOK_TOKEN}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def bucket(s3: Any) -> Iterator[str]:
    name = unique("security")
    s3.create_bucket(Bucket=name)
    yield name
    empty_bucket(s3, name)
    s3.delete_bucket(Bucket=name)


def _hostile_rows(day: date) -> pd.DataFrame:
    """A few rows (under the unseen-category limit) whose category values are markup."""
    frame = day_frame(day, rows=4, seed=day.toordinal() + 1)
    frame["event_id"] = [f"hostile-{day:%Y%m%d}-{i}" for i in range(len(frame))]
    frame["segment"] = [SCRIPT, PIPE_AND_BREAK, SCRIPT, "b"]
    return frame.assign(**{HOSTILE_COLUMN: "an extra column with a hostile name"})


def _prefect_records(flow_run_id: str) -> tuple[str, list[str]]:
    """Everything the Prefect server keeps of a flow run: logs, artifacts, the runs themselves."""
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    logs, artifacts, runs = asyncio.run(_read_prefect(uuid.UUID(flow_run_id)))
    assert logs and artifacts, f"flow run {flow_run_id} left no logs or artifacts to scan"
    text = "\n".join([*logs, *(a.model_dump_json() for a in artifacts), *runs])
    return text, [str(a.data) for a in artifacts if a.type == "markdown"]


async def _read_prefect(run_id: uuid.UUID) -> tuple[list[str], list[Any], list[str]]:
    from prefect import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
        LogFilter,
        LogFilterFlowRunId,
    )

    async with get_client() as client:
        logs = await client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])), limit=200
        )
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
        flow_run = await client.read_flow_run(run_id)
        task_runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
        )
    runs = [flow_run.model_dump_json(), *(t.model_dump_json() for t in task_runs)]
    return [log.message for log in logs], artifacts, runs


def _mlflow_records(mlflow: Any, name: str) -> str:
    """Params, tags, metric names and descriptions of every run, version and the model."""
    experiment = mlflow.get_experiment_by_name(f"retrain-loop/{name}")
    parts = []
    for run in mlflow.search_runs([experiment.experiment_id]):
        parts += [json.dumps(run.data.params), json.dumps(run.data.tags)]
        parts += [json.dumps(sorted(run.data.metrics)), run.info.run_name or ""]
    for version in mlflow.search_model_versions(f"name='{name}'"):
        parts += [json.dumps(version.tags), version.description or "", version.source or ""]
    model = mlflow.get_registered_model(name)
    parts += [json.dumps(model.tags), model.description or "", json.dumps(model.aliases)]
    return "\n".join(parts)


def _s3_records(s3: Any, bucket: str, name: str) -> str:
    """Every decision record and drift report (HTML and JSON) the loop wrote for the model."""
    keys = [k for p in ("decisions", "reports") for k in object_keys(s3, bucket, f"{p}/{name}/")]
    assert any(k.endswith(".html") for k in keys), keys  # the drift reports are scanned too
    bodies = [s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys]
    return "\n".join(b.decode("utf-8", errors="replace") for b in bodies)


def _assert_no_secret(where: str, text: str) -> None:
    for secret in (AWS_SECRET, WEBHOOK_TOKEN, "hooks.example.invalid"):
        assert secret not in text, f"{secret!r} leaked into {where}"


@pytest.mark.slow
def test_secrets_never_reach_logs_artifacts_mlflow_or_records(
    stack: Settings,
    s3: Any,
    mlflow: Any,
    bucket: str,
    webhook: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from flows.monitor import monitor_and_retrain

    caplog.set_level("INFO")
    name = unique("security-model")
    case = scenario(tmp_path, name, bucket)
    write_days(s3, case.source, [FIRST_DAY + timedelta(days=i) for i in range(DAYS)])
    monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(case.config_dir))
    monkeypatch.setenv("RETRAIN_AWS_SECRET_ACCESS_KEY", AWS_SECRET)  # LocalStack accepts any
    runs = []
    try:
        # 1. no champion: train and promote; the webhook is unreachable (errors must not leak)
        monkeypatch.setenv("RETRAIN_WEBHOOK_URL", UNREACHABLE_WEBHOOK)
        first = monitor_and_retrain(name, as_of=AS_OF - timedelta(days=1), return_state=True)
        runs.append(first)
        assert first.is_completed(), first
        # 2. hostile values in the window, forced retrain: drift reports, gate, a new version
        for day in window_days()[:3]:
            put_parquet(s3, case.source, day, _hostile_rows(day), "part-0001")
        monkeypatch.setenv("RETRAIN_WEBHOOK_URL", webhook)
        second = monitor_and_retrain(name, as_of=AS_OF, force_retrain=True, return_state=True)
        runs.append(second)
        assert second.is_completed(), second
        record = second.result()
        assert record["registered_version"] == "2"
        assert record["drift"] is not None

        assert _Webhook.received, "the reachable webhook got no notification"
        sent = b"\n".join(body for _, body in _Webhook.received).decode()
        _assert_no_secret("webhook payloads", sent)
        out, err = capfd.readouterr()
        assert "decision:" in out + err + caplog.text
        _assert_no_secret("console output", out + err)
        _assert_no_secret("Python logs", caplog.text)
        markdowns: list[str] = []
        texts: list[str] = []
        for state in runs:
            text, mds = _prefect_records(str(state.state_details.flow_run_id))
            _assert_no_secret("Prefect logs, artifacts or runs", text)
            markdowns += mds
            texts.append(text)
        assert "notif" in texts[0].lower()  # the unreachable webhook was tried and reported
        _assert_no_secret("MLflow params, tags or descriptions", _mlflow_records(mlflow, name))
        _assert_no_secret(
            "S3 decision records or drift reports", _s3_records(s3, stack.loop_bucket, name)
        )

        hostile = markdowns[-1]
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile
        assert "<script>" not in hostile and "<b>" not in hostile
        assert "note\\|&lt;b&gt;x&lt;/b&gt; \\# not a heading" in hostile  # the column cell
        assert not re.search(r"^# not a heading", hostile, re.MULTILINE)
    finally:
        if mlflow.search_registered_models(f"name='{name}'"):
            mlflow.delete_registered_model(name)
        for prefix in (f"decisions/{name}/", f"reports/{name}/"):
            empty_bucket(s3, stack.loop_bucket, prefix)


# ---------------------------------------------------------------- trusted model types only

SIDE_EFFECTS: list[str] = []


class HostileEstimator(ClassifierMixin, BaseEstimator):
    """A custom class: skops must not be talked into building it."""

    def fit(self, x: Any, y: Any) -> HostileEstimator:
        self.classes_ = np.unique(y)
        return self

    def predict(self, x: Any) -> Any:
        return np.zeros(len(x), dtype=int)

    def __setstate__(self, state: dict[str, Any]) -> None:
        SIDE_EFFECTS.append("HostileEstimator.__setstate__ ran")
        self.__dict__.update(state)


def _fitted_hostile() -> Any:
    x = np.random.default_rng(0).normal(size=(40, 2))
    return make_pipeline(HostileEstimator()).fit(x, (x[:, 0] > 0).astype(int))


def test_skops_model_with_an_untrusted_type_is_refused(mlflow: Any, tmp_path: Path) -> None:
    import mlflow.sklearn as mlflow_sklearn
    import skops.io

    model = _fitted_hostile()
    hostile_type = f"{__name__}.HostileEstimator"
    assert hostile_type in skops.io.get_untrusted_types(data=skops.io.dumps(model))
    # The MLmodel file itself claims the type is trusted: the loader must not believe it.
    local = tmp_path / "model"
    mlflow_sklearn.save_model(
        model, str(local), serialization_format="skops", skops_trusted_types=[hostile_type]
    )
    run = mlflow.create_run(_experiment(mlflow))
    mlflow.log_artifacts(run.info.run_id, str(local), "model")
    SIDE_EFFECTS.clear()

    with pytest.raises(UntrustedModelError, match=re.escape(hostile_type)):
        load_sklearn_model(f"runs:/{run.info.run_id}/model")
    assert SIDE_EFFECTS == []
    with pytest.raises(UntrustedModelError, match="outside the allow-list"):
        log_sklearn_model(mlflow, run.info.run_id, model, path="refused")
    mlflow.set_terminated(run.info.run_id)


def test_pickled_model_is_refused(mlflow: Any, tmp_path: Path) -> None:
    import mlflow.sklearn as mlflow_sklearn

    x = np.random.default_rng(0).normal(size=(40, 2))
    model = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    local = tmp_path / "model"
    mlflow_sklearn.save_model(model, str(local), serialization_format="cloudpickle")
    run = mlflow.create_run(_experiment(mlflow))
    mlflow.log_artifacts(run.info.run_id, str(local), "model")

    with pytest.raises(UntrustedModelError, match="not a skops model, refused"):
        load_sklearn_model(f"runs:/{run.info.run_id}/model")
    mlflow.set_terminated(run.info.run_id)


def _experiment(mlflow: Any) -> str:
    name = "security-tests"
    experiment = mlflow.get_experiment_by_name(name)
    return experiment.experiment_id if experiment else mlflow.create_experiment(name)


# ---------------------------------------------------------------- S3 keys stay in their folder


def test_keys_that_climb_out_of_a_partition_are_ignored(s3: Any, bucket: str) -> None:
    source = DataSource(bucket=bucket, prefix=unique("keys"))
    day = date(2024, 1, 16)
    good = write_partition(s3, source, day, day_frame(day, rows=5))
    folder = partition_prefix(source, day)
    for name in ("../../escape.parquet", "./dot.parquet", "sub//empty-segment.parquet"):
        s3.put_object(Bucket=bucket, Key=folder + name, Body=b"not read")
    assert any(".." in k for k in object_keys(s3, bucket, folder))  # S3 keeps the key as is

    assert list_partitions(s3, source, Window(day, day + timedelta(days=1))) == {day: [good]}


@pytest.mark.parametrize("model", ["a..", "a.-_b", "m" * 63])
def test_record_and_report_keys_stay_below_their_prefix(model: str) -> None:
    for key in (
        decision_key(model, "auto", date(2024, 1, 21), "run-id"),
        report_prefix(model, date(2024, 1, 21), "run-id"),
    ):
        assert key.split("/")[1] == model
        assert not {"", ".", ".."} & set(key.rstrip("/").split("/"))


# ---------------------------------------------------------------- markdown escapes data


def _record(problems: list[dict[str, Any]], error: str | None = None) -> dict[str, Any]:
    return {
        "model": "m",
        "as_of": "2024-01-21",
        "mode": "auto",
        "metric": "roc_auc",
        "decision": {"action": "skip", "reasons": ["invalid_data"], "details": {}},
        "window": {"start": "2024-01-16", "end": "2024-01-21", "rows": 10, "labelled_rows": 0},
        "validation": {"valid": False, "reasons": [], "problems": problems},
        "error": error,
    }


def _cells(row: str) -> list[str]:
    return re.split(r"(?<!\\)\|", row)[1:-1]


@pytest.mark.parametrize(
    "value",
    [SCRIPT, "a|b", PIPE_AND_BREAK, "[click](javascript:alert(1))", "![x](http://e/x.png)"],
)
def test_values_from_data_are_escaped_in_markdown(value: str) -> None:
    problem = {"severity": "error", "code": "unseen_categories", "column": value, "message": value}
    record = typed_record(_record([problem], error=f"DataError: {value}"))
    text = markdown(record, {"MLflow run": "http://m/"})

    rows = [line for line in text.splitlines() if "unseen" in line]
    assert len(rows) == 1 and len(_cells(rows[0])) == 4, rows  # one row, four cells
    assert "<script>" not in text
    body = text.split("## Links")[0]
    assert not re.search(r"(?<!\\)\]\(", body)  # no live link
    assert not re.search(r"(?<!\\)!\[", body)  # no live image
    assert not any(line.startswith("# not") for line in text.splitlines())
