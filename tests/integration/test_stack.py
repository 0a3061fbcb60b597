"""The three real services, reached through the project's own client factory."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from retrain.registry.model_io import load_sklearn_model, log_sklearn_model
from retrain.settings import Settings

pytestmark = pytest.mark.integration


def test_s3_round_trip_through_localstack(s3: Any, stack: Settings) -> None:
    key = f"tests/round-trip/{uuid.uuid4().hex}.bin"
    body = np.random.default_rng(0).bytes(256 * 1024)
    s3.put_object(Bucket=stack.loop_bucket, Key=key, Body=body)
    try:
        assert s3.get_object(Bucket=stack.loop_bucket, Key=key)["Body"].read() == body
        endpoint = s3.meta.endpoint_url
        assert endpoint.rstrip("/") == (stack.s3_endpoint_url or "").rstrip("/")
    finally:
        s3.delete_object(Bucket=stack.loop_bucket, Key=key)


def test_model_registered_on_mlflow_lands_in_s3_and_loads_by_alias(
    mlflow: Any, s3: Any, stack: Settings
) -> None:
    import mlflow as mlflow_api

    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    name = f"stack-test-{uuid.uuid4().hex[:8]}"

    experiment = mlflow_api.set_experiment("stack-tests")
    run = mlflow.create_run(experiment.experiment_id)
    source = log_sklearn_model(mlflow, run.info.run_id, model)
    mlflow.create_registered_model(name)
    version = mlflow.create_model_version(name, source, run_id=run.info.run_id).version
    mlflow.set_registered_model_alias(name, "champion", version)

    # the bucket keeps every run's artifacts across restarts: list this run's, past page one
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=stack.artifacts_bucket, Prefix=f"{experiment.experiment_id}/{run.info.run_id}/"
    )
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    model_keys = [k for k in keys if f"/{run.info.run_id}/artifacts/model/" in k]
    assert any(k.endswith("/model.skops") for k in model_keys), keys
    assert not any(k.endswith((".pkl", ".pickle")) for k in model_keys)

    loaded = load_sklearn_model(f"models:/{name}@champion")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert mlflow.get_model_version_by_alias(name, "champion").version == str(version)
    mlflow.delete_registered_model(name)


def test_flow_run_is_recorded_by_the_prefect_server(stack: Settings) -> None:
    from prefect import flow, get_client, task
    from prefect.client.schemas.objects import StateType

    @task
    def double(x: int) -> int:
        return 2 * x

    @flow(name="stack-smoke")
    def smoke(n: int) -> int:
        return sum(double.map(range(n)).result())

    state = smoke(4, return_state=True)
    assert state.result() == 12
    flow_run_id = state.state_details.flow_run_id

    async def read() -> Any:
        async with get_client() as client:
            assert client.api_url.host == "127.0.0.1"
            return await client.read_flow_run(flow_run_id)

    import asyncio

    run = asyncio.run(read())
    assert run.state.type == StateType.COMPLETED
    assert run.name
