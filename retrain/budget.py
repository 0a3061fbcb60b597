"""Where a run's time goes: seconds per step, gathered while the run works, and the table of a
series of runs (total, share, median per run) that says which step to make faster.

A run opens a budget (`run_budget`); every step wrapped with `timed` adds its wall seconds to
the budget of the run it belongs to, also when it runs in another thread (Prefect's task runner
copies the context into its threads). A step called twice (two scans) adds up. The decision
record carries the dict as `record["seconds"]`, with `total` (the run so far) and `untimed`
(orchestration and the flow's own code: the total less the steps, when positive). A step that
runs beside another (`measure_drift` beside the estimate) is counted in full, so the overlap
(at most the shorter step) is in both and `untimed` is short by at most that.
"""

from __future__ import annotations

import functools
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
TOTAL, UNTIMED = "total", "untimed"
# steps that run in a thread beside others: their seconds overlap the steps around them
PARALLEL = frozenset({"measure_drift"})


@dataclass
class Budget:
    """Seconds per step of one run, and when the run began (a monotonic clock)."""

    began: float = field(default_factory=time.perf_counter)
    seconds: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, step: str, seconds: float) -> None:
        with self.lock:
            self.seconds[step] = round(self.seconds.get(step, 0.0) + seconds, 3)

    def close(self) -> dict[str, float]:
        """Set `total` (seconds since the run began) and `untimed`; the dict itself."""
        total = time.perf_counter() - self.began
        with self.lock:
            steps = sum(s for k, s in self.seconds.items() if k not in (TOTAL, UNTIMED))
            self.seconds[TOTAL] = round(total, 3)
            self.seconds[UNTIMED] = round(max(0.0, total - steps), 3)
        return self.seconds


_CURRENT: ContextVar[Budget | None] = ContextVar("retrain_budget", default=None)


@contextmanager
def run_budget() -> Iterator[Budget]:
    """Open the budget of a run for the block (steps in it and its threads add to it)."""
    budget = Budget()
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)


def open_budget() -> Budget | None:
    """The budget of the run this code belongs to, if one is open."""
    return _CURRENT.get()


def current_seconds() -> dict[str, float]:
    """The open budget's seconds per step (live: later steps add to it); {} outside a run."""
    budget = _CURRENT.get()
    return budget.seconds if budget is not None else {}


def close_budget() -> dict[str, float]:
    """Stamp the open budget's total and untimed seconds; {} outside a run."""
    budget = _CURRENT.get()
    return budget.close() if budget is not None else {}


def timed(fn: Callable[P, R]) -> Callable[P, R]:
    """Add the wall seconds of every call of `fn` to the open budget, under `fn`'s name."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        budget = open_budget()  # a function, not the ContextVar: Dask pickles this wrapper
        began = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            if budget is not None:
                budget.add(fn.__name__, time.perf_counter() - began)

    return wrapper


@dataclass(frozen=True)
class StepCost:
    """One step over a series of runs: its seconds in all, its share of the runs' total, and
    its median over the runs that ran it."""

    step: str
    total: float
    share: float
    median: float
    runs: int


def cost_table(budgets: Iterable[Mapping[str, Any]]) -> list[StepCost]:
    """Per step over the runs' `seconds` dicts, most expensive first; `total` last. The shares
    are of the runs' summed totals (a step beside another can make them add to over 100%)."""
    per_step: dict[str, list[float]] = {}
    for seconds in budgets:
        for step, value in (seconds or {}).items():
            per_step.setdefault(step, []).append(float(value))
    grand = sum(per_step.get(TOTAL, [])) or sum(sum(v) for v in per_step.values())
    rows = [
        StepCost(k, sum(v), sum(v) / grand if grand else 0.0, statistics.median(v), len(v))
        for k, v in per_step.items()
    ]
    steps = sorted((r for r in rows if r.step != TOTAL), key=lambda r: (-r.total, r.step))
    return steps + [r for r in rows if r.step == TOTAL]


def format_cost_table(rows: list[StepCost], runs: str = "week") -> str:
    """The table as text: step, total seconds, share, median per run, runs that ran it."""
    lines = [f"{'step':<28} {'total s':>9} {'share':>6} {'median/' + runs:>12} {'runs':>5}"]
    for r in rows:
        lines.append(f"{r.step:<28} {r.total:>9.1f} {r.share:>6.1%} {r.median:>12.2f} {r.runs:>5}")
    return "\n".join(lines)


def seconds_lines(seconds: Mapping[str, float] | None) -> list[str]:
    """Markdown lines of one run's seconds per step, slowest first (the summary artifact)."""
    if not seconds:
        return []
    steps = sorted(
        ((k, v) for k, v in seconds.items() if k not in (TOTAL, UNTIMED)), key=lambda kv: -kv[1]
    )
    total = seconds.get(TOTAL)
    lines = ["", "## Seconds per step", "", "| step | seconds | share |", "|---|---|---|"]
    for step, value in [*steps, *((k, seconds[k]) for k in (UNTIMED, TOTAL) if k in seconds)]:
        share = f"{value / total:.0%}" if total else "-"
        note = " (beside the estimate)" if step in PARALLEL else ""
        lines.append(f"| {step}{note} | {value:.2f} | {share} |")
    return lines
