"""A small synthetic model for the tests and the benchmarks: a day of events, its config, its
partitions in S3, a fleet of such models (two numeric features, one categorical, a label that
depends on them). The loop never imports this module."""

from __future__ import annotations

import copy
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from retrain.config import DataSource, load_config
from retrain.data.s3 import partition_prefix, write_partition

ID, TS, LABEL = "event_id", "event_time", "label"
NUMERIC, CATEGORICAL = ["x1", "x2"], ["segment"]
SEGMENTS = ("a", "b", "c")
FIRST_DAY = date(2024, 1, 1)
DAYS = 20
AS_OF = FIRST_DAY + timedelta(days=DAYS)  # 2024-01-21: the day after the last partition
ROWS_PER_DAY = 200
MONITORING_DAYS = 5


def unique(kind: str) -> str:
    """A name no parallel test run shares (models, buckets, prefixes)."""
    return f"{kind}-{uuid.uuid4().hex[:10]}"


def day_frame(day: date, rows: int = ROWS_PER_DAY, seed: int | None = None) -> pd.DataFrame:
    """One day of events: two numeric features, one categorical, a label that depends on them."""
    rng = np.random.default_rng(seed if seed is not None else day.toordinal())
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    seconds = np.sort(rng.integers(0, 86400, rows))
    x1, x2 = rng.normal(0.0, 1.0, rows), rng.uniform(-1.0, 1.0, rows)
    segment = rng.choice(SEGMENTS, rows)
    effect = np.select([segment == "a", segment == "b"], [0.8, -0.4], -0.2)
    logit = 1.5 * x1 + 1.0 * x2 + effect + rng.normal(0.0, 0.7, rows)
    return pd.DataFrame(
        {
            ID: [f"{day:%Y%m%d}-{i:05d}" for i in range(rows)],
            TS: pd.Timestamp(start) + pd.to_timedelta(seconds, unit="s"),
            "x1": x1,
            "x2": x2,
            "segment": segment.astype(object),
            LABEL: (logit > 0).astype("int64"),
        }
    )


def window_days(as_of: date = AS_OF, days: int = MONITORING_DAYS) -> list[date]:
    """The days of the window of `days` ending at (excluding) `as_of`."""
    return [as_of - timedelta(days=days - i) for i in range(days)]


def write_days(
    s3: Any, source: DataSource, days: list[date], rows: int = ROWS_PER_DAY
) -> dict[date, str]:
    """Clean partitions for the given days; day -> key."""
    return {day: write_partition(s3, source, day, day_frame(day, rows)) for day in days}


def put_parquet(s3: Any, source: DataSource, day: date, frame: pd.DataFrame, name: str) -> str:
    """Write a frame as one more parquet file of a day's partition, as-is (any dtypes)."""
    key = f"{partition_prefix(source, day)}{name}.parquet"
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
    s3.put_object(Bucket=source.bucket, Key=key, Body=buffer.getvalue())
    return key


def config_dict(name: str, bucket: str, prefix: str, fmt: str = "parquet") -> dict[str, Any]:
    """A small, fast config for the synthetic data (logistic regression, 5-day windows)."""
    return {
        "name": name,
        "description": "synthetic test model",
        "data": {"bucket": bucket, "prefix": prefix, "format": fmt},
        "columns": {
            "id": ID,
            "timestamp": TS,
            "numeric": list(NUMERIC),
            "categorical": list(CATEGORICAL),
            "label": LABEL,
        },
        "task": "classification",
        "metric": "roc_auc",
        "estimator": {
            "class_path": "sklearn.linear_model.LogisticRegression",
            "params": {"max_iter": 200},
        },
        "windows": {
            "monitoring_days": MONITORING_DAYS,
            "training_days": 14,
            "holdout_days": 3,
            "label_delay_days": 1,
        },
        "thresholds": {
            "drift": {"reference_rows": 1000, "persistence_k": 2, "persistence_n": 3},
            "min_labelled_rows": 200,
            "min_rows": 100,
            "cooldown_days": 7,
            "bootstrap_resamples": 200,
        },
        "mode": "auto",
    }


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of `base` with nested `overrides` applied."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def write_config(config_dir: Path, raw: dict[str, Any] | str, filename: str = "model.yaml") -> Path:
    """Write one model config (a mapping, or raw YAML text) into a config folder of its own."""
    config_dir.mkdir(parents=True, exist_ok=True)
    text = raw if isinstance(raw, str) else yaml.safe_dump(raw, sort_keys=False)
    path = config_dir / filename
    path.write_text(text)
    return path


@dataclass(frozen=True)
class Scenario:
    """A config folder pointing the model at a data prefix of its own."""

    config_dir: Path
    source: DataSource

    @property
    def config(self) -> Any:
        return load_config(self.config_dir / "model.yaml")


def scenario(
    root: Path, name: str, bucket: str, fmt: Literal["parquet", "csv"] = "parquet", **overrides: Any
) -> Scenario:
    """A fresh data prefix and a config folder for the model `name` reading it."""
    prefix = unique("data")
    config_dir = root / prefix
    write_config(config_dir, merge(config_dict(name, bucket, prefix, fmt), overrides))
    return Scenario(config_dir, DataSource(bucket=bucket, prefix=prefix, format=fmt))


def empty_bucket(s3: Any, bucket: str, prefix: str = "") -> None:
    """Delete every object below the prefix."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])


def object_keys(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    """Keys below a prefix."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        yield from (o["Key"] for o in page.get("Contents", []))


def write_models(s3: Any, bucket: str, config_dir: Path, prefix: str, n: int) -> list[str]:
    """N synthetic models, each with its own data prefix (all DAYS before AS_OF) and a config
    file in one folder; returns their names."""
    names = []
    for i in range(n):
        name, source = f"{prefix}_{i:02d}", DataSource(bucket=bucket, prefix=f"{prefix}/{i:02d}")
        write_config(config_dir, config_dict(name, bucket, source.prefix), f"{name}.yaml")
        write_days(s3, source, window_days(AS_OF, DAYS))
        names.append(name)
    return names
