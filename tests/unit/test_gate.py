"""The champion/challenger gate: only a real, large enough win above the floor promotes."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from retrain.decisions.gate import GateResult, gate

GATE: dict[str, Any] = {"min_gain": 0.005, "floor": None, "resamples": 400, "alpha": 0.05}


def _classification(n: int, challenger_noise: float, champion_noise: float, seed: int = 0) -> tuple:
    """Labels and two score vectors; less noise is a better model."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return y, y + rng.normal(0, challenger_noise, n), y + rng.normal(0, champion_noise, n)


def _regression(n: int, challenger_noise: float, champion_noise: float, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    y = rng.normal(10, 3, n)
    return y, y + rng.normal(0, challenger_noise, n), y + rng.normal(0, champion_noise, n)


def _labels(scores: np.ndarray) -> np.ndarray:
    return (scores > 0.5).astype(int)


def _run(
    metric: str, y: np.ndarray, ch: np.ndarray, cp: np.ndarray | None, **kw: Any
) -> GateResult:
    return gate(metric, y, ch, cp, **{**GATE, **kw})


@pytest.mark.parametrize("metric", ["roc_auc", "f1", "accuracy", "rmse", "mae"])
@pytest.mark.parametrize("min_gain", [0.0, 0.005])
def test_equal_models_never_promote(metric: str, min_gain: float) -> None:
    y, scores, _ = (_regression if metric in {"rmse", "mae"} else _classification)(3000, 1.0, 1.0)
    pred = _labels(scores) if metric in {"f1", "accuracy"} else scores
    result = _run(metric, y, pred, pred.copy(), min_gain=min_gain)
    assert not result.promote
    assert "not_significant" in result.reasons
    assert result.gain == 0.0
    assert result.p_value == 1.0


@pytest.mark.parametrize(
    ("metric", "data", "to_labels"),
    [
        ("roc_auc", _classification, False),
        ("accuracy", _classification, True),
        ("f1", _classification, True),
        ("rmse", _regression, False),
        ("mae", _regression, False),
    ],
)
def test_clear_win_promotes(metric: str, data: Any, to_labels: bool) -> None:
    y, ch, cp = data(4000, 0.5, 1.2)
    if to_labels:
        ch, cp = _labels(ch), _labels(cp)
    result = _run(metric, y, ch, cp)
    assert result.promote, result
    assert result.reasons == ("challenger_wins",)
    assert result.gain is not None and result.ci_low is not None and result.ci_low > 0
    assert result.p_value is not None and result.p_value < 0.05


@pytest.mark.parametrize(("metric", "data"), [("roc_auc", _classification), ("rmse", _regression)])
def test_clear_loss_does_not_promote(metric: str, data: Any) -> None:
    y, ch, cp = data(4000, 1.2, 0.5)
    result = _run(metric, y, ch, cp)
    assert not result.promote
    assert result.gain is not None and result.gain < 0
    assert set(result.reasons) == {"gain_below_min", "not_significant"}


@pytest.mark.parametrize("seed", [5, 7])
def test_tiny_noisy_win_does_not_promote(seed: int) -> None:
    y, ch, cp = _classification(300, 1.0, 1.0, seed=seed)  # equally good models, 300 rows
    result = _run("roc_auc", y, ch, cp)
    assert result.gain is not None and 0.005 < result.gain < 0.02, "setup: a tiny win"
    assert not result.promote
    assert result.reasons == ("not_significant",)


def test_significant_win_below_min_gain_does_not_promote() -> None:
    y, ch, cp = _classification(4000, 0.5, 1.2)
    result = _run("roc_auc", y, ch, cp, min_gain=0.5)
    assert result.reasons == ("gain_below_min",)


@pytest.mark.parametrize(
    ("metric", "floor", "promote"),
    [
        ("roc_auc", 0.5, True),
        ("roc_auc", 0.99, False),
        ("rmse", 5.0, True),  # error must be at most the floor
        ("rmse", 0.01, False),
    ],
)
def test_floor(metric: str, floor: float, promote: bool) -> None:
    data = _regression if metric == "rmse" else _classification
    y, ch, cp = data(4000, 0.5, 1.2)
    result = _run(metric, y, ch, cp, floor=floor)
    assert result.promote is promote
    assert ("below_floor" in result.reasons) is not promote


@pytest.mark.parametrize(
    ("metric", "floor", "promote", "reasons"),
    [
        ("roc_auc", None, True, ("no_champion",)),
        ("roc_auc", 0.6, True, ("no_champion",)),
        ("roc_auc", 0.99, False, ("no_champion", "below_floor")),
        ("mae", 5.0, True, ("no_champion",)),
        ("mae", 0.01, False, ("no_champion", "below_floor")),
    ],
)
def test_no_champion_promotes_iff_floor_cleared(
    metric: str, floor: float | None, promote: bool, reasons: tuple[str, ...]
) -> None:
    y, ch, _ = (_regression if metric == "mae" else _classification)(500, 0.8, 1.0)
    result = _run(metric, y, ch, None, floor=floor)
    assert (result.promote, result.reasons) == (promote, reasons)
    assert result.champion_score is None and result.gain is None and result.p_value is None


@pytest.mark.parametrize(("max_regression", "promote"), [(0.02, False), (0.5, True), (None, True)])
def test_segment_regression_blocks_an_overall_win(
    max_regression: float | None, promote: bool
) -> None:
    y, ch, cp = _classification(4000, 0.5, 1.2)
    segments = np.where(np.arange(4000) < 400, "small", "big")
    ch = ch.copy()
    ch[:400] = cp[:400] + np.random.default_rng(9).normal(0, 1.5, 400)  # worse in "small"
    result = _run("roc_auc", y, ch, cp, segments=segments, max_segment_regression=max_regression)
    assert result.segment_gains["small"] < -0.02 < 0 < result.segment_gains["big"]
    assert result.promote is promote
    assert ("segment_regression:small" in result.reasons) is not promote
    assert result.regressed_segments == (() if promote else ("small",))


def test_segments_smaller_than_30_rows_are_not_judged() -> None:
    y, ch, cp = _classification(4000, 0.5, 1.2)
    segments = np.where(np.arange(4000) < 29, "tiny", "rest")
    ch = ch.copy()
    ch[:29] = -ch[:29]
    result = _run("roc_auc", y, ch, cp, segments=segments, max_segment_regression=0.0)
    assert set(result.segment_gains) == {"rest"}
    assert result.promote


def test_is_deterministic_for_a_seed() -> None:
    y, ch, cp = _classification(2000, 0.9, 1.0)
    first, again = _run("roc_auc", y, ch, cp, seed=7), _run("roc_auc", y, ch, cp, seed=7)
    other = _run("roc_auc", y, ch, cp, seed=8)
    assert first == again
    assert (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)


def test_resamples_with_one_class_are_skipped() -> None:
    y = np.array([0] + [1] * 19)
    ch, cp = np.linspace(0, 1, 20), np.linspace(1, 0, 20)
    result = _run("roc_auc", y, ch, cp, resamples=200)
    assert result.ci_low is not None and np.isfinite(result.ci_low)


def test_to_dict_is_json() -> None:
    y, ch, cp = _classification(500, 0.5, 1.0)
    segments = np.arange(500) % 2
    record = _run("roc_auc", y, ch, cp, segments=segments, max_segment_regression=0.1).to_dict()
    assert json.loads(json.dumps(record, allow_nan=False)) == record
    assert record["reasons"] == ["challenger_wins"]


@pytest.mark.parametrize(
    ("kw", "match"),
    [({"min_gain": -0.1}, "min_gain"), ({"resamples": 0}, "resamples"), ({"alpha": 0.5}, "alpha")],
)
def test_rejects_bad_arguments(kw: dict[str, Any], match: str) -> None:
    y, ch, cp = _classification(100, 0.5, 1.0)
    with pytest.raises(ValueError, match=match):
        _run("roc_auc", y, ch, cp, **kw)


@pytest.mark.parametrize(
    ("champion_noise", "margin", "promote"),
    [
        (1.0, 0.01, True),  # same quality: not worse by more than the margin
        (1.3, 0.01, True),  # better
        (0.7, 0.01, False),  # clearly worse than the champion
        (0.98, 0.0, False),  # a zero margin needs the interval above 0
    ],
)
def test_non_inferiority(champion_noise: float, margin: float, promote: bool) -> None:
    y, ch, cp = _classification(6000, 1.0, champion_noise, seed=3)
    result = _run("roc_auc", y, ch, cp, mode="non_inferiority", margin=margin)
    assert result.promote is promote, result
    assert result.mode == "non_inferiority" and result.margin == margin
    expected = ("not_worse_than_margin",) if promote else ("worse_than_margin",)
    assert result.reasons == expected


def test_non_inferiority_still_needs_the_floor_and_every_segment() -> None:
    y, ch, cp = _classification(4000, 1.0, 1.0)
    segments = np.where(np.arange(4000) < 400, "small", "big")
    ch = ch.copy()
    ch[:400] = -ch[:400]
    kw: dict[str, Any] = {"mode": "non_inferiority", "margin": 0.05}
    result = _run("roc_auc", y, ch, cp, segments=segments, max_segment_regression=0.02, **kw)
    assert not result.promote and "segment_regression:small" in result.reasons
    assert not _run("roc_auc", y, cp, cp, floor=0.99, **kw).promote


def test_unknown_mode_is_refused() -> None:
    y, ch, cp = _classification(100, 0.5, 1.0)
    with pytest.raises(ValueError, match="unknown gate mode"):
        _run("roc_auc", y, ch, cp, mode="best")
