"""Model metrics, vectorised over many resamples of the rows so a bootstrap stays cheap."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from retrain.class_metrics import auc_scorer, label_scorer, probability_scorer

HIGHER_IS_BETTER = {"roc_auc": True, "f1": True, "accuracy": True, "rmse": False, "mae": False}
HIGHER_IS_BETTER |= {
    "f1_macro": True,
    "f1_weighted": True,
    "precision_macro": True,
    "recall_macro": True,
    "roc_auc_ovr": True,
    "log_loss": False,
}
METRICS = frozenset(HIGHER_IS_BETTER)
BINARY_ONLY = frozenset({"roc_auc", "f1"})  # the positive class is the larger of two labels
PROBABILITY_METRICS = frozenset({"roc_auc", "log_loss", "roc_auc_ovr"})


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of `metric` means a better model."""
    _check_metric(metric)
    return HIGHER_IS_BETTER[metric]


def oriented_gain(metric: str, challenger: float, champion: float) -> float:
    """How much better the challenger is; positive means better whichever way the metric points."""
    diff = challenger - champion
    return diff if higher_is_better(metric) else -diff


def score(
    metric: str, y_true: np.ndarray, y_pred: np.ndarray, classes: np.ndarray | None = None
) -> float:
    """`metric` of predictions against labels (probabilities of the positive class for roc_auc,
    an (n, k) matrix of class probabilities, columns in the order of `classes`, for log_loss
    and roc_auc_ovr)."""
    y_true = np.asarray(y_true)
    scorer = resample_scorer(metric, y_true, y_pred, classes)
    value = float(scorer(np.arange(y_true.size)[None, :])[0])
    if np.isnan(value):
        raise ValueError(f"{metric} is undefined on these {y_true.size} rows")
    return value


def roc_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Binary ROC AUC from ranks (ties count one half), equal to sklearn's roc_auc_score."""
    return score("roc_auc", y_true, y_score)


def precision(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of predicted positives that are positive; undefined with no predicted positive."""
    tp, fp, _ = _confusion(y_true, y_pred)
    if tp + fp == 0:
        raise ValueError("precision is undefined: no row is predicted positive")
    return tp / (tp + fp)


def recall(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of positives predicted positive; undefined with no positive row."""
    tp, _, fn = _confusion(y_true, y_pred)
    if tp + fn == 0:
        raise ValueError("recall is undefined: no positive row")
    return tp / (tp + fn)


def log_loss(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Mean binary cross-entropy of positive-class probabilities (clipped as sklearn does)."""
    positive, p = _binary_probabilities(y_true, y_score)
    eps = np.finfo(np.float64).eps
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(np.where(positive, np.log(p), np.log1p(-p))))


def brier(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Mean squared error of positive-class probabilities against 0/1 outcomes."""
    positive, p = _binary_probabilities(y_true, y_score)
    return float(np.mean((p - positive) ** 2))


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination; undefined when the target is constant."""
    y, pred = (_as_float(v) for v in _pair(y_true, y_pred))
    total = float(np.sum((y - y.mean()) ** 2))
    if total == 0.0:
        raise ValueError("r2 is undefined: the target is constant")
    return 1.0 - float(np.sum((y - pred) ** 2)) / total


def mape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute percentage error as a fraction; undefined when a target is zero."""
    y, pred = (_as_float(v) for v in _pair(y_true, y_pred))
    zeros = int(np.count_nonzero(y == 0))
    if zeros:
        raise ValueError(f"mape is undefined: {zeros} of {y.size} targets are zero")
    return float(np.mean(np.abs((pred - y) / y)))


def _confusion(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[int, int, int]:
    """True positives, false positives, false negatives of 0/1 labels and predictions."""
    y, pred = (_f1_labels(v) for v in _pair(y_true, y_pred))
    tp = int(np.count_nonzero(y & pred))
    return tp, int(np.count_nonzero(~y & pred)), int(np.count_nonzero(y & ~pred))


def _binary_probabilities(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, p = _pair(y_true, y_score)
    p = _as_float(p)
    if ((p < 0) | (p > 1)).any():
        raise ValueError("probabilities must lie in [0, 1]")
    return _f1_labels(y).astype(np.float64), p


def resample_scorer(
    metric: str, y_true: np.ndarray, y_pred: np.ndarray, classes: np.ndarray | None = None
) -> Callable[[np.ndarray], np.ndarray]:
    """A function giving `metric` on the rows `rows[j]` for every row j of an index matrix.

    Validation and sorting happen once, here; each call then costs a gather and a count,
    which is what makes a bootstrap of thousands of resamples cheap. Undefined is NaN.
    """
    _check_metric(metric)
    if metric in ("log_loss", "roc_auc_ovr"):
        if np.asarray(y_true).size == 0:
            raise ValueError("cannot score zero rows")
        return probability_scorer(metric, np.asarray(y_true), np.asarray(y_pred), classes)
    y_true, y_pred = _pair(y_true, y_pred)
    if metric in ("f1_macro", "f1_weighted", "precision_macro", "recall_macro"):
        return label_scorer(metric, y_true, y_pred)
    if metric == "roc_auc":
        return auc_scorer(_positive_class(y_true), _as_float(y_pred))
    if metric == "f1":
        return _f1_scorer(_f1_labels(y_true), _f1_labels(y_pred))
    if metric == "accuracy":
        correct = (y_true == y_pred).astype(np.float64)
        return lambda rows: np.asarray(correct[rows].mean(axis=1))
    error = _as_float(y_pred) - _as_float(y_true)
    if metric == "mae":
        absolute = np.abs(error)
        return lambda rows: np.asarray(absolute[rows].mean(axis=1))
    squared = error * error
    return lambda rows: np.asarray(np.sqrt(squared[rows].mean(axis=1)))


def prediction_for_metric(
    model: Any, X: Any, metric: str, classes: np.ndarray | None = None
) -> np.ndarray:
    """What `metric` scores: the positive-class probability for roc_auc, the (n, k) class
    probabilities for log_loss and roc_auc_ovr (columns the model's classes, or `classes` when
    given: a class the model never saw gets probability 0), predictions otherwise."""
    _check_metric(metric)
    if metric not in PROBABILITY_METRICS:
        return np.asarray(model.predict(X))
    if not hasattr(model, "predict_proba"):
        raise ValueError(f"{metric} needs a classifier with predict_proba")
    proba = np.asarray(model.predict_proba(X))
    if metric != "roc_auc":
        return proba if classes is None else align_probabilities(proba, model.classes_, classes)
    if proba.ndim != 2 or proba.shape[1] != 2:
        raise ValueError(
            f"roc_auc needs a binary classifier; predict_proba gave shape {proba.shape}"
        )
    return proba[:, 1]


def align_probabilities(
    proba: np.ndarray, model_classes: np.ndarray, classes: np.ndarray
) -> np.ndarray:
    """`proba` (columns `model_classes`) with its columns in the order of `classes`, a superset:
    two models that know different classes are scored on one set of columns."""
    classes, model_classes = np.asarray(classes), np.asarray(model_classes)
    missing = np.setdiff1d(model_classes, classes)
    if missing.size:
        raise ValueError(f"the model knows classes {missing.tolist()} outside {classes.tolist()}")
    if model_classes.size == classes.size and (model_classes == classes).all():
        return proba
    out = np.zeros((proba.shape[0], classes.size), dtype=proba.dtype)
    out[:, np.searchsorted(classes, model_classes)] = proba
    return out


def _f1_scorer(positive: np.ndarray, predicted: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    code = (2 * positive + predicted).astype(np.intp)

    def f1(rows: np.ndarray) -> np.ndarray:
        n = rows.shape[0]
        keys = code[rows] + 4 * np.arange(n)[:, None]
        counts = np.bincount(keys.ravel(), minlength=4 * n).reshape(n, 4)
        tp, fp, fn = counts[:, 3], counts[:, 1], counts[:, 2]
        denominator = 2 * tp + fp + fn
        return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)

    return f1


def _positive_class(y_true: np.ndarray) -> np.ndarray:
    """Rows of the positive class: the larger label, as predict_proba[:, 1] and sklearn assume."""
    labels = np.unique(y_true)
    if labels.size < 2:
        raise ValueError(f"roc_auc is undefined: y_true holds a single class {labels.tolist()}")
    if labels.size > 2:
        raise ValueError(f"roc_auc here is binary only; y_true holds {labels.size} classes")
    return np.asarray(y_true == labels[1])


def _f1_labels(y: np.ndarray) -> np.ndarray:
    if y.dtype.kind not in "biuf" or not np.isin(y, (0, 1)).all():
        values = sorted({str(v) for v in np.unique(y)[:6]})
        raise ValueError(
            f"needs binary labels coded 0/1 (or False/True), 1 being positive; got {values} "
            "(f1_macro, precision_macro and recall_macro take labels of any type)"
        )
    return y.astype(bool)


def _as_float(values: np.ndarray) -> np.ndarray:
    out = values.astype(np.float64)
    if not np.isfinite(out).all():
        raise ValueError("predictions and labels must be finite numbers")
    return out


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_pred.ndim != 1:
        raise ValueError("y_true and y_pred must be one-dimensional")
    if y_true.size != y_pred.size:
        raise ValueError(f"y_true has {y_true.size} rows but y_pred has {y_pred.size}")
    if y_true.size == 0:
        raise ValueError("cannot score zero rows")
    return y_true, y_pred


def _check_metric(metric: str) -> None:
    if metric not in HIGHER_IS_BETTER:
        raise ValueError(f"unknown metric {metric!r}; one of {sorted(HIGHER_IS_BETTER)}")
