"""Bad model configs: a ConfigError naming the file and the field, before any side effect."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from prefect import Task

import flows.monitor
import flows.steps
from retrain.config import ConfigError, load_config
from retrain.config_folder import config_paths, load_model_config
from tests.helpers import config_dict, merge, write_config

NAME = "bad-config-model"


def _valid() -> dict[str, Any]:
    return config_dict(NAME, "some-data-bucket", "events")


def _write(tmp_path: Path, raw: dict[str, Any] | str) -> Path:
    return write_config(tmp_path / "configs", raw)


def test_the_base_config_is_valid(tmp_path: Path) -> None:
    assert load_config(_write(tmp_path, _valid())).name == NAME


@pytest.mark.parametrize(
    "text, needle",
    [
        ("name: [unclosed\n", "invalid YAML"),
        ("name: a\n  metric: roc_auc\n bad indent: 1\n", "invalid YAML"),
        ("- a list\n- not a mapping\n", "must be a mapping, got list"),
        ("", "must be a mapping, got NoneType"),
        ("name: !!python/object/apply:os.system ['true']\n", "invalid YAML"),
    ],
    ids=["unclosed", "indentation", "list", "empty", "python-tag"],
)
def test_invalid_yaml_names_the_file(tmp_path: Path, text: str, needle: str) -> None:
    path = _write(tmp_path, text)

    with pytest.raises(ConfigError, match=needle) as err:
        load_config(path)
    assert str(path) in str(err.value)


def test_a_key_given_twice_is_refused_not_silently_overridden(tmp_path: Path) -> None:
    text = _write(tmp_path, _valid()).read_text() + "metric: accuracy\n"
    path = _write(tmp_path, text)

    with pytest.raises(ConfigError, match="found duplicate key 'metric'") as err:
        load_config(path)
    assert str(path) in str(err.value)


def test_yaml_merge_keys_may_still_override(tmp_path: Path) -> None:
    text = _write(tmp_path, _valid()).read_text()
    text = text.replace("windows:\n", "windows:\n  <<: {monitoring_days: 2}\n")
    path = _write(tmp_path, text)

    assert load_config(path).windows.monitoring_days == 5  # the explicit key wins the merge


def test_two_files_for_one_model_are_ambiguous(tmp_path: Path) -> None:
    folder = tmp_path / "configs"
    write_config(folder, _valid(), "a.yaml")
    write_config(folder, _valid(), "b.yml")

    with pytest.raises(ConfigError, match=f"model '{NAME}' is configured twice"):
        config_paths(folder)


BAD_FIELDS: list[tuple[dict[str, Any], str, str]] = [
    (
        {"estimator": {"class_path": "sklearn.ensemble.NoSuchForest"}},
        "estimator.class_path",
        "cannot import 'sklearn.ensemble.NoSuchForest'",
    ),
    (
        {"estimator": {"class_path": "os.system"}},
        "estimator.class_path",
        "not a scikit-learn class path",
    ),
    (
        {"estimator": {"class_path": "sklearn.preprocessing.StandardScaler"}},
        "estimator.class_path",
        "is not a predictor",
    ),
    (
        {"estimator": {"class_path": "sklearn.linear_model.Ridge"}},
        "(root)",
        "estimator.class_path sklearn.linear_model.Ridge is not a classification",
    ),
    ({"estimator": {"params": {"max_iterations": 5}}}, "(root)", "estimator.params do not"),
    ({"metric": "precision_at_k"}, "(root)", "metric 'precision_at_k' is not one of"),
    ({"task": "ranking"}, "task", "'classification' or 'regression'"),
    ({"thresholds": {"min_gain": -0.1}}, "thresholds.min_gain", "greater than or equal to 0"),
    ({"thresholds": {"max_null_rate": 1.5}}, "thresholds.max_null_rate", "less than or equal"),
    ({"thresholds": {"bootstrap_alpha": 0.7}}, "thresholds.bootstrap_alpha", "less than 0.5"),
    ({"thresholds": {"max_window_rows": 10}}, "thresholds.max_window_rows", "1000"),
    ({"thresholds": {"min_labelled_rows": 0}}, "thresholds.min_labelled_rows", "1"),
    (
        {"thresholds": {"drift": {"numeric_threshold": 0}}},
        "thresholds.drift.numeric_threshold",
        "greater than 0",
    ),
    (
        {"thresholds": {"drift": {"persistence_k": 5}}},
        "thresholds.drift",
        "persistence_k must not exceed persistence_n",
    ),
    (
        {"thresholds": {"drift": {"numeric_method": "t-test"}}},
        "thresholds.drift.numeric_method",
        "unknown method 't-test'",
    ),
    ({"windows": {"holdout_days": 20}}, "windows", "must exceed holdout_days + label_delay_days"),
    ({"windows": {"label_delay_days": 5}}, "windows", "no label in a window would ever mature"),
    ({"columns": {"segment": "x1"}}, "columns", "must be one of the categorical features"),
    (
        {"training": {"candidates": [{"days": 7}]}},
        "(root)",
        "either windows.training_days (one recipe) or training.candidates",
    ),
    (
        {"training": {"candidates": [{"days": 7}, {"days": 7}]}},
        "training.candidates",
        "repeat a recipe",
    ),
    ({"training": {"archived_versions": 2}}, "(root)", "needs training.validation_days"),
    ({"thresholds": {"gate_mode": "best"}}, "thresholds.gate_mode", "superiority"),
    ({"windows": {"monitoring_days": 0}}, "windows.monitoring_days", "greater than or equal"),
    ({"thresholds": {"min_gian": 0.1}}, "thresholds.min_gian", "Extra inputs"),
    ({"data": {"prefix": "../other-team"}}, "data.prefix", "without '..' segments"),
    ({"data": {"bucket": "x"}}, "data.bucket", "at least 3 characters"),
    ({"name": "../escape"}, "name", "letters, digits"),
]


@pytest.mark.parametrize(
    "overrides, field, needle",
    BAD_FIELDS,
    ids=[f"{i:02d}-{field}" for i, (_, field, _) in enumerate(BAD_FIELDS)],
)
def test_bad_field_is_named(
    tmp_path: Path, overrides: dict[str, Any], field: str, needle: str
) -> None:
    path = _write(tmp_path, merge(_valid(), overrides))

    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message
    assert f"  {field}: " in message
    assert needle in message


class _Untouchable:
    """Stands in for a task of the flow: a call would be a side effect before the config check."""

    def __init__(self, name: str, calls: list[str]) -> None:
        self.name, self.calls = name, calls

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(self.name)
        raise AssertionError(f"{self.name} ran although the config is invalid")


@pytest.mark.parametrize(
    "raw",
    [
        "name: [unclosed\n",
        merge(_valid(), {"estimator": {"class_path": "sklearn.ensemble.NoSuchForest"}}),
        merge(_valid(), {"metric": "precision_at_k"}),
        merge(_valid(), {"thresholds": {"min_gain": -1}}),
    ],
    ids=["invalid-yaml", "unknown-estimator", "unknown-metric", "threshold-out-of-range"],
)
def test_flow_stops_at_the_config_before_any_task_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: dict[str, Any] | str
) -> None:
    calls: list[str] = []
    for module in (flows.monitor, flows.steps):
        for attr, value in vars(module).items():
            if isinstance(value, Task):
                monkeypatch.setattr(module, attr, _Untouchable(attr, calls))
    path = _write(tmp_path, raw)
    monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(path.parent))

    with pytest.raises(ConfigError) as err:
        flows.monitor.monitor_and_retrain.fn(NAME, as_of=date(2024, 1, 21))
    assert str(path) in str(err.value)
    assert calls == []


def test_unknown_model_lists_the_known_ones(tmp_path: Path) -> None:
    folder = _write(tmp_path, _valid()).parent

    with pytest.raises(ConfigError, match=rf"no model named 'other' in .*known: \['{NAME}'\]"):
        load_model_config(folder, "other")
