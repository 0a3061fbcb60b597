"""Labels in a feed of their own (docs/labels.md), through the flow on the real stack: scored only
on labels that arrived before `as_of`; the same decisions as labels in the files when the arrival
times match the fixed delay; late, duplicate, orphan and corrected labels counted; a missing feed
prefix and a feed without the id column are named errors before any expensive work."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from flows.monitor import monitor_and_retrain
from retrain.config import ConfigError, DataSource, load_config
from retrain.data.s3 import get_json
from retrain.metrics import score
from retrain.registry.model_io import load_sklearn_model
from retrain.settings import Settings
from retrain.sinks.reporting import decision_key
from retrain.training.pipeline import features
from tests.feeds import ARRIVED_AT, arrived_before, feed_rows, random_lags, write_data, write_feed
from tests.helpers import ID, LABEL, TS, write_config
from tests.streams import day, stream_config, stream_day

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _model(
    stack: Settings, root: Path, monkeypatch: pytest.MonkeyPatch, feed: bool, **overrides: Any
) -> tuple[str, DataSource, DataSource]:
    """A model of its own (a config folder, a data prefix and a feed prefix beside it)."""
    name = f"feed_{uuid.uuid4().hex[:8]}"
    prefix = f"tests/feeds/{name}"
    raw = stream_config(name, stack.data_bucket, f"{prefix}/data", **overrides)
    if feed:
        raw["labels"] = {"prefix": f"{prefix}/labels", "arrived_at": ARRIVED_AT}
    folder = root / name
    write_config(folder, raw)
    monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(folder))
    source = DataSource(bucket=stack.data_bucket, prefix=f"{prefix}/data")
    return name, source, DataSource(bucket=stack.data_bucket, prefix=f"{prefix}/labels")


def _stream(days: int, concept_of: Any = lambda _: "A") -> list[pd.DataFrame]:
    return [stream_day(day(i), concept_of(i)) for i in range(days)]


def test_arrival_times_at_the_fixed_delay_give_the_decisions_of_labels_in_the_files(
    stack: Settings, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One stream (concept A, then B from day 30), written in both layouts; every label of the
    feed arrives exactly one day (the label delay) after its event."""
    frames = _stream(45, lambda i: "A" if i < 30 else "B")
    in_file, source, _ = _model(stack, tmp_path, monkeypatch, feed=False)
    write_data(s3, source, frames, labels=True)
    in_feed, feed_data, feed = _model(stack, tmp_path, monkeypatch, feed=True)
    write_data(s3, feed_data, frames, labels=False)
    write_feed(s3, feed, pd.concat([feed_rows(f, pd.Timedelta(days=1)) for f in frames]))

    for at in (25, 35, 40):
        monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(tmp_path / in_file))
        expected = monitor_and_retrain(in_file, as_of=day(at))
        monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(tmp_path / in_feed))
        got = monitor_and_retrain(in_feed, as_of=day(at))
        assert _decisions(got) == _decisions(expected), at
        assert got["window"]["labelled_rows"] == expected["window"]["labelled_rows"] > 0
        assert got["labels"]["coverage"] == expected["labels"]["coverage"]
        assert got["labels"]["lag_hours_median"] == got["labels"]["lag_hours_p95"] == 24.0
        assert got["labels"]["late_labels"] == 0 and expected["labels"]["late_labels"] is None
    assert expected["promoted"] or expected["decision"]["action"] != "keep"  # the stream moved


def _decisions(record: dict[str, Any]) -> dict[str, Any]:
    """What the loop decided and on which numbers: equal for equal labels."""
    gate, training = record.get("gate") or {}, record.get("training") or {}
    champion = record.get("champion") or {}
    metric = champion.get("metric_now")
    return {
        "action": record["decision"]["action"],
        "reasons": record["decision"]["reasons"],
        "promoted_version": record["promoted_version"],
        "reinstated_version": record["reinstated_version"],
        "metric_now": None if metric is None else round(metric, 9),
        "winner": training.get("winner"),
        "train_rows": (training.get("served_fit") or {}).get("rows"),
        "gate": {k: gate.get(k) for k in ("promote", "challenger_score", "champion_score")},
        "estimate": (record.get("estimated_performance") or {}).get("value"),
    }


def test_labels_arriving_one_to_five_days_late_are_scored_only_once_they_arrived(
    stack: Settings, s3: Any, mlflow: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Labels arrive 1-5 days after their events; the window ending at day 30 also gets 50
    repeated labels, 30 corrections (a flipped label arriving later), one correction that
    arrives after `as_of` (not seen), and 40 labels of ids no one predicted."""
    name, data, feed = _model(stack, tmp_path, monkeypatch, feed=True)
    frames = _stream(31)
    write_data(s3, data, frames, labels=False)
    stream = pd.concat(frames, ignore_index=True)
    rows = feed_rows(stream, random_lags(stream, 1, 5, seed=3))
    write_feed(s3, feed, rows)
    assert monitor_and_retrain(name, as_of=day(25))["promoted_version"] == "1"

    as_of, arrives = day(30), pd.Timestamp(day(29), tz="UTC") + pd.Timedelta(hours=12)
    start, end = pd.Timestamp(day(25), tz="UTC"), pd.Timestamp(as_of, tz="UTC")
    window = stream[(stream[TS] >= start) & (stream[TS] < end)]
    early = rows[rows[ID].isin(window[ID]) & (rows[ARRIVED_AT] < pd.Timestamp(day(28), tz="UTC"))]
    repeated = early.iloc[:50].assign(**{ARRIVED_AT: arrives})
    corrected = early.iloc[50:80].assign(
        **{LABEL: 1 - early[LABEL].iloc[50:80], ARRIVED_AT: arrives}
    )
    too_late = early.iloc[80:81].assign(
        **{LABEL: 1 - early[LABEL].iloc[80:81], ARRIVED_AT: pd.Timestamp(day(30), tz="UTC")}
    )
    ghosts = pd.DataFrame({ID: [f"ghost-{i}" for i in range(40)], LABEL: 1, ARRIVED_AT: arrives})
    extra = pd.concat([repeated, corrected, too_late, ghosts], ignore_index=True)
    write_feed(s3, feed, extra, name="part-0001")

    record = monitor_and_retrain(name, as_of=as_of)

    known = window.drop(columns=[LABEL]).merge(
        arrived_before(pd.concat([rows, extra]), as_of), on=ID, how="inner"
    )
    assert record["window"]["labelled_rows"] == len(known) < len(window)
    assert record["champion"]["version"] == "1"
    model = load_sklearn_model(f"models:/{name}/1")
    config = load_config(tmp_path / name / "model.yaml")
    scores = model.predict_proba(features(known, config))[:, 1].astype(np.float32)  # as served
    expected = score("roc_auc", known[LABEL].to_numpy(), scores)
    assert record["champion"]["metric_now"] == pytest.approx(expected, abs=1e-12)

    labels = record["labels"]
    lags = (known[ARRIVED_AT] - known[TS]).dt.total_seconds().to_numpy() / 3600.0
    assert labels["coverage"] == round(len(known) / len(window), 4)
    assert labels["lag_hours_median"] == pytest.approx(np.median(lags), abs=0.01)
    assert labels["lag_hours_p95"] == pytest.approx(np.percentile(lags, 95), abs=0.01)
    assert labels["late_labels"] == int((lags > 24).sum()) > 0
    assert (labels["duplicates"], labels["corrected"]) == (80, 30)
    feed_days = rows[(rows[ARRIVED_AT] >= start) & (rows[ARRIVED_AT] < end)]
    edge = int((~feed_days[ID].isin(window[ID])).sum())  # labels of events before the window
    assert labels["orphans"] == 40 + edge
    assert labels["layout"] == "feed" and labels["before_event"] == 0


def test_a_feed_prefix_with_no_partition_is_a_named_error_before_the_run(
    stack: Settings, s3: Any, mlflow: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, data, _ = _model(stack, tmp_path, monkeypatch, feed=True)
    write_data(s3, data, _stream(25), labels=False)
    with pytest.raises(ConfigError) as failure:
        monitor_and_retrain(name, as_of=day(25))
    message = str(failure.value)
    assert f"label feed s3://{stack.data_bucket}/tests/feeds/{name}/labels/ has no" in message
    assert "check labels.prefix" in message
    assert not mlflow.search_registered_models(f"name='{name}'")


def test_a_feed_without_the_id_column_is_a_named_error_before_the_window_is_read(
    stack: Settings, s3: Any, mlflow: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, data, feed = _model(stack, tmp_path, monkeypatch, feed=True)
    frames = _stream(25)
    write_data(s3, data, frames, labels=False)
    rows = feed_rows(pd.concat(frames), pd.Timedelta(days=1)).rename(columns={ID: "prediction"})
    write_feed(s3, feed, rows)

    state = monitor_and_retrain(name, as_of=day(25), return_state=True)

    assert state.is_failed()
    flow_run_id = str(state.state_details.flow_run_id)
    record = get_json(s3, stack.loop_bucket, decision_key(name, "auto", day(25), flow_run_id))
    assert record is not None and record["status"] == "failed"
    assert f"s3://{stack.data_bucket}/tests/feeds/{name}/labels/dt=" in record["error"]
    assert (
        f"the label feed has no id column '{ID}' (labels.id in the model config)" in record["error"]
    )
    assert "window" not in record  # failed before the production rows were read
    assert not mlflow.search_registered_models(f"name='{name}'")
