"""The fleet flow runs every configured model with bounded parallelism; failures stay local."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from flows.fleet import fleet
from retrain import registry
from retrain.config import DataSource
from retrain.settings import Settings
from tests.helpers import AS_OF, DAYS, config_dict, write_config, write_days

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_fleet_runs_every_model_and_isolates_a_failure(
    stack: Settings, s3: Any, mlflow: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = uuid.uuid4().hex[:6]
    days = [AS_OF - timedelta(days=DAYS - i) for i in range(DAYS)]
    names = []
    for i in range(3):
        name, prefix = f"fleet_test_{run}_{i}", f"tests/fleet/{run}/{i}"
        write_config(tmp_path, config_dict(name, stack.data_bucket, prefix), f"{name}.yaml")
        write_days(s3, DataSource(bucket=stack.data_bucket, prefix=prefix), days)
        names.append(name)
    broken = f"fleet_test_{run}_nodata"
    write_config(
        tmp_path,
        config_dict(broken, stack.data_bucket, f"tests/fleet/{run}/none"),
        f"{broken}.yaml",
    )
    monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(tmp_path))

    outcomes = fleet(as_of=AS_OF, max_parallel=2)

    assert outcomes == {**dict.fromkeys(names, "retrain"), broken: "skip"}
    for name in names:
        champion = registry.get_champion(mlflow, name)
        assert champion is not None and champion.version == "1"
    assert registry.get_champion(mlflow, broken) is None


def test_fleet_on_a_local_dask_cluster(
    stack: Settings, s3: Any, mlflow: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented way to spread a fleet over machines: DaskTaskRunner on a Dask scheduler."""
    from distributed import LocalCluster

    run = uuid.uuid4().hex[:6]
    days = [AS_OF - timedelta(days=DAYS - i) for i in range(DAYS)]
    names = []
    for i in range(2):
        name, prefix = f"fleet_dask_{run}_{i}", f"tests/fleet-dask/{run}/{i}"
        write_config(tmp_path, config_dict(name, stack.data_bucket, prefix), f"{name}.yaml")
        write_days(s3, DataSource(bucket=stack.data_bucket, prefix=prefix), days)
        names.append(name)
    monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(tmp_path))

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        outcomes = fleet(as_of=AS_OF, dask_address=cluster.scheduler_address)
        assert len(cluster.scheduler_info["workers"]) == 2

    assert outcomes == dict.fromkeys(names, "retrain")
    for name in names:
        champion = registry.get_champion(mlflow, name)
        assert champion is not None and champion.version == "1"
