"""One reading of event timestamps, shared by the S3 loader and validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pytest

from retrain.data.timestamps import as_utc, utc_timestamps

NOON = pd.Timestamp("2024-03-01 12:00", tz="UTC")


@pytest.mark.parametrize(
    "series",
    [
        pd.Series([pd.Timestamp("2024-03-01 12:00")]),  # naive: read as UTC
        pd.Series([pd.Timestamp("2024-03-01 13:00", tz="Europe/Paris")]),
        pd.Series(["2024-03-01T12:00:00Z"]),
        pd.Series(["2024-03-01T14:00:00+02:00"]),
        pd.Series(["2024-03-01 12:00"]),
        pd.Series(["March 1, 2024 12:00"]),  # not ISO 8601: the mixed-format retry
    ],
)
def test_datetimes_and_text_become_utc(series: pd.Series) -> None:
    parsed = utc_timestamps(series)
    assert parsed is not None and str(parsed.dtype) == "datetime64[ns, UTC]"
    assert parsed.iloc[0] == NOON


@pytest.mark.parametrize("series", [pd.Series([1, 2]), pd.Series([1.5]), pd.Series([True])])
def test_numbers_and_booleans_are_not_timestamps(series: pd.Series) -> None:
    assert utc_timestamps(series) is None


def test_unparseable_text_becomes_nat_and_nulls_stay_null() -> None:
    parsed = utc_timestamps(pd.Series(["2024-03-01T12:00:00Z", "not a date", None]))
    assert parsed is not None
    assert parsed.iloc[0] == NOON and parsed.iloc[1:].isna().all()


def test_a_moment_becomes_utc() -> None:
    assert as_utc(datetime(2024, 3, 1, 12)) == NOON
    assert as_utc(datetime(2024, 3, 1, 14, tzinfo=timezone(timedelta(hours=2)))) == NOON
    assert as_utc(datetime(2024, 3, 1, 12, tzinfo=UTC)).tz is not None
