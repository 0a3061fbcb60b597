"""The retrain policy: every reason, every skip, and the order in which rules win."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from retrain.config import DriftThresholds, Thresholds
from retrain.decisions.policy import (
    Action,
    Decision,
    PolicyInputs,
    Reason,
    decide,
    drift_persisted,
    reference_metric,
)

AS_OF = date(2024, 3, 15)
THRESHOLDS = Thresholds(
    performance_drop=0.03,
    min_labelled_rows=200,
    cooldown_days=7,
    drift=DriftThresholds(persistence_k=2, persistence_n=3),
)
# A healthy window: a champion scoring as at promotion, no drift, last retrain long ago.
BASE = PolicyInputs(
    as_of=AS_OF,
    rows=5000,
    data_valid=True,
    has_champion=True,
    forced=False,
    labelled_rows=1000,
    champion_metric=0.80,
    reference_metric=0.80,
    higher_is_better=True,
    dataset_drift=False,
    drift_history=(False, False),
    last_promotion=AS_OF - timedelta(days=30),
    model_age_days=30,
    prefix_seen=True,
    rows_past_label_delay=None,
    target_drift=False,
    estimated_metric=None,
    estimated_standard_error=None,
)
DROPPED = {"champion_metric": 0.70}
DRIFTING = {"dataset_drift": True, "drift_history": (False, True)}
RECENT = {"last_promotion": AS_OF - timedelta(days=2)}


def _decide(**changes: Any) -> Decision:
    return decide(replace(BASE, **changes), THRESHOLDS)


@pytest.mark.parametrize(
    ("changes", "action", "reasons"),
    [
        ({}, Action.keep, (Reason.stable,)),
        ({"rows": 0}, Action.skip, (Reason.no_data,)),
        ({"data_valid": False}, Action.skip, (Reason.invalid_data,)),
        ({"labelled_rows": 10}, Action.skip, (Reason.too_few_labels,)),
        ({"has_champion": False}, Action.retrain, (Reason.no_champion,)),
        ({"forced": True}, Action.retrain, (Reason.forced,)),
        (DROPPED, Action.retrain, (Reason.performance_drop,)),
        (DRIFTING, Action.retrain, (Reason.persistent_drift,)),
        (
            {**DROPPED, **DRIFTING},
            Action.retrain,
            (Reason.performance_drop, Reason.persistent_drift),
        ),
        ({**DROPPED, **RECENT}, Action.skip, (Reason.cooldown,)),
        (
            {"dataset_drift": True},
            Action.keep,
            (Reason.stable, Reason.drift_not_persistent),
        ),
    ],
)
def test_each_reason(changes: dict[str, Any], action: Action, reasons: tuple[Reason, ...]) -> None:
    decision = _decide(**changes)
    assert (decision.action, decision.reasons) == (action, reasons)
    assert decision.retrain is (action is Action.retrain)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        # no data beats everything, even a forced run without a champion
        ({"rows": 0, "data_valid": False, "forced": True, "has_champion": False}, Reason.no_data),
        # never train on invalid data, not even when forced or bootstrapping
        ({"data_valid": False, "forced": True}, Reason.invalid_data),
        ({"data_valid": False, "has_champion": False}, Reason.invalid_data),
        ({"data_valid": False, "labelled_rows": 0}, Reason.invalid_data),
        # nothing to train on: too few labels beats bootstrap and force
        ({"labelled_rows": 0, "has_champion": False}, Reason.too_few_labels),
        ({"labelled_rows": 0, "forced": True}, Reason.too_few_labels),
        ({"labelled_rows": 0, **DROPPED, **DRIFTING}, Reason.too_few_labels),
        # no champion beats forced, and neither waits for the cooldown
        ({"has_champion": False, "forced": True}, Reason.no_champion),
        ({"has_champion": False, **RECENT}, Reason.no_champion),
        ({"forced": True, **RECENT}, Reason.forced),
        ({"forced": True, **DROPPED}, Reason.forced),
        # cooldown suppresses every trigger
        ({**DRIFTING, **RECENT}, Reason.cooldown),
        ({**DROPPED, **DRIFTING, **RECENT}, Reason.cooldown),
    ],
)
def test_precedence(changes: dict[str, Any], reason: Reason) -> None:
    assert _decide(**changes).reasons == (reason,)


def test_cooldown_lists_the_suppressed_triggers() -> None:
    details = _decide(**DROPPED, **DRIFTING, **RECENT).details
    assert details["suppressed_triggers"] == ["performance_drop", "persistent_drift"]
    assert details["days_since_promotion"] == 2


@pytest.mark.parametrize(
    ("days_ago", "action"),
    [(0, Action.skip), (6, Action.skip), (7, Action.retrain), (8, Action.retrain)],
)
def test_cooldown_ends_at_exactly_cooldown_days(days_ago: int, action: Action) -> None:
    decision = _decide(**DROPPED, last_promotion=AS_OF - timedelta(days=days_ago))
    assert decision.action is action


@pytest.mark.parametrize(
    ("last_promotion", "cooldown_days", "action"),
    [
        (None, 7, Action.retrain),
        (AS_OF, 0, Action.retrain),
        (AS_OF + timedelta(days=1), 7, Action.skip),
    ],
)
def test_cooldown_without_history_or_length(
    last_promotion: date | None, cooldown_days: int, action: Action
) -> None:
    thresholds = THRESHOLDS.model_copy(update={"cooldown_days": cooldown_days})
    decision = decide(replace(BASE, **DROPPED, last_promotion=last_promotion), thresholds)
    assert decision.action is action


def test_cooldown_does_not_turn_a_stable_window_into_a_skip() -> None:
    assert _decide(**RECENT).reasons == (Reason.stable,)


@pytest.mark.parametrize(
    ("champion", "promoted", "higher", "triggered"),
    [
        (0.76, 0.80, True, True),  # 0.04 worse
        (0.77, 0.80, True, False),  # exactly the threshold: not more than it
        (0.78, 0.80, True, False),
        (0.90, 0.80, True, False),  # better than at promotion
        (1.04, 1.00, False, True),  # error grew by 0.04
        (1.03, 1.00, False, False),
        (0.90, 1.00, False, False),  # error shrank
        (None, 0.80, True, False),
        (0.50, None, True, False),
        (float("nan"), 0.80, True, False),
    ],
)
def test_performance_drop(
    champion: float | None, promoted: float | None, higher: bool, triggered: bool
) -> None:
    decision = _decide(champion_metric=champion, reference_metric=promoted, higher_is_better=higher)
    assert (Reason.performance_drop in decision.reasons) is triggered


@pytest.mark.parametrize(
    ("history", "current", "k", "n", "expected"),
    [
        ((), True, 1, 1, True),
        ((True, True), False, 1, 1, False),  # n=1 looks at the current window only
        ((), True, 2, 3, False),  # not enough windows yet
        ((True,), True, 2, 3, True),
        ((False, True), True, 2, 3, True),
        ((True, False), False, 2, 3, False),
        ((True, True), False, 2, 3, True),  # k of n, current included
        ((True, False, False), True, 2, 3, False),  # oldest window fell out
        ((True, True, True), True, 3, 3, True),
        ((False, True, True), False, 3, 3, False),
        ((True,) * 10, True, 4, 4, True),
    ],
)
def test_drift_persisted_k_of_n(
    history: tuple[bool, ...], current: bool, k: int, n: int, expected: bool
) -> None:
    assert drift_persisted(history, current, k, n) is expected


@pytest.mark.parametrize(("k", "n"), [(0, 3), (4, 3), (1, 0)])
def test_drift_persisted_rejects_bad_k_n(k: int, n: int) -> None:
    with pytest.raises(ValueError, match="k <= n"):
        drift_persisted((), True, k, n)


@pytest.mark.parametrize(
    ("history", "current", "reasons"),
    [
        ((True, False), False, (Reason.stable,)),
        ((False, True), True, (Reason.persistent_drift,)),
        ((True, True), False, (Reason.persistent_drift,)),
        ((True, False, False), True, (Reason.stable, Reason.drift_not_persistent)),
    ],
)
def test_decide_uses_k_of_n_from_thresholds(
    history: tuple[bool, ...], current: bool, reasons: tuple[Reason, ...]
) -> None:
    decision = _decide(drift_history=history, dataset_drift=current)
    assert decision.reasons == reasons


def test_details_carry_the_numbers_used() -> None:
    details = _decide(**DROPPED, **DRIFTING).details
    assert details["performance_drop"] == pytest.approx(0.10)
    assert details["drift_windows"] == 2
    assert details["windows_considered"] == 3
    assert details["days_since_promotion"] == 30
    assert details["model_age_days"] == 30
    assert details["labelled_rows"] == 1000


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"rows": 0},
        {**DROPPED, **RECENT},
        {"champion_metric": float("nan")},
        {"last_promotion": None, "model_age_days": None},
    ],
)
def test_to_dict_is_json(changes: dict[str, Any]) -> None:
    record = _decide(**changes).to_dict()
    assert json.loads(json.dumps(record, allow_nan=False)) == record
    assert set(record) == {"action", "retrain", "reasons", "details"}


# Triggers that cannot get stuck (issue: staleness, floor over cooldown, a bar that never sinks).
AGED = THRESHOLDS.model_copy(update={"max_model_age_days": 28, "absolute_floor": 0.65})
LOW = {"champion_metric": 0.60, "model_age_days": 2}  # a young champion below the floor


@pytest.mark.parametrize(
    ("changes", "action", "reasons"),
    [
        ({"model_age_days": 27}, Action.keep, (Reason.stable,)),
        ({"model_age_days": 28}, Action.retrain, (Reason.stale_model,)),  # no drift, no drop
        ({"model_age_days": 90, **RECENT}, Action.skip, (Reason.cooldown,)),
        ({"model_age_days": None}, Action.keep, (Reason.stable,)),
        # below the floor: retrain, and the cooldown does not hold it back
        (
            {**LOW, "reference_metric": 0.61},
            Action.retrain,
            (Reason.below_floor,),
        ),
        (
            {**LOW, "reference_metric": 0.61, **RECENT},
            Action.retrain,
            (Reason.below_floor,),
        ),
        (
            {**LOW, "reference_metric": 0.70, **RECENT},
            Action.retrain,
            (Reason.below_floor, Reason.performance_drop),
        ),
        ({**LOW, "champion_metric": 0.65, "reference_metric": 0.66}, Action.keep, (Reason.stable,)),
    ],
)
def test_staleness_and_floor(
    changes: dict[str, Any], action: Action, reasons: tuple[Reason, ...]
) -> None:
    decision = decide(replace(BASE, **changes), AGED)
    assert (decision.action, decision.reasons) == (action, reasons)


def test_floor_for_an_error_metric_is_a_ceiling() -> None:
    thresholds = THRESHOLDS.model_copy(update={"absolute_floor": 10.0})
    worse = replace(BASE, higher_is_better=False, champion_metric=12.0, reference_metric=11.99)
    assert decide(worse, thresholds).reasons == (Reason.below_floor,)
    better = replace(worse, champion_metric=9.0)
    assert decide(better, thresholds).reasons == (Reason.stable,)


@pytest.mark.parametrize(
    ("own", "recent", "higher", "expected"),
    [
        (0.62, [0.70, 0.66], True, 0.70),  # a weak champion does not lower the bar
        (0.75, [0.70], True, 0.75),
        (None, [0.70, None], True, 0.70),
        (None, [], True, None),
        (0.62, [float("nan")], True, 0.62),
        (5.0, [4.0, 6.0], False, 4.0),  # lower is better: the smallest error is the bar
    ],
)
def test_reference_metric_is_the_best_recent_score(
    own: float | None, recent: list[float | None], higher: bool, expected: float | None
) -> None:
    assert reference_metric(own, recent, higher) == expected


def test_low_scoring_champion_does_not_lower_the_bar() -> None:
    # promoted with a weak holdout score 0.62; challengers reached 0.72 lately; it scores 0.66
    bar = reference_metric(0.62, [0.72], True)
    decision = _decide(champion_metric=0.66, reference_metric=bar)
    assert decision.reasons == (Reason.performance_drop,)


ESTIMATED = THRESHOLDS.model_copy(update={"estimated_floor": 0.70})


@pytest.mark.parametrize(
    ("changes", "thresholds", "action", "reasons"),
    [
        # 0.64 + 2 x 0.02 = 0.68 < 0.70: even the optimistic end is under the floor
        (
            {"estimated_metric": 0.64, "estimated_standard_error": 0.02},
            ESTIMATED,
            Action.retrain,
            (Reason.estimated_below_floor,),
        ),
        # 0.67 + 2 x 0.02 = 0.71: the estimate could still be above the floor
        (
            {"estimated_metric": 0.67, "estimated_standard_error": 0.02},
            ESTIMATED,
            Action.keep,
            (Reason.stable,),
        ),
        # off by default
        (
            {"estimated_metric": 0.50, "estimated_standard_error": 0.01},
            THRESHOLDS,
            Action.keep,
            (Reason.stable,),
        ),
        # no estimate (regression, or no unlabelled rows): nothing to judge
        (
            {"estimated_metric": None, "estimated_standard_error": None},
            ESTIMATED,
            Action.keep,
            (Reason.stable,),
        ),
        (
            {"estimated_metric": 0.5, "estimated_standard_error": float("nan")},
            ESTIMATED,
            Action.keep,
            (Reason.stable,),
        ),
        # the cooldown holds it back like any trigger but the realised floor
        (
            {"estimated_metric": 0.64, "estimated_standard_error": 0.02, **RECENT},
            ESTIMATED,
            Action.skip,
            (Reason.cooldown,),
        ),
        # with realised metrics too: both reasons, in rule order
        (
            {"estimated_metric": 0.64, "estimated_standard_error": 0.02, **DROPPED},
            ESTIMATED,
            Action.retrain,
            (Reason.performance_drop, Reason.estimated_below_floor),
        ),
    ],
)
def test_estimated_below_floor(
    changes: dict[str, Any], thresholds: Thresholds, action: Action, reasons: tuple[Reason, ...]
) -> None:
    decision = decide(replace(BASE, **changes), thresholds)
    assert (decision.action, decision.reasons) == (action, reasons)
    json.dumps(decision.to_dict())


def test_estimated_floor_details_and_error_metric() -> None:
    inputs = replace(BASE, estimated_metric=0.64, estimated_standard_error=0.02)
    details = decide(inputs, ESTIMATED).details
    assert details["estimated_bound"] == pytest.approx(0.68)
    assert (details["estimated_floor"], details["estimated_below_floor"]) == (0.70, True)
    # lower is better: the optimistic end is value - 2 SE, the floor a ceiling
    ceiling = THRESHOLDS.model_copy(update={"estimated_floor": 10.0})
    worse = replace(
        BASE,
        higher_is_better=False,
        champion_metric=9.0,
        reference_metric=9.0,
        estimated_metric=10.5,
        estimated_standard_error=0.2,
    )
    assert decide(worse, ceiling).reasons == (Reason.estimated_below_floor,)
    assert decide(replace(worse, estimated_standard_error=0.3), ceiling).reasons == (Reason.stable,)
