"""Drift from reference statistics agrees with Evidently's stattests and scipy on the raw data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from evidently.legacy.calculations.stattests.registry import get_stattest
from evidently.legacy.core import ColumnType
from scipy import stats

from retrain.config import ColumnDrift as ColumnDriftConfig
from retrain.config import DriftThresholds
from retrain.drift.measures import categorical_score, numeric_score, wasserstein_norm
from retrain.drift.reference import (
    OTHER,
    ReferenceStats,
    categorical_stats,
    compute_reference_stats,
    finite_sorted,
    numeric_stats,
)
from retrain.drift.summary import run_drift

ROWS = 20_000
NUMERIC_METHODS = ["wasserstein", "ks", "psi", "kl_div", "jensenshannon"]
CATEGORICAL_METHODS = ["jensenshannon", "chisquare", "z", "psi", "kl_div", "hellinger"]


def _pair(shape: str, seed: int = 0) -> tuple[pd.Series, pd.Series]:
    """A reference and a drifted current column of one kind of numeric data."""
    rng = np.random.default_rng(seed)
    if shape == "normal":  # many distinct values: kept as quantiles
        return pd.Series(rng.normal(0, 1, ROWS)), pd.Series(rng.normal(0.08, 1.1, ROWS))
    if shape == "lognormal_with_nulls":
        ref = rng.lognormal(0, 0.8, ROWS)
        cur = rng.lognormal(0.05, 0.8, ROWS)
        ref[rng.random(ROWS) < 0.1], cur[:50] = np.nan, np.inf
        return pd.Series(ref), pd.Series(cur)
    if shape == "zero_inflated":  # a point mass inside a continuous column
        ref = np.where(rng.random(ROWS) < 0.3, 0.0, rng.exponential(1.0, ROWS))
        cur = np.where(rng.random(ROWS) < 0.35, 0.0, rng.exponential(1.1, ROWS))
        return pd.Series(ref), pd.Series(cur)
    if shape == "integer":  # few hundred distinct values: kept exactly
        return (
            pd.Series(rng.integers(0, 300, ROWS).astype(float)),
            pd.Series(rng.integers(5, 310, ROWS).astype(float)),
        )
    assert shape == "few"  # <= 20 distinct values: Evidently bins by value
    return (
        pd.Series(rng.integers(0, 8, ROWS).astype(float)),
        pd.Series(rng.integers(0, 9, ROWS).astype(float)),
    )


def _evidently(method: str, ref: pd.Series, cur: pd.Series, kind: ColumnType) -> float:
    """The Evidently stattest on raw data, after its own null and infinity cleaning."""
    ref = ref.replace([np.inf, -np.inf], np.nan).dropna()
    cur = cur.replace([np.inf, -np.inf], np.nan).dropna()
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(get_stattest(ref, cur, kind, method).func(ref, cur, kind, 0.1)[0])


# Quantile-kept columns are approximate; the tolerance is per method (absolute).
_KNOT_TOLERANCE = {"wasserstein": 1e-3, "jensenshannon": 2e-3, "kl_div": 2e-3, "psi": 1e-2}


@pytest.mark.parametrize("method", NUMERIC_METHODS)
@pytest.mark.parametrize(
    "shape", ["normal", "lognormal_with_nulls", "zero_inflated", "integer", "few"]
)
def test_numeric_methods_match_evidently(method: str, shape: str) -> None:
    ref, cur = _pair(shape)
    reference = numeric_stats(ref)
    ours = numeric_score(method, reference, finite_sorted(cur))
    theirs = _evidently(method, ref, cur, ColumnType.Numerical)
    if reference.exact:
        assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-300)
    elif method == "ks":  # p-values far in the tail: compare orders of magnitude
        assert np.log10(ours) == pytest.approx(np.log10(theirs), rel=0.05, abs=0.1)
    else:
        assert ours == pytest.approx(theirs, abs=_KNOT_TOLERANCE[method])


@pytest.mark.parametrize("shift", [0.0, 0.02, 0.1, 0.5])
def test_quantile_wasserstein_matches_scipy(shift: float) -> None:
    rng = np.random.default_rng(1)
    ref, cur = rng.standard_t(5, ROWS), rng.standard_t(5, ROWS) + shift
    reference = numeric_stats(pd.Series(ref))
    assert not reference.exact
    expected = stats.wasserstein_distance(ref, cur) / np.std(ref)
    assert wasserstein_norm(reference, np.sort(cur)) == pytest.approx(expected, abs=2e-4)


def test_quantile_wasserstein_is_tight_at_a_million_rows() -> None:
    rng = np.random.default_rng(2)
    ref, cur = rng.normal(0, 1, 1_000_000), rng.normal(0.05, 1, 1_000_000)
    expected = stats.wasserstein_distance(ref, cur) / np.std(ref)
    ours = wasserstein_norm(numeric_stats(pd.Series(ref)), np.sort(cur))
    assert ours == pytest.approx(expected, abs=1e-5)


def _categories(seed: int, names: str, p: list[float]) -> pd.Series:
    return pd.Series(np.random.default_rng(seed).choice(list(names), ROWS, p=p))


@pytest.mark.parametrize("method", CATEGORICAL_METHODS)
@pytest.mark.parametrize("case", ["shifted", "new_category", "binary"])
def test_categorical_methods_match_evidently(method: str, case: str) -> None:
    if case == "shifted":
        ref = _categories(0, "abcde", [0.4, 0.3, 0.2, 0.05, 0.05])
        cur = _categories(1, "abcde", [0.35, 0.3, 0.2, 0.1, 0.05])
    elif case == "new_category":
        ref = _categories(0, "abcd", [0.4, 0.3, 0.2, 0.1])
        cur = _categories(1, "abcdf", [0.38, 0.3, 0.2, 0.1, 0.02])
    else:
        ref, cur = _categories(0, "xy", [0.7, 0.3]), _categories(1, "xy", [0.68, 0.32])
    reference, current = categorical_stats(ref), categorical_stats(cur)
    ours = categorical_score(method, reference.counts, reference.other, current.counts)
    theirs = _evidently(method, ref.copy(), cur.copy(), ColumnType.Categorical)
    assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-300)


def test_rare_categories_are_pooled_on_both_sides() -> None:
    rng = np.random.default_rng(3)
    ref = pd.Series(rng.integers(0, 500, ROWS)).astype(str)
    reference = categorical_stats(ref, top_k=50)
    assert len(reference.counts) == 50
    assert reference.other == ROWS - sum(reference.counts.values())
    current = categorical_stats(ref.sample(frac=1.0, random_state=0), top_k=10_000).counts
    pooled = categorical_score("jensenshannon", reference.counts, reference.other, current)
    assert pooled == pytest.approx(0.0, abs=1e-12)
    assert OTHER not in current


def _frame(seed: int, rows: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(0, 1, rows),
            "k": rng.integers(0, 50, rows).astype(float),
            "c": rng.choice(["a", "b", "c"], rows),
            "flag": rng.random(rows) < 0.3,
            "label": rng.integers(0, 2, rows).astype(float),
        }
    )


def test_stats_survive_json_and_give_the_same_verdicts() -> None:
    ref, cur = _frame(0), _frame(1)
    cur["x"] += 0.3
    stats_ = compute_reference_stats(ref, ["x", "k"], ["c", "flag"], ["label"])
    again = ReferenceStats.from_json(stats_.to_json())
    kw = dict(numeric=["x", "k"], categorical=["c", "flag"], thresholds=DriftThresholds())
    direct, _ = run_drift(ref, cur, target="label", **kw)  # type: ignore[arg-type]
    stored, _ = run_drift(ref, cur, target="label", reference_stats=again, **kw)  # type: ignore[arg-type]
    assert stored.to_dict() == direct.to_dict()
    assert stored.drifted_columns == ["x"]
    assert json.loads(stats_.to_json())["columns"]["k"]["counts"]  # integers kept exactly


def test_statistics_of_the_full_reference_are_used_over_the_sample() -> None:
    ref, cur = _frame(0, rows=20_000), _frame(1, rows=20_000)
    cur["x"] += 0.11
    kw = dict(numeric=["x"], categorical=["c"], thresholds=DriftThresholds())
    full = compute_reference_stats(ref, ["x"], ["c"])
    summary, _ = run_drift(ref.head(200), cur, reference_stats=full, **kw)  # type: ignore[arg-type]
    assert summary.reference_rows == 20_000
    expected = stats.wasserstein_distance(ref["x"], cur["x"]) / np.std(ref["x"])
    assert summary.columns[0].score == pytest.approx(expected, abs=1e-3)


def test_method_without_statistics_falls_back_to_the_sample() -> None:
    ref, cur = _frame(0), _frame(1)
    cur["x"] = cur["x"] * 3
    per_column = {"x": ColumnDriftConfig(method="hellinger", threshold=0.1)}
    summary, _ = run_drift(
        ref,
        cur,
        numeric=["x", "k"],
        categorical=["c"],
        thresholds=DriftThresholds(per_column=per_column),
        report_sample_rows=1000,
    )
    assert summary.sampled_columns == ("x",)
    assert summary.report_sample_rows == 1000
    x = summary.columns[0]
    assert (x.method, x.drifted) == ("hellinger", True)


def test_report_is_built_on_a_bounded_sample(tmp_path: Path) -> None:
    ref, cur = _frame(0), _frame(1)
    summary, reports = run_drift(
        ref,
        cur,
        numeric=["x", "k"],
        categorical=["c"],
        thresholds=DriftThresholds(),
        out_dir=tmp_path,
        report_sample_rows=500,
    )
    assert reports is not None and reports.html.stat().st_size > 10_000
    assert (summary.current_rows, summary.report_sample_rows) == (3000, 500)
    assert summary.sampled_columns == ()
    assert summary.to_dict()["report_sample_rows"] == 500


def test_no_report_and_no_evidently_without_out_dir() -> None:
    ref = _frame(0)
    summary, reports = run_drift(
        ref, ref, numeric=["x"], categorical=["c"], thresholds=DriftThresholds()
    )
    assert reports is None
    assert summary.report_sample_rows is None
