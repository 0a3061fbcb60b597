"""PostgreSQL SIGKILLed in the middle of a run, behind both the MLflow and the Prefect server.

The kill lands right before the run registers its challenger (the MLflow write that matters),
and PostgreSQL comes back OUTAGE seconds later through the stack's own `up`. Meanwhile both
servers answer errors; the MLflow client and the registration task retry, Prefect's client
retries its state and log calls. The run then either completes, or fails with an error naming
the service and the operation; after a rerun the registry holds one fully tagged champion,
the alias history ends with it, and every run left exactly one decision record.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from retrain.config import DataSource
from retrain.data.s3 import get_json
from retrain.registry import versions as registry
from retrain.settings import Settings
from stack import cli, process
from tests.helpers import (
    AS_OF,
    DAYS,
    config_dict,
    empty_bucket,
    object_keys,
    unique,
    window_days,
    write_config,
    write_days,
)
from tests.integration.test_faults import assert_registry_consistent

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.serial]
OUTAGE = 8.0  # seconds PostgreSQL stays dead


def _kill_before(original: Callable[..., Any], events: dict[str, float]) -> Callable[..., Any]:
    """`original`, preceded (on its first call only) by a SIGKILL of PostgreSQL and a timer
    that starts it again after OUTAGE seconds."""

    def restart() -> None:
        cli.up(["postgres"])
        events["restarted"] = time.monotonic()

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if "killed" not in events:
            assert process.kill(cli.service("postgres")), "PostgreSQL was not running"
            events["killed"] = time.monotonic()
            threading.Timer(OUTAGE, restart).start()
        return original(*args, **kwargs)

    return wrapper


def test_postgres_killed_mid_run_then_back_leaves_the_registry_consistent(
    stack: Settings, s3: Any, mlflow: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.monitor import monitor_and_retrain

    name = unique("pgkill-model")
    source = DataSource(bucket=stack.data_bucket, prefix=unique("data"), format="parquet")
    write_days(s3, source, window_days(AS_OF, DAYS))
    write_config(tmp_path, config_dict(name, source.bucket, source.prefix))
    monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(tmp_path))
    events: dict[str, float] = {}
    monkeypatch.setattr(
        registry, "register_version", _kill_before(registry.register_version, events)
    )
    try:
        state = monitor_and_retrain(name, as_of=AS_OF, return_state=True)
        deadline = time.monotonic() + 180
        while "restarted" not in events and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "killed" in events and "restarted" in events, events
        monkeypatch.undo()
        runs = 1
        if not state.is_completed():
            message = state.message or ""
            assert "MLflow" in message or "Prefect" in message, message
            runs += 1
            monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(tmp_path))
            rerun = monitor_and_retrain(name, as_of=AS_OF, return_state=True)
            assert rerun.is_completed(), rerun.message
        assert_registry_consistent(mlflow, name, "1")
        records = [
            get_json(s3, stack.loop_bucket, key)
            for key in object_keys(s3, stack.loop_bucket, f"decisions/{name}/")
        ]
        assert len({r["flow_run_id"] for r in records}) == len(records) == runs
        assert [r["registered_version"] for r in records if r["promoted"]] == ["1"]
    finally:
        if mlflow.search_registered_models(f"name='{name}'"):
            mlflow.delete_registered_model(name)
        for prefix in (f"decisions/{name}/", f"reports/{name}/"):
            empty_bucket(s3, stack.loop_bucket, prefix)
        empty_bucket(s3, source.bucket, f"{source.prefix}/")
