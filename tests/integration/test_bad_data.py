"""Bad production data against the real stack: each case ends with a named outcome.

A champion is bootstrapped once on clean synthetic data; each case then points the same model
at a data prefix of its own holding a broken window, runs the real flow in-process and checks
the outcome, that nothing was trained and that the `champion` alias did not move.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from retrain.config import ConfigError
from retrain.data.s3 import DataError, get_json, partition_prefix, s3_uri
from retrain.decisions.attention import NeedsAttentionError
from retrain.loop import InvalidDataError
from retrain.settings import Settings
from retrain.sinks.reporting import decision_key
from tests.helpers import (
    AS_OF,
    DAYS,
    FIRST_DAY,
    LABEL,
    TS,
    Scenario,
    day_frame,
    empty_bucket,
    object_keys,
    put_parquet,
    scenario,
    unique,
    webhook_receiver,
    window_days,
    write_days,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

Mutation = Callable[[pd.DataFrame, date], pd.DataFrame]


@dataclass(frozen=True)
class Champion:
    name: str
    version: str
    root: Path


@dataclass(frozen=True)
class Outcome:
    """What one flow run left behind: its final state, error, and S3 decision record."""

    failed: bool
    error: BaseException | None
    record: dict[str, Any]

    @property
    def reasons(self) -> list[str]:
        return list(self.record["decision"]["reasons"])

    @property
    def validation_reasons(self) -> list[str]:
        return list((self.record.get("validation") or {}).get("reasons", []))

    def codes(self, severity: str) -> list[str]:
        problems = (self.record.get("validation") or {}).get("problems", [])
        return [
            f"{p['code']}:{p['column']}" if p["column"] else p["code"]
            for p in problems
            if p["severity"] == severity
        ]


@pytest.fixture(scope="module")
def bucket(s3: Any) -> Iterator[str]:
    name = unique("bad-data")
    s3.create_bucket(Bucket=name)
    yield name
    empty_bucket(s3, name)
    s3.delete_bucket(Bucket=name)


@pytest.fixture(scope="module")
def champion(
    stack: Settings, s3: Any, mlflow: Any, bucket: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Champion]:
    """A model whose champion was trained by the flow on 20 clean days."""
    root = tmp_path_factory.mktemp("bad-data-configs")
    name = unique("bad-data-model")
    clean = scenario(root, name, bucket)
    write_days(s3, clean.source, [FIRST_DAY + timedelta(days=i) for i in range(DAYS)])
    with pytest.MonkeyPatch.context() as mp:
        outcome = run_flow(mp, stack, s3, name, clean)
    assert not outcome.failed, outcome.error
    assert outcome.record["promoted"] is True, outcome.record
    yield Champion(name, outcome.record["registered_version"], root)
    mlflow.delete_registered_model(name)
    for prefix in (f"decisions/{name}/", f"reports/{name}/"):
        empty_bucket(s3, stack.loop_bucket, prefix)


@pytest.fixture(scope="module")
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local Slack-compatible receiver keeping every message it gets."""
    with webhook_receiver("/hook") as receiver:
        yield receiver


def run_flow(
    mp: pytest.MonkeyPatch,
    settings: Settings,
    s3: Any,
    name: str,
    case: Scenario,
    *,
    force: bool = False,
) -> Outcome:
    """Run the real flow for the window ending AS_OF and read back its decision record."""
    from flows.monitor import monitor_and_retrain

    mp.setenv("RETRAIN_CONFIG_DIR", str(case.config_dir))
    state = monitor_and_retrain(name, as_of=AS_OF, force_retrain=force, return_state=True)
    flow_run_id = str(state.state_details.flow_run_id)
    record = get_json(s3, settings.loop_bucket, decision_key(name, "auto", AS_OF, flow_run_id))
    assert record is not None, f"no decision record for flow run {flow_run_id}"
    error = state.result(raise_on_failure=False) if state.is_failed() else None
    assert error is None or isinstance(error, BaseException), error
    return Outcome(state.is_failed(), error, record)


def assert_nothing_trained(mlflow: Any, champion: Champion, outcome: Outcome) -> None:
    """No challenger logged or registered, and `champion` still points at the bootstrap version."""
    assert outcome.record.get("training") is None
    assert outcome.record["registered_version"] is None
    assert outcome.record["promoted"] is False
    artifacts = {a.path for a in mlflow.list_artifacts(outcome.record["mlflow_run_id"])}
    assert not artifacts & {"model", "reference"}, artifacts
    assert mlflow.get_model_version_by_alias(champion.name, "champion").version == champion.version
    versions = mlflow.search_model_versions(f"name='{champion.name}'")
    assert [v.version for v in versions] == [champion.version]


def broken_window(
    s3: Any, champion: Champion, bucket: str, mutate: Mutation, **overrides: Any
) -> Scenario:
    """A data prefix holding the monitoring window, each day's frame passed through `mutate`."""
    case = scenario(champion.root, champion.name, bucket, **overrides)
    for day in window_days():
        put_parquet(s3, case.source, day, mutate(day_frame(day), day), "part-0000")
    return case


def _first_day_only(mutate: Mutation) -> Mutation:
    first = window_days()[0]
    return lambda frame, day: mutate(frame, day) if day == first else frame


def _drop(column: str) -> Mutation:
    return lambda frame, day: frame.drop(columns=[column])


def _as_strings(frame: pd.DataFrame, day: date) -> pd.DataFrame:
    return frame.assign(x1=frame["x1"].map(lambda v: f"{v:.6f}"))


def _all_null(frame: pd.DataFrame, day: date) -> pd.DataFrame:
    return frame.assign(x1=np.nan)


def _mostly_null(frame: pd.DataFrame, day: date) -> pd.DataFrame:
    return frame.assign(x2=frame["x2"].where(np.arange(len(frame)) % 10 < 3))


def _new_category(frame: pd.DataFrame, day: date) -> pd.DataFrame:
    segment = frame["segment"].where(np.arange(len(frame)) % 2 == 0, "brand-new")
    return frame.assign(segment=segment)


def _few_rows(frame: pd.DataFrame, day: date) -> pd.DataFrame:
    return frame.head(10)


INVALID = {
    "missing_feature_column": (_drop("x2"), "missing_column:x2"),
    "feature_missing_from_one_file": (_first_day_only(_drop("x2")), "missing_column:x2"),
    "label_column_missing": (_drop(LABEL), f"missing_column:{LABEL}"),
    "numbers_as_strings": (_as_strings, "dtype_changed:x1"),
    "numbers_as_strings_in_one_file": (_first_day_only(_as_strings), "dtype_changed:x1"),
    "all_null_feature": (_all_null, "all_null:x1"),
    "null_rate_above_limit": (_mostly_null, "null_rate:x2"),
    "new_category": (_new_category, "unseen_categories:segment"),
    "too_few_rows": (_few_rows, "too_few_rows"),
}


@pytest.mark.parametrize("case", INVALID, ids=list(INVALID))
def test_invalid_window_is_refused_even_when_forced(
    case: str,
    stack: Settings,
    s3: Any,
    mlflow: Any,
    bucket: str,
    champion: Champion,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mutate, reason = INVALID[case]
    window = broken_window(s3, champion, bucket, mutate)

    outcome = run_flow(monkeypatch, stack, s3, champion.name, window, force=True)

    assert isinstance(outcome.error, InvalidDataError), outcome.error
    assert reason in str(outcome.error)
    assert reason in outcome.validation_reasons
    assert outcome.record["decision"]["action"] == "skip"
    assert outcome.reasons == ["invalid_data"]
    assert outcome.record["status"] == "completed"  # the loop decided; the flow run fails
    assert_nothing_trained(mlflow, champion, outcome)


def _extra_column(frame: pd.DataFrame, day: date) -> pd.DataFrame:
    return frame.assign(debug_note="from a newer producer")


def _duplicate_ids(frame: pd.DataFrame, day: date) -> pd.DataFrame:
    return pd.concat([frame, frame.head(5)], ignore_index=True)


def _timestamps_outside(frame: pd.DataFrame, day: date) -> pd.DataFrame:
    shifted = frame[TS].where(np.arange(len(frame)) >= 3, frame[TS] - pd.Timedelta(days=40))
    return frame.assign(**{TS: shifted})


def _single_class(frame: pd.DataFrame, day: date) -> pd.DataFrame:
    return frame.assign(**{LABEL: 1})


WARNED = {
    "extra_column": (_extra_column, "unexpected_column:debug_note"),
    "duplicated_ids": (_duplicate_ids, "duplicate_ids:event_id"),
    "timestamps_outside_window": (_timestamps_outside, f"timestamp_outside_window:{TS}"),
    "single_class_labels": (_single_class, f"single_class:{LABEL}"),
}


@pytest.mark.parametrize("case", WARNED, ids=list(WARNED))
def test_suspicious_window_is_warned_about_and_proceeds(
    case: str,
    stack: Settings,
    s3: Any,
    mlflow: Any,
    bucket: str,
    champion: Champion,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mutate, warning = WARNED[case]
    window = broken_window(s3, champion, bucket, mutate)

    outcome = run_flow(monkeypatch, stack, s3, champion.name, window)

    assert not outcome.failed, outcome.error
    assert outcome.record["status"] == "completed"
    assert outcome.record["validation"]["valid"] is True
    assert warning in outcome.codes("warning")
    assert outcome.record["drift"] is not None  # the run went on to measure drift
    assert outcome.record["decision"]["action"] == "keep"
    if case == "single_class_labels":  # ROC AUC is undefined on one class: not scored
        assert outcome.record["champion"]["metric_now"] is None
    assert_nothing_trained(mlflow, champion, outcome)


def test_prefix_never_written_to_fails_the_run_as_no_partitions(
    stack: Settings,
    s3: Any,
    mlflow: Any,
    bucket: str,
    champion: Champion,
    monkeypatch: pytest.MonkeyPatch,
    webhook: tuple[str, list[dict[str, Any]]],
) -> None:
    window = scenario(champion.root, champion.name, bucket)  # nothing written under the prefix
    monkeypatch.setenv("RETRAIN_WEBHOOK_URL", webhook[0])

    outcome = run_flow(monkeypatch, stack, s3, champion.name, window, force=True)

    assert outcome.failed and isinstance(outcome.error, NeedsAttentionError), outcome.error
    assert "no_partitions" in str(outcome.error) and window.source.prefix in str(outcome.error)
    assert outcome.record["status"] == "completed"  # recorded like any decision, then failed
    assert (outcome.record["decision"]["action"], outcome.reasons) == ("skip", ["no_partitions"])
    assert outcome.record["decision"]["details"]["prefix_seen"] is False
    assert outcome.record["window"]["rows"] == 0
    assert len(outcome.record["window"]["days_missing"]) == len(window_days())
    sent = [m for m in webhook[1] if m["flow_run_id"] == outcome.record["flow_run_id"]]
    assert [m["event"] for m in sent] == ["attention"]
    assert "no_partitions" in sent[0]["text"] and "data.prefix" in sent[0]["text"]
    assert_nothing_trained(mlflow, champion, outcome)


def test_window_without_partitions_under_a_known_prefix_is_a_quiet_no_data_skip(
    stack: Settings,
    s3: Any,
    mlflow: Any,
    bucket: str,
    champion: Champion,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = scenario(champion.root, champion.name, bucket)
    write_days(s3, window.source, [FIRST_DAY])  # the feed exists; this window had no data

    outcome = run_flow(monkeypatch, stack, s3, champion.name, window, force=True)

    assert not outcome.failed, outcome.error
    assert outcome.record["status"] == "completed"
    assert (outcome.record["decision"]["action"], outcome.reasons) == ("skip", ["no_data"])
    assert outcome.codes("warning") == ["no_data"]
    assert outcome.record.get("attention") is None
    assert_nothing_trained(mlflow, champion, outcome)


def test_labels_null_past_the_label_delay_fail_the_run_as_labels_missing(
    stack: Settings,
    s3: Any,
    mlflow: Any,
    bucket: str,
    champion: Champion,
    monkeypatch: pytest.MonkeyPatch,
    webhook: tuple[str, list[dict[str, Any]]],
) -> None:
    window = broken_window(s3, champion, bucket, lambda f, d: f.assign(**{LABEL: np.nan}))
    monkeypatch.setenv("RETRAIN_WEBHOOK_URL", webhook[0])

    outcome = run_flow(monkeypatch, stack, s3, champion.name, window, force=True)

    assert outcome.failed and isinstance(outcome.error, NeedsAttentionError), outcome.error
    assert "labels_missing" in str(outcome.error)
    assert (outcome.record["decision"]["action"], outcome.reasons) == ("skip", ["labels_missing"])
    details = outcome.record["decision"]["details"]
    assert details["rows_past_label_delay"] == 200 * (len(window_days()) - 1)  # delay: 1 day
    assert outcome.record["window"]["labelled_rows"] == 0
    assert outcome.record["champion"]["metric_now"] is None
    sent = [m for m in webhook[1] if m["flow_run_id"] == outcome.record["flow_run_id"]]
    assert [m["event"] for m in sent] == ["attention"]
    assert_nothing_trained(mlflow, champion, outcome)


def test_labels_not_yet_due_are_a_quiet_too_few_labels_skip(
    stack: Settings,
    s3: Any,
    mlflow: Any,
    bucket: str,
    champion: Champion,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Labels that arrive 4 days late: only the window's first day is due, and every due label
    is there; too few to judge the champion is no one's fault. (A delay as long as the window
    itself is refused by the config: every run would skip.)"""
    late = {"windows": {"label_delay_days": 4}, "thresholds": {"min_labelled_rows": 300}}
    window = broken_window(s3, champion, bucket, lambda f, d: f, **late)

    outcome = run_flow(monkeypatch, stack, s3, champion.name, window, force=True)

    assert not outcome.failed, outcome.error
    assert (outcome.record["decision"]["action"], outcome.reasons) == ("skip", ["too_few_labels"])
    details = outcome.record["decision"]["details"]
    assert 0 < details["rows_past_label_delay"] == details["labelled_rows"] < 300
    assert outcome.record.get("attention") is None
    assert_nothing_trained(mlflow, champion, outcome)


def _assert_failed_on(outcome: Outcome, error: type[BaseException], *needles: str) -> None:
    assert outcome.failed
    assert isinstance(outcome.error, error), outcome.error
    for needle in needles:
        assert needle in str(outcome.error)
        assert needle in outcome.record["error"]
    assert outcome.record["status"] == "failed"
    assert outcome.record["decision"]["action"] == "none"


@pytest.mark.parametrize("body", [b"PAR1 not really parquet PAR1", b""], ids=["corrupt", "empty"])
def test_unreadable_parquet_fails_the_run_naming_the_file(
    body: bytes,
    stack: Settings,
    s3: Any,
    mlflow: Any,
    bucket: str,
    champion: Champion,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = broken_window(s3, champion, bucket, lambda frame, day: frame)
    bad = f"{partition_prefix(window.source, window_days()[2])}part-0001.parquet"
    s3.put_object(Bucket=bucket, Key=bad, Body=body)

    outcome = run_flow(monkeypatch, stack, s3, champion.name, window, force=True)

    _assert_failed_on(outcome, DataError, s3_uri(bucket, bad), "corrupt or unreadable parquet")
    assert_nothing_trained(mlflow, champion, outcome)


def test_broken_csv_row_fails_the_run_naming_file_and_line(
    stack: Settings,
    s3: Any,
    mlflow: Any,
    bucket: str,
    champion: Champion,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = scenario(champion.root, champion.name, bucket, fmt="csv")
    days = window_days()
    write_days(s3, window.source, days)
    bad = f"{partition_prefix(window.source, days[1])}part-0000.csv"
    lines = day_frame(days[1]).to_csv(index=False).splitlines()
    lines[5] = lines[5].rsplit(",", 2)[0]  # a row cut short: two fields missing
    s3.put_object(Bucket=bucket, Key=bad, Body="\n".join(lines).encode())

    outcome = run_flow(monkeypatch, stack, s3, champion.name, window, force=True)

    _assert_failed_on(outcome, DataError, s3_uri(bucket, bad), "broken CSV", "line 6")
    assert_nothing_trained(mlflow, champion, outcome)


def test_window_above_max_window_rows_is_refused_before_reading_on(
    stack: Settings,
    s3: Any,
    mlflow: Any,
    bucket: str,
    champion: Champion,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = scenario(champion.root, champion.name, bucket, thresholds={"max_window_rows": 1000})
    write_days(s3, window.source, window_days(), rows=300)

    outcome = run_flow(monkeypatch, stack, s3, champion.name, window, force=True)

    _assert_failed_on(outcome, DataError, "exceeds the configured limit of 1000 rows")
    assert_nothing_trained(mlflow, champion, outcome)


def test_missing_bucket_fails_before_any_side_effect(
    stack: Settings,
    s3: Any,
    mlflow: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.monitor import monitor_and_retrain

    name, absent = unique("no-bucket-model"), unique("no-such-bucket")
    case = scenario(tmp_path, name, absent)
    monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(case.config_dir))

    with pytest.raises(ConfigError, match=rf"bucket '{absent}' named by data\.bucket"):
        monitor_and_retrain(name, as_of=AS_OF)

    assert mlflow.get_experiment_by_name(f"retrain-loop/{name}") is None
    assert mlflow.search_registered_models(f"name='{name}'") == []
    assert list(object_keys(s3, stack.loop_bucket, f"decisions/{name}/")) == []
    assert list(object_keys(s3, stack.loop_bucket, f"reports/{name}/")) == []
