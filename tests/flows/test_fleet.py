"""The fleet flow runs every configured model with bounded parallelism; failures stay local."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from flows.fleet import fleet
from retrain.registry import versions as registry
from retrain.settings import Settings
from tests.helpers import AS_OF, config_dict, write_config, write_models

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_fleet_runs_every_model_and_isolates_a_failure(
    stack: Settings, s3: Any, mlflow: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = uuid.uuid4().hex[:6]
    names = write_models(s3, stack.data_bucket, tmp_path, f"fleet_test_{run}", 3)
    broken = f"fleet_test_{run}_nodata"
    write_config(
        tmp_path,
        config_dict(broken, stack.data_bucket, f"tests/fleet/{run}/none"),
        f"{broken}.yaml",
    )
    typo = write_config(  # a config file that does not validate: one failed outcome, no more
        tmp_path,
        {**config_dict(f"fleet_test_{run}_typo", stack.data_bucket, "x"), "thresholdz": {}},
        "typo.yaml",
    )
    monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(tmp_path))

    outcomes = fleet(as_of=AS_OF, max_parallel=2)

    # the prefix of `broken` was never written to: skip (no_partitions), a failed run
    expected = {**dict.fromkeys(names, "retrain"), broken: "failed", str(typo): "failed"}
    assert outcomes == expected
    for name in names:
        champion = registry.get_champion(mlflow, name)
        assert champion is not None and champion.version == "1"
    assert registry.get_champion(mlflow, broken) is None


def test_fleet_on_a_local_dask_cluster(
    stack: Settings, s3: Any, mlflow: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented way to spread a fleet over machines: DaskTaskRunner on a Dask scheduler."""
    from distributed import LocalCluster

    names = write_models(s3, stack.data_bucket, tmp_path, f"fleet_dask_{uuid.uuid4().hex[:6]}", 2)
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
