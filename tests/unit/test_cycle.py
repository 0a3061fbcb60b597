"""The window's cycle (retrain/cycle.py): its order, what it skips, and that it is written once."""

from __future__ import annotations

import ast
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from retrain.cycle import CycleSteps, check_window

ROOT = Path(__file__).resolve().parents[2]


class Valid:
    def __init__(self, valid: bool) -> None:
        self.valid = valid


def steps(calls: list[str], valid: bool = True) -> CycleSteps:
    def done(name: str, value: Any) -> Any:
        calls.append(name)
        return value

    def drift(outputs: Any) -> Future[Any]:
        calls.append("drift started")
        future: Future[Any] = Future()
        future.set_result(("summary", {"report": "s3://x"}))
        return future

    return CycleSteps(
        validate=lambda: done("validate", Valid(valid)),  # type: ignore[arg-type,return-value]
        predict=lambda: done("predict", "outputs"),  # type: ignore[arg-type,return-value]
        drift=drift,
        estimate=lambda outs: done("estimate", {"on": outs}),
        monitor=lambda found, outs: done("monitor", (found, outs)),  # type: ignore[arg-type,return-value]
        evaluate=lambda monitoring, outs: done("evaluate", (0.7, None)),
        keep=lambda name, value: calls.append(f"keep {name}"),
    )


def test_a_scored_window_runs_every_step_drift_beside_the_estimate() -> None:
    calls: list[str] = []
    found = check_window(steps(calls), has_champion=True, rows=10)
    assert calls == [
        "validate",
        "keep validation",
        "predict",
        "drift started",
        "estimate",  # while drift runs in the background
        "keep drift",
        "monitor",
        "keep monitoring",
        "evaluate",
    ]
    assert found.outputs == "outputs" and found.drift == "summary"
    assert found.links == {"report": "s3://x"}
    assert found.estimate == {"on": "outputs"}
    assert found.monitoring == ("summary", "outputs")
    assert (found.metric_now, found.metric_error) == (0.7, None)


VALIDATED = ["validate", "keep validation"]


@pytest.mark.parametrize(
    ("champion", "valid", "rows", "expected"),
    [
        (False, True, 10, [*VALIDATED, "estimate", "monitor", "keep monitoring", "evaluate"]),
        (True, True, 0, [*VALIDATED, "estimate", "evaluate"]),
        (True, False, 10, VALIDATED),
    ],
)
def test_what_the_cycle_skips(champion: bool, valid: bool, rows: int, expected: list[str]) -> None:
    calls: list[str] = []
    found = check_window(steps(calls, valid), has_champion=champion, rows=rows)
    assert calls == expected
    assert found.outputs is None and found.drift is None


def test_a_failing_step_keeps_the_sections_before_it() -> None:
    calls: list[str] = []

    def broken(outs: Any) -> Any:
        raise RuntimeError("estimate failed")

    failing = steps(calls)
    failing = CycleSteps(**{**failing.__dict__, "estimate": broken})
    with pytest.raises(RuntimeError, match="estimate failed"):
        check_window(failing, has_champion=True, rows=10)
    assert calls == ["validate", "keep validation", "predict", "drift started"]


def _calls(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            names.add(f.id if isinstance(f, ast.Name) else getattr(f, "attr", ""))
    return names


def test_the_flow_and_the_benchmark_run_the_same_cycle() -> None:
    """Both call check_window; neither decides the steps itself (a second copy of the cycle)."""
    flow = _calls(ROOT / "flows" / "monitor.py")
    bench = _calls(ROOT / "benchmarks" / "drift_benchmark.py")
    assert "check_window" in flow and "check_window" in bench
    for module, calls in (("flows/monitor.py", flow), ("benchmarks/drift_benchmark.py", bench)):
        assert "window_steps" not in calls, f"{module} decides the window's steps itself"
    users = [
        p.relative_to(ROOT).as_posix()
        for folder in ("retrain", "tasks", "flows", "benchmarks", "scripts")
        for p in (ROOT / folder).rglob("*.py")
        if "window_steps" in _calls(p)
    ]
    assert users == ["retrain/cycle.py"]
