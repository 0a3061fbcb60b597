"""The champion alias history on the real MLflow server: a model whose history earlier code
wrote as one tag per move still reads, rolls back, and moves into the history artifact."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from retrain.registry import page as registry_page
from retrain.registry import versions as registry

pytestmark = pytest.mark.integration


@pytest.fixture
def old_style(mlflow: Any) -> Iterator[str]:
    """v1 then v2 promoted by earlier code: `champion_history.0000N` tags, v2 the champion."""
    name = f"history_{uuid.uuid4().hex[:8]}"
    mlflow.create_registered_model(name, description="Predicts `late`.")
    run = mlflow.create_run(mlflow.create_experiment(f"history-{uuid.uuid4().hex[:8]}"))
    for n, previous in ((1, ""), (2, "1")):
        tags = {"as_of": f"2013-0{n + 2}-04", "previous_champion": previous}
        mlflow.create_model_version(
            name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id, tags=tags
        )
        entry = {
            "version": str(n),
            "previous": previous,
            "at": f"2026-11-0{n}T00:00:00+00:00",
            "reason": "no_champion" if n == 1 else "drift",
            "by": "retrain-loop",
        }
        mlflow.set_registered_model_tag(name, f"champion_history.{n:05d}", json.dumps(entry))
    mlflow.set_registered_model_alias(name, registry.CHAMPION, "2")
    yield name
    mlflow.delete_registered_model(name)


def test_old_tags_read_then_moved_to_the_artifact_by_a_rollback(
    mlflow: Any, old_style: str, tmp_path: Path
) -> None:
    name = old_style
    assert [(m["version"], m["previous"]) for m in registry.champion_history(mlflow, name)] == [
        ("1", ""),
        ("2", "1"),
    ]
    assert registry.archived_versions(mlflow, name, "2", 3) == ["1"]

    assert registry.rollback(mlflow, name, "complaints", "alice") == ("2", "1")

    model = mlflow.get_registered_model(name)
    history = registry.champion_history(mlflow, name)
    assert [(m["version"], m["previous"], m["by"]) for m in history] == [
        ("1", "", "retrain-loop"),
        ("2", "1", "retrain-loop"),
        ("1", "2", "alice"),
    ]
    assert list(model.tags) == ["champion_history"]  # the old one-move tags are gone
    run_id = registry_page.pointed_run(model.tags["champion_history"])
    assert run_id is not None
    local = mlflow.download_artifacts(run_id, "champion_history.json", str(tmp_path))
    stored = json.loads(Path(local).read_text())
    assert [m["version"] for m in stored] == ["1", "2", "1"]
    registry.promote(mlflow, name, "2", "1", "again", as_of=date(2013, 7, 1))
    assert [m["version"] for m in registry.champion_history(mlflow, name)] == ["1", "2", "1", "2"]
    assert registry.champion_history(mlflow, name)[-1]["as_of"] == "2013-07-01"
    after = mlflow.get_registered_model(name).tags
    assert after == model.tags  # one tag, the same pointer
    assert model.description.startswith("Predicts `late`.")
    table = model.description.split(registry_page.HISTORY_HEADING, 1)[1]
    assert "| v1 |" in table and "rollback: complaints" in table and "| now |" in table


def test_the_description_keeps_its_table_when_the_config_text_changes(
    mlflow: Any, old_style: str
) -> None:
    name = old_style
    registry.ensure_registered_model(mlflow, name, "Predicts `late`, config v2.")
    text = mlflow.get_registered_model(name).description
    assert text.startswith("Predicts `late`, config v2.")
    assert "| v2 |" in text.split(registry_page.HISTORY_HEADING, 1)[1]
    registry.ensure_registered_model(mlflow, name, "Predicts `late`, config v2.")
    assert mlflow.get_registered_model(name).description == text  # unchanged: no write
