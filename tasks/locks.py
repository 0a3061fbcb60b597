"""One run per model at a time: a Prefect global concurrency limit of one slot per model."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

from prefect import get_client
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists

LOCK_WAIT_SECONDS = 1800.0


def lock_name(model: str) -> str:
    return f"retrain-{model}"


@contextmanager
def model_lock(model: str, timeout_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold the model's slot: a second run for the model waits here, so two runs can never both
    promote. The limit is created on first use; `strict` makes a missing limit an error rather
    than the silent no-op Prefect gives by default."""
    name = lock_name(model)
    # a concurrent run of the same model may create it between upsert's read and its create
    with get_client(sync_client=True) as client, suppress(ObjectAlreadyExists):
        client.upsert_global_concurrency_limit_by_name(name, limit=1)
    with concurrency(name, occupy=1, strict=True, timeout_seconds=timeout_seconds):
        yield
