"""Session fixtures: settings and clients for the real local stack (never mocks)."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from retrain.clients import mlflow_client, s3_client
from retrain.settings import Settings, get_settings

os.environ.setdefault("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return resp.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Settings:
    """The real services; a missing one fails the test loudly (never a skip)."""
    checks = {
        "LocalStack S3": f"{settings.s3_endpoint_url}/_localstack/health",
        "MLflow server": f"{settings.mlflow_tracking_uri}/health",
        "Prefect server": f"{settings.prefect_api_url}/health",
    }
    down = [name for name, url in checks.items() if not _healthy(url)]
    if down:
        pytest.fail(
            f"{', '.join(down)} not reachable: run the tests with `make test` (it starts the "
            "stack), or `make up` first",
            pytrace=False,
        )
    os.environ["PREFECT_API_URL"] = settings.prefect_api_url
    from prefect.context import refresh_global_settings_context

    refresh_global_settings_context()  # Prefect read its settings when first imported
    return settings


@pytest.fixture(scope="session")
def s3(stack: Settings) -> Any:
    return s3_client(stack)


@pytest.fixture(scope="session")
def mlflow(stack: Settings) -> Iterator[Any]:
    yield mlflow_client(stack)
