"""Synthetic production streams with a known change, written by the tests themselves (numpy)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from retrain.config import DataSource
from retrain.data.s3 import write_partition
from tests.helpers import ID, LABEL, SEGMENTS, TS, config_dict, merge

ROWS_PER_DAY = 300
START = date(2024, 1, 1)

# A concept maps (x1, x2, segment) to a logit; "B" flips the sign of x1, "A" is the original.
CONCEPTS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "A": lambda x1, x2: 2.0 * x1 + 0.7 * x2,
    "B": lambda x1, x2: -2.0 * x1 + 0.7 * x2,
}


def stream_day(
    day: date, concept: str, shift: float = 0.0, rows: int = ROWS_PER_DAY
) -> pd.DataFrame:
    """One day of events under `concept`; `shift` moves both numeric features (covariate drift)."""
    rng = np.random.default_rng(day.toordinal() * 7 + len(concept))
    x1 = rng.normal(shift, 1.0, rows)
    x2 = rng.normal(shift, 1.0, rows)
    logit = CONCEPTS[concept](x1 - shift, x2 - shift) + rng.normal(0.0, 0.5, rows)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return pd.DataFrame(
        {
            ID: [f"{day:%Y%m%d}-{i:05d}" for i in range(rows)],
            TS: pd.Timestamp(start) + pd.to_timedelta(np.sort(rng.integers(0, 86400, rows)), "s"),
            "x1": x1,
            "x2": x2,
            "segment": rng.choice(SEGMENTS, rows).astype(object),
            LABEL: (logit > 0).astype("int64"),
        }
    )


def write_stream(
    s3: Any,
    source: DataSource,
    days: int,
    concept_of: Callable[[int], str],
    shift_of: Callable[[int], float] = lambda _: 0.0,
) -> list[pd.DataFrame]:
    """Days 0..days-1 from START, each under concept_of(day index); returns the frames."""
    frames = []
    for i in range(days):
        day = START + timedelta(days=i)
        frame = stream_day(day, concept_of(i), shift_of(i))
        write_partition(s3, source, day, frame)
        frames.append(frame)
    return frames


def day(i: int) -> date:
    return START + timedelta(days=i)


def stream_config(name: str, bucket: str, prefix: str, **overrides: Any) -> dict[str, Any]:
    """A small config for the streams: 5-day windows, a 2-day holdout, two recipes (a long
    default and a short one), a 2-day validation slice and two archived versions."""
    raw = merge(
        config_dict(name, bucket, prefix),
        {
            "windows": {"monitoring_days": 5, "holdout_days": 2, "label_delay_days": 1},
            "training": {
                "candidates": [{"days": 20}, {"days": 4}],
                "validation_days": 2,
                "archived_versions": 2,
                "refit": True,
            },
            "thresholds": {
                "performance_drop": 0.05,
                "absolute_floor": 0.6,
                "cooldown_days": 0,
                "min_labelled_rows": 200,
                "gate_mode": "non_inferiority",
                "non_inferiority_margin": 0.01,
                "drift": {"reference_rows": 1000, "persistence_k": 2, "persistence_n": 2},
            },
        },
    )
    del raw["windows"]["training_days"]
    return merge(raw, overrides)
