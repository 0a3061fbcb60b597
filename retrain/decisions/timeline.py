"""Which model may score a window, and which champion the loop had for a past window.

One rule, used by every mode (auto, shadow, replay), the yardstick and the demo: a version may
score a window only when its training data ended at or before the window's first day. A
version records the window end it was trained for (tag `as_of`: its training rows all precede
that day), so a version trained for `as_of == D` saw every row before D and may score windows
starting on D or later, never the week that ends on D.

The registered model records every move of the `champion` alias (registry.champion_history);
moves made by the loop also record the window end of the run that made them (`as_of`). For a
past window, the champion the loop had then is the version of the last such move made for a
window end at or before the window's start (a reinstatement included); older histories without
that field fall back to the newest version, by training date then number, that the alias ever
pointed at and that may score the window. Rollbacks by hand are wall-clock events and are not
replayed.

An auto run is refused for a window before the current champion's training (`trained_after_window`).
One exception to the rule remains: an auto *rerun* of the window the current champion was
trained for (a retry, or a rerun after a crash) keeps that champion, so it can finish what the
first run left undone without replacing it; its score on that window is on rows it trained on,
and the run says so in its log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from retrain.data.s3 import Window
from retrain.registry.versions import Champion, champion_history


class LaterChampionError(RuntimeError):
    """An auto run for a window before the current champion's training: it would judge the
    window with a model trained on later data, and could replace it with an older one."""


@dataclass(frozen=True)
class AliasMove:
    """One move of the champion alias: the version it pointed at and, when the loop made the
    move, the window end of that run."""

    version: str
    as_of: date | None = None


def may_score(trained_as_of: date, window: Window) -> bool:
    """The rule: a version trained for `trained_as_of` may score `window` (no row of the window
    is in its training data)."""
    return trained_as_of <= window.start


def trained_on_window(champion: Champion | None, window: Window) -> bool:
    """Whether the champion's training data reaches into the window (it may not score it). A
    version without an `as_of` tag (registered by hand) cannot be checked and passes."""
    trained = champion.trained_as_of if champion else None
    return trained is not None and not may_score(trained, window)


def trained_after_window(champion: Champion | None, window: Window) -> bool:
    """Whether the champion was trained for a window ending after this one: an auto run for a
    past window, which is refused (a rerun of the window it was trained for is not)."""
    trained = champion.trained_as_of if champion else None
    return trained is not None and trained > window.end


def served_version(moves: list[AliasMove], trained: dict[str, date], window: Window) -> str | None:
    """The champion the loop had for `window`, from the alias moves (oldest first) and each
    version's training date; None when no version that may score the window was champion."""
    honest = [m for m in moves if m.version in trained and may_score(trained[m.version], window)]
    known = [m for m in honest if m.as_of is None or m.as_of <= window.start]
    timed = [(m.as_of, i, m.version) for i, m in enumerate(known) if m.as_of is not None]
    if timed:
        return max(timed)[2]
    if not known:
        return None
    return max(known, key=lambda m: (trained[m.version], int(m.version))).version


def champion_at(client: MlflowClient, name: str, window: Window) -> Champion | None:
    """The champion for `window` in the loop's own timeline (`served_version`), read from
    MLflow; None when no champion that may score the window had been trained by then."""
    moves = [
        AliasMove(m["version"], date.fromisoformat(m["as_of"]) if m.get("as_of") else None)
        for m in champion_history(client, name)
    ]
    versions = {}
    for version in {m.version for m in moves}:
        try:
            versions[version] = client.get_model_version(name, version)
        except MlflowException:
            continue  # a deleted version cannot be replayed
    trained = {
        v: date.fromisoformat(mv.tags["as_of"])
        for v, mv in versions.items()
        if mv.tags.get("as_of")
    }
    chosen = served_version(moves, trained, window)
    if chosen is None:
        return None
    mv = versions[chosen]
    return Champion(name, str(mv.version), mv.run_id or "", dict(mv.tags))


def refusal(champion: Champion, window: Window) -> str:
    """Why an auto run for this window is refused, and what to run instead."""
    return (
        f"champion v{champion.version} of {champion.name} was trained for the window ending "
        f"{champion.trained_as_of}, after this window ({window.start}..{window.end}): an auto "
        "run would score the past with a model that saw it, and could replace it with an older "
        "one. Replay past windows in shadow mode (replay with shadow=true), which uses the "
        "champion each window had."
    )
