"""Reading a label feed from LocalStack S3: CSV files, arrival times that are missing or later than
the partition says, and files that lack a configured column."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pandas as pd
import pytest

from retrain.config import ModelConfig, parse_config
from retrain.data.label_feed import feed_source, read_feed
from retrain.data.s3 import DataError, Window, partition_prefix
from retrain.settings import Settings
from tests.helpers import ID, LABEL, config_dict, empty_bucket, merge, unique

pytestmark = [pytest.mark.integration]

AS_OF = date(2024, 1, 10)


@pytest.fixture
def config(stack: Settings, s3: Any) -> Iterator[ModelConfig]:
    prefix = unique("tests/label-feed")
    raw = merge(
        config_dict("feed_read", stack.data_bucket, f"{prefix}/data"),
        {"labels": {"prefix": f"{prefix}/labels", "format": "csv", "arrived_at": "received"}},
    )
    yield parse_config(raw)
    empty_bucket(s3, stack.data_bucket, f"{prefix}/")


def _put_csv(s3: Any, config: ModelConfig, day: date, text: str) -> None:
    source = feed_source(config)
    key = f"{partition_prefix(source, day)}part-0000.csv"
    s3.put_object(Bucket=source.bucket, Key=key, Body=text.encode())


def test_a_csv_feed_is_read_with_its_arrival_times(s3: Any, config: ModelConfig) -> None:
    _put_csv(
        s3,
        config,
        date(2024, 1, 8),
        f"{ID},{LABEL},received\n"
        "a,1,2024-01-08T10:00:00Z\n"
        "b,0,\n"  # no arrival time: the partition's day
        "c,1,2024-01-10T01:00:00Z\n",  # says it arrived at as_of: not known yet
    )
    _put_csv(s3, config, date(2024, 1, 9), f"{ID},{LABEL},received\na,0,2024-01-09T08:00:00Z\n")
    _put_csv(s3, config, date(2024, 1, 10), f"{ID},{LABEL},received\nd,1,2024-01-10T08:00:00Z\n")

    labels = read_feed(s3, config, Window(date(2024, 1, 5), AS_OF), AS_OF)

    got = pd.DataFrame(
        {"label": labels.labels.to_numpy(), "at": labels.arrived.array}, index=labels.ids
    )
    assert sorted(got.index) == ["a", "b"]  # c arrived at as_of, d in as_of's partition
    assert got.loc["a", "label"] == 0  # corrected the next day
    assert got.loc["b", "at"] == pd.Timestamp("2024-01-08", tz="UTC")
    assert (labels.duplicates, labels.corrected, labels.rows) == (1, 1, 3)
    assert [d.isoformat() for d in labels.days_present] == ["2024-01-08", "2024-01-09"]


@pytest.mark.parametrize(
    ("header", "column", "field"),
    [
        (f"{ID},outcome,received", LABEL, "labels.label"),
        (f"{LABEL},received", ID, "labels.id"),
        (f"{ID},{LABEL},arrived", "received", "labels.arrived_at"),
    ],
)
def test_a_feed_file_without_a_configured_column_names_it(
    s3: Any, config: ModelConfig, header: str, column: str, field: str
) -> None:
    row = ["1"] * header.count(",") + ["2024-01-08T10:00:00Z"]
    _put_csv(s3, config, date(2024, 1, 8), f"{header}\n{','.join(row)}\n")
    with pytest.raises(DataError) as failure:
        read_feed(s3, config, Window(date(2024, 1, 5), AS_OF), AS_OF)
    message = str(failure.value)
    assert f"column {column!r}" in message and f"({field} in the model config)" in message
    assert "dt=2024-01-08/part-0000.csv" in message
