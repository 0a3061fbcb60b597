"""The MLflow tracking server: registry in PostgreSQL (or SQLite), artifacts proxied to S3."""

from __future__ import annotations

from retrain.settings import Settings
from stack import postgres
from stack.base import STATE, VENV_BIN, Service, StackSettings, http_get, port_of


def backend_uri(stack: StackSettings) -> str:
    """Where MLflow keeps runs and the registry (a secret when it holds a password)."""
    if stack.db == "sqlite":
        (STATE / "mlflow").mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{STATE / 'mlflow' / 'mlflow.db'}"
    return postgres.url(stack, "mlflow", "postgresql+psycopg2")


def service(settings: Settings, stack: StackSettings, env: dict[str, str]) -> Service:
    port = port_of(settings.mlflow_tracking_uri, 5000)
    return Service(
        "mlflow",
        f"http://127.0.0.1:{port}",
        port,
        [
            str(VENV_BIN / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--artifacts-destination",
            f"s3://{settings.artifacts_bucket}",
            "--workers",
            "2",
        ],
        lambda: http_get(f"http://127.0.0.1:{port}/health")[0] == 200,
        env={
            **env,
            # the store URI goes in the environment, not on the command line `ps` shows
            "MLFLOW_BACKEND_STORE_URI": backend_uri(stack),
            # no GenAI job runner: it starts eight huey consumers (about 2 GB of RAM and most
            # of the server's start time) for features the loop never uses
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        },
    )
