"""The cycle of one window, written once: validate, the champion's one predict, drift beside the
estimate, monitoring, the champion's metric. Callable without Prefect: the flow
(flows/monitor.py) passes its tasks as the steps, the drift benchmark
(benchmarks/drift_benchmark.py) passes the plain functions the tasks wrap; neither writes the
sequence again.

Which steps run is retrain/decisions/plan.py's `window_steps`; each finished section goes to `keep`
at
once, so a step that fails later leaves the earlier sections in the run's record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from retrain.data.validation import ValidationReport
from retrain.decisions.plan import window_steps
from retrain.drift.summary import DriftSummary
from retrain.monitoring.metric_set import Monitoring
from retrain.monitoring.scoring import ChampionOutputs

T = TypeVar("T", covariant=True)

DriftFound = tuple[DriftSummary, dict[str, str]]  # the summary and links to its reports


class Pending(Protocol[T]):
    """What a step started in the background returns: a Prefect or concurrent.futures future."""

    def result(self) -> T: ...


@dataclass(frozen=True)
class CycleSteps:
    """The steps of a window, each bound to its window, champion and run by the caller."""

    validate: Callable[[], ValidationReport]
    predict: Callable[[], ChampionOutputs]
    drift: Callable[[ChampionOutputs], Pending[DriftFound]]  # runs beside the estimate
    estimate: Callable[[ChampionOutputs | None], dict[str, Any] | None]
    monitor: Callable[[DriftSummary | None, ChampionOutputs | None], Monitoring]
    evaluate: Callable[[Monitoring | None, ChampionOutputs | None], tuple[float | None, str | None]]
    keep: Callable[[str, Any], None] = lambda name, value: None  # each section as it is done


@dataclass
class WindowCheck:
    """What the cycle found on one window."""

    validation: ValidationReport
    outputs: ChampionOutputs | None = None
    drift: DriftSummary | None = None
    links: dict[str, str] = field(default_factory=dict)
    estimate: dict[str, Any] | None = None
    monitoring: Monitoring | None = None
    metric_now: float | None = None
    metric_error: str | None = None


def check_window(steps: CycleSteps, has_champion: bool, rows: int) -> WindowCheck:
    """Run one window's steps in order; drift (its Evidently report on the row sample: mostly
    Python) runs in the background beside the estimate (mostly numpy), both on the same outputs.
    """
    found = WindowCheck(validation=steps.validate())
    steps.keep("validation", found.validation)
    todo = window_steps(has_champion, found.validation.valid, rows)
    drifting = None
    if todo.score:
        found.outputs = steps.predict()
        drifting = steps.drift(found.outputs)
    if todo.estimate:
        found.estimate = steps.estimate(found.outputs)
    if drifting is not None:
        found.drift, found.links = drifting.result()
        steps.keep("drift", found.drift)
    if todo.monitor:
        found.monitoring = steps.monitor(found.drift, found.outputs)
        steps.keep("monitoring", found.monitoring)
    if todo.evaluate:
        found.metric_now, found.metric_error = steps.evaluate(found.monitoring, found.outputs)
    return found
