"""The model config: a valid file parses, and every wrong field is an error naming that field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from retrain.config import ConfigError, ModelConfig, load_config, parse_config

VALID: dict[str, Any] = {
    "name": "churn",
    "data": {"bucket": "production-data", "prefix": "churn/", "format": "parquet"},
    "columns": {
        "id": "customer_id",
        "timestamp": "event_time",
        "numeric": ["tenure", "spend"],
        "categorical": ["plan"],
        "label": "churned",
    },
    "task": "classification",
    "metric": "roc_auc",
    "estimator": {
        "class_path": "sklearn.linear_model.LogisticRegression",
        "params": {"C": 0.5, "max_iter": 500},
    },
    "windows": {"training_days": 30, "holdout_days": 5},
    "thresholds": {
        "performance_drop": 0.02,
        "drift": {
            "persistence_k": 2,
            "persistence_n": 3,
            "per_column": {"spend": {"method": "ks", "threshold": 0.05}},
        },
    },
}


def _mutate(path: str, value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(VALID)
    *parents, leaf = path.split(".")
    node = raw
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return raw


def test_valid_config_parses() -> None:
    config = parse_config(copy.deepcopy(VALID))
    assert isinstance(config, ModelConfig)
    assert config.data.prefix == "churn"
    assert config.columns.features == ["tenure", "spend", "plan"]
    assert config.higher_is_better
    assert config.thresholds.drift.per_column["spend"].method == "ks"
    assert config.estimator.build().get_params()["C"] == 0.5


def test_regression_config_parses() -> None:
    raw = _mutate("task", "regression")
    raw["metric"] = "mae"
    raw["estimator"] = {"class_path": "sklearn.linear_model.Ridge", "params": {"alpha": 2.0}}
    assert not parse_config(raw).higher_is_better


def test_config_hash_is_stable_and_sensitive() -> None:
    assert parse_config(VALID).config_hash() == parse_config(copy.deepcopy(VALID)).config_hash()
    changed = parse_config(_mutate("thresholds.min_gain", 0.01))
    assert changed.config_hash() != parse_config(VALID).config_hash()


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("metric", "logloss", "metric"),
        ("metric", "rmse", "metric"),  # a regression metric on a classification task
        ("task", "ranking", "task"),
        ("estimator.class_path", "sklearn.linear_model.NoSuchModel", "estimator.class_path"),
        ("estimator.class_path", "collections.OrderedDict", "estimator.class_path"),
        ("estimator.class_path", "sklearn.preprocessing.StandardScaler", "estimator.class_path"),
        (
            "estimator",
            {"class_path": "sklearn.linear_model.LinearRegression"},  # a regressor
            "estimator.class_path",
        ),
        ("estimator.class_path", "sklearn.svm.SVC", "estimator.class_path"),  # no predict_proba
        ("estimator.params", {"not_a_param": 1}, "estimator.params"),
        ("thresholds.performance_drop", -0.01, "thresholds.performance_drop"),
        ("thresholds.min_gain", -0.5, "thresholds.min_gain"),
        ("thresholds.cooldown_days", -1, "thresholds.cooldown_days"),
        ("thresholds.min_labelled_rows", 0, "thresholds.min_labelled_rows"),
        ("thresholds.drift.numeric_threshold", -0.1, "thresholds.drift.numeric_threshold"),
        ("windows.holdout_days", 30, "holdout_days"),
        ("thresholds.drift.persistence_k", 4, "persistence_k"),
        ("thresholds.drift.numeric_method", "cosine", "thresholds.drift.numeric_method"),
        ("thresholds.drift.categorical_method", "ks", "thresholds.drift.categorical_method"),
        (
            "thresholds.drift.per_column",
            {"spend": {"method": "cosine", "threshold": 0.1}},
            "thresholds.drift.per_column.spend.method",
        ),
        (
            "thresholds.drift.per_column",
            {"spend": {"method": "chisquare", "threshold": 0.1}},  # categorical-only method
            "thresholds.drift.per_column.spend.method",
        ),
        (
            "thresholds.drift.per_column",
            {"income": {"method": "ks", "threshold": 0.1}},
            "thresholds.drift.per_column",
        ),
        ("data.format", "json", "data.format"),
        ("data.prefix", "churn/../secrets", "data.prefix"),
        ("data.prefix", "/", "data.prefix"),
        ("columns.categorical", ["plan", "tenure"], "columns"),
        ("columns.label", "customer_id", "columns"),
        ("name", "bad name!", "name"),
        ("surprise", 1, "surprise"),
        ("thresholds.drift.surprise", 1, "thresholds.drift.surprise"),
    ],
)
def test_each_wrong_field_is_named(path: str, value: Any, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(_mutate(path, value), source="churn.yaml")
    message = str(caught.value)
    assert "churn.yaml" in message
    assert field in message


def test_missing_required_field_is_named() -> None:
    raw = copy.deepcopy(VALID)
    del raw["columns"]["label"]
    with pytest.raises(ConfigError, match=r"columns\.label"):
        parse_config(raw)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("name: [unclosed\n", "invalid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
        ("", "must be a mapping"),
    ],
)
def test_unusable_file_is_a_config_error(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "model.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=match) as caught:
        load_config(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("name", ["absent.yaml", "a_directory"])
def test_missing_or_unreadable_file_is_a_config_error(tmp_path: Path, name: str) -> None:
    (tmp_path / "a_directory").mkdir()
    with pytest.raises(ConfigError, match=name):
        load_config(tmp_path / name)


def test_file_errors_name_the_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "churn.yaml"
    path.write_text(yaml.safe_dump(_mutate("windows.holdout_days", 40)))
    with pytest.raises(ConfigError, match=r"churn\.yaml[\s\S]*holdout_days"):
        load_config(path)


def test_valid_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "churn.yaml"
    path.write_text(yaml.safe_dump(VALID))
    assert load_config(path) == parse_config(VALID)
