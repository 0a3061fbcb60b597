"""How many native threads (OpenMP, BLAS) a run of the loop may use, and setting that limit.

HistGradientBoosting's OpenMP pool and numpy's BLAS start one thread per core by default. On a
small machine a fit then competes with the Evidently thread beside it, the worker's own threads,
the stack's servers and any other run in flight, and oversubscribed OpenMP threads spin and
wait for each other: on 2 cores under load a 224k-row fit took 31-65 s with the default and
8-11 s with one thread (docs/performance.md). The limit is the cores left after one for the rest
of the machine, shared by the runs in flight, and never below one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# the variables OpenMP and the BLAS libraries numpy/scipy ship with read when they start
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def available_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def native_threads(cores: int, runs_in_flight: int = 1, reserved: int = 1) -> int:
    """Threads per run: the cores less `reserved` (the stack, the worker, Python threads beside
    the fit), split between the runs in flight; at least one."""
    if cores < 1 or runs_in_flight < 1 or reserved < 0:
        raise ValueError(
            f"cores ({cores}) and runs_in_flight ({runs_in_flight}) must be >= 1, "
            f"reserved ({reserved}) >= 0"
        )
    return max(1, (cores - reserved) // runs_in_flight)


def thread_env(threads: int) -> dict[str, str]:
    """Environment that starts every native pool of a new process with `threads` threads."""
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    return dict.fromkeys(THREAD_VARIABLES, str(threads))


@contextmanager
def limited_threads(threads: int) -> Iterator[None]:
    """Limit OpenMP and BLAS pools to `threads` inside this process while the block runs.

    BLAS limits are process-wide; OpenMP's is per calling thread, so a task that runs in
    another thread (a submitted task) keeps the limit the process started with: the worker
    therefore also starts flow runs with `thread_env`."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        yield


_IN_FLIGHT: ContextVar[int] = ContextVar("retrain_runs_in_flight", default=1)


@contextmanager
def runs_in_flight(runs: int) -> Iterator[None]:
    """Declare that `runs` flow runs share this process for the block (the fleet's threads)."""
    token = _IN_FLIGHT.set(max(1, runs))
    try:
        yield
    finally:
        _IN_FLIGHT.reset(token)


def thread_limit(configured: int | None) -> int:
    """The configured limit (RETRAIN_NATIVE_THREADS), else the computed one for this machine
    and the runs in flight here."""
    return configured or native_threads(available_cores(), _IN_FLIGHT.get())
