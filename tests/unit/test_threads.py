"""Native thread limits: computed from the cores and the runs in flight, applied in-process."""

from __future__ import annotations

import pytest

from retrain.threads import (
    THREAD_VARIABLES,
    available_cores,
    limited_threads,
    native_threads,
    runs_in_flight,
    thread_env,
    thread_limit,
)


@pytest.mark.parametrize(
    ("cores", "runs", "expected"),
    [(1, 1, 1), (2, 1, 1), (2, 4, 1), (4, 1, 3), (8, 2, 3), (16, 4, 3), (64, 1, 63)],
)
def test_threads_are_the_cores_less_one_shared_by_the_runs_never_zero(
    cores: int, runs: int, expected: int
) -> None:
    assert native_threads(cores, runs) == expected


def test_no_reserve_gives_every_core() -> None:
    assert native_threads(2, 1, reserved=0) == 2


@pytest.mark.parametrize(("cores", "runs", "reserved"), [(0, 1, 1), (2, 0, 1), (2, 1, -1)])
def test_nonsense_counts_are_refused(cores: int, runs: int, reserved: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        native_threads(cores, runs, reserved)


def test_thread_env_sets_every_pool_variable() -> None:
    env = thread_env(3)
    assert set(env) == set(THREAD_VARIABLES) and set(env.values()) == {"3"}
    with pytest.raises(ValueError, match="threads"):
        thread_env(0)


def test_configured_limit_wins_else_computed_from_the_runs_in_flight() -> None:
    assert thread_limit(5) == 5
    cores = available_cores()
    assert thread_limit(None) == native_threads(cores, 1)
    with runs_in_flight(4):
        assert thread_limit(None) == native_threads(cores, 4)
    assert thread_limit(None) == native_threads(cores, 1)


def test_limited_threads_sets_openmp_and_blas_and_restores_them() -> None:
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
    from threadpoolctl import threadpool_info

    before = _openmp_effective_n_threads()
    with limited_threads(1):
        assert _openmp_effective_n_threads() == 1
        assert {p["num_threads"] for p in threadpool_info()} == {1}
    assert _openmp_effective_n_threads() == before


def test_worker_environment_carries_the_limit_unless_the_user_set_one() -> None:
    from retrain.settings import Settings
    from stack.prefect_server import worker_tuning

    tuned = worker_tuning(Settings(native_threads=2), {})
    assert tuned["OMP_NUM_THREADS"] == "2" and tuned["OPENBLAS_NUM_THREADS"] == "2"
    assert tuned["PREFECT_WORKER_QUERY_SECONDS"] == "2"
    mine = worker_tuning(Settings(native_threads=2), {"OMP_NUM_THREADS": "4"})
    assert "OMP_NUM_THREADS" not in mine and mine["MKL_NUM_THREADS"] == "2"
    computed = worker_tuning(Settings(), {})
    assert computed["OMP_NUM_THREADS"] == str(native_threads(available_cores()))
