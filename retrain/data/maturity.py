"""When a row's label counts as known: the one place the label delay or the arrival time decides.

Two layouts (docs/labels.md):
- in-file labels (`labels` unset): a label is known at `as_of` once the event is older than
  `windows.label_delay_days` (the fixed delay; the files are assumed to be rewritten in time);
- a label feed (`labels` set): the feed's arrival time, joined per row into `ARRIVED`, decides:
  a label is known at `as_of` only if it arrived before `as_of` (midnight UTC). The delay then
  only says when a label is *due* (`due_mask`: a missing one counts towards `labels_missing`)
  and where the holdout ends (`training.slices`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd

from retrain.config import ModelConfig

# The per-row column a label feed's arrival time is joined into (UTC; NaT: no label arrived).
ARRIVED = "__label_arrived_at__"


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def label_cutoff(as_of: date, label_delay_days: int) -> datetime:
    """Events before this instant have labels due (matured, for in-file labels) by `as_of`."""
    return day_start(as_of) - timedelta(days=label_delay_days)


def _timestamps(frame: pd.DataFrame, column: str) -> pd.Series | None:
    """The column when it holds datetimes (a window whose files lack it has nulls instead)."""
    if column not in frame.columns or not pd.api.types.is_datetime64_any_dtype(frame[column]):
        return None
    return frame[column]


def uses_arrival_times(frame: pd.DataFrame, config: ModelConfig) -> bool:
    """Whether the frame's labels came from a label feed (their arrival times decide)."""
    return config.labels is not None and ARRIVED in frame.columns


def unknown_mask(frame: pd.DataFrame, config: ModelConfig, as_of: date) -> np.ndarray:
    """Rows whose label is not known at `as_of`, whatever the label column holds: with a feed,
    no arrival before `as_of`; with in-file labels, an event newer than the label delay."""
    if uses_arrival_times(frame, config):
        arrived = frame[ARRIVED]
        return np.asarray((arrived.isna() | (arrived >= day_start(as_of))).to_numpy(), dtype=bool)
    ts = _timestamps(frame, config.columns.timestamp)
    if ts is None:
        return np.zeros(len(frame), dtype=bool)
    cutoff = label_cutoff(as_of, config.windows.label_delay_days)
    return np.asarray((ts >= cutoff).to_numpy(), dtype=bool)


def due_mask(frame: pd.DataFrame, config: ModelConfig, as_of: date) -> np.ndarray:
    """Rows whose label should be known by `as_of`: events older than the label delay (the
    expected delay of a feed), in both layouts."""
    ts = _timestamps(frame, config.columns.timestamp)
    if ts is None or frame.empty:
        return np.zeros(len(frame), dtype=bool)
    cutoff = label_cutoff(as_of, config.windows.label_delay_days)
    return np.asarray((ts < cutoff).to_numpy(), dtype=bool)


def mask_unknown_labels(frame: pd.DataFrame, config: ModelConfig, as_of: date) -> pd.DataFrame:
    """Null the labels not known at `as_of` (what production would see).

    A new frame whose label column is new and whose other columns share `frame`'s data (no
    copy of the window); `frame` itself is left as it was."""
    label = config.columns.label
    if label not in frame.columns:
        return frame
    unknown = unknown_mask(frame, config, as_of)
    if not unknown.any():
        return frame
    out = frame.copy(deep=False)  # shares every column's data; only the label is replaced
    numeric = pd.api.types.is_numeric_dtype(out[label])  # string labels keep their own nulls
    out[label] = (out[label].astype("float64") if numeric else out[label]).where(~unknown)
    return out
