"""CBPE for a multi-class champion, as NannyML's multi-class CBPE: one isotonic calibrator per
class (its probability against "the label is this class", one-vs-rest) fitted on the matured
rows, the calibrated probabilities of a row normalised to sum to one, then the expected
confusion matrix of the rows whose labels are not yet due: a row predicted class c adds its
calibrated probability of each class j to cell (j, c).

The standard error is the realised metric's own sampling noise on these rows (labels drawn from
the calibrated probabilities, LABEL_DRAWS times). Unlike the binary estimate it leaves out the
calibration's own variance (a bootstrap of k calibrators per refit), so it is a lower bound when
the calibration rows are few; log loss and one-vs-rest ROC AUC are not estimated.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from retrain.monitoring.estimate_base import LABEL_DRAWS, Estimate, calibrate

MULTICLASS_ESTIMATED = ("accuracy", "f1_macro", "f1_weighted", "precision_macro", "recall_macro")


def calibrated_probabilities(
    reference_proba: np.ndarray, reference_index: np.ndarray, proba: np.ndarray
) -> np.ndarray:
    """Each class's probability calibrated one-vs-rest on the reference rows, rows normalised."""
    columns = []
    for j in range(proba.shape[1]):
        try:
            iso = calibrate(reference_proba[:, j], reference_index == j)
        except ValueError:
            raise ValueError(
                f"class #{j} has no matured label among the calibration rows"
            ) from None
        columns.append(iso.predict(proba[:, j].astype(np.float64)))
    calibrated = np.column_stack(columns)
    total = calibrated.sum(axis=1, keepdims=True)
    uniform = np.full_like(calibrated, 1.0 / calibrated.shape[1])
    return np.where(total > 0, calibrated / np.where(total > 0, total, 1.0), uniform)


def expected_class_metrics(calibrated: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Accuracy and macro / weighted averages of the expected confusion matrix."""
    n, k = calibrated.shape
    confusion = np.zeros((k, k))
    np.add.at(confusion.T, predicted, calibrated)  # row j: expected label j; column: predicted
    return _metrics(confusion[None, :, :], n)[0]


def multiclass_cbpe(
    reference_proba: np.ndarray,
    reference_index: np.ndarray,
    proba: np.ndarray,
    predicted: np.ndarray,
    metric: str,
    seed: int = 0,
) -> Estimate:
    """CBPE of `metric` on unlabelled rows (`proba` of every class, the `predicted` class index),
    calibrated on labelled rows (their probabilities and label index)."""
    if metric not in MULTICLASS_ESTIMATED:
        raise ValueError(f"no multi-class estimate for {metric!r}; one of {MULTICLASS_ESTIMATED}")
    if proba.shape[0] == 0:
        raise ValueError("no unlabelled rows to estimate on")
    predicted = np.asarray(predicted, dtype=np.intp)
    calibrated = calibrated_probabilities(reference_proba, reference_index, proba)
    metrics = expected_class_metrics(calibrated, predicted)
    draws = _realised_draws(calibrated, predicted, np.random.default_rng(seed))
    errors = {name: _nanstd(np.asarray([d[name] for d in draws])) for name in metrics}
    return Estimate(
        metric=metric,
        value=metrics[metric],
        standard_error=errors[metric],
        rows=int(proba.shape[0]),
        calibration_rows=int(reference_proba.shape[0]),
        metrics=metrics,
        standard_errors=errors,
    )


def _realised_draws(
    calibrated: np.ndarray, predicted: np.ndarray, rng: Any
) -> list[dict[str, float]]:
    """The metrics as realised under LABEL_DRAWS label vectors drawn from the calibrated
    probabilities, drawn in blocks of at most ~2 million cells."""
    n, k = calibrated.shape
    cumulative = np.cumsum(calibrated, axis=1)
    cumulative[:, -1] = 1.0
    block = max(1, min(LABEL_DRAWS, 2_000_000 // max(n, 1)))
    out: list[dict[str, float]] = []
    for start in range(0, LABEL_DRAWS, block):
        m = min(block, LABEL_DRAWS - start)
        u = rng.random((m, n, 1))
        labels = (u > cumulative[None, :, :]).sum(axis=2)  # the drawn class of each row
        keys = labels * k + predicted[None, :] + (k * k) * np.arange(m)[:, None]
        confusion = np.bincount(keys.ravel(), minlength=m * k * k).reshape(m, k, k)
        out += _metrics(confusion.astype(np.float64), n)
    return out


def _metrics(confusion: np.ndarray, n: int) -> list[dict[str, float]]:
    """Metrics of (draws, k, k) confusion matrices (rows the label, columns the prediction)."""
    tp = np.einsum("ijj->ij", confusion)
    support, predicted = confusion.sum(axis=2), confusion.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(support + predicted > 0, 2 * tp / (support + predicted), 0.0)
    present = (support + predicted) > 0
    count = present.sum(axis=1)
    rows = []
    for i in range(confusion.shape[0]):
        rows.append(
            {
                "accuracy": float(tp[i].sum() / n),
                "f1_macro": float(f1[i][present[i]].sum() / count[i]),
                "f1_weighted": float((f1[i] * support[i]).sum() / support[i].sum()),
                "precision_macro": float(precision[i][present[i]].sum() / count[i]),
                "recall_macro": float(recall[i][present[i]].sum() / count[i]),
            }
        )
    return rows


def _nanstd(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.std(ddof=1)) if finite.size > 1 else math.nan
