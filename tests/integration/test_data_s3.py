"""The data contract against the real LocalStack S3: partitions in, a window out."""

from __future__ import annotations

import urllib.request
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any, Literal

import pandas as pd
import pytest

from retrain.clients import s3_client
from retrain.config import Columns, DataSource, load_config
from retrain.data.s3 import (
    DataError,
    Window,
    WindowBatches,
    get_json,
    list_json,
    list_partitions,
    load_window,
    put_json,
    write_partition,
)
from retrain.drift.reference import compute_reference_stats
from retrain.drift.window_stats import NumericSummary, summarize, summarize_window
from retrain.samples.flights import flights_frame, seed_flights
from retrain.settings import get_settings

pytestmark = pytest.mark.integration

COLUMNS = Columns(
    id="id", timestamp="ts", numeric=["x"], categorical=["c"], label="y", prediction="p"
)
D1, D2, D3, D4 = (date(2024, 3, d) for d in (1, 2, 3, 4))


@pytest.fixture(scope="module")
def s3() -> Any:
    """A client of the real S3 endpoint from settings; fails loudly if it is down."""
    settings = get_settings()
    url = f"{settings.s3_endpoint_url}/_localstack/health"
    try:
        urllib.request.urlopen(url, timeout=3).close()
    except OSError as exc:
        pytest.fail(f"LocalStack S3 not reachable at {url} ({exc}): run `make up`", pytrace=False)
    return s3_client(settings)


@pytest.fixture(scope="module")
def bucket(s3: Any) -> Iterator[str]:
    """A bucket of its own for this test session, emptied and removed at the end."""
    name = f"test-data-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield name
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=obj["Key"])
    s3.delete_bucket(Bucket=name)


def source(bucket: str, fmt: Literal["parquet", "csv"] = "parquet") -> DataSource:
    return DataSource(bucket=bucket, prefix=f"t/{uuid.uuid4().hex[:8]}", format=fmt)


def day_frame(day: date, n: int = 5, start_id: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": range(start_id, start_id + n),
            "ts": pd.date_range(pd.Timestamp(day, tz="UTC"), periods=n, freq="h"),
            "x": [float(i) / 2 for i in range(n)],
            "c": ["a", "b"] * (n // 2) + ["a"] * (n % 2),
            "y": [1.0, None] * (n // 2) + [0.0] * (n % 2),
            "p": [0.5] * n,
        }
    )


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_round_trip_reports_missing_days(
    s3: Any, bucket: str, fmt: Literal["parquet", "csv"]
) -> None:
    src = source(bucket, fmt)
    written = [
        write_partition(s3, src, d, day_frame(d, start_id=10 * i)) for i, d in enumerate([D1, D3])
    ]
    assert written[0] == f"{src.prefix}/dt=2024-03-01/part-0000.{fmt}"

    loaded = load_window(s3, src, COLUMNS, Window(D1, D4))

    expected = pd.concat([day_frame(D1), day_frame(D3, start_id=10)], ignore_index=True)
    pd.testing.assert_frame_equal(loaded.frame, expected, check_dtype=False)
    assert str(loaded.frame["ts"].dtype) == "datetime64[ns, UTC]"
    assert loaded.days_present == (D1, D3)
    assert loaded.days_missing == (D2,)
    assert loaded.files == tuple(written)
    assert loaded.frame.attrs["extra_columns"] == []


def test_projection_keeps_configured_columns_and_lists_extras(s3: Any, bucket: str) -> None:
    src = source(bucket)
    frame = (
        day_frame(D1)
        .drop(columns=["x"])
        .assign(debug="z", ts=lambda f: f["ts"].dt.tz_localize(None))
    )
    write_partition(s3, src, D1, frame)

    loaded = load_window(s3, src, COLUMNS, Window(D1, D2))

    assert list(loaded.frame.columns) == ["id", "ts", "c", "y", "p"]  # x is missing: not hidden
    assert loaded.frame.attrs["extra_columns"] == ["debug"]
    assert loaded.frame.attrs["missing_columns"] == ["x"]
    assert loaded.frame["ts"].iloc[0] == pd.Timestamp(D1, tz="UTC")


def test_files_that_differ_combine_as_pandas_would(s3: Any, bucket: str) -> None:
    """Files of one window read into Arrow and converted once give what concatenating each
    file's frame in pandas gives: an int label beside a float one, a file without a column,
    naive, zoned and text timestamps, a file with an extra column."""
    src = source(bucket)
    first = day_frame(D1).assign(y=[1, 0, 1, 0, 1])  # int64 labels, no nulls
    second = day_frame(D2, start_id=10).drop(columns=["p"]).assign(debug="z")
    second["ts"] = second["ts"].dt.tz_convert("Europe/Paris")
    third = day_frame(D3, start_id=20)
    third["ts"] = third["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")  # text timestamps
    for day, frame in ((D1, first), (D2, second), (D3, third)):
        write_partition(s3, src, day, frame)

    loaded = load_window(s3, src, COLUMNS, Window(D1, D4))

    expected = pd.concat([day_frame(D1), day_frame(D2, start_id=10), day_frame(D3, start_id=20)])
    expected = expected.reset_index(drop=True).assign(
        y=[1.0, 0, 1, 0, 1, 1, None, 1, None, 0, 1, None, 1, None, 0]
    )
    expected.loc[5:9, "p"] = None
    pd.testing.assert_frame_equal(loaded.frame, expected, check_dtype=False)
    assert str(loaded.frame["ts"].dtype) == "datetime64[ns, UTC]"
    assert str(loaded.frame["y"].dtype) == "float64"
    assert loaded.frame.attrs["extra_columns"] == ["debug"]
    assert loaded.frame.attrs["missing_columns"] == ["p"]


def test_listing_ignores_other_files_and_bad_folders(s3: Any, bucket: str) -> None:
    src = source(bucket)
    key = write_partition(s3, src, D2, day_frame(D2))
    for junk in [
        "dt=2024-03-02/_SUCCESS",
        "dt=2024-03-02/notes.txt",
        "dt=latest/a.parquet",
        "dt=2024-3-1/a.parquet",
        "dt=2024-03-09/a.parquet",
        "loose.parquet",
    ]:
        s3.put_object(Bucket=bucket, Key=f"{src.prefix}/{junk}", Body=b"x")

    assert list_partitions(s3, src, Window(D1, D4)) == {D2: [key]}


def test_corrupt_parquet_names_the_key(s3: Any, bucket: str) -> None:
    src = source(bucket)
    write_partition(s3, src, D1, day_frame(D1))
    bad = f"{src.prefix}/dt=2024-03-02/part-0000.parquet"
    s3.put_object(Bucket=bucket, Key=bad, Body=b"PAR1 this is not parquet PAR1")

    with pytest.raises(DataError, match="corrupt") as err:
        load_window(s3, src, COLUMNS, Window(D1, D3))
    assert f"s3://{bucket}/{bad}" in str(err.value)


def test_broken_csv_row_names_the_key_and_line(s3: Any, bucket: str) -> None:
    src = source(bucket, "csv")
    bad = f"{src.prefix}/dt=2024-03-01/part-0000.csv"
    body = "id,ts,x,c,y,p\n1,2024-03-01T00:00:00Z,1.0,a,1,0.5\n2,2024-03-01T01:00:00Z,2.0,b\n"
    s3.put_object(Bucket=bucket, Key=bad, Body=body.encode())

    with pytest.raises(DataError, match="broken CSV") as err:
        load_window(s3, src, COLUMNS, Window(D1, D2))
    assert f"s3://{bucket}/{bad}" in str(err.value)
    assert err.value.line == 3


def test_no_partitions_is_an_empty_frame(s3: Any, bucket: str) -> None:
    loaded = load_window(s3, source(bucket), COLUMNS, Window(D1, D4))

    assert loaded.frame.empty
    assert list(loaded.frame.columns) == ["id", "ts", "x", "c", "y", "p"]
    assert str(loaded.frame["ts"].dtype) == "datetime64[ns, UTC]"
    assert loaded.days_present == ()
    assert loaded.days_missing == (D1, D2, D3)
    assert loaded.files == ()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_max_rows_exceeded(s3: Any, bucket: str, fmt: Literal["parquet", "csv"]) -> None:
    src = source(bucket, fmt)
    for d in (D1, D2):
        write_partition(s3, src, d, day_frame(d, n=6))

    assert len(load_window(s3, src, COLUMNS, Window(D1, D3), max_rows=12).frame) == 12
    with pytest.raises(DataError, match="exceeds the configured limit of 11 rows"):
        load_window(s3, src, COLUMNS, Window(D1, D3), max_rows=11)


def test_json_round_trip(s3: Any, bucket: str) -> None:
    prefix = f"records/{uuid.uuid4().hex[:8]}/"
    put_json(s3, bucket, f"{prefix}b.json", {"day": date(2024, 3, 1), "n": 1})
    put_json(s3, bucket, f"{prefix}a.json", [1, 2])
    s3.put_object(Bucket=bucket, Key=f"{prefix}report.html", Body=b"<html/>")

    assert get_json(s3, bucket, f"{prefix}b.json") == {"day": "2024-03-01", "n": 1}
    assert get_json(s3, bucket, f"{prefix}absent.json") is None
    assert list_json(s3, bucket, prefix) == [f"{prefix}a.json", f"{prefix}b.json"]


def test_seed_flights_twice_writes_nothing_the_second_time(s3: Any, bucket: str) -> None:
    config = load_config("deployments/flights_delay.yaml")
    src = DataSource(bucket=bucket, prefix=f"flights-{uuid.uuid4().hex[:8]}")
    start, end = date(2013, 3, 1), date(2013, 3, 4)

    first = seed_flights(s3, src, start, end)
    second = seed_flights(s3, src, start, end)

    assert first.days_written == (start, date(2013, 3, 2), date(2013, 3, 3))
    assert first.rows > 2000
    assert (second.days_written, second.rows) == ((), 0)
    assert second.days_skipped == first.days_written
    loaded = load_window(s3, src, config.columns, Window(start, end))
    expected = flights_frame()
    expected = expected[expected["event_time"].dt.date.between(start, date(2013, 3, 3))]
    assert len(loaded.frame) == first.rows == len(expected)
    assert sorted(loaded.frame["flight_id"]) == sorted(expected["flight_id"])
    assert loaded.frame.attrs["extra_columns"] == []

    again = seed_flights(s3, src, start, date(2013, 3, 2), overwrite=True)
    assert again.days_written == (start,)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_window_streamed_in_batches_summarises_as_the_loaded_window(
    s3: Any, bucket: str, fmt: Literal["parquet", "csv"]
) -> None:
    src = source(bucket, fmt)
    for i, day in enumerate([D1, D2, D3]):
        write_partition(s3, src, day, day_frame(day, n=40 + i, start_id=100 * i))
    stats = compute_reference_stats(day_frame(D4, n=30), COLUMNS.numeric, COLUMNS.categorical)
    window = Window(D1, D4)

    streamed = summarize_window(s3, src, COLUMNS, window, stats, batch_rows=7)
    loaded = load_window(s3, src, COLUMNS, window).frame
    whole = summarize(loaded, stats, COLUMNS.numeric, COLUMNS.categorical)

    assert streamed.rows == whole.rows == 40 + 41 + 42
    assert streamed.columns["c"] == whole.columns["c"]
    x_streamed, x_whole = streamed.columns["x"], whole.columns["x"]
    assert isinstance(x_streamed, NumericSummary) and isinstance(x_whole, NumericSummary)
    assert x_streamed.exact == x_whole.exact
    assert (x_streamed.binned == x_whole.binned).all()

    batches = WindowBatches(s3, src, COLUMNS, window, batch_rows=7)
    together = pd.concat(list(batches), ignore_index=True)
    pd.testing.assert_frame_equal(together[list(loaded.columns)], loaded)
    assert batches.files == list(load_window(s3, src, COLUMNS, window).files)
    assert batches.days_present == (D1, D2, D3) and batches.missing_columns == set()

    extra = day_frame(D3).drop(columns=["c"]).assign(note="x")
    write_partition(s3, src, D3, extra, name="part-0001")
    batches = WindowBatches(s3, src, COLUMNS, window, batch_rows=7)
    together = pd.concat(list(batches), ignore_index=True)
    assert batches.missing_columns == {"c"} and batches.extra_columns == {"note"}
    assert together["c"].isna().sum() == len(extra)  # the file without "c" is null there
    with pytest.raises(DataError, match="exceeds the configured limit of 50 rows"):
        list(WindowBatches(s3, src, COLUMNS, window, max_rows=50))
