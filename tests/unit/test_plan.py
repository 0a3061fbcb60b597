"""Table tests of retrain/decisions/plan.py: every (decision, verdict, mode) combination the flow
handles."""

from __future__ import annotations

import itertools

import pytest

from retrain.config import Mode
from retrain.decisions.gate import GateResult
from retrain.decisions.plan import (
    ChampionChoice,
    Plan,
    WindowSteps,
    champion_choice,
    plan,
    run_mode,
    window_steps,
)
from retrain.decisions.policy import Action, Decision, Reason

RETRAIN = Decision(Action.retrain, (Reason.performance_drop,), {})
KEEP = Decision(Action.keep, (Reason.stable,), {})
SKIP = Decision(Action.skip, (Reason.no_data,), {})


def verdict(promote: bool) -> GateResult:
    return GateResult(
        promote=promote,
        reasons=("challenger_wins",) if promote else ("gain_below_min",),
        metric="roc_auc",
        challenger_score=0.71,
        champion_score=0.70,
        gain=0.01,
        ci_low=0.002,
        ci_high=0.02,
        p_value=0.01,
        n_rows=1000,
    )


@pytest.mark.parametrize(
    ("configured", "shadow", "expected"),
    [
        (Mode.auto, False, Mode.auto),
        (Mode.auto, True, Mode.shadow),
        (Mode.shadow, False, Mode.shadow),
        (Mode.shadow, True, Mode.shadow),
        (Mode.approval, False, Mode.approval),
        (Mode.approval, True, Mode.shadow),
    ],
)
def test_run_mode(configured: Mode, shadow: bool, expected: Mode) -> None:
    assert run_mode(configured, shadow) is expected


@pytest.mark.parametrize(
    ("mode", "on_window", "after_window", "expected"),
    [(mode, False, after, ChampionChoice.current) for mode in Mode for after in (False, True)]
    + [
        (Mode.shadow, True, False, ChampionChoice.then),
        (Mode.shadow, True, True, ChampionChoice.then),
        (Mode.auto, True, False, ChampionChoice.rerun),
        (Mode.auto, True, True, ChampionChoice.refuse),
        (Mode.approval, True, False, ChampionChoice.rerun),
        (Mode.approval, True, True, ChampionChoice.refuse),
    ],
)
def test_champion_choice(
    mode: Mode, on_window: bool, after_window: bool, expected: ChampionChoice
) -> None:
    assert champion_choice(mode, on_window, after_window) is expected


@pytest.mark.parametrize(
    ("champion", "valid", "rows", "expected"),
    [
        (True, True, 10, WindowSteps(score=True, estimate=True, monitor=True, evaluate=True)),
        (True, True, 0, WindowSteps(score=False, estimate=True, monitor=False, evaluate=True)),
        (False, True, 10, WindowSteps(score=False, estimate=True, monitor=True, evaluate=True)),
        (False, True, 0, WindowSteps(score=False, estimate=True, monitor=False, evaluate=True)),
    ]
    + [
        (champion, False, rows, WindowSteps(False, False, False, False))
        for champion in (True, False)
        for rows in (0, 10)
    ],
)
def test_window_steps(champion: bool, valid: bool, rows: int, expected: WindowSteps) -> None:
    assert window_steps(champion, valid, rows) == expected


@pytest.mark.parametrize("decision", [KEEP, SKIP])
@pytest.mark.parametrize("mode", list(Mode))
def test_no_retrain_no_steps(decision: Decision, mode: Mode) -> None:
    assert plan(decision, None, mode, None, refit=True) == Plan(retrain=False)
    assert plan(decision, verdict(True), mode, None, refit=True) == Plan(retrain=False)


@pytest.mark.parametrize("mode", list(Mode))
def test_retrain_before_the_gate(mode: Mode) -> None:
    assert plan(RETRAIN, None, mode, None, refit=True) == Plan(retrain=True)


# (passed, mode, archived, refit) -> the plan after the gate
AFTER_GATE = {
    # an archived winner: reinstated only when it passed in auto mode; never registered again
    **{
        (passed, mode, "3", refit): Plan(
            retrain=True, reinstate="3" if passed and mode is Mode.auto else None
        )
        for passed, mode, refit in itertools.product((True, False), Mode, (True, False))
    },
    # a recipe: always registered (kept for review), refitted and moved only when it passed
    (True, Mode.auto, None, True): Plan(True, refit=True, register=True, promote=True),
    (True, Mode.auto, None, False): Plan(True, register=True, promote=True),
    (True, Mode.shadow, None, True): Plan(True, refit=True, register=True),
    (True, Mode.shadow, None, False): Plan(True, register=True),
    (True, Mode.approval, None, True): Plan(True, refit=True, register=True, request_approval=True),
    (True, Mode.approval, None, False): Plan(True, register=True, request_approval=True),
    **{
        (False, mode, None, refit): Plan(True, register=True)
        for mode, refit in itertools.product(Mode, (True, False))
    },
}


def test_the_table_covers_every_combination() -> None:
    every = set(itertools.product((True, False), Mode, ("3", None), (True, False)))
    assert set(AFTER_GATE) == every


@pytest.mark.parametrize(("key", "expected"), list(AFTER_GATE.items()))
def test_after_the_gate(key: tuple[bool, Mode, str | None, bool], expected: Plan) -> None:
    passed, mode, archived, refit = key
    assert plan(RETRAIN, verdict(passed), mode, archived, refit) == expected


def test_never_promoted_and_asked_for_at_once() -> None:
    for (passed, mode, archived, refit), _ in AFTER_GATE.items():
        then = plan(RETRAIN, verdict(passed), mode, archived, refit)
        assert not (then.promote and then.request_approval)
        assert not (then.reinstate and then.register)
