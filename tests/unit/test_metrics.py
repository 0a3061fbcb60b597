"""Metrics: the rank-based AUC and the resampled scorers agree with scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    roc_auc_score,
    root_mean_squared_error,
)

from retrain.metrics import (
    higher_is_better,
    oriented_gain,
    prediction_for_metric,
    resample_scorer,
    roc_auc,
    score,
)

SKLEARN = {
    "roc_auc": roc_auc_score,
    "f1": f1_score,
    "accuracy": accuracy_score,
    "rmse": root_mean_squared_error,
    "mae": mean_absolute_error,
}


def _scores(kind: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    if kind == "continuous":
        return y, y + rng.normal(0, 1, n)
    if kind == "heavy_ties":
        return y, np.round(y * 0.3 + rng.random(n), 1)
    if kind == "all_tied":
        return y, np.full(n, 0.5)
    if kind == "perfect":
        return y, y.astype(float)
    return y, 1.0 - y  # "inverted"


@pytest.mark.parametrize("kind", ["continuous", "heavy_ties", "all_tied", "perfect", "inverted"])
@pytest.mark.parametrize("n", [2, 7, 100, 5000])
def test_fast_auc_equals_sklearn(kind: str, n: int) -> None:
    y, s = _scores(kind, n, seed=n)
    y[:2] = [0, 1]
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


@pytest.mark.parametrize(
    ("y", "s"),
    [
        (["no", "yes", "yes", "no"], [0.1, 0.8, 0.3, 0.3]),
        ([False, True, True, False], [0.1, 0.8, 0.3, 0.3]),
        ([2, 5, 5, 2, 5], [3, 1, 2, 2, 9]),
    ],
)
def test_fast_auc_positive_class_is_the_larger_label(y: list, s: list) -> None:
    assert roc_auc(np.array(y), np.array(s)) == pytest.approx(roc_auc_score(y, s))


@pytest.mark.parametrize(
    ("y", "match"),
    [([1, 1, 1], "single class"), ([0, 0], "single class"), ([0, 1, 2], "binary only")],
)
def test_auc_refuses_labels_it_cannot_score(y: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        roc_auc(np.array(y), np.linspace(0, 1, len(y)))


@pytest.mark.parametrize("metric", ["roc_auc", "f1", "accuracy", "rmse", "mae"])
def test_score_equals_sklearn(metric: str) -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500)
    raw = y + rng.normal(0, 0.8, 500)
    pred = raw if metric in {"roc_auc", "rmse", "mae"} else (raw > 0.5).astype(int)
    assert score(metric, y, pred) == pytest.approx(SKLEARN[metric](y, pred), abs=1e-12)


@pytest.mark.parametrize("metric", ["roc_auc", "f1", "accuracy", "rmse", "mae"])
def test_resampled_scores_equal_scoring_each_resample(metric: str) -> None:
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 60)
    raw = np.round(y + rng.normal(0, 0.8, 60), 1)
    pred = raw if metric in {"roc_auc", "rmse", "mae"} else (raw > 0.5).astype(int)
    rows = rng.integers(0, 60, size=(25, 60))
    got = resample_scorer(metric, y, pred)(rows)
    want = [SKLEARN[metric](y[r], pred[r]) for r in rows]
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_resampled_auc_is_nan_where_a_draw_has_one_class() -> None:
    y, s = np.array([0, 1, 1]), np.array([0.2, 0.4, 0.9])
    got = resample_scorer("roc_auc", y, s)(np.array([[1, 2, 2], [0, 1, 2]]))
    assert np.isnan(got[0])
    assert got[1] == 1.0


@pytest.mark.parametrize(
    ("metric", "expected"),
    [("roc_auc", True), ("f1", True), ("accuracy", True), ("rmse", False), ("mae", False)],
)
def test_higher_is_better(metric: str, expected: bool) -> None:
    assert higher_is_better(metric) is expected


@pytest.mark.parametrize(
    ("metric", "challenger", "champion", "gain"),
    [("roc_auc", 0.8, 0.75, 0.05), ("roc_auc", 0.7, 0.75, -0.05), ("rmse", 1.0, 1.5, 0.5)],
)
def test_oriented_gain_is_positive_when_challenger_is_better(
    metric: str, challenger: float, champion: float, gain: float
) -> None:
    assert oriented_gain(metric, challenger, champion) == pytest.approx(gain)


@pytest.mark.parametrize(
    ("metric", "y", "pred", "match"),
    [
        ("logloss", [0, 1], [0, 1], "unknown metric"),
        ("f1", ["a", "b"], ["a", "b"], "0/1"),
        ("f1", [0, 2], [0, 1], "0/1"),
        ("rmse", [1.0, np.nan], [1.0, 2.0], "finite"),
        ("mae", [1.0, 2.0], [1.0], "rows"),
        ("accuracy", [], [], "zero rows"),
    ],
)
def test_score_rejects_bad_input(metric: str, y: list, pred: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        score(metric, np.array(y), np.array(pred))


@pytest.mark.parametrize(
    ("model", "metric", "kind"),
    [
        (LogisticRegression(), "roc_auc", "f"),
        (LogisticRegression(), "accuracy", "i"),
        (LinearRegression(), "rmse", "f"),
    ],
)
def test_prediction_for_metric(model: object, metric: str, kind: str) -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 2))
    y = (X[:, 0] > 0).astype(int)
    model.fit(X, y)  # type: ignore[attr-defined]
    pred = prediction_for_metric(model, X, metric)
    assert pred.shape == (80,)
    assert pred.dtype.kind == kind
    if metric == "roc_auc":
        assert ((pred >= 0) & (pred <= 1)).all()


def test_prediction_for_roc_auc_needs_a_binary_classifier() -> None:
    rng = np.random.default_rng(6)
    X = rng.normal(size=(90, 2))
    model = LogisticRegression().fit(X, np.arange(90) % 3)
    with pytest.raises(ValueError, match="binary"):
        prediction_for_metric(model, X, "roc_auc")


def test_monitoring_metrics_match_scikit_learn() -> None:
    from sklearn.metrics import (
        brier_score_loss,
        log_loss,
        mean_absolute_percentage_error,
        precision_score,
        r2_score,
        recall_score,
    )

    from retrain import metrics

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500)
    p = np.clip(0.3 * y + 0.7 * rng.random(500), 0.0, 1.0)
    p[:3] = (0.0, 1.0, 0.5)  # clipped like sklearn at the ends
    c = (p > 0.5).astype(int)
    assert metrics.precision(y, c) == pytest.approx(precision_score(y, c))
    assert metrics.recall(y, c) == pytest.approx(recall_score(y, c))
    assert metrics.log_loss(y, p) == pytest.approx(log_loss(y, p))
    assert metrics.brier(y, p) == pytest.approx(brier_score_loss(y, p))
    t, v = rng.normal(10, 2, 300), rng.normal(10, 2, 300)
    assert metrics.r2(t, v) == pytest.approx(r2_score(t, v))
    assert metrics.mape(t, v) == pytest.approx(mean_absolute_percentage_error(t, v))
