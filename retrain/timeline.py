"""Which champion the loop had for a past window: replay judges each week with that week's model.

A version records the window end it was trained for (tag `as_of`); the registered model records
every move of the `champion` alias (registry.champion_history). For a window ending `as_of`,
the champion the loop had then is the newest version the alias ever pointed at whose `as_of`
is not after it. Rollbacks are wall-clock events and are not replayed.
"""

from __future__ import annotations

from datetime import date

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from retrain.registry import Champion, champion_history


class LaterChampionError(RuntimeError):
    """An auto run for a window before the current champion's training: it would judge the past
    with a model trained on later data, and could replace it with an older one."""


def trained_after(champion: Champion | None, as_of: date) -> bool:
    """Whether the champion was trained for a window ending after `as_of`."""
    trained = champion.trained_as_of if champion else None
    return trained is not None and trained > as_of


def champion_at(client: MlflowClient, name: str, as_of: date) -> Champion | None:
    """The champion for the window ending `as_of` in the loop's own timeline; None when no
    champion had been trained by then."""
    best: tuple[date, int, Champion] | None = None
    for version in {move["version"] for move in champion_history(client, name)}:
        try:
            mv = client.get_model_version(name, version)
        except MlflowException:
            continue  # a deleted version cannot be replayed
        trained = mv.tags.get("as_of")
        if not trained or date.fromisoformat(trained) > as_of:
            continue
        key = (date.fromisoformat(trained), int(mv.version))
        if best is None or key > best[:2]:
            champion = Champion(name, str(mv.version), mv.run_id or "", dict(mv.tags))
            best = (*key, champion)
    return best[2] if best else None


def refusal(champion: Champion, as_of: date) -> str:
    """Why an auto run for this window is refused, and what to run instead."""
    return (
        f"champion v{champion.version} of {champion.name} was trained for the window ending "
        f"{champion.trained_as_of}, after this window ({as_of}): an auto run would judge the "
        "past with a later model and could replace it with an older one. Replay past windows "
        "in shadow mode (replay with shadow=true), which uses the champion of each window's time."
    )
