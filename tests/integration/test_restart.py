"""State survives `make down && make up` (an S3 object, a registered model, a Prefect flow run),
and a SIGKILLed LocalStack loses only the S3 writes since the last periodic save.

The stack is stopped and started through the stack package's own functions (what `make down` and
`make up` call), so the tests after this one find it running again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from retrain.registry.model_io import load_sklearn_model, log_sklearn_model
from retrain.settings import Settings
from stack import cli, process, s3_snapshot
from stack.base import stack_settings
from tests.helpers import object_keys

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.serial]


def _flow_run() -> Any:
    from prefect import flow

    @flow(name="restart-probe")
    def probe(n: int) -> int:
        return n + 1

    state = probe(41, return_state=True)
    assert state.result() == 42
    return state.state_details.flow_run_id


def _read_flow_run(flow_run_id: Any) -> Any:
    from prefect import get_client

    async def read() -> Any:
        async with get_client() as client:
            return await client.read_flow_run(flow_run_id)

    return asyncio.run(read())


# A process that takes the one slot of a limit with a 60 s lease (Prefect's minimum), says so, and
# waits to be SIGKILLed: a run killed while it holds its model's lock.
_HOLDER = """
import sys, time
from prefect.concurrency.sync import concurrency
with concurrency(sys.argv[1], occupy=1, strict=True, lease_duration=60, timeout_seconds=60):
    print("held", flush=True)
    time.sleep(3600)
"""


def _active_slots(name: str) -> int:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return int(client.read_global_concurrency_limit_by_name(name).active_slots)


def _delete_limit(name: str) -> None:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        client.delete_global_concurrency_limit_by_name(name)


def _kill_while_holding(name: str) -> None:
    from prefect import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, name], stdout=subprocess.PIPE, text=True, env=os.environ
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert _active_slots(name) == 1


def test_down_then_up_keeps_s3_objects_the_registry_and_flow_runs(
    stack: Settings, s3: Any, mlflow: Any
) -> None:
    import mlflow as mlflow_api

    key = f"tests/restart/{uuid.uuid4().hex}.bin"
    body = np.random.default_rng(7).bytes(64 * 1024)
    s3.put_object(Bucket=stack.loop_bucket, Key=key, Body=body)
    x = np.random.default_rng(8).normal(size=(200, 3))
    model = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    name = f"restart-test-{uuid.uuid4().hex[:8]}"
    run = mlflow.create_run(mlflow_api.set_experiment("stack-tests").experiment_id)
    source = log_sklearn_model(mlflow, run.info.run_id, model)
    mlflow.create_registered_model(name)
    version = mlflow.create_model_version(name, source, run_id=run.info.run_id).version
    mlflow.set_registered_model_alias(name, "champion", version)
    flow_run_id = _flow_run()
    lock = f"restart-test-lock-{uuid.uuid4().hex[:8]}"
    _kill_while_holding(lock)

    try:
        cli.down()
        assert not cli.status()
        cli.up()

        assert s3.get_object(Bucket=stack.loop_bucket, Key=key)["Body"].read() == body
        assert mlflow.get_model_version_by_alias(name, "champion").version == str(version)
        loaded = load_sklearn_model(f"models:/{name}@champion")  # artifacts back in S3 too
        np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
        assert _read_flow_run(flow_run_id).state.is_completed()
        assert cli.status()
        # the killed holder's lease outlived the restart (leases on disk), so the server frees
        # the slot once it expires: 60 s after it was taken, plus the repossessor's 15 s loop
        deadline = time.monotonic() + 120
        while _active_slots(lock) and time.monotonic() < deadline:
            time.sleep(3)
        assert _active_slots(lock) == 0, "a slot taken before the restart was never freed"
    finally:
        cli.up()  # whatever happened, the tests after this one need the stack
        s3.delete_object(Bucket=stack.loop_bucket, Key=key)
        mlflow.delete_registered_model(name)
        _delete_limit(lock)


def test_localstack_killed_loses_only_writes_since_the_last_save(stack: Settings, s3: Any) -> None:
    """SIGKILL LocalStack (no final save): objects of the last periodic save come back, a write
    after it is lost, and the restarted, empty LocalStack never overwrites the snapshot."""
    settings = stack_settings()
    stamp = settings.s3_snapshot_dir / s3_snapshot.STAMP
    saved_key, lost_key = (f"tests/restart/{uuid.uuid4().hex}-{k}" for k in ("saved", "lost"))
    s3.put_object(Bucket=stack.loop_bucket, Key=saved_key, Body=b"saved")
    written = time.time()
    deadline = time.monotonic() + 3 * settings.s3_snapshot_seconds + 30
    while not (stamp.exists() and stamp.stat().st_mtime > written + 1):
        assert time.monotonic() < deadline, "the s3-saver did not save"
        time.sleep(1)
    s3.put_object(Bucket=stack.loop_bucket, Key=lost_key, Body=b"lost")
    try:
        assert process.kill(cli.service("localstack"))
        cli.up(["localstack"])
        keys = set(object_keys(s3, stack.loop_bucket, "tests/restart/"))
        assert saved_key in keys
        assert lost_key not in keys  # written after the last save: what a crash loses
        assert s3.get_object(Bucket=stack.loop_bucket, Key=saved_key)["Body"].read() == b"saved"
    finally:
        cli.up()
        for key in (saved_key, lost_key):
            s3.delete_object(Bucket=stack.loop_bucket, Key=key)
