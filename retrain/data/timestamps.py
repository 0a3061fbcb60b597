"""What the data contract accepts as an event timestamp, and how it becomes UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd


def utc_timestamps(series: pd.Series) -> pd.Series | None:
    """A column as UTC datetimes; None when it is not timestamps at all (numbers, booleans).

    Datetimes without a zone are read as UTC, zoned ones converted; text is parsed as ISO 8601
    first, then in pandas' mixed formats. A value that still does not parse becomes NaT: the
    caller decides whether that is an error (`parsed.isna() & series.notna()`).
    """
    if pd.api.types.is_datetime64_any_dtype(series):
        utc = series.dt.tz_localize(UTC) if series.dt.tz is None else series.dt.tz_convert(UTC)
        return utc.astype("datetime64[ns, UTC]")
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return None
    parsed = pd.to_datetime(series, errors="coerce", utc=True, format="ISO8601")
    retry = parsed.isna() & series.notna()
    if retry.any():
        parsed[retry] = pd.to_datetime(series[retry], errors="coerce", utc=True, format="mixed")
    return parsed.astype("datetime64[ns, UTC]")


def as_utc(moment: datetime) -> pd.Timestamp:
    """A moment as a UTC timestamp (a naive one is read as UTC)."""
    ts = pd.Timestamp(moment)
    return ts.tz_localize(UTC) if ts.tz is None else ts.tz_convert(UTC)
