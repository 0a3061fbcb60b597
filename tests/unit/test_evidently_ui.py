"""The decision record as the Evidently UI's window figures, the dashboard's panels, and a UI
that cannot be reached."""

from __future__ import annotations

import socket
import time
from datetime import datetime
from typing import Any

import pytest

from retrain.sinks.evidently_ui import (
    DRIFT_SHARE,
    DRIFTED_COLUMNS,
    LABELLED_ROWS,
    ROWS,
    EvidentlyUIError,
    add_window,
    dashboard,
    snapshot_name,
    window_end,
    window_values,
)
from tests.helpers import typed_record

RECORD: dict[str, Any] = {
    "model": "m1",
    "as_of": "2024-01-21",
    "mode": "auto",
    "champion": {"version": "3", "metric_now": 0.55},
    "drift": {"drift_share": 0.4, "drifted_columns": ["x1", "segment"]},
    "window": {"rows": 1000, "labelled_rows": 800},
    "decision": {"action": "retrain", "reasons": ["below_floor"]},
}


def test_window_values_come_from_the_record() -> None:
    assert window_values(typed_record(RECORD), "roc_auc") == {
        DRIFT_SHARE: 0.4,
        DRIFTED_COLUMNS: 2.0,
        "roc_auc": 0.55,
        ROWS: 1000.0,
        LABELLED_ROWS: 800.0,
    }


def test_what_the_record_lacks_is_left_out() -> None:
    """No champion: no drift and no metric; a NaN metric is no figure either."""
    record = {"as_of": "2024-01-21", "window": {"rows": 0, "labelled_rows": 0}, "drift": None}
    assert window_values(typed_record(record), "rmse") == {ROWS: 0.0, LABELLED_ROWS: 0.0}
    nan = {**RECORD, "champion": {"metric_now": float("nan")}, "drift": {"drift_share": 0.0}}
    assert window_values(typed_record(nan), "roc_auc") == {
        DRIFT_SHARE: 0.0,
        DRIFTED_COLUMNS: 0.0,
        ROWS: 1000.0,
        LABELLED_ROWS: 800.0,
    }


def test_the_snapshot_is_timestamped_with_the_window_end() -> None:
    assert window_end(typed_record(RECORD)) == datetime(2024, 1, 21)
    assert snapshot_name(typed_record(RECORD)) == "window ending 2024-01-21 (auto): retrain"


def test_the_dashboard_plots_every_figure() -> None:
    board = dashboard("rmse")
    assert [p.title for p in board.panels] == [
        "Drift share",
        "Drifted columns",
        "Model metric (rmse)",
        "Volume (rows)",
    ]
    columns = {v.metric_labels["column"] for p in board.panels for v in p.values}
    assert columns == {DRIFT_SHARE, DRIFTED_COLUMNS, "rmse", ROWS, LABELLED_ROWS}
    assert {v.metric for p in board.panels for v in p.values} == {"evidently:metric_v2:MeanValue"}
    assert board.tabs[0].panels == [p.id for p in board.panels]


def test_an_unreachable_ui_is_an_error_naming_its_url() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(EvidentlyUIError, match=url):
        add_window(url, "m1", "", typed_record(RECORD), "roc_auc")


def test_a_ui_that_never_answers_times_out() -> None:
    """evidently 0.7.23 sends without a timeout; ours gives up and says where."""
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(EvidentlyUIError, match=url):
            add_window(url, "m1", "", typed_record(RECORD), "roc_auc", timeout=0.5)
    assert time.monotonic() - started < 5
