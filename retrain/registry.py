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

from retrain.drift_stats import ReferenceStats

CHAMPION = "champion"
REFERENCE_DIR = "reference"
REFERENCE_FILE = "reference.parquet"
SCHEMA_FILE = "schema.json"
STATS_FILE = "reference_stats.json"
MAX_TAG = 5000
HISTORY_TAG = "champion_history"


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
        value = self.tags.get("challenger_metric")
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
    if current.description != description:
        client.update_registered_model(name, description=description)


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


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def promote(
    client: MlflowClient,
    name: str,
    version: str,
    expected: str | None,
    reason: str,
    actor: str = "retrain-loop",
) -> str | None:
    """Move `champion` to `version` if it still points at `expected`; returns the old champion.

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
    record_alias_move(client, name, version, expected, reason, actor, when)
    return expected


def record_alias_move(
    client: MlflowClient,
    name: str,
    version: str,
    previous: str | None,
    reason: str,
    actor: str,
    when: str,
) -> None:
    """Append one alias move to the registered model's history tags (one tag per move)."""
    history = champion_history(client, name)
    entry = {
        "version": str(version),
        "previous": previous or "",
        "at": when,
        "reason": reason,
        "by": actor,
    }
    client.set_registered_model_tag(name, f"{HISTORY_TAG}.{len(history) + 1:05d}", tag_value(entry))


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
    tags = client.get_registered_model(name).tags
    keys = sorted(k for k in tags if k.startswith(f"{HISTORY_TAG}."))
    return [json.loads(tags[k]) for k in keys]


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
