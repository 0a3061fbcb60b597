"""Every run's decision record (in S3 too) and its Prefect summary carry each step's seconds."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from flows.monitor import monitor_and_retrain
from retrain.budget import TOTAL, UNTIMED, cost_table
from retrain.config import load_config
from retrain.data import s3 as data
from retrain.registry import versions as registry
from retrain.registry.version_cache import version_cache
from retrain.settings import Settings
from tests.helpers import write_config
from tests.streams import day, stream_config, write_stream

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BOOTSTRAP_STEPS = {"find_champion", "scan_window", "validate_data", "load_window",
                   "hold_tournament", "gate_challenger", "log_challenger", "register_challenger",
                   "promote_challenger", "start_run", "load_history", "decide_action"}  # fmt: skip
MONITOR_STEPS = {"predict_champion", "measure_drift", "estimate_performance", "evaluate_champion"}


def _summary(flow_run_id: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async def read() -> list[Any]:
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])
                )
            )

    found = [a for a in asyncio.run(read()) if a.type == "markdown"]
    assert found, f"no summary artifact for flow run {flow_run_id}"
    return str(found[0].data)


def _check(seconds: dict[str, float], steps: set[str]) -> None:
    assert steps <= set(seconds), sorted(steps - set(seconds))
    assert all(v >= 0 for v in seconds.values()), seconds
    steps = sum(v for k, v in seconds.items() if k not in (TOTAL, UNTIMED))
    overlap = min(seconds.get("measure_drift", 0.0), seconds.get("estimate_performance", 0.0))
    assert steps - overlap <= seconds[TOTAL] + 0.01, seconds
    assert seconds[UNTIMED] == pytest.approx(max(0.0, seconds[TOTAL] - steps), abs=0.01)


def test_records_and_summaries_carry_seconds_per_step(
    stack: Settings, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"budget_{uuid.uuid4().hex[:8]}"
    raw = stream_config(name, stack.data_bucket, f"tests/streams/{name}")
    write_config(tmp_path, raw)
    monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(tmp_path))
    write_stream(
        s3, load_config(tmp_path / "model.yaml").data, 40, lambda i: "A" if i < 30 else "B"
    )

    boot = monitor_and_retrain(name, as_of=day(25))
    assert boot["promoted"], boot["decision"]
    _check(boot["seconds"], BOOTSTRAP_STEPS)
    stored = data.get_json(s3, stack.loop_bucket, boot["record_key"])
    assert stored["seconds"] == boot["seconds"]  # the record as written, total stamped

    week = monitor_and_retrain(name, as_of=day(35))
    _check(week["seconds"], MONITOR_STEPS | {"find_champion", "scan_window"})
    summary = _summary(week["flow_run_id"])
    assert "## Seconds per step" in summary and "| scan_window |" in summary, summary
    table = cost_table([boot["seconds"], week["seconds"]])
    assert table[-1].step == TOTAL and table[-1].runs == 2


def test_the_champion_loads_once_per_version_in_a_process(
    stack: Settings, s3: Any, mlflow: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect import flow

    from tasks.registry import find_champion

    name = f"cache_{uuid.uuid4().hex[:8]}"
    raw = stream_config(name, stack.data_bucket, f"tests/streams/{name}")
    write_config(tmp_path, raw)
    monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(tmp_path))
    config = load_config(tmp_path / "model.yaml")
    write_stream(s3, config.data, 30, lambda i: "A")
    assert monitor_and_retrain(name, as_of=day(25))["promoted_version"] == "1"
    cache = version_cache()

    @flow(name="cache-probe")  # a task logs to the API only inside a flow run
    def probe() -> tuple[Any, Any, int]:
        first = find_champion(stack, config)
        hits = cache.hits
        return first, find_champion(stack, config), hits

    first, again, hits = probe()
    assert cache.hits == hits + 1
    assert again is not None and first is not None and again.model is first.model
    run_id = mlflow.get_model_version(name, "1").run_id
    assert (name, "1", run_id, "state") in cache._items
    assert registry.version_runs(mlflow, name, ["1"]) == {"1": run_id}
    with pytest.raises(Exception, match="has no version 7"):
        registry.version_runs(mlflow, name, ["1", "7"])
