"""How well a window's labels came in: coverage and arrival lag, for the decision record.

Pure: read from the window's per-row columns after the labels not known at `as_of` were nulled
(`retrain.data.maturity`). Both layouts report coverage; only a label feed knows arrival times, so
only it reports the lag (from the event's timestamp to the label's arrival) and late labels
(arrived more than `windows.label_delay_days` after the event), with the feed's own counts
(duplicates, corrections, orphans; `retrain.data.label_feed.FeedLabels.to_dict`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from retrain.config import ModelConfig
from retrain.data.label_feed import FEED_ATTR
from retrain.data.maturity import ARRIVED, due_mask, uses_arrival_times
from retrain.training.pipeline import matured_mask


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def lag_hours(frame: pd.DataFrame, config: ModelConfig, rows: np.ndarray) -> np.ndarray:
    """Hours from each selected row's event to its label's arrival."""
    ts = frame[config.columns.timestamp].to_numpy(dtype="datetime64[ns]")[rows]
    arrived = frame[ARRIVED].to_numpy(dtype="datetime64[ns]")[rows]
    return (arrived - ts).astype("timedelta64[s]").astype(np.float64) / 3600.0


def label_summary(frame: pd.DataFrame, config: ModelConfig, as_of: date) -> dict[str, Any]:
    """The `labels` part of the decision record: rows, labelled rows and coverage (all rows,
    and rows whose label is due), and with a feed the arrival lag (median, p95, max, in hours),
    late labels, labels that arrived before their event, and the feed's counts."""
    known = matured_mask(frame, config)
    due = due_mask(frame, config, as_of)
    rows, labelled = len(frame), int(known.sum())
    out: dict[str, Any] = {
        "layout": "feed" if config.labels is not None else "in_file",
        "rows": rows,
        "labelled_rows": labelled,
        "coverage": _share(labelled, rows),
        "due_rows": int(due.sum()),
        "due_labelled_rows": int((known & due).sum()),
        "due_coverage": _share(int((known & due).sum()), int(due.sum())),
        "lag_hours_median": None,
        "lag_hours_p95": None,
        "lag_hours_max": None,
        "late_labels": None,
        "before_event": None,
    }
    ts = frame.get(config.columns.timestamp)
    if not uses_arrival_times(frame, config) or not pd.api.types.is_datetime64_any_dtype(ts):
        return out
    lags = lag_hours(frame, config, known)
    delay_hours = 24.0 * config.windows.label_delay_days
    if lags.size:
        median, p95 = np.percentile(lags, [50, 95])
        out.update(
            lag_hours_median=round(float(median), 2),
            lag_hours_p95=round(float(p95), 2),
            lag_hours_max=round(float(lags.max()), 2),
        )
    out.update(late_labels=int((lags > delay_hours).sum()), before_event=int((lags < 0).sum()))
    out.update(frame.attrs.get(FEED_ATTR) or {})
    return out


def label_metrics(summary: dict[str, Any] | None) -> dict[str, float]:
    """The summary's figures as `labels/<name>` metrics for the monitoring history."""
    keys = ("coverage", "due_coverage", "lag_hours_median", "lag_hours_p95")
    found = summary or {}
    return {f"labels/{k}": float(found[k]) for k in keys if found.get(k) is not None}
