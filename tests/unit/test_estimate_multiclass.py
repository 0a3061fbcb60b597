"""Multi-class CBPE: the expected confusion matrix by hand, and estimates that land on the
realised metric of well-calibrated rows within their standard error."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from retrain.monitoring.estimate_multiclass import (
    MULTICLASS_ESTIMATED,
    calibrated_probabilities,
    expected_class_metrics,
    multiclass_cbpe,
)


def test_expected_confusion_metrics_by_hand() -> None:
    q = np.array([[0.8, 0.2, 0.0], [0.5, 0.5, 0.0], [0.0, 0.1, 0.9]])
    predicted = np.array([0, 1, 2])
    got = expected_class_metrics(q, predicted)
    # expected confusion (rows label, columns predicted): [[.8 .5 0] [.2 .5 .1] [0 0 .9]]
    tp, support, pred = np.array([0.8, 0.5, 0.9]), np.array([1.3, 0.8, 0.9]), np.ones(3)
    f1 = 2 * tp / (support + pred)
    assert got["accuracy"] == pytest.approx(tp.sum() / 3)
    assert got["precision_macro"] == pytest.approx(np.mean(tp / pred))
    assert got["recall_macro"] == pytest.approx(np.mean(tp / support))
    assert got["f1_macro"] == pytest.approx(np.mean(f1))
    assert got["f1_weighted"] == pytest.approx(np.sum(f1 * support) / 3)


def _draw(n: int, seed: int, sharpness: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of 3 classes and labels drawn from them (a calibrated model)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, sharpness, (n, 3))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = (rng.random((n, 1)) > np.cumsum(proba, axis=1)).sum(axis=1)
    return proba, np.minimum(labels, 2)


@pytest.mark.parametrize("metric", MULTICLASS_ESTIMATED)
def test_estimate_lands_on_the_realised_metric(metric: str) -> None:
    ref_p, ref_y = _draw(20_000, seed=1)
    p, y = _draw(3_000, seed=2)
    predicted = p.argmax(axis=1)
    est = multiclass_cbpe(ref_p, ref_y, p, predicted, metric)
    realised = {
        "accuracy": accuracy_score(y, predicted),
        "f1_macro": f1_score(y, predicted, average="macro"),
        "f1_weighted": f1_score(y, predicted, average="weighted"),
        "precision_macro": precision_score(y, predicted, average="macro"),
        "recall_macro": recall_score(y, predicted, average="macro"),
    }[metric]
    assert 0.001 < est.standard_error < 0.03
    assert abs(est.value - realised) < 3 * est.standard_error, (est.value, realised)


def test_calibration_repairs_overconfident_probabilities() -> None:
    ref_p, ref_y = _draw(20_000, seed=3)
    sharp = ref_p**3 / (ref_p**3).sum(axis=1, keepdims=True)  # overconfident, same ranking
    p, y = _draw(5_000, seed=4)
    sharp_p = p**3 / (p**3).sum(axis=1, keepdims=True)
    calibrated = calibrated_probabilities(sharp, ref_y, sharp_p)
    np.testing.assert_allclose(calibrated.sum(axis=1), 1.0)
    naive = expected_class_metrics(sharp_p, sharp_p.argmax(axis=1))["accuracy"]
    est = expected_class_metrics(calibrated, sharp_p.argmax(axis=1))["accuracy"]
    realised = accuracy_score(y, sharp_p.argmax(axis=1))
    assert abs(est - realised) < 0.02 < abs(naive - realised)


def test_a_class_without_calibration_labels_is_named() -> None:
    ref_p, _ = _draw(100, seed=5)
    with pytest.raises(ValueError, match="class #2 has no matured label"):
        multiclass_cbpe(ref_p, np.arange(100) % 2, ref_p, ref_p.argmax(axis=1), "accuracy")


def test_metrics_without_a_multiclass_estimate_are_refused() -> None:
    p, y = _draw(100, seed=6)
    with pytest.raises(ValueError, match="no multi-class estimate for 'log_loss'"):
        multiclass_cbpe(p, y, p, p.argmax(axis=1), "log_loss")
