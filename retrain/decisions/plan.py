"""What a run does, decided once and typed: the run's mode, the champion that scores the window,
which window steps run, and after the gate whether to reinstate, refit, register, promote or ask
a person. The flow (flows/monitor.py) calls its tasks in order and branches only on these.

Pure functions of the decision, the gate's verdict, the mode and the config; each has a table
test (tests/unit/test_plan.py) covering every combination the flow handles.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from retrain.config import Mode
from retrain.decisions.gate import GateResult
from retrain.decisions.policy import Decision


def run_mode(configured: Mode, shadow: bool) -> Mode:
    """The mode of one run: shadow when asked for or configured, else the model's own mode."""
    return Mode.shadow if shadow else configured


class ChampionChoice(StrEnum):
    """Which model scores a window (retrain/decisions/timeline.py says whether it trained on it)."""

    current = "current"  # today's champion, trained before the window
    rerun = "rerun"  # auto rerun of the window today's champion was trained for: it stays
    then = "then"  # shadow replay: the champion the loop had for that window
    refuse = "refuse"  # auto run of a window before today's champion's training


def champion_choice(
    mode: Mode, trained_on_window: bool, trained_after_window: bool
) -> ChampionChoice:
    """Score a window only with a model that did not train on it; in auto mode a past window
    is refused rather than scored by a later champion, a rerun of the champion's own window
    keeps it (a retry finishes the first run's work)."""
    if not trained_on_window:
        return ChampionChoice.current
    if mode is Mode.shadow:
        return ChampionChoice.then
    return ChampionChoice.refuse if trained_after_window else ChampionChoice.rerun


@dataclass(frozen=True)
class WindowSteps:
    """Which of the window's steps run."""

    score: bool  # one predict of the window by the champion, then drift on its outputs
    estimate: bool  # CBPE on the rows whose labels are not yet due
    monitor: bool  # quality, outputs, traffic of the window
    evaluate: bool  # the champion's metric on the matured labels


def window_steps(has_champion: bool, valid: bool, rows: int) -> WindowSteps:
    """A valid window is estimated and evaluated (the steps say why when there is no champion
    or no matured label); only a champion scores it, and only rows are monitored."""
    return WindowSteps(
        score=has_champion and valid and rows > 0,
        estimate=valid,
        monitor=valid and rows > 0,
        evaluate=valid,
    )


@dataclass(frozen=True)
class Plan:
    """What follows the decision and the gate."""

    retrain: bool  # hold the tournament and the gate
    reinstate: str | None = None  # move the alias back to this archived version
    refit: bool = False  # fit the gated recipe again, holdout included, and serve that fit
    register: bool = False  # register the served fit as a new version
    promote: bool = False  # move the champion alias to the new version
    request_approval: bool = False  # a person promotes the new version (flows/approval.py)


def plan(
    decision: Decision,
    verdict: GateResult | None,
    mode: Mode,
    archived_version: str | None,
    refit: bool,
) -> Plan:
    """Before the gate (verdict None): whether to retrain. After it: an archived winner is
    reinstated when it passed in auto mode, nothing else; a recipe's fit is registered in every
    mode (shadow and refused challengers are kept for review), refitted with the holdout only
    when it passed and the config asks for it, promoted only in auto mode, and handed to a
    person in approval mode."""
    if not decision.retrain or verdict is None:
        return Plan(retrain=decision.retrain)
    passed = verdict.promote
    if archived_version is not None:
        reinstate = archived_version if passed and mode is Mode.auto else None
        return Plan(retrain=True, reinstate=reinstate)
    return Plan(
        retrain=True,
        refit=passed and refit,
        register=True,
        promote=passed and mode is Mode.auto,
        request_approval=passed and mode is Mode.approval,
    )
