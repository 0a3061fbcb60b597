"""The per-run cost budget: steps timed into the run they belong to, and the table of many runs."""

from __future__ import annotations

import threading
import time
from contextvars import copy_context

import pytest

from retrain.budget import (
    TOTAL,
    UNTIMED,
    close_budget,
    cost_table,
    current_seconds,
    format_cost_table,
    run_budget,
    seconds_lines,
    timed,
)


@timed
def nap(seconds: float) -> str:
    time.sleep(seconds)
    return "slept"


@timed
def fail() -> None:
    raise ValueError("boom")


def test_steps_add_up_in_the_open_budget_and_total_covers_them() -> None:
    with run_budget():
        seconds = current_seconds()
        assert nap(0.02) == "slept"
        nap(0.01)  # a step called twice adds up
        time.sleep(0.03)  # the flow's own time: untimed
        closed = close_budget()
    assert closed is seconds
    assert 0.03 <= seconds["nap"] < 0.5
    assert seconds[TOTAL] >= seconds["nap"] + 0.03
    assert seconds[UNTIMED] == pytest.approx(seconds[TOTAL] - seconds["nap"], abs=0.002)


def test_a_failing_step_still_counts_and_raises() -> None:
    with run_budget():
        with pytest.raises(ValueError, match="boom"):
            fail()
        assert "fail" in current_seconds()


def test_outside_a_run_steps_run_and_nothing_is_kept() -> None:
    assert nap(0.0) == "slept"
    assert current_seconds() == {}
    assert close_budget() == {}


def test_a_step_in_another_thread_with_the_copied_context_lands_in_the_same_run() -> None:
    with run_budget():
        context = copy_context()  # what Prefect's thread-pool task runner does
        worker = threading.Thread(target=context.run, args=(nap, 0.01))
        worker.start()
        worker.join()
        assert current_seconds()["nap"] >= 0.01


def test_two_runs_do_not_share_their_budgets() -> None:
    with run_budget():
        nap(0.0)
        with run_budget():  # a subflow run inside: its own budget
            assert current_seconds() == {}
            nap(0.0)
            inner = current_seconds()
        assert set(current_seconds()) == {"nap"}
    assert set(inner) == {"nap"}


def test_cost_table_per_step_total_share_median_and_total_last() -> None:
    weeks = [
        {"fit": 6.0, "scan": 1.0, "measure_drift": 2.0, TOTAL: 8.0, UNTIMED: 1.0},
        {"fit": 2.0, "scan": 1.0, "measure_drift": 2.0, TOTAL: 4.0, UNTIMED: 1.0},
        {"scan": 3.0, "measure_drift": 2.0, TOTAL: 4.0, UNTIMED: 1.0},
    ]
    rows = cost_table(weeks)
    assert [r.step for r in rows] == ["fit", "measure_drift", "scan", UNTIMED, TOTAL]
    fit = rows[0]
    assert (fit.total, fit.runs, fit.median) == (8.0, 2, 4.0)
    assert fit.share == pytest.approx(8.0 / 16.0)
    assert rows[-1].share == pytest.approx(1.0)
    text = format_cost_table(rows)
    assert text.splitlines()[0].split()[:3] == ["step", "total", "s"]
    assert "fit" in text.splitlines()[1] and "50.0%" in text.splitlines()[1]


def test_cost_table_of_nothing_is_empty_and_records_without_seconds_are_skipped() -> None:
    assert cost_table([]) == []
    assert [r.step for r in cost_table([{}, {"scan": 1.0}])] == ["scan"]


def test_seconds_lines_slowest_first_then_untimed_and_total() -> None:
    lines = seconds_lines({"scan": 1.0, "fit": 3.0, UNTIMED: 0.5, TOTAL: 5.0})
    rows = [line for line in lines if line.startswith("| ") and "step" not in line]
    assert [r.split("|")[1].strip() for r in rows] == ["fit", "scan", UNTIMED, TOTAL]
    assert "| 3.00 | 60% |" in rows[0]
    assert seconds_lines(None) == [] and seconds_lines({}) == []


def test_a_timed_step_pickles_by_value_as_dask_ships_it() -> None:
    import cloudpickle

    def step() -> int:  # a local function: cloudpickle takes it (and its wrapper) by value
        return 7

    shipped = cloudpickle.loads(cloudpickle.dumps(timed(step)))
    with run_budget():
        assert shipped() == 7
        assert "step" in current_seconds()
