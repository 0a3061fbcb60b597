"""One synthetic stream in both data layouts: labels in the files, or in a label feed of their own
(docs/labels.md), written by the tests themselves."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from retrain.config import DataSource
from retrain.data.s3 import write_partition
from tests.helpers import ID, LABEL, TS

ARRIVED_AT = "arrived_at"


def feed_rows(frame: pd.DataFrame, lag: pd.Series | pd.Timedelta) -> pd.DataFrame:
    """The feed rows of a stream's frame: id, label, and arrival time = event time + `lag`."""
    return pd.DataFrame({ID: frame[ID], LABEL: frame[LABEL], ARRIVED_AT: frame[TS] + lag})


def random_lags(frame: pd.DataFrame, low_days: int, high_days: int, seed: int) -> pd.Series:
    """Lags drawn uniformly between `low_days` and `high_days` (whole seconds), per row."""
    rng = np.random.default_rng(seed)
    seconds = rng.integers(low_days * 86400, high_days * 86400, len(frame))
    return pd.Series(pd.to_timedelta(seconds, unit="s"), index=frame.index)


def write_feed(s3: Any, source: DataSource, rows: pd.DataFrame, name: str = "part-0000") -> None:
    """Feed rows as daily partitions keyed by their arrival day (UTC)."""
    day_of = rows[ARRIVED_AT].dt.date
    for day, group in rows.groupby(day_of, sort=True):
        write_partition(s3, source, day, group.reset_index(drop=True), name=name)


def write_data(s3: Any, source: DataSource, frames: list[pd.DataFrame], *, labels: bool) -> None:
    """The stream's days as data partitions, with or without their label column."""
    for frame in frames:
        day: date = frame[TS].iloc[0].date()
        write_partition(s3, source, day, frame if labels else frame.drop(columns=[LABEL]))


def arrived_before(rows: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """The feed rows that arrived before `as_of` (midnight UTC), last arrival per id."""
    cutoff = pd.Timestamp(as_of, tz="UTC")
    seen = rows[rows[ARRIVED_AT] < cutoff].sort_values(ARRIVED_AT, kind="stable")
    return seen.drop_duplicates(ID, keep="last")


def day_before(as_of: date, days: int) -> date:
    return as_of - timedelta(days=days)
