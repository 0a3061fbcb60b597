"""Drift statistics of a window from merged per-batch summaries against the one-shot ones."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from retrain.config import DriftThresholds
from retrain.drift.reference import compute_reference_stats
from retrain.drift.summary import run_drift
from retrain.drift.window_stats import (
    CategoricalSummary,
    NumericSummary,
    feature_drift,
    summarize,
    summarize_batches,
)
from retrain.samples import synthetic

ROWS = 20_000
WHERE = synthetic.layout("bucket", ROWS, 12, 5)
COLS = WHERE.columns
START = date(2026, 1, 1)
# Stated tolerance of the binned numeric summary (see retrain/drift/window_stats.py): normed W1
# within 2e-3 of the one-shot value; categorical and few-valued numeric columns are exact.
W1_TOLERANCE = 2e-3


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    reference = synthetic.frame(COLS, ROWS, START, current=False, seed=1)
    current = synthetic.frame(COLS, ROWS, START, current=True, seed=2)
    current.loc[::97, COLS.numeric[1]] = np.nan  # nulls and infinities are left out
    current.loc[::89, COLS.numeric[2]] = np.inf
    current.loc[::83, COLS.categorical[0]] = None
    return reference, current


def _batches(frame: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    return [frame.iloc[i : i + size] for i in range(0, len(frame), size)]


def test_batched_summary_equals_the_one_shot_summary(
    data: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    reference, current = data
    stats = compute_reference_stats(reference, COLS.numeric, COLS.categorical)
    whole = summarize(current, stats, COLS.numeric, COLS.categorical)
    merged = summarize_batches(_batches(current, 3_001), stats, COLS.numeric, COLS.categorical)
    assert merged.rows == whole.rows == ROWS
    for name, one in whole.columns.items():
        many = merged.columns[name]
        if isinstance(one, NumericSummary):
            assert isinstance(many, NumericSummary)
            np.testing.assert_array_equal(one.binned, many.binned)
            assert (one.rows, one.nulls, one.low, one.high) == (
                many.rows,
                many.nulls,
                many.low,
                many.high,
            )
            assert one.exact == many.exact
        else:
            assert isinstance(one, CategoricalSummary) and isinstance(many, CategoricalSummary)
            assert (one.counts, one.nulls) == (many.counts, many.nulls)
    thresholds = DriftThresholds()
    assert feature_drift(stats, whole, COLS.numeric, COLS.categorical, thresholds) == (
        feature_drift(stats, merged, COLS.numeric, COLS.categorical, thresholds)
    )


@pytest.mark.parametrize("batch_rows", [1_000, 7_000])
def test_verdicts_from_merged_summaries_match_the_full_window(
    data: tuple[pd.DataFrame, pd.DataFrame], batch_rows: int
) -> None:
    reference, current = data
    stats = compute_reference_stats(reference, COLS.numeric, COLS.categorical)
    thresholds = DriftThresholds()
    one_shot, _ = run_drift(
        reference,
        current,
        numeric=COLS.numeric,
        categorical=COLS.categorical,
        thresholds=thresholds,
        reference_stats=stats,
    )
    merged = summarize_batches(_batches(current, batch_rows), stats, COLS.numeric, COLS.categorical)
    batched = feature_drift(stats, merged, COLS.numeric, COLS.categorical, thresholds)
    assert len(batched) == len(one_shot.columns) == 17
    exact_columns = 0
    for full, part in zip(one_shot.columns, batched, strict=True):
        assert part is not None and part.column == full.column and part.method == full.method
        assert part.drifted == full.drifted, full.column
        column = merged.columns[full.column]
        if isinstance(column, CategoricalSummary) or column.exact is not None:
            assert part.score == pytest.approx(full.score, rel=1e-12, abs=1e-12), full.column
            exact_columns += 1
        else:
            assert abs(part.score - full.score) <= W1_TOLERANCE, full.column
    assert exact_columns >= 5 + 3  # the categoricals and the few-valued (integer) numerics


def test_other_methods_from_summaries_keep_their_verdicts(
    data: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    reference, current = data
    stats = compute_reference_stats(reference, COLS.numeric, COLS.categorical)
    merged = summarize_batches(_batches(current, 5_000), stats, COLS.numeric, COLS.categorical)
    for numeric, categorical in (("ks", "chisquare"), ("psi", "psi"), ("jensenshannon", "z")):
        thresholds = DriftThresholds(
            numeric_method=numeric,
            numeric_threshold=0.05 if numeric == "ks" else 0.1,
            categorical_method=categorical,
            categorical_threshold=0.05 if categorical in ("chisquare", "z") else 0.1,
        )
        one_shot, _ = run_drift(
            reference,
            current,
            numeric=COLS.numeric,
            categorical=COLS.categorical,
            thresholds=thresholds,
            reference_stats=stats,
        )
        batched = feature_drift(stats, merged, COLS.numeric, COLS.categorical, thresholds)
        assert [c.drifted for c in one_shot.columns] == [
            c.drifted if c is not None else None for c in batched
        ], numeric


def test_summaries_on_different_bins_refuse_to_merge(
    data: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    reference, current = data
    stats = compute_reference_stats(reference, COLS.numeric, COLS.categorical)
    other = compute_reference_stats(current, COLS.numeric, COLS.categorical)
    mine = summarize(current.iloc[:100], stats, COLS.numeric, [])
    theirs = summarize(current.iloc[100:200], other, COLS.numeric, [])
    with pytest.raises(ValueError, match="different bins"):
        mine.merge(theirs)
