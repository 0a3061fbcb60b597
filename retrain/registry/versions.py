"""MLflow registry conventions: versions with tags, a `champion` alias, promotion and rollback."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from retrain.drift.reference import ReferenceStats
from retrain.registry import page as registry_page

CHAMPION = "champion"
REFERENCE_DIR = "reference"
REFERENCE_FILE = "reference.parquet"
SCHEMA_FILE = "schema.json"
STATS_FILE = "reference_stats.json"
MAX_TAG = 5000
HISTORY_TAG = registry_page.HISTORY_TAG


class PromotionError(RuntimeError):
    """The champion moved under us, or the alias did not land where it was set."""


@dataclass(frozen=True)
class Champion:
    """The version behind the `champion` alias and what was recorded when it was promoted."""

    name: str
    version: str
    run_id: str
    tags: dict[str, str]

    @property
    def model_uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    @property
    def holdout_metric(self) -> float | None:
        """The metric this version scored on its holdout when it was registered."""
        value = self.tags.get("holdout_score", self.tags.get("challenger_metric"))  # older name
        return float(value) if value not in (None, "", "None") else None

    @property
    def recipe(self) -> str | None:
        """The training recipe that produced this version (tournament incumbent)."""
        return self.tags.get("recipe") or None

    @property
    def trained_as_of(self) -> date | None:
        value = self.tags.get("as_of")
        return date.fromisoformat(value) if value else None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def tag_value(value: Any) -> str:
    """A tag value: JSON for structures, truncated to MLflow's tag limit."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= MAX_TAG else text[: MAX_TAG - 3] + "..."


def get_champion(client: MlflowClient, name: str) -> Champion | None:
    """The current champion, or None when the model or its alias does not exist yet."""
    try:
        mv = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException as exc:
        if _no_champion(exc):
            return None
        raise
    return Champion(name=name, version=str(mv.version), run_id=mv.run_id or "", tags=dict(mv.tags))


def _no_champion(exc: MlflowException) -> bool:
    """MLflow's answer for a missing model, or for a model without the alias; not other errors.

    A missing alias comes back as INVALID_PARAMETER_VALUE, the code of every bad argument
    (a malformed name too), so only its message tells the two apart.
    """
    if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
        return True
    missing_alias = f"Registered model alias {CHAMPION} not found"
    return exc.error_code == "INVALID_PARAMETER_VALUE" and missing_alias in exc.message


def ensure_registered_model(client: MlflowClient, name: str, description: str) -> None:
    """Create the registered model on first use; keep its description current."""
    try:
        current = client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        try:
            client.create_registered_model(name, description=description)
        except MlflowException as race:
            if race.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        return
    if registry_page.base_description(current.description) != description:
        moves = _read_moves(client, dict(current.tags))
        text = registry_page.with_history(description, moves)
        client.update_registered_model(name, description=text)


def register_version(
    client: MlflowClient,
    name: str,
    source: str,
    run_id: str,
    tags: dict[str, Any],
    description: str,
) -> ModelVersion:
    """Create a model version with every tag set in the same call (never half-tagged)."""
    return client.create_model_version(
        name=name,
        source=source,
        run_id=run_id,
        tags={k: tag_value(v) for k, v in tags.items()},
        description=description,
    )


def set_run_tags(client: MlflowClient, run_id: str, tags: dict[str, Any]) -> None:
    """Tags on a version's MLflow run, in one call: the details the version's own tags leave out."""
    from mlflow.entities import RunTag

    client.log_batch(run_id, tags=[RunTag(k, tag_value(v)) for k, v in tags.items()])


RERUN_KEYS = ("as_of", "mode", "config_hash")


def find_registered_version(
    client: MlflowClient, name: str, tags: dict[str, Any]
) -> ModelVersion | None:
    """A version of `name` a run already registered for this window, mode and config (a rerun
    after a crash), fully registered (READY, tags set at creation); the oldest if several."""
    wanted = {k: tag_value(tags[k]) for k in RERUN_KEYS}
    query = f"name = {_quoted(name)} AND " + " AND ".join(
        f"tags.{k} = {_quoted(v)}" for k, v in wanted.items()
    )
    try:
        found = client.search_model_versions(query)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    ready = [
        mv
        for mv in found
        if mv.status == "READY" and all(mv.tags.get(k) == v for k, v in wanted.items())
    ]
    return min(ready, key=lambda mv: int(mv.version)) if ready else None


def drop_retry_duplicates(
    client: MlflowClient, name: str, tags: dict[str, Any], run_id: str
) -> ModelVersion | None:
    """After registering: keep the oldest version for this window, mode and config and delete
    newer ones this run created (an HTTP retry of a create whose answer was lost makes two)."""
    keep = find_registered_version(client, name, tags)
    if keep is None:
        return None
    wanted = {k: tag_value(tags[k]) for k in RERUN_KEYS}
    for mv in client.search_model_versions(f"name = {_quoted(name)} AND run_id = '{run_id}'"):
        same = all(mv.tags.get(k) == v for k, v in wanted.items())
        if same and mv.version != keep.version and not mv.aliases:
            client.delete_model_version(name, mv.version)
    return keep


@dataclass(frozen=True)
class VersionSpec:
    """A version to register: its model source, MLflow run, tags set at creation (the rerun
    keys among them), description, and the details that go on its run instead (`run_tags`)."""

    source: str
    run_id: str
    tags: dict[str, Any]
    description: str
    run_tags: dict[str, Any]


def register_once(
    client: MlflowClient, name: str, model_description: str, spec: VersionSpec
) -> tuple[ModelVersion, bool]:
    """Register `spec` as a new version of `name` (created, with `model_description`, on first
    use), or reuse the version a run registered before for the same window, mode and config
    (a rerun after a crash); returns (the version, whether it was reused)."""
    ensure_registered_model(client, name, model_description)
    if spec.run_tags:
        set_run_tags(client, spec.run_id, spec.run_tags)
    earlier = find_registered_version(client, name, spec.tags)
    if earlier is not None:
        return earlier, True
    version = register_version(client, name, spec.source, spec.run_id, spec.tags, spec.description)
    return drop_retry_duplicates(client, name, spec.tags, spec.run_id) or version, False


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def promote(
    client: MlflowClient,
    name: str,
    version: str,
    expected: str | None,
    reason: str,
    actor: str = "retrain-loop",
    as_of: date | None = None,
) -> str | None:
    """Move `champion` to `version` if it still points at `expected`; returns the old champion.
    `as_of`: the window end of the loop's run that moves it (its place in the loop's timeline).

    Aliases are last-writer-wins, so callers serialise promotions per model (a Prefect
    concurrency limit); the re-check and the read-back catch anything that slips past that.
    """
    current = get_champion(client, name)
    current_version = current.version if current else None
    if current_version != expected:
        raise PromotionError(
            f"champion of {name} is now v{current_version}, not v{expected} that the challenger "
            "beat; not promoting"
        )
    when = now_iso()
    client.set_model_version_tag(name, version, "previous_champion", expected or "")
    client.set_registered_model_alias(name, CHAMPION, version)
    after = get_champion(client, name)
    if after is None or after.version != str(version):
        raise PromotionError(
            f"champion of {name} is v{after and after.version} after setting v{version}"
        )
    record_alias_move(client, name, version, expected, reason, actor, when, as_of)
    return expected


def record_alias_move(
    client: MlflowClient,
    name: str,
    version: str,
    previous: str | None,
    reason: str,
    actor: str,
    when: str,
    as_of: date | None = None,
) -> None:
    """Append one alias move to the registered model's history (one JSON artifact, pointed to
    by the tag `champion_history`: retrain/registry/page.py) and show the newest moves in its
    description. `as_of`: the window end of the loop's run that moved it
    (retrain/decisions/timeline.py).
    Old one-move tags are folded in and deleted once the artifact holds them."""
    model = client.get_registered_model(name)
    tags = dict(model.tags)
    moves = _read_moves(client, tags)
    moves.append(registry_page.entry(version, previous, when, reason, actor, len(moves) + 1, as_of))
    run_id = registry_page.pointed_run(tags.get(HISTORY_TAG)) or _history_run(client, name)
    client.log_text(run_id, json.dumps(moves, indent=1), registry_page.HISTORY_FILE)
    if tags.get(HISTORY_TAG) != registry_page.pointer(run_id):
        client.set_registered_model_tag(name, HISTORY_TAG, registry_page.pointer(run_id))
    for key in tags:
        if registry_page.is_old_history_tag(key):
            client.delete_registered_model_tag(name, key)
    base = registry_page.base_description(model.description)
    client.update_registered_model(name, description=registry_page.with_history(base, moves))


def _history_run(client: MlflowClient, name: str) -> str:
    """A new run to hold a model's alias history, in the experiment `retrain-loop/<name>/registry`
    (apart from the loop's runs); finished at once: only its artifact changes afterwards."""
    experiment_name = f"retrain-loop/{name}/registry"
    experiment = client.get_experiment_by_name(experiment_name)
    experiment_id = (
        experiment.experiment_id if experiment else client.create_experiment(experiment_name)
    )
    run = client.create_run(experiment_id, run_name="champion-history", tags={"model": name})
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def _read_moves(client: MlflowClient, tags: dict[str, str]) -> list[dict[str, Any]]:
    """The alias moves of a registered model's tags: the history artifact and old one-move tags."""
    stored: list[dict[str, Any]] = []
    run_id = registry_page.pointed_run(tags.get(HISTORY_TAG))
    if run_id:
        with tempfile.TemporaryDirectory() as tmp:
            local = client.download_artifacts(run_id, registry_page.HISTORY_FILE, tmp)
            stored = json.loads(Path(local).read_text())
    return registry_page.merged(registry_page.moves_from_tags(tags), stored)


def repair_history(client: MlflowClient, champion: Champion) -> bool:
    """Record a champion the history does not end with: a run killed between moving the alias
    and recording the move (or a move made by hand). True when an entry was added."""
    history = champion_history(client, champion.name)
    if history and history[-1]["version"] == champion.version:
        return False
    previous = champion.tags.get("previous_champion") or None
    reason = "recorded late: alias found here with no history entry for the move"
    record_alias_move(
        client, champion.name, champion.version, previous, reason, "retrain-loop", now_iso()
    )
    return True


def champion_history(client: MlflowClient, name: str) -> list[dict[str, str]]:
    """Every move of the champion alias, oldest first: version, previous, at, reason, by."""
    moves = _read_moves(client, dict(client.get_registered_model(name).tags))
    return [{k: v for k, v in move.items() if k != "seq"} for move in moves]


def archived_versions(client: MlflowClient, name: str, current: str, n: int) -> list[str]:
    """Up to n earlier champions, newest first, the current one left out: the past versions a
    tournament may reinstate without training."""
    if n <= 0:
        return []
    found: list[str] = []
    for move in reversed(champion_history(client, name)):
        version = move["version"]
        if version != current and version not in found:
            found.append(version)
    return found[:n]


def version_runs(client: MlflowClient, name: str, versions: list[str]) -> dict[str, str]:
    """Run id of each of `versions` of `name`, from one registry search (a missing version is
    an error naming it)."""
    if not versions:
        return {}
    found = {
        str(mv.version): mv.run_id or ""
        for mv in client.search_model_versions(f"name = {_quoted(name)}")
    }
    missing = [v for v in versions if v not in found]
    if missing:
        raise MlflowException(f"{name} has no version {', '.join(missing)}")
    return {v: found[v] for v in versions}


def log_reference(
    client: MlflowClient,
    run_id: str,
    reference: pd.DataFrame,
    schema: dict[str, Any],
    stats: ReferenceStats | None = None,
) -> None:
    """Store the drift reference sample, training schema and reference statistics with a run."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / REFERENCE_DIR
        folder.mkdir()
        reference.to_parquet(folder / REFERENCE_FILE, index=False)
        (folder / SCHEMA_FILE).write_text(json.dumps(schema, indent=2, sort_keys=True, default=str))
        if stats is not None:
            (folder / STATS_FILE).write_text(stats.to_json())
        client.log_artifacts(run_id, str(folder), REFERENCE_DIR)


def load_reference(client: MlflowClient, run_id: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The reference sample and schema stored with a champion's training run."""
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(client.download_artifacts(run_id, REFERENCE_DIR, tmp))
        frame = pd.read_parquet(local / REFERENCE_FILE)
        schema = json.loads((local / SCHEMA_FILE).read_text())
    return frame, schema


def load_reference_stats(client: MlflowClient, run_id: str) -> ReferenceStats | None:
    """The reference statistics stored with a champion's training run; None for older runs."""
    names = {Path(f.path).name for f in client.list_artifacts(run_id, REFERENCE_DIR)}
    if STATS_FILE not in names:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        local = client.download_artifacts(run_id, f"{REFERENCE_DIR}/{STATS_FILE}", tmp)
        return ReferenceStats.from_json(Path(local).read_text())


def rollback(client: MlflowClient, name: str, reason: str, actor: str) -> tuple[str, str]:
    """Move `champion` back to the version it replaced; returns (from, to). Refuses clearly
    when there is no champion or the champion replaced nobody."""
    current = get_champion(client, name)
    if current is None:
        raise PromotionError(f"{name} has no champion: nothing to roll back")
    target = current.tags.get("previous_champion", "")
    if not target:
        raise PromotionError(
            f"champion v{current.version} of {name} replaced no earlier champion: nothing to "
            "roll back to"
        )
    client.get_model_version(name, target)  # raises when the version was deleted
    client.set_registered_model_alias(name, CHAMPION, target)
    after = get_champion(client, name)
    if after is None or after.version != target:
        raise PromotionError(f"champion of {name} is v{after and after.version}, not v{target}")
    record_alias_move(
        client, name, target, current.version, f"rollback: {reason}", actor, now_iso()
    )
    return current.version, target
