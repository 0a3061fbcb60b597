"""Pure parts of the traps a new model's owner hit: skip reasons that need attention, target drift
as a trigger, one config folder with a broken file, the summary's target-drift line."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from retrain.config import (
    ConfigError,
    DriftThresholds,
    Thresholds,
)
from retrain.config_folder import config_paths, load_model_config, scan_configs
from retrain.decisions.attention import attention_problem, rows_past_label_delay
from retrain.decisions.policy import NEEDS_ATTENTION, Action, Reason, decide
from retrain.sinks.notify import events_for
from retrain.sinks.reporting import markdown
from tests.helpers import TS, config_dict, typed_record, write_config
from tests.unit.test_policy import AS_OF, BASE

TRIGGER = Thresholds(drift=DriftThresholds(target_drift_trigger=True))


@pytest.mark.parametrize(
    ("changes", "thresholds", "action", "reasons"),
    [
        ({"rows": 0, "prefix_seen": False}, Thresholds(), Action.skip, (Reason.no_partitions,)),
        ({"rows": 0, "prefix_seen": True}, Thresholds(), Action.skip, (Reason.no_data,)),
        (
            {"labelled_rows": 0, "rows_past_label_delay": 4000},
            Thresholds(),
            Action.skip,
            (Reason.labels_missing,),
        ),
        (
            {"labelled_rows": 0, "rows_past_label_delay": 100},  # fewer due than needed
            Thresholds(),
            Action.skip,
            (Reason.too_few_labels,),
        ),
        ({"labelled_rows": 0}, Thresholds(), Action.skip, (Reason.too_few_labels,)),
        ({"target_drift": True}, Thresholds(), Action.keep, (Reason.stable,)),
        ({"target_drift": True}, TRIGGER, Action.retrain, (Reason.target_drift,)),
        (
            {"target_drift": True, "last_promotion": AS_OF - timedelta(days=2)},
            TRIGGER,
            Action.skip,
            (Reason.cooldown,),
        ),
    ],
)
def test_decide(
    changes: dict[str, Any], thresholds: Thresholds, action: Action, reasons: tuple[Reason, ...]
) -> None:
    decision = decide(replace(BASE, **changes), thresholds)
    assert (decision.action, decision.reasons) == (action, reasons)
    assert decision.details["target_drift_trigger"] is thresholds.drift.target_drift_trigger


def test_only_broken_feeds_need_attention() -> None:
    assert {Reason.no_partitions, Reason.labels_missing} == NEEDS_ATTENTION


def test_rows_past_label_delay_counts_rows_older_than_the_delay() -> None:
    config = load_config_dict(label_delay_days=2)
    days = [datetime(2024, 3, d, 12, tzinfo=UTC) for d in (10, 12, 13, 14)]
    frame = pd.DataFrame({TS: pd.to_datetime(days)})
    assert rows_past_label_delay(frame, config, AS_OF) == 2  # before 2024-03-13 00:00 UTC
    assert rows_past_label_delay(frame.iloc[0:0], config, AS_OF) == 0


def load_config_dict(**windows: Any) -> Any:
    from retrain.config import parse_config

    raw = config_dict("m", "some-data-bucket", "events")
    raw["windows"].update(windows)
    return parse_config(raw)


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "configs"
    write_config(folder, config_dict("good", "some-data-bucket", "events"), "good.yaml")
    write_config(folder, {**config_dict("typo", "b-b-b", "x"), "thresholdz": {}}, "typo.yaml")
    write_config(folder, "name: [unclosed", "garbage.yaml")
    return folder


def test_a_model_loads_whatever_its_siblings_hold(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    assert load_model_config(folder, "good").name == "good"


def test_a_models_own_broken_file_is_its_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"typo\.yaml:\n  thresholdz: Extra inputs"):
        load_model_config(_folder(tmp_path), "typo")


def test_an_unknown_model_names_the_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no model named 'other'.*unreadable.*garbage\.yaml"):
        load_model_config(_folder(tmp_path), "other")


def test_a_duplicate_name_is_still_found(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    write_config(folder, config_dict("good", "some-data-bucket", "other"), "good_again.yml")
    with pytest.raises(ConfigError, match="model 'good' is configured twice"):
        load_model_config(folder, "good")


def test_the_scan_names_every_bad_file_in_one_short_message(tmp_path: Path) -> None:
    scan = scan_configs(_folder(tmp_path))
    assert list(scan.paths) == ["good"]
    message = scan.error_message()
    assert len(message.splitlines()) == 3
    assert "garbage.yaml: invalid YAML" in message
    assert "typo.yaml: thresholdz: Extra inputs are not permitted" in message
    with pytest.raises(ConfigError, match="2 model config file"):
        config_paths(tmp_path / "configs")


def _record(**extra: Any) -> dict[str, Any]:
    return {
        "model": "m",
        "as_of": "2024-03-15",
        "mode": "auto",
        "metric": "rmse",
        "decision": {"action": "keep", "reasons": ["stable"], "details": {}},
        **extra,
    }


def test_the_summary_shows_target_drift_beside_the_features() -> None:
    target = {"column": "y", "method": "wasserstein", "score": 0.21, "threshold": 0.1}
    drift = {"drift_share": 0.0, "dataset_drift": False, "drifted_columns": []}
    shown = markdown(
        typed_record(_record(drift={**drift, "target": {**target, "drifted": True}})), {}
    )
    assert "drifted: none." in shown
    assert "Target drift (y): drifted, wasserstein 0.2100 against threshold 0.1000." in shown
    assert "Target drift: not measured" in markdown(
        typed_record(_record(drift={**drift, "target": None})), {}
    )


def test_attention_is_in_the_summary_and_notified() -> None:
    config = load_config_dict()
    decision = {"action": "skip", "reasons": ["no_partitions"], "details": {}}
    record = _record(decision=decision)
    problem = attention_problem(typed_record(record), config)
    assert problem and "s3://some-data-bucket/events/" in problem and "data.prefix" in problem
    record["attention"] = problem
    assert events_for(typed_record(record)) == ["attention"]
    assert "**Needs attention:**" in markdown(typed_record(record), {})
    assert attention_problem(typed_record(_record()), config) is None
