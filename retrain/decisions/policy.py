"""The retrain policy: one pure function from a window's facts to an action with its reasons."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from retrain.config import Thresholds


class Action(StrEnum):
    retrain = "retrain"
    skip = "skip"
    keep = "keep"


class Reason(StrEnum):
    no_data = "no_data"
    invalid_data = "invalid_data"
    no_champion = "no_champion"
    forced = "forced"
    too_few_labels = "too_few_labels"
    below_floor = "below_floor"
    performance_drop = "performance_drop"
    persistent_drift = "persistent_drift"
    stale_model = "stale_model"
    drift_not_persistent = "drift_not_persistent"
    cooldown = "cooldown"
    stable = "stable"
    no_partitions = "no_partitions"  # the data prefix has no dt= partition at all (a typo?)
    labels_missing = "labels_missing"  # labels null on rows older than the label delay
    target_drift = "target_drift"
    estimated_below_floor = "estimated_below_floor"  # CBPE estimate, error included, past the floor


# Skips that mean something upstream is broken: the run records them, then fails visibly.
NEEDS_ATTENTION = frozenset({Reason.no_partitions, Reason.labels_missing})


@dataclass(frozen=True)
class PolicyInputs:
    """What the flow knows about one window when it decides."""

    as_of: date
    rows: int
    data_valid: bool
    has_champion: bool
    forced: bool
    labelled_rows: int
    champion_metric: float | None
    reference_metric: float | None  # the bar: best recent holdout score (see reference_metric)
    higher_is_better: bool
    dataset_drift: bool
    drift_history: tuple[bool, ...]  # earlier consecutive windows of the current champion
    last_promotion: date | None
    model_age_days: int | None
    prefix_seen: bool  # the data prefix has at least one partition, on any day
    rows_past_label_delay: int | None  # rows whose labels should have arrived by as_of
    target_drift: bool  # the label's distribution drifted from the reference
    estimated_metric: float | None  # CBPE on rows whose labels are not yet due
    estimated_standard_error: float | None


@dataclass(frozen=True)
class Decision:
    """An action, the machine-readable reasons for it, and the numbers it was based on."""

    action: Action
    reasons: tuple[Reason, ...]
    details: dict[str, Any]

    @property
    def retrain(self) -> bool:
        return self.action is Action.retrain

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable record, for tags, artifacts and replay logs."""
        return {
            "action": str(self.action),
            "retrain": self.retrain,
            "reasons": [str(r) for r in self.reasons],
            "details": dict(self.details),
        }


def drift_persisted(history: tuple[bool, ...], current: bool, k: int, n: int) -> bool:
    """Whether dataset drift was seen in at least k of the last n windows, the current included."""
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}")
    recent = (*history[len(history) - (n - 1) :], current) if n > 1 else (current,)
    return sum(recent) >= k


def reference_metric(
    champion_holdout: float | None, recent: list[float | None], higher_is_better: bool
) -> float | None:
    """The bar the champion is held to: the best of its own holdout score at registration and
    the holdout scores challengers reached on recent windows. It never sinks with a champion
    that was weak when promoted."""
    scores = [v for v in (champion_holdout, *recent) if v is not None and math.isfinite(v)]
    if not scores:
        return None
    return max(scores) if higher_is_better else min(scores)


def below_floor(value: float | None, floor: float | None, higher_is_better: bool) -> bool:
    """Whether a known metric is on the wrong side of the absolute floor."""
    if value is None or floor is None or not math.isfinite(value):
        return False
    return value < floor if higher_is_better else value > floor


def estimated_bound(inputs: PolicyInputs, z: float = 2.0) -> float | None:
    """The optimistic end of the estimated metric (value + z SE, or - z SE for an error)."""
    value, se = inputs.estimated_metric, inputs.estimated_standard_error
    if value is None or se is None or not (math.isfinite(value) and math.isfinite(se)):
        return None
    return value + z * se if inputs.higher_is_better else value - z * se


def performance_drop(inputs: PolicyInputs) -> float | None:
    """How much worse the champion scores now than the reference (positive = worse), if known."""
    now, then = inputs.champion_metric, inputs.reference_metric
    if now is None or then is None or not (math.isfinite(now) and math.isfinite(then)):
        return None
    drop = then - now if inputs.higher_is_better else now - then
    # Rounded so that a drop of exactly the threshold is not tipped over it by float error.
    return round(drop, 12)


def decide(inputs: PolicyInputs, thresholds: Thresholds) -> Decision:
    """Retrain, skip or keep the champion for this window; the first matching rule wins.

    A cooldown since the last promotion holds back drift, performance and staleness triggers,
    but never a champion below the absolute floor.
    """
    details = _details(inputs, thresholds)
    if inputs.rows == 0 and not inputs.prefix_seen:
        return Decision(Action.skip, (Reason.no_partitions,), details)
    if inputs.rows == 0:
        return Decision(Action.skip, (Reason.no_data,), details)
    if not inputs.data_valid:
        return Decision(Action.skip, (Reason.invalid_data,), details)
    if inputs.labelled_rows < thresholds.min_labelled_rows:
        due = inputs.rows_past_label_delay
        if due is not None and due >= thresholds.min_labelled_rows:
            return Decision(Action.skip, (Reason.labels_missing,), details)
        return Decision(Action.skip, (Reason.too_few_labels,), details)
    if not inputs.has_champion:
        return Decision(Action.retrain, (Reason.no_champion,), details)
    if inputs.forced:
        return Decision(Action.retrain, (Reason.forced,), details)
    triggers = _triggers(details, thresholds)
    days = details["days_since_promotion"]
    cooling = days is not None and days < thresholds.cooldown_days
    if triggers and cooling and Reason.below_floor not in triggers:
        details["suppressed_triggers"] = [str(t) for t in triggers]
        return Decision(Action.skip, (Reason.cooldown,), details)
    if triggers:
        return Decision(Action.retrain, triggers, details)
    if inputs.dataset_drift:
        return Decision(Action.keep, (Reason.stable, Reason.drift_not_persistent), details)
    return Decision(Action.keep, (Reason.stable,), details)


def _triggers(details: dict[str, Any], thresholds: Thresholds) -> tuple[Reason, ...]:
    triggers: list[Reason] = []
    if details["below_floor"]:
        triggers.append(Reason.below_floor)
    drop = details["performance_drop"]
    if drop is not None and drop > thresholds.performance_drop:
        triggers.append(Reason.performance_drop)
    if details["drift_persisted"]:
        triggers.append(Reason.persistent_drift)
    age, max_age = details["model_age_days"], thresholds.max_model_age_days
    if age is not None and max_age is not None and age >= max_age:
        triggers.append(Reason.stale_model)
    if thresholds.drift.target_drift_trigger and details["target_drift"]:
        triggers.append(Reason.target_drift)
    if details["estimated_below_floor"]:
        triggers.append(Reason.estimated_below_floor)
    return tuple(triggers)


def _details(inputs: PolicyInputs, thresholds: Thresholds) -> dict[str, Any]:
    k, n = thresholds.drift.persistence_k, thresholds.drift.persistence_n
    recent = (*inputs.drift_history, inputs.dataset_drift)[-n:]
    last = inputs.last_promotion
    bound = estimated_bound(inputs)
    return {
        "as_of": inputs.as_of.isoformat(),
        "rows": inputs.rows,
        "data_valid": inputs.data_valid,
        "has_champion": inputs.has_champion,
        "forced": inputs.forced,
        "labelled_rows": inputs.labelled_rows,
        "min_labelled_rows": thresholds.min_labelled_rows,
        "champion_metric": _finite(inputs.champion_metric),
        "reference_metric": _finite(inputs.reference_metric),
        "higher_is_better": inputs.higher_is_better,
        "absolute_floor": thresholds.absolute_floor,
        "below_floor": below_floor(
            inputs.champion_metric, thresholds.absolute_floor, inputs.higher_is_better
        ),
        "performance_drop": performance_drop(inputs),
        "performance_drop_threshold": thresholds.performance_drop,
        "dataset_drift": inputs.dataset_drift,
        "drift_windows": sum(recent),
        "windows_considered": len(recent),
        "persistence_k": k,
        "persistence_n": n,
        "drift_persisted": drift_persisted(inputs.drift_history, inputs.dataset_drift, k, n),
        "model_age_days": inputs.model_age_days,
        "max_model_age_days": thresholds.max_model_age_days,
        "last_promotion": last.isoformat() if last else None,
        "days_since_promotion": (inputs.as_of - last).days if last else None,
        "cooldown_days": thresholds.cooldown_days,
        "prefix_seen": inputs.prefix_seen,
        "rows_past_label_delay": inputs.rows_past_label_delay,
        "target_drift": inputs.target_drift,
        "target_drift_trigger": thresholds.drift.target_drift_trigger,
        "estimated_metric": _finite(inputs.estimated_metric),
        "estimated_standard_error": _finite(inputs.estimated_standard_error),
        "estimated_bound": bound,
        "estimated_floor": thresholds.estimated_floor,
        "estimated_below_floor": below_floor(
            bound, thresholds.estimated_floor, inputs.higher_is_better
        ),
    }


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
