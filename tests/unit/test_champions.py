"""Loading a version's state once per process, and registering a challenger once per window,
against hand-written fakes of the MLflow client (no stack)."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST

from retrain.config import Mode, parse_config
from retrain.data.s3 import Window
from retrain.decisions.plan import ChampionChoice
from retrain.registry import champions
from retrain.registry import versions as registry
from retrain.registry.page import model_description
from retrain.registry.version_cache import version_cache
from retrain.registry.versions import Champion, VersionSpec, register_once


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    version_cache().clear()


def test_one_loader_reads_a_version_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    frame = pd.DataFrame({"x": [1.0]})

    def load_reference(client: Any, run_id: str) -> tuple[pd.DataFrame, dict[str, Any]]:
        reads.append(f"reference {run_id}")
        return frame, {"x": "float"}

    def load_model(uri: str) -> str:
        reads.append(f"model {uri}")
        return "model"

    monkeypatch.setattr(registry, "load_reference", load_reference)
    monkeypatch.setattr(registry, "load_reference_stats", lambda client, run_id: None)
    monkeypatch.setattr(champions, "load_sklearn_model", load_model)
    version = Champion("m", "3", "run-3", {"as_of": "2024-01-01"})

    first = champions.load_state(object(), version)  # type: ignore[arg-type]
    again = champions.load_state(object(), version)  # type: ignore[arg-type]

    assert first.champion is version and first.model == "model" and first.reference is frame
    assert (first.schema, first.stats) == ({"x": "float"}, None)
    assert again.model is first.model and again.reference is first.reference
    assert reads == ["reference run-3", "model models:/m/3"]


class FakeRegistry:
    """The MLflow client calls register_once makes, over an in-memory list of versions."""

    def __init__(self, versions: list[SimpleNamespace] | None = None) -> None:
        self.models: dict[str, str] = {}
        self.versions = versions or []
        self.run_tags: dict[str, dict[str, str]] = {}
        self.deleted: list[str] = []

    def get_registered_model(self, name: str) -> Any:
        if name not in self.models:
            raise MlflowException("no model", error_code=RESOURCE_DOES_NOT_EXIST)
        return SimpleNamespace(description=self.models[name], tags={})

    def create_registered_model(self, name: str, description: str) -> None:
        self.models[name] = description

    def log_batch(self, run_id: str, tags: list[Any]) -> None:
        self.run_tags.setdefault(run_id, {}).update({t.key: t.value for t in tags})

    def search_model_versions(self, query: str) -> list[SimpleNamespace]:
        if "run_id = " in query:
            run_id = query.split("run_id = '")[1].rstrip("'")
            return [mv for mv in self.versions if mv.run_id == run_id]
        return list(self.versions)

    def create_model_version(self, **kw: Any) -> SimpleNamespace:
        mv = SimpleNamespace(
            version=str(len(self.versions) + 1),
            run_id=kw["run_id"],
            tags=kw["tags"],
            status="READY",
            aliases=[],
        )
        self.versions.append(mv)
        return mv

    def delete_model_version(self, name: str, version: str) -> None:
        self.deleted.append(version)


TAGS = {"as_of": "2024-01-08", "mode": "auto", "config_hash": "abc", "holdout_score": 0.8}


def _spec(run_id: str = "run-2") -> VersionSpec:
    return VersionSpec("runs:/run-2/model", run_id, TAGS, "challenger", {"detail": "x"})


def test_register_once_creates_the_model_and_a_fully_tagged_version() -> None:
    client = FakeRegistry()
    version, reused = register_once(client, "m", "what m predicts", _spec())  # type: ignore[arg-type]
    assert (version.version, reused) == ("1", False)
    assert version.tags == {k: registry.tag_value(v) for k, v in TAGS.items()}
    assert client.models == {"m": "what m predicts"} and client.run_tags == {
        "run-2": {"detail": "x"}
    }


def test_a_rerun_of_the_window_reuses_the_version_registered_before() -> None:
    earlier = SimpleNamespace(
        version="4",
        run_id="run-1",
        tags={k: registry.tag_value(v) for k, v in TAGS.items()},
        status="READY",
        aliases=[],
    )
    client = FakeRegistry([earlier])
    version, reused = register_once(client, "m", "d", _spec())  # type: ignore[arg-type]
    assert (version, reused) == (earlier, True) and len(client.versions) == 1


def test_the_model_description_says_what_it_predicts_and_from_which_config() -> None:
    config = parse_config(
        {
            "name": "flights",
            "data": {"bucket": "bkt", "prefix": "p"},
            "columns": {
                "id": "id",
                "timestamp": "ts",
                "label": "delayed",
                "numeric": ["a", "b"],
                "categorical": ["c"],
            },
            "task": "classification",
            "metric": "roc_auc",
            "estimator": {"class_path": "sklearn.linear_model.LogisticRegression"},
        }
    )
    text = model_description(config)
    assert text.startswith("classification model predicting delayed\n\n")
    assert "2 numeric and 1 categorical features of s3://bkt/p/" in text
    assert f"(hash {config.config_hash()})" in text


WEEK = Window(date(2013, 6, 24), date(2013, 7, 1))


@pytest.mark.parametrize(
    ("trained", "mode", "expected"),
    [
        (date(2013, 6, 24), Mode.auto, ChampionChoice.current),  # trained before the window
        (date(2013, 7, 1), Mode.auto, ChampionChoice.rerun),  # trained for this window
        (date(2013, 7, 8), Mode.auto, ChampionChoice.refuse),  # a later window's champion
        (date(2013, 7, 8), Mode.shadow, ChampionChoice.then),
        (date(2013, 6, 30), Mode.shadow, ChampionChoice.then),
    ],
)
def test_the_champion_for_a_window_follows_its_training_date(
    trained: date, mode: Mode, expected: ChampionChoice
) -> None:
    champion = Champion("m", "3", "run", {"as_of": trained.isoformat()})
    assert champions.choice_for_window(champion, WEEK, mode) is expected
