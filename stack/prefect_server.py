"""The Prefect server (PostgreSQL via asyncpg, or SQLite) and a process worker of the pool."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from retrain.settings import Settings
from stack import postgres
from stack.base import (
    ROOT,
    STATE,
    VENV_BIN,
    Service,
    StackError,
    StackSettings,
    http_get,
    http_post_json,
    port_of,
)

# Concurrency-slot leases on disk (PREFECT_HOME/concurrency_leases, i.e. .stack/prefect/), not in
# the server's memory: a run killed while it held its model's slot leaves a lease that the server
# still knows after a restart, so the repossessor frees the slot when the lease expires instead of
# the slot staying taken for good.
LEASE_STORE = "prefect.server.concurrency.lease_storage.filesystem"
LEASES = {"PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": LEASE_STORE}


def database_env(stack: StackSettings) -> dict[str, str]:
    """The server's database; SQLite in PREFECT_HOME unless PostgreSQL is the backend."""
    if stack.db == "sqlite":
        return {}
    return {
        "PREFECT_API_DATABASE_CONNECTION_URL": postgres.url(stack, "prefect", "postgresql+asyncpg")
    }


def worker_online(api: str, pool: str, pidfile: Path) -> bool:
    """A worker of the pool has sent a heartbeat since our worker process was started."""
    if not pidfile.exists():
        return False
    started = datetime.fromtimestamp(pidfile.stat().st_mtime, UTC)
    status, workers = http_post_json(f"{api}/work_pools/{pool}/workers/filter", {})
    return status == 200 and any(
        w.get("status") == "ONLINE" and datetime.fromisoformat(w["last_heartbeat_time"]) >= started
        for w in workers or []
    )


def create_work_pool(api: str, pool: str) -> None:
    """Create the process work pool unless it exists (it persists in the server's database)."""
    if http_get(f"{api}/work_pools/{pool}", timeout=15)[0] == 200:
        return
    done = subprocess.run(
        [str(VENV_BIN / "prefect"), "work-pool", "create", pool, "--type", "process"],
        env={**os.environ, "PREFECT_API_URL": api, "PREFECT_HOME": str(STATE / "prefect")},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 and http_get(f"{api}/work_pools/{pool}", timeout=15)[0] != 200:
        raise StackError(f"could not create work pool {pool}:\n{done.stdout}{done.stderr}")


def server(settings: Settings, stack: StackSettings, env: dict[str, str]) -> Service:
    port = port_of(settings.prefect_api_url, 4200)
    api = settings.prefect_api_url.rstrip("/")
    return Service(
        "prefect",
        f"http://127.0.0.1:{port}",
        port,
        [
            str(VENV_BIN / "prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        lambda: http_get(f"{api}/health")[1].strip() == b"true",
        env={**env, **database_env(stack), **LEASES},
    )


def worker(settings: Settings, env: dict[str, str]) -> Service:
    api, pool = settings.prefect_api_url.rstrip("/"), settings.work_pool
    return Service(
        "worker",
        f"{api}/work_pools/{pool}",
        0,
        [
            str(VENV_BIN / "prefect"),
            "worker",
            "start",
            "--pool",
            pool,
            "--type",
            "process",
        ],
        lambda: worker_online(api, pool, STATE / "worker.pid"),
        env={
            **env,
            "RETRAIN_DATA_BUCKET": settings.data_bucket,
            "RETRAIN_ARTIFACTS_BUCKET": settings.artifacts_bucket,
            "RETRAIN_LOOP_BUCKET": settings.loop_bucket,
            "RETRAIN_PROJECT_DIR": str(ROOT),
        },
        before_start=lambda: create_work_pool(api, pool),
    )
