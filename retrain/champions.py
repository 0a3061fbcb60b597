"""Loading registered versions for a run: a version's state (model, reference sample, schema,
reference statistics) and the archived champions' models, each read from MLflow once per
version in this process (retrain/version_cache.py). Models load without pickle (model_io)."""

from __future__ import annotations

from typing import Any

from mlflow import MlflowClient

from retrain import registry
from retrain.loop import ChampionState
from retrain.model_io import load_sklearn_model
from retrain.registry import Champion
from retrain.version_cache import version_cache


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
