"""The time-ordered split of training data and the masking of labels that have not matured."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from retrain.config import ModelConfig, parse_config
from retrain.training import label_cutoff, mask_immature_labels, time_split
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


def test_time_split_holds_out_the_newest_days_before_the_cutoff_in_time_order() -> None:
    second = timedelta(seconds=1)
    moments = [
        CUTOFF,  # not matured: dropped
        HOLDOUT_START,  # first instant of the holdout
        CUTOFF - second,  # last matured instant
        HOLDOUT_START - second,  # last training instant
        datetime(2024, 3, 1, tzinfo=UTC),
        datetime(2024, 3, 8, tzinfo=UTC),
    ]
    split = time_split(_frame(moments), _config(), AS_OF)

    assert (split.cutoff, split.holdout_start) == (CUTOFF, HOLDOUT_START)
    assert list(split.train[TS]) == [moments[4], moments[3]]
    assert list(split.holdout[TS]) == [moments[1], moments[5], moments[2]]
    assert split.train[TS].is_monotonic_increasing and split.holdout[TS].is_monotonic_increasing


def test_time_split_uses_only_labelled_rows() -> None:
    moments = [datetime(2024, 3, day, 12, tzinfo=UTC) for day in (2, 3, 8, 9)]
    frame = _frame(moments, labels=[1.0, np.nan, np.nan, 0.0])
    split = time_split(frame, _config(), AS_OF)
    assert list(split.train[ID]) == ["e0"]
    assert list(split.holdout[ID]) == ["e3"]


def test_time_split_follows_the_configured_windows() -> None:
    moments = [datetime(2024, 3, day, 12, tzinfo=UTC) for day in range(1, 12)]
    split = time_split(
        _frame(moments), _config(label_delay_days=0, holdout_days=5, training_days=14), AS_OF
    )
    assert split.cutoff == datetime(2024, 3, 11, tzinfo=UTC)
    assert split.holdout_start == datetime(2024, 3, 6, tzinfo=UTC)
    assert [t.day for t in split.train[TS]] == [1, 2, 3, 4, 5]
    assert [t.day for t in split.holdout[TS]] == [6, 7, 8, 9, 10]


def test_mask_immature_labels_nulls_labels_from_the_cutoff_on() -> None:
    second = timedelta(seconds=1)
    frame = _frame([CUTOFF - second, CUTOFF, CUTOFF + timedelta(days=1)], labels=[1.0, 1.0, 0.0])
    masked = mask_immature_labels(frame, _config(), AS_OF)

    assert masked[LABEL].iloc[0] == 1.0
    assert masked[LABEL].iloc[1:].isna().all()
    assert list(frame[LABEL]) == [1.0, 1.0, 0.0]  # the input is left as it was
    assert masked.drop(columns=LABEL).equals(frame.drop(columns=LABEL))


@pytest.mark.parametrize(("delay", "masked_rows"), [(0, 0), (1, 1), (3, 3)])
def test_mask_immature_labels_follows_the_label_delay(delay: int, masked_rows: int) -> None:
    moments = [datetime(2024, 3, day, 12, tzinfo=UTC) for day in (7, 8, 9, 10)]
    masked = mask_immature_labels(_frame(moments), _config(label_delay_days=delay), AS_OF)
    assert int(masked[LABEL].isna().sum()) == masked_rows


def test_mask_immature_labels_without_a_label_column_changes_nothing() -> None:
    frame = _frame([CUTOFF]).drop(columns=LABEL)
    assert mask_immature_labels(frame, _config(), AS_OF) is frame
