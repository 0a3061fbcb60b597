"""The label feed's pure parts: folding arrivals, the join by id, maturity by arrival time, and
the coverage and lag figures."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from retrain.config import ConfigError, ModelConfig, parse_config
from retrain.data.label_coverage import FEED_ATTR, label_metrics, label_summary
from retrain.data.label_feed import FeedLabels, feed_columns, feed_source, fold_arrivals
from retrain.data.maturity import ARRIVED, due_mask, mask_unknown_labels, unknown_mask
from retrain.data.s3 import DataError
from retrain.decisions.attention import attention_problem
from tests.helpers import ID, LABEL, TS, config_dict, merge, typed_record

AS_OF = date(2024, 3, 11)


def _config(**labels: object) -> ModelConfig:
    raw = merge(config_dict("m", "bucket", "data"), {"labels": {"prefix": "labels", **labels}})
    return parse_config(raw)


def _feed(ids: list[object], labels: list[object], arrived: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ids,
            "label": labels,
            "arrived_at": pd.to_datetime(arrived, utc=True, format="ISO8601"),
        }
    )


def _rows(ids: list[object], events: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {ID: ids, TS: pd.to_datetime(events, utc=True, format="ISO8601"), "x1": 0.0}
    )


def test_the_last_arrival_wins_and_duplicates_and_corrections_are_counted() -> None:
    rows = _feed(
        ["a", "b", "a", "c", "b", None, "d"],
        [1, 0, 0, 1, 0, 1, None],
        [
            "2024-03-02",
            "2024-03-02",
            "2024-03-04",  # a corrected: 1 -> 0
            "2024-03-03",
            "2024-03-05",  # b again, same label: a duplicate, no correction
            "2024-03-05",  # no id: dropped
            "2024-03-05",  # no label: dropped
        ],
    )
    folded = fold_arrivals(rows)
    assert sorted(folded.ids) == ["a", "b", "c"]
    last = dict(zip(folded.ids, folded.labels, strict=True))
    assert last == {"a": 0, "b": 0, "c": 1}
    assert (folded.rows, folded.duplicates, folded.corrected, folded.invalid) == (5, 2, 1, 2)


def test_arrivals_out_of_order_in_the_files_still_let_the_latest_win() -> None:
    rows = _feed(["a", "a"], [0, 1], ["2024-03-05", "2024-03-02"])  # the later row arrived first
    folded = fold_arrivals(rows)
    assert list(folded.labels) == [0] and folded.corrected == 1


def test_the_join_fills_labels_and_arrival_times_and_marks_the_matched_labels() -> None:
    config = _config()
    folded = fold_arrivals(_feed(["a", "b", "z"], [1, 0, 1], ["2024-03-02"] * 3))
    batch = _rows(["b", "a", "q"], ["2024-03-01"] * 3).assign(**{LABEL: 5})  # own labels: replaced
    joined = folded.join(batch, config)
    assert joined[LABEL].tolist()[:2] == [0.0, 1.0] and np.isnan(joined[LABEL].iloc[2])
    assert joined[ARRIVED].isna().tolist() == [False, False, True]
    assert folded.orphans == 1  # "z": no row had its id
    assert batch[LABEL].tolist() == [5, 5, 5]  # the batch itself is left as it was


def test_ids_of_different_types_are_a_named_error() -> None:
    folded = fold_arrivals(_feed([1, 2], [1, 0], ["2024-03-02"] * 2))
    with pytest.raises(DataError, match=r"ids of the data .* and of the label feed .* differ"):
        folded.join(_rows(["1", "2"], ["2024-03-01"] * 2), _config())


def test_an_empty_feed_joins_nothing() -> None:
    empty = FeedLabels(pd.Index([]), pd.Series([], dtype=float), pd.Series([]), 0, 0, 0, 0)
    joined = empty.join(_rows(["a"], ["2024-03-01"]), _config())
    assert joined[LABEL].isna().all() and joined[ARRIVED].isna().all()


def test_with_a_feed_the_arrival_time_decides_and_not_the_delay() -> None:
    config = _config()
    frame = _rows(
        ["a", "b", "c", "d"], ["2024-03-01", "2024-03-10 20:00", "2024-03-09", "2024-03-02"]
    )
    frame[LABEL] = [1.0, 0.0, 1.0, 0.0]
    frame[ARRIVED] = pd.to_datetime(
        ["2024-03-10 23:59", "2024-03-10 23:00", "2024-03-11 00:00", None],
        utc=True,
        format="ISO8601",
    )
    # b is newer than the 1-day delay but arrived; c arrived at as_of itself; d never did
    assert unknown_mask(frame, config, AS_OF).tolist() == [False, False, True, True]
    assert mask_unknown_labels(frame, config, AS_OF)[LABEL].isna().tolist() == [
        False,
        False,
        True,
        True,
    ]
    assert due_mask(frame, config, AS_OF).tolist() == [True, False, True, True]


def test_without_a_feed_the_label_delay_decides_as_before() -> None:
    config = parse_config(config_dict("m", "bucket", "data"))
    frame = _rows(["a", "b"], ["2024-03-09 23:59", "2024-03-10"]).assign(**{LABEL: [1, 0]})
    assert unknown_mask(frame, config, AS_OF).tolist() == [False, True]


def test_coverage_lag_and_late_labels_from_the_joined_rows() -> None:
    config = _config()  # label_delay_days 1: a label arriving after 24 h is late
    events = pd.to_datetime(["2024-03-05"] * 5 + ["2024-03-10"] * 3, utc=True)
    lags_h = [2, 10, 30, 50, 100, np.nan, np.nan, 5]
    frame = pd.DataFrame({ID: list("abcdefgh"), TS: events})
    frame[ARRIVED] = events + pd.to_timedelta(lags_h, unit="h")
    frame[LABEL] = np.where(frame[ARRIVED].notna(), 1.0, np.nan)
    frame.attrs[FEED_ATTR] = {"duplicates": 3, "orphans": 2}
    summary = label_summary(frame, config, AS_OF)
    known = [2, 10, 30, 50, 100, 5]
    assert summary["layout"] == "feed"
    assert (summary["rows"], summary["labelled_rows"], summary["coverage"]) == (8, 6, 0.75)
    assert (summary["due_rows"], summary["due_labelled_rows"], summary["due_coverage"]) == (5, 5, 1)
    assert summary["lag_hours_median"] == pytest.approx(np.median(known))
    assert summary["lag_hours_p95"] == pytest.approx(np.percentile(known, 95))
    assert summary["lag_hours_max"] == 100
    assert (summary["late_labels"], summary["before_event"]) == (3, 0)
    assert (summary["duplicates"], summary["orphans"]) == (3, 2)
    metrics = label_metrics(summary)
    assert metrics["labels/coverage"] == 0.75 and "labels/lag_hours_p95" in metrics


def test_in_file_labels_report_coverage_without_a_lag() -> None:
    config = parse_config(config_dict("m", "bucket", "data"))
    frame = _rows(["a", "b", "c"], ["2024-03-01", "2024-03-02", "2024-03-10"])
    frame[LABEL] = [1.0, np.nan, np.nan]
    summary = label_summary(frame, config, AS_OF)
    assert summary["layout"] == "in_file" and summary["coverage"] == pytest.approx(0.3333)
    assert (summary["due_rows"], summary["due_labelled_rows"]) == (2, 1)
    assert summary["lag_hours_median"] is None and summary["late_labels"] is None
    assert label_summary(frame.iloc[0:0], config, AS_OF)["coverage"] is None


def test_the_feed_config_defaults_to_the_data_bucket_and_columns() -> None:
    config = _config(arrived_at="landed")
    assert feed_source(config).bucket == "bucket" and feed_source(config).prefix == "labels"
    assert feed_columns(config) == {"id": ID, "label": LABEL, "arrived_at": "landed"}
    other = _config(bucket="outcomes", id="prediction_id", label="y", format="csv")
    assert feed_source(other).bucket == "outcomes" and feed_source(other).format == "csv"
    assert feed_columns(other)["id"] == "prediction_id"


@pytest.mark.parametrize(
    ("labels", "needle"),
    [
        ({"prefix": "data"}, "labels.prefix must differ from data.prefix"),
        ({"prefix": "../up"}, "labels.prefix"),
        ({"prefix": "labels", "format": "json"}, "labels.format"),
        ({"prefix": "labels", "arrival": "t"}, "labels.arrival"),
    ],
)
def test_a_bad_feed_config_names_the_field(labels: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        parse_config(merge(config_dict("m", "bucket", "data"), {"labels": labels}))


def test_labels_missing_with_a_feed_names_the_feed_its_coverage_and_lag() -> None:
    config = _config()
    record = {
        "as_of": "2024-03-11",
        "decision": {"reasons": ["labels_missing"], "details": {"rows_past_label_delay": 900}},
        "labels": {
            "due_rows": 900,
            "due_labelled_rows": 12,
            "due_coverage": 0.0133,
            "lag_hours_median": 30.5,
            "lag_hours_p95": 70.0,
            "orphans": 850,
        },
    }
    message = attention_problem(typed_record(record), config)
    assert message is not None and "(labels_missing): 900 rows are older than" in message
    assert "only 12 have a label that arrived before 2024-03-11 (due coverage 0.0133)" in message
    assert "30.5 h (median), 70.0 h (p95); 850 feed labels matched no row" in message
    assert "check the label feed s3://bucket/labels/" in message


def test_the_config_hash_of_a_config_without_a_feed_is_unchanged_by_the_new_field() -> None:
    raw = config_dict("m", "bucket", "data")
    assert parse_config(raw).config_hash() != _config().config_hash()
    assert parse_config({**raw, "labels": None}).config_hash() == parse_config(raw).config_hash()
