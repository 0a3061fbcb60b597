"""A pending approval request survives `make down && make up` (the stack package's own
functions, as tests/integration/test_restart.py): afterwards it is still pending and answerable,
and the answer moves the champion and reaches the decision record."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from flows.approval import approve
from retrain.data import s3 as data
from retrain.registry import approval
from retrain.registry import versions as registry
from retrain.registry.model_io import log_sklearn_model
from retrain.settings import Settings
from stack import cli
from tests.helpers import config_dict, typed_record, write_config

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.serial]


def test_a_pending_request_survives_a_restart_and_is_answered(
    stack: Settings, s3: Any, mlflow: Any, tmp_path: Path
) -> None:
    import mlflow as mlflow_api

    name = f"restart_approval_{uuid.uuid4().hex[:8]}"
    raw = {**config_dict(name, stack.data_bucket, f"tests/{name}"), "mode": "approval"}
    write_config(tmp_path, raw)
    x = np.random.default_rng(3).normal(size=(200, 3))
    model = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    run = mlflow.create_run(mlflow_api.set_experiment("stack-tests").experiment_id)
    source = log_sklearn_model(mlflow, run.info.run_id, model)
    mlflow.create_registered_model(name)
    v1 = mlflow.create_model_version(name, source, run_id=run.info.run_id).version
    registry.promote(mlflow, name, str(v1), None, "first", "test")
    v2 = str(mlflow.create_model_version(name, source, run_id=run.info.run_id).version)
    key = f"decisions/{name}/approval/2013-07-01/{uuid.uuid4().hex}.json"
    record = {
        "model": name,
        "as_of": "2013-07-01",
        "mode": "approval",
        "metric": "roc_auc",
        "mlflow_run_id": run.info.run_id,
        "registered_version": v2,
        "promoted": False,
        "approval": {"state": "pending", "version": v2},
        "status": "completed",
        "decision": {"action": "retrain", "reasons": ["persistent_drift"], "details": {}},
    }
    data.put_json(s3, stack.loop_bucket, key, typed_record(record).dump())
    uri = data.s3_uri(stack.loop_bucket, key)
    expires = approval.expiry(datetime.now(UTC), 2.0)
    approval.open_request(mlflow, name, v2, str(v1), uri, expires)
    try:
        cli.down()
        assert not cli.status()
        cli.up()
        pending = approval.pending(mlflow, name)
        assert pending is not None and (pending.version, pending.expires_at) == (v2, expires)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("RETRAIN_CONFIG_DIR", str(tmp_path))
            answer = approve(name, "approve", "alice", "after the restart")
        assert answer["state"] == "approved"
        assert registry.get_champion(mlflow, name).version == v2  # type: ignore[union-attr]
        stored = data.get_json(s3, stack.loop_bucket, key)
        assert stored["approval"]["by"] == "alice" and stored["promoted_version"] == v2
    finally:
        cli.up()
        mlflow.delete_registered_model(name)
