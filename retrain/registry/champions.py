"""The champions a run uses: which one scores a window, a version's state (model, reference
sample, schema, reference statistics) and the archived champions' models, each read from
MLflow once per version in this process (retrain/registry/version_cache.py). Models load without
pickle (model_io)."""

from __future__ import annotations

from typing import Any

from mlflow import MlflowClient

from retrain.config import Mode
from retrain.data.s3 import Window
from retrain.decisions import timeline
from retrain.decisions.plan import ChampionChoice, champion_choice
from retrain.loop import ChampionState
from retrain.registry import versions as registry
from retrain.registry.model_io import load_sklearn_model
from retrain.registry.version_cache import version_cache
from retrain.registry.versions import Champion


def load_state(client: MlflowClient, version: Champion) -> ChampionState:
    """A version with its model, reference sample, schema and reference statistics: the one
    loader behind today's champion and the champion a past window had."""

    def load() -> tuple[Any, Any, Any, Any]:
        reference, schema = registry.load_reference(client, version.run_id)
        stats = registry.load_reference_stats(client, version.run_id)
        return load_sklearn_model(version.model_uri), reference, schema, stats

    key = (version.name, version.version, version.run_id, "state")
    model, reference, schema, stats = version_cache().get_or_load(key, load)
    return ChampionState(version, model, reference, schema, stats)


def archived_models(client: MlflowClient, name: str, current: str, n: int) -> dict[str, Any]:
    """The models of up to `n` earlier champions of `name` (newest first, `current` left out)."""
    versions = registry.archived_versions(client, name, current, n)
    runs = registry.version_runs(client, name, versions)  # one search, not N gets
    cache = version_cache()
    return {
        v: cache.get_or_load(
            (name, v, runs[v], "model"),
            lambda v=v: load_sklearn_model(f"models:/{name}/{v}"),  # type: ignore[misc]
        )
        for v in versions
    }


def choice_for_window(current: Champion, window: Window, mode: Mode) -> ChampionChoice:
    """Whether today's champion scores `window` (retrain/decisions/plan.py), from its training
    dates."""
    return champion_choice(
        mode,
        timeline.trained_on_window(current, window),
        timeline.trained_after_window(current, window),
    )


def champion_then(client: MlflowClient, name: str, window: Window) -> ChampionState | None:
    """The champion the loop had for `window` (trained before it), loaded; None if none was."""
    then = timeline.champion_at(client, name, window)
    return None if then is None else load_state(client, then)
