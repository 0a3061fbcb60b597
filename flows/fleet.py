"""The loop for every configured model, in parallel with bounded concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact

from flows.monitor import monitor_and_retrain
from retrain.config import config_paths
from retrain.settings import get_settings


@flow(name="fleet", log_prints=True)
def fleet(
    models: list[str] | None = None,
    as_of: date | None = None,
    max_parallel: int = 2,
    shadow: bool = False,
) -> dict[str, str]:
    """Run `monitor-and-retrain` for each model; one model's failure does not stop the others.

    Args:
        models: model names; every config in the config folder when empty.
        as_of: window end for every model; today when unset.
        max_parallel: how many models run at once (each model also holds its own lock).
        shadow: run every model in shadow mode.
    """
    names = models or sorted(config_paths(get_settings().config_dir))
    if max_parallel < 1:
        raise ValueError(f"max_parallel must be >= 1, got {max_parallel}")

    def one(name: str) -> tuple[str, str, str]:
        state = monitor_and_retrain(name, as_of=as_of, shadow=shadow, return_state=True)
        if not state.is_completed():
            return name, "failed", state.message or ""
        record: dict[str, Any] = state.result()
        return name, record["decision"]["action"], ", ".join(record["decision"]["reasons"])

    with ThreadPoolExecutor(max_workers=max_parallel) as pool:
        results = list(pool.map(one, names))
    create_table_artifact(
        [{"model": n, "outcome": o, "reasons": r} for n, o, r in results], key="fleet-outcomes"
    )
    failed = [n for n, o, _ in results if o == "failed"]
    print(f"fleet: {len(results)} models, {len(failed)} failed {failed or ''}")
    return {n: o for n, o, _ in results}
