"""The time-ordered slices of a retrain and the masking of labels that have not matured."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from retrain.config import ModelConfig, Recipe, parse_config
from retrain.training.pipeline import (
    between,
    fit_recipe,
    label_cutoff,
    mask_immature_labels,
    newest_between,
    slices,
)
from tests.helpers import ID, LABEL, TS, config_dict, merge

AS_OF = date(2024, 3, 11)
CUTOFF = datetime(2024, 3, 10, tzinfo=UTC)  # label_delay_days 1: labels before Mar 10 matured
HOLDOUT_START = datetime(2024, 3, 7, tzinfo=UTC)  # holdout_days 3


def _config(**windows: int) -> ModelConfig:
    raw = config_dict("split_test", "production-data", "split")
    return parse_config(merge(raw, {"windows": windows}) if windows else raw)


def _frame(moments: list[datetime], labels: list[float] | None = None) -> pd.DataFrame:
    n = len(moments)
    return pd.DataFrame(
        {
            ID: [f"e{i}" for i in range(n)],
            TS: pd.Series(moments, dtype="datetime64[ns, UTC]"),
            "x1": np.arange(n, dtype="float64"),
            "x2": np.zeros(n),
            "segment": ["a"] * n,
            LABEL: labels if labels is not None else [float(i % 2) for i in range(n)],
        }
    )


def test_the_cutoff_is_midnight_of_as_of_minus_the_label_delay() -> None:
    assert label_cutoff(AS_OF, 1) == CUTOFF
    assert label_cutoff(AS_OF, 0) == datetime(2024, 3, 11, tzinfo=UTC)


def test_slices_cut_validation_holdout_and_cutoff_from_the_windows() -> None:
    cut = slices(_config(), AS_OF)
    assert (cut.validation_start, cut.holdout_start, cut.cutoff) == (
        HOLDOUT_START,  # validation_days 0: no validation slice
        HOLDOUT_START,
        CUTOFF,
    )
    raw = merge(
        config_dict("split_test", "production-data", "split"),
        {
            "windows": {"label_delay_days": 0, "holdout_days": 5},
            "training": {"validation_days": 4},
        },
    )
    cut = slices(parse_config(raw), AS_OF)
    assert cut.cutoff == datetime(2024, 3, 11, tzinfo=UTC)
    assert cut.holdout_start == datetime(2024, 3, 6, tzinfo=UTC)
    assert cut.validation_start == datetime(2024, 3, 2, tzinfo=UTC)


def test_between_keeps_matured_rows_of_the_half_open_interval_in_time_order() -> None:
    second = timedelta(seconds=1)
    moments = [
        CUTOFF,  # the end is excluded
        HOLDOUT_START,  # the start is included
        CUTOFF - second,
        HOLDOUT_START - second,  # before the start
        datetime(2024, 3, 8, tzinfo=UTC),
        datetime(2024, 3, 9, tzinfo=UTC),  # label not matured: excluded
    ]
    frame = _frame(moments, labels=[1.0, 0.0, 1.0, 0.0, 1.0, np.nan])
    rows = between(frame, _config(), HOLDOUT_START, CUTOFF)
    assert list(rows[TS]) == [moments[1], moments[4], moments[2]]


def test_the_holdout_and_the_days_before_it_share_no_row() -> None:
    moments = [datetime(2024, 3, 1, tzinfo=UTC) + timedelta(hours=6 * i) for i in range(40)]
    frame = _frame(moments)
    cut = slices(_config(), AS_OF)
    train = between(frame, _config(), datetime(2024, 3, 1, tzinfo=UTC), cut.holdout_start)
    holdout = between(frame, _config(), cut.holdout_start, cut.cutoff)
    assert set(train[ID]).isdisjoint(holdout[ID])
    assert train[TS].max() < cut.holdout_start <= holdout[TS].min()
    assert holdout[TS].max() < cut.cutoff
    assert len(train) + len(holdout) == sum(t < cut.cutoff for t in moments)


def test_mask_immature_labels_nulls_labels_from_the_cutoff_on() -> None:
    second = timedelta(seconds=1)
    frame = _frame([CUTOFF - second, CUTOFF, CUTOFF + timedelta(days=1)], labels=[1.0, 1.0, 0.0])
    masked = mask_immature_labels(frame, _config(), AS_OF)

    assert masked[LABEL].iloc[0] == 1.0
    assert masked[LABEL].iloc[1:].isna().all()
    assert list(frame[LABEL]) == [1.0, 1.0, 0.0]  # the input is left as it was
    assert masked.drop(columns=LABEL).equals(frame.drop(columns=LABEL))
    for column in frame.columns.drop(LABEL):  # no copy of the window: the rest is shared
        assert np.shares_memory(masked[column].values, frame[column].values)


@pytest.mark.parametrize(("delay", "masked_rows"), [(0, 0), (1, 1), (3, 3)])
def test_mask_immature_labels_follows_the_label_delay(delay: int, masked_rows: int) -> None:
    moments = [datetime(2024, 3, day, 12, tzinfo=UTC) for day in (7, 8, 9, 10)]
    masked = mask_immature_labels(_frame(moments), _config(label_delay_days=delay), AS_OF)
    assert int(masked[LABEL].isna().sum()) == masked_rows


def test_mask_immature_labels_without_a_label_column_changes_nothing() -> None:
    frame = _frame([CUTOFF]).drop(columns=LABEL)
    assert mask_immature_labels(frame, _config(), AS_OF) is frame


def test_newest_between_keeps_the_most_recent_matured_rows_oldest_first() -> None:
    moments = [datetime(2024, 3, 1, tzinfo=UTC) + timedelta(hours=h) for h in range(10)]
    order = [3, 9, 0, 7, 1, 8, 2, 6, 4, 5]  # files need not be in time order
    labels = [1.0, 0.0, None, 1.0, 0.0, 1.0, None, 0.0, 1.0, 0.0]
    frame = _frame([moments[i] for i in order], labels)
    start, end = moments[0], moments[9]  # the last moment is outside [start, end)
    everything, available = newest_between(frame, _config(), start, end, None)
    assert available == len(everything) == 7  # 9 rows in range, 2 of them unlabelled
    assert everything[TS].is_monotonic_increasing
    newest, available = newest_between(frame, _config(), start, end, 3)
    assert available == 7
    assert list(newest[TS]) == list(everything[TS].iloc[-3:])
    assert newest.equals(between(frame, _config(), start, end).iloc[-3:])


def test_a_fit_on_a_large_window_takes_the_newest_max_rows_and_says_so() -> None:
    moments = [datetime(2024, 2, 20, tzinfo=UTC) + timedelta(minutes=15 * i) for i in range(1500)]
    frame = _frame(moments)
    frame["x1"] = np.random.default_rng(0).normal(size=len(frame))
    raw = merge(
        config_dict("split_test", "production-data", "split"), {"training": {"max_rows": 1000}}
    )
    config = parse_config(raw)
    fit = fit_recipe(frame, config, Recipe(days=30), CUTOFF)
    assert len(fit.train) == 1000 and fit.train[TS].is_monotonic_increasing
    assert fit.train[TS].min() == frame[TS].iloc[500]  # the 1,000 newest of 1,500 rows
    record = fit.to_dict()
    assert (record["rows"], record["rows_available"], record["sampled"]) == (1000, 1500, True)
    whole = fit_recipe(
        frame,
        config.model_copy(
            update={"training": config.training.model_copy(update={"max_rows": 5000})}
        ),
        Recipe(days=30),
        CUTOFF,
    )
    assert whole.to_dict()["sampled"] is False and len(whole.train) == 1500
