"""A run killed (SIGKILL) at each step boundary, then rerun: the registry ends consistent.

Each case runs the real flow for a fresh model in a child process (tests/kill_runner.py) that
kills itself right before or after one step: registering the version, tagging it, moving the
`champion` alias, writing the S3 decision record. The same window is then rerun in-process.
Afterwards `champion` points at a fully tagged version, the window has exactly one version,
the alias history ends with the champion, and the rerun's decision record matches the registry.

What a kill leaves behind and the rerun does not clean: the killed flow run stays "Running" in
Prefect and its MLflow run stays RUNNING (nothing is left alive to report the crash), and the
model's concurrency slot stays taken until its lease expires (300 s); the test frees it as an
operator would (`prefect global-concurrency-limit delete retrain-<model>`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from retrain.config import DataSource
from retrain.data.s3 import get_json
from retrain.registry import versions as registry
from retrain.settings import Settings
from tasks.locks import lock_name
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
from tests.integration.test_faults import assert_registry_consistent

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
PARALLEL = 2  # child runs at a time: 2 cores, mostly import time
LOCK_LEASE_SECONDS = 300  # Prefect's default lease of a `concurrency` slot (tasks/locks.py)

# (point, when) -> what the killed run left: (versions, champion) before the rerun
KILLS: dict[tuple[str, str], tuple[int, str | None]] = {
    ("registration", "before"): (0, None),
    ("registration", "after"): (1, None),
    ("tagging", "after"): (1, None),
    ("alias", "after"): (1, "1"),
    ("record", "after"): (1, "1"),
}


@pytest.fixture(scope="module")
def source(s3: Any) -> Iterator[DataSource]:
    bucket = unique("kills")
    s3.create_bucket(Bucket=bucket)
    source = DataSource(bucket=bucket, prefix=unique("data"), format="parquet")
    write_days(s3, source, [FIRST_DAY + timedelta(days=i) for i in range(DAYS)])
    yield source
    empty_bucket(s3, bucket)
    s3.delete_bucket(Bucket=bucket)


@dataclass(frozen=True)
class Killed:
    """A model whose first run was killed at one step, and what the child printed."""

    name: str
    config_dir: Path
    returncode: int
    output: str
    ended: float  # time.monotonic() when the child was found dead


@pytest.fixture(scope="module")
def killed(
    stack: Settings,
    s3: Any,
    mlflow: Any,
    source: DataSource,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[tuple[str, str], Killed]]:
    """Every kill case's child run, PARALLEL at a time (they only share the data prefix)."""
    cases = {case: unique("kill-model") for case in KILLS}
    folders = {case: tmp_path_factory.mktemp(name) for case, name in cases.items()}
    for case, name in cases.items():
        write_config(folders[case], config_dict(name, source.bucket, source.prefix))
    done: dict[tuple[str, str], Killed] = {}
    pending = list(cases)
    try:
        while pending:
            batch, pending = pending[:PARALLEL], pending[PARALLEL:]
            children = {case: _start(cases[case], folders[case], *case) for case in batch}
            for case, child in children.items():
                out, err = child.communicate(timeout=300)
                ended = time.monotonic()
                done[case] = Killed(cases[case], folders[case], child.returncode, out + err, ended)
        yield done
    finally:
        for name in cases.values():
            if mlflow.search_registered_models(f"name='{name}'"):
                mlflow.delete_registered_model(name)
            for prefix in (f"decisions/{name}/", f"reports/{name}/"):
                empty_bucket(s3, stack.loop_bucket, prefix)
            _free_lock(name)


def _start(name: str, config_dir: Path, point: str, when: str) -> subprocess.Popen[str]:
    env = {**os.environ, "RETRAIN_CONFIG_DIR": str(config_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "tests/kill_runner.py", name, AS_OF.isoformat(), point, when],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _free_lock(name: str) -> int:
    """Delete the model's concurrency limit (the next run recreates it); its active slots."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            active = client.read_global_concurrency_limit_by_name(lock_name(name)).active_slots
        except ObjectNotFound:
            return 0
        client.delete_global_concurrency_limit_by_name(lock_name(name))
    return active


def _records(s3: Any, settings: Settings, name: str) -> list[dict[str, Any]]:
    keys = object_keys(s3, settings.loop_bucket, f"decisions/{name}/")
    return [get_json(s3, settings.loop_bucket, key) for key in keys]


@pytest.mark.parametrize("point,when", KILLS, ids=[f"{w}_{p}" for p, w in KILLS])
def test_killed_run_then_rerun_leaves_the_registry_consistent(
    point: str,
    when: str,
    killed: dict[tuple[str, str], Killed],
    stack: Settings,
    s3: Any,
    mlflow: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.monitor import monitor_and_retrain

    child = killed[(point, when)]
    name = child.name
    assert child.returncode == -signal.SIGKILL, child.output[-4000:]
    assert f"KILLED {when} {point}" in child.output

    versions, champion = KILLS[(point, when)]
    assert len(mlflow.search_model_versions(f"name='{name}'")) == versions
    current = registry.get_champion(mlflow, name)
    assert (current.version if current else None) == champion
    written = _records(s3, stack, name)
    assert len(written) == (1 if (point, when) == ("record", "after") else 0)
    held = _free_lock(name)
    if time.monotonic() - child.ended < LOCK_LEASE_SECONDS - 60:
        assert held == 1  # the dead run still held the model's slot
    else:  # a slow setup: the dead run's lease may have expired and Prefect freed the slot
        assert held in (0, 1)

    monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(child.config_dir))
    record = monitor_and_retrain(name, as_of=AS_OF)

    assert record["status"] == "completed"
    assert_registry_consistent(mlflow, name, "1")
    assert len(mlflow.search_model_versions(f"name='{name}'")) == 1
    if champion is None:  # the rerun did the work the killed run did not finish
        assert record["decision"]["reasons"] == ["no_champion"]
        assert (record["registered_version"], record["promoted"]) == ("1", True)
    else:  # the killed run had already promoted: the rerun sees v1 and does not retrain
        assert record["champion"]["version"] == "1"
        assert record["decision"]["action"] != "retrain", record["decision"]
        assert record["registered_version"] is None and record["promoted"] is False
    records = _records(s3, stack, name)
    assert sum(r["flow_run_id"] == record["flow_run_id"] for r in records) == 1
    promoted = [r["registered_version"] for r in records if r["promoted"]]
    assert promoted == ["1"] or (champion is not None and promoted in ([], ["1"]))
