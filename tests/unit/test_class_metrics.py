"""Multi-class metrics and their resampled (bootstrap) scorers agree with scikit-learn."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

from retrain.decisions.gate import bootstrap_gains, gate
from retrain.metrics import (
    align_probabilities,
    higher_is_better,
    prediction_for_metric,
    resample_scorer,
    score,
)

CLASSES = np.array(["bird", "cat", "dog"])
SKLEARN_LABEL: dict[str, Callable[..., Any]] = {
    "accuracy": accuracy_score,
    "f1_macro": partial(f1_score, average="macro", zero_division=0),
    "f1_weighted": partial(f1_score, average="weighted", zero_division=0),
    "precision_macro": partial(precision_score, average="macro", zero_division=0),
    "recall_macro": partial(recall_score, average="macro", zero_division=0),
}


def _stream(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """String labels, noisy probabilities (columns CLASSES) and the argmax class."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    logits = rng.normal(0, 1, (n, 3))
    logits[np.arange(n), y] += 1.2
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return CLASSES[y], proba, CLASSES[proba.argmax(axis=1)]


def _sklearn_probability(metric: str, y: np.ndarray, proba: np.ndarray) -> float:
    if metric == "log_loss":
        return float(log_loss(y, proba, labels=CLASSES))
    return float(roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=CLASSES))


@pytest.mark.parametrize("metric", sorted(SKLEARN_LABEL))
@pytest.mark.parametrize("n", [5, 40, 3000])
def test_label_metric_equals_sklearn(metric: str, n: int) -> None:
    y, _, pred = _stream(n, seed=n)
    assert score(metric, y, pred) == pytest.approx(SKLEARN_LABEL[metric](y, pred), abs=1e-12)


@pytest.mark.parametrize("metric", sorted(SKLEARN_LABEL))
def test_label_metric_with_a_class_never_predicted(metric: str) -> None:
    y = np.array(["a", "b", "c", "c", "a", "b", "c"])
    pred = np.array(["a", "a", "c", "c", "a", "a", "d"])  # b never predicted, d never true
    assert score(metric, y, pred) == pytest.approx(SKLEARN_LABEL[metric](y, pred), abs=1e-12)


@pytest.mark.parametrize("metric", ["log_loss", "roc_auc_ovr"])
@pytest.mark.parametrize("n", [30, 3000])
def test_probability_metric_equals_sklearn(metric: str, n: int) -> None:
    y, proba, _ = _stream(n, seed=n)
    got = score(metric, y, proba, classes=CLASSES)
    assert got == pytest.approx(_sklearn_probability(metric, y, proba), abs=1e-10)


def test_log_loss_clips_like_sklearn() -> None:
    y = np.array(["bird", "cat", "dog", "dog"])
    proba = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.2, 0.3, 0.5]])
    assert score("log_loss", y, proba, CLASSES) == pytest.approx(
        log_loss(y, proba, labels=CLASSES), rel=1e-9
    )


@pytest.mark.parametrize("metric", [*sorted(SKLEARN_LABEL), "log_loss", "roc_auc_ovr"])
def test_resampled_scores_equal_sklearn_on_each_resample(metric: str) -> None:
    y, proba, pred = _stream(90, seed=7)
    rows = np.random.default_rng(8).integers(0, 90, size=(20, 90))
    if metric in SKLEARN_LABEL:
        got = resample_scorer(metric, y, pred)(rows)
        want = [SKLEARN_LABEL[metric](y[r], pred[r]) for r in rows]
    else:
        got = resample_scorer(metric, y, proba, CLASSES)(rows)
        want = [_sklearn_probability(metric, y[r], proba[r]) for r in rows]
    np.testing.assert_allclose(got, want, atol=1e-10)


def test_resampled_ovr_auc_is_nan_where_a_draw_misses_a_class() -> None:
    y, proba, _ = _stream(9, seed=1)
    y[:3] = CLASSES
    got = resample_scorer("roc_auc_ovr", y, proba, CLASSES)(np.array([[0] * 9, list(range(9))]))
    assert np.isnan(got[0]) and np.isfinite(got[1])


@pytest.mark.parametrize("metric", ["f1_macro", "roc_auc_ovr", "log_loss"])
def test_paired_bootstrap_matches_sklearn_resample_by_resample(metric: str) -> None:
    """The gate's gains are the sklearn metric of challenger minus champion on the same draws."""
    y, proba, pred = _stream(120, seed=3)
    _, worse, worse_pred = _stream(120, seed=4)
    chall, champ = (proba, worse) if metric != "f1_macro" else (pred, worse_pred)
    gains = bootstrap_gains(metric, y, chall, champ, resamples=16, seed=5, classes=CLASSES)
    rows = np.random.default_rng(5).integers(0, 120, size=(16, 120), dtype=np.int32)
    sign = 1.0 if higher_is_better(metric) else -1.0
    if metric == "f1_macro":
        fn = SKLEARN_LABEL[metric]
        want = [sign * (fn(y[r], chall[r]) - fn(y[r], champ[r])) for r in rows]
    else:
        want = [
            sign * (_sklearn_probability(metric, y[r], chall[r]))
            - sign * _sklearn_probability(metric, y[r], champ[r])
            for r in rows
        ]
    np.testing.assert_allclose(gains, want, atol=1e-10)


def test_gate_promotes_a_better_multiclass_model_on_macro_f1() -> None:
    y, _, pred = _stream(2000, seed=11)
    noisy = pred.copy()
    noisy[::3] = CLASSES[(np.searchsorted(CLASSES, noisy[::3]) + 1) % 3]
    result = gate("f1_macro", y, pred, noisy, min_gain=0.01, floor=None, resamples=200, alpha=0.05)
    assert result.promote and result.reasons == ("challenger_wins",)
    assert result.gain == pytest.approx(
        f1_score(y, pred, average="macro") - f1_score(y, noisy, average="macro")
    )


def test_gate_on_log_loss_lower_is_better() -> None:
    y, proba, _ = _stream(2000, seed=12)
    flat = np.full_like(proba, 1 / 3)
    result = gate(
        "log_loss", y, proba, flat, min_gain=0.0, floor=None, resamples=200, alpha=0.05,
        classes=CLASSES,
    )  # fmt: skip
    assert result.promote
    assert result.gain == pytest.approx(np.log(3) - log_loss(y, proba, labels=CLASSES))


def test_probability_metric_names_classes_outside_the_model() -> None:
    y = np.array(["bird", "cat", "fish"])
    with pytest.raises(ValueError, match=r"classes \['fish'\] outside"):
        score("log_loss", y, np.full((3, 3), 1 / 3), classes=CLASSES)


def test_probability_metric_without_classes_needs_every_class_in_the_labels() -> None:
    with pytest.raises(ValueError, match="pass the model's classes"):
        score("roc_auc_ovr", np.array(["cat", "dog"]), np.full((2, 3), 1 / 3))


def test_prediction_for_metric_gives_aligned_probabilities() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(90, 2))
    model = LogisticRegression().fit(X, CLASSES[np.arange(90) % 3])
    assert prediction_for_metric(model, X, "log_loss").shape == (90, 3)
    wider = prediction_for_metric(model, X, "roc_auc_ovr", np.array(["ant", *CLASSES]))
    assert wider.shape == (90, 4)
    np.testing.assert_array_equal(wider[:, 0], 0.0)
    np.testing.assert_allclose(wider[:, 1:], model.predict_proba(X))
    assert prediction_for_metric(model, X, "f1_macro").dtype.kind == "U"


def test_align_probabilities_refuses_a_narrower_class_set() -> None:
    with pytest.raises(ValueError, match="outside"):
        align_probabilities(np.ones((2, 3)) / 3, CLASSES, CLASSES[:2])


def test_binary_f1_names_the_values_it_cannot_score() -> None:
    with pytest.raises(ValueError, match=r"got \['bird', 'cat'\].*f1_macro"):
        score("f1", np.array(["bird", "cat"]), np.array(["bird", "cat"]))
