"""What the policy is told: policy_inputs and the history it reads from earlier records."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
import pytest

from retrain.config import parse_config
from retrain.data.s3 import LoadedWindow, Window
from retrain.data.validation import ValidationReport
from retrain.loop import ChampionState, RunInfo, history_window, policy_inputs
from retrain.registry.versions import Champion
from retrain.sinks.reporting import challenger_scores, drift_history, last_promotion
from tests.helpers import config_dict, typed_record

AS_OF = date(2024, 3, 1)


def _record(days_ago: int, **fields: Any) -> dict[str, Any]:
    return {"as_of": (AS_OF - timedelta(days=days_ago)).isoformat(), "mode": "auto", **fields}


def _typed(records: list[dict[str, Any]]) -> list[Any]:
    return [typed_record(r) for r in records]


def _drift(days_ago: int, drifted: bool, version: str = "3") -> dict[str, Any]:
    return _record(days_ago, drift={"dataset_drift": drifted}, champion={"version": version})


HISTORY = [
    _drift(25, True, version="2"),  # another champion: not counted for v3
    _drift(20, True),
    _record(15),  # no drift result (e.g. invalid data): not a window of evidence
    _drift(10, False),
    _drift(5, True),
]


@pytest.mark.parametrize(
    ("n", "version", "since_days", "expected"),
    [
        (2, None, None, (False, True)),
        (5, None, None, (True, True, False, True)),
        (5, "3", None, (True, False, True)),  # only the current champion's windows
        (5, "3", 10, (False, True)),  # only windows since a date: consecutive, not any n
        (0, "3", None, ()),
    ],
)
def test_drift_history(
    n: int, version: str | None, since_days: int | None, expected: tuple[bool, ...]
) -> None:
    since = AS_OF - timedelta(days=since_days) if since_days is not None else None
    assert drift_history(_typed(HISTORY), n, version, since) == expected


def test_last_promotion_counts_promotions_not_refused_retrains() -> None:
    records = [
        _record(30, promoted=True),
        _record(20, decision={"action": "retrain"}, gate={"promote": False}),
        _record(10, mode="shadow", gate={"promote": True}),  # shadow: would have promoted
        _record(5, decision={"action": "retrain"}, gate={"promote": False}),
    ]
    records = _typed(records)
    assert last_promotion(records) == AS_OF - timedelta(days=10)
    assert last_promotion(records[:2]) == AS_OF - timedelta(days=30)
    assert last_promotion([records[1]]) is None


def test_challenger_scores_since() -> None:
    records = [
        _record(30, gate={"challenger_score": 0.9}),
        _record(10, gate={"challenger_score": 0.7}),
        _record(5, gate={"challenger_score": None}),
        _record(3),
    ]
    assert challenger_scores(_typed(records), AS_OF - timedelta(days=14)) == [0.7]


def _config() -> Any:
    raw = config_dict("m", "bucket-x", "p")
    raw["thresholds"].update(
        {"drift": {"persistence_k": 2, "persistence_n": 3}, "reference_windows": 4}
    )
    return parse_config(raw)


def _run() -> RunInfo:
    return RunInfo("m", AS_OF, "auto", "r", "e", "f", "h", "g", "now")


def _window(labels: list[float | None]) -> LoadedWindow:
    frame = pd.DataFrame({"label": labels})
    return LoadedWindow(frame, Window(AS_OF - timedelta(days=5), AS_OF), (), (), ())


def _champion(holdout: float | None, trained_days_ago: int) -> ChampionState:
    tags = {
        "challenger_metric": "" if holdout is None else str(holdout),
        "as_of": (AS_OF - timedelta(days=trained_days_ago)).isoformat(),
        "recipe": "13d",
    }
    return ChampionState(Champion("m", "3", "run", tags), model=None, reference=pd.DataFrame())


def test_policy_inputs_gathers_the_facts() -> None:
    history = [
        _drift(10, True) | {"gate": {"challenger_score": 0.93}},  # within reference_windows
        _drift(5, True) | {"promoted": True},
    ]
    inputs = policy_inputs(
        _config(),
        _run(),
        _window([1.0, None, 0.0]),
        ValidationReport(()),
        None,
        _champion(0.81, 40),
        0.78,
        None,
        _typed(history),
        False,
        True,
    )
    assert (inputs.rows, inputs.labelled_rows, inputs.data_valid) == (3, 2, True)
    assert inputs.has_champion and not inputs.forced and not inputs.dataset_drift
    assert inputs.champion_metric == 0.78
    assert inputs.reference_metric == 0.93  # the best recent holdout score, not the own 0.81
    assert inputs.drift_history == (True, True)  # windows 10 and 5 days back, same champion
    assert inputs.last_promotion == AS_OF - timedelta(days=5)
    assert inputs.model_age_days == 40


def test_policy_inputs_without_champion_or_history() -> None:
    inputs = policy_inputs(
        _config(), _run(), _window([]), ValidationReport(()), None, None, None, None, [], True,
        False,
    )  # fmt: skip
    assert not inputs.has_champion and inputs.forced
    assert inputs.reference_metric is None and inputs.model_age_days is None
    assert inputs.last_promotion is None and inputs.drift_history == ()


def test_policy_inputs_falls_back_to_the_champion_training_date() -> None:
    inputs = policy_inputs(
        _config(), _run(), _window([1.0]), ValidationReport(()), None, _champion(None, 12), 0.7,
        None, [], False, True,
    )  # fmt: skip
    assert inputs.last_promotion == AS_OF - timedelta(days=12)
    assert inputs.reference_metric is None


@pytest.mark.parametrize(
    ("thresholds", "days"),
    [
        ({}, 35),  # 4 reference windows of 7 days, one more
        ({"drift": {"persistence_k": 2, "persistence_n": 60}}, 420),  # 59 earlier windows + 1
        ({"reference_windows": 52}, 371),
        ({"cooldown_days": 90}, 97),
        ({"max_model_age_days": 200}, 207),
    ],
)
def test_the_history_a_run_reads_reaches_the_policys_longest_look_back(
    thresholds: dict[str, Any], days: int
) -> None:
    raw = config_dict("m", "bucket-x", "p")
    raw["windows"] = {**raw.get("windows", {}), "monitoring_days": 7}
    raw["thresholds"] = {**raw.get("thresholds", {}), **thresholds}
    config = parse_config(raw)

    window = history_window(config, AS_OF)

    assert window == Window(AS_OF - timedelta(days=days), AS_OF)
