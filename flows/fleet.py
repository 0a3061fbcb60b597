"""The loop for every configured model, in parallel with bounded concurrency."""

from datetime import date
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from flows.monitor import monitor_and_retrain
from retrain.config_folder import scan_configs
from retrain.settings import get_settings
from retrain.threads import runs_in_flight


@task(cache_policy=NO_CACHE)
def run_model(
    name: str, as_of: date | None, shadow: bool, parallel: int = 1
) -> tuple[str, str, str]:
    """The loop for one model (a subflow); its failure becomes an outcome, not an exception.
    `parallel` runs share this process: each gets its share of the native threads."""
    with runs_in_flight(parallel):
        state = monitor_and_retrain(name, as_of=as_of, shadow=shadow, return_state=True)
    if not state.is_completed():
        return name, "failed", state.message or ""
    record: dict[str, Any] = state.result()
    return name, record["decision"]["action"], ", ".join(record["decision"]["reasons"])


@flow(name="fleet-fan-out")
def fan_out(
    names: list[str], as_of: date | None, shadow: bool, parallel: int = 1
) -> list[tuple[str, str, str]]:
    """One `run_model` task per model on this flow's task runner."""
    futures = run_model.map(names, as_of=as_of, shadow=shadow, parallel=parallel)
    return [f.result() for f in futures]


@flow(name="fleet", log_prints=True)
def fleet(
    models: list[str] | None = None,
    as_of: date | None = None,
    max_parallel: int = 2,
    shadow: bool = False,
    dask_address: str | None = None,
) -> dict[str, str]:
    """Run `monitor-and-retrain` for each model; one model's failure does not stop the others.

    Args:
        models: model names; every config in the config folder when empty.
        as_of: window end for every model; today when unset.
        max_parallel: how many models run at once on this machine (each model also holds its
            own lock, so two runs of one model never overlap).
        shadow: run every model in shadow mode.
        dask_address: a Dask scheduler (e.g. tcp://host:8786) to spread the models over its
            workers instead of this machine's threads; `max_parallel` then does not apply.
    """
    scan = scan_configs(get_settings().config_dir)
    names = models or sorted(scan.paths)
    if max_parallel < 1:
        raise ValueError(f"max_parallel must be >= 1, got {max_parallel}")
    results = fan_out.with_options(task_runner=task_runner(max_parallel, dask_address))(
        names, as_of, shadow, 1 if dask_address else min(max_parallel, len(names) or 1)
    )
    if not models:  # a config file that does not load is a failed model, not a failed fleet
        results += [(str(p), "failed", e.splitlines()[0]) for p, e in scan.errors.items()]
    create_table_artifact(
        [{"model": n, "outcome": o, "reasons": r} for n, o, r in results], key="fleet-outcomes"
    )
    failed = [n for n, o, _ in results if o == "failed"]
    print(f"fleet: {len(results)} models, {len(failed)} failed {failed or ''}")
    return {n: o for n, o, _ in results}


def task_runner(max_parallel: int, dask_address: str | None) -> Any:
    """Threads on this machine, or prefect-dask's DaskTaskRunner against a Dask scheduler."""
    if dask_address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=dask_address)
    return ThreadPoolTaskRunner(max_workers=max_parallel)
