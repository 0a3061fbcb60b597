"""The one rule of the loop's timeline: a version scores a window only when its training data
ended at or before the window's first day; and which champion the loop had for a past window."""

from __future__ import annotations

from datetime import date

import pytest

from retrain.data.s3 import Window
from retrain.decisions.timeline import (
    AliasMove,
    may_score,
    served_version,
    trained_after_window,
    trained_on_window,
)
from retrain.registry.versions import Champion

WEEK = Window(date(2013, 6, 24), date(2013, 7, 1))  # the run for as_of 2013-07-01


@pytest.mark.parametrize(
    ("trained", "allowed"),
    [
        (date(2013, 7, 1), False),  # trained for this as_of: its data holds the whole week
        (date(2013, 6, 30), False),  # one day of the window in its training data
        (date(2013, 6, 25), False),
        (date(2013, 6, 24), True),  # data up to the window's first day (excluded)
        (date(2013, 6, 17), True),
    ],
)
def test_a_version_may_score_a_window_only_after_its_training_data(
    trained: date, allowed: bool
) -> None:
    assert may_score(trained, WEEK) is allowed
    champion = Champion("m", "3", "run", {"as_of": trained.isoformat()})
    assert trained_on_window(champion, WEEK) is not allowed


@pytest.mark.parametrize(
    ("trained", "after"),
    [
        (date(2013, 7, 8), True),  # a later window's champion: an auto run is refused
        (date(2013, 7, 2), True),
        (date(2013, 7, 1), False),  # trained for this window: an auto rerun keeps it
        (date(2013, 6, 24), False),
    ],
)
def test_an_auto_run_is_refused_only_for_a_window_before_the_champions_training(
    trained: date, after: bool
) -> None:
    champion = Champion("m", "3", "run", {"as_of": trained.isoformat()})
    assert trained_after_window(champion, WEEK) is after


def test_a_version_without_a_training_date_cannot_be_checked_and_passes() -> None:
    assert trained_on_window(Champion("m", "1", "run", {}), WEEK) is False
    assert trained_on_window(None, WEEK) is False
    assert trained_after_window(Champion("m", "1", "run", {}), WEEK) is False


# v15 trained for 06-24 (served 06-24..06-30), v16 trained for 07-01: the case of issue 22
TRAINED = {"14": date(2013, 6, 17), "15": date(2013, 6, 24), "16": date(2013, 7, 1)}

CASES = [
    # moves as the loop records them (with the run's as_of)
    (
        "honest champion, not the one trained on the week",
        [("14", "2013-06-17"), ("15", "2013-06-24"), ("16", "2013-07-01")],
        WEEK,
        "15",
    ),
    (
        "the week after: the newer version serves",
        [("14", "2013-06-17"), ("15", "2013-06-24"), ("16", "2013-07-01")],
        Window(date(2013, 7, 1), date(2013, 7, 8)),
        "16",
    ),
    (
        "before any champion trained in time",
        [("15", "2013-06-24")],
        Window(date(2013, 6, 17), date(2013, 6, 24)),
        None,
    ),
    (
        "a version trained for exactly the window end never scores it",
        [("16", "2013-07-01")],
        WEEK,
        None,
    ),
    # v14 reinstated at 06-24 over v15 (both trained before the week): the reinstated one served
    (
        "a reinstated version",
        [("14", "2013-06-17"), ("15", "2013-06-17"), ("14", "2013-06-24")],
        WEEK,
        "14",
    ),
    (
        "a reinstatement after the window does not reach back",
        [("14", "2013-06-17"), ("15", "2013-06-24"), ("14", "2013-07-01")],
        WEEK,
        "15",
    ),
    # two moves for one window end: the later move wins
    ("two versions on one day", [("14", "2013-06-24"), ("15", "2013-06-24")], WEEK, "15"),
    # histories written before moves carried as_of: newest training date, then number
    ("old history: newest honest version", [("14", None), ("15", None), ("16", None)], WEEK, "15"),
    (
        "old history: a deleted or untagged version is skipped",
        [("15", None), ("99", None)],
        WEEK,
        "15",
    ),
]


@pytest.mark.parametrize(
    ("moves", "window", "expected"),
    [(m, w, e) for _, m, w, e in CASES],
    ids=[c[0] for c in CASES],
)
def test_the_champion_the_loop_had_for_a_window(
    moves: list[tuple[str, str | None]], window: Window, expected: str | None
) -> None:
    history = [AliasMove(v, date.fromisoformat(a) if a else None) for v, a in moves]
    trained = {**TRAINED, "17": date(2013, 6, 24)}  # "99": no training date (untagged)

    served = served_version(history, trained, window)

    assert served == expected
    if served is not None:
        assert may_score(trained[served], window)


def test_two_versions_trained_for_one_day_in_an_old_history_the_higher_number_wins() -> None:
    history = [AliasMove("17"), AliasMove("15")]
    trained = {"15": date(2013, 6, 24), "17": date(2013, 6, 24)}

    assert served_version(history, trained, WEEK) == "17"
