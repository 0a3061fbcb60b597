"""The champion's quality on a window's matured labels: the full metric set of its task, each
metric from `retrain.metrics` (one home per rule), an undefined one None with the reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from retrain import metrics

CLASSIFICATION: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray | None], float]] = {
    "accuracy": lambda y, c, p: metrics.score("accuracy", y, c),
    "precision": lambda y, c, p: metrics.precision(y, c),
    "recall": lambda y, c, p: metrics.recall(y, c),
    "f1": lambda y, c, p: metrics.score("f1", y, c),
    "roc_auc": lambda y, c, p: metrics.score("roc_auc", y, _scores(p)),
    "log_loss": lambda y, c, p: metrics.log_loss(y, _scores(p)),
    "brier": lambda y, c, p: metrics.brier(y, _scores(p)),
    "positive_rate_predicted": lambda y, c, p: float(np.mean(c == 1)),
    "positive_rate_actual": lambda y, c, p: float(np.mean(y == 1)),
}
REGRESSION: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "rmse": lambda y, v: metrics.score("rmse", y, v),
    "mae": lambda y, v: metrics.score("mae", y, v),
    "r2": metrics.r2,
    "mape": metrics.mape,
}


@dataclass(frozen=True)
class Quality:
    """The champion's metrics on the window's matured labels; `undefined` says why one is None."""

    rows: int
    metrics: dict[str, float | None]
    undefined: dict[str, str]


def classification_quality(
    y_true: np.ndarray, predicted: np.ndarray, scores: np.ndarray | None
) -> Quality:
    """Accuracy, precision, recall, F1, ROC AUC, log loss, Brier, positive rates (0/1 labels)."""
    y, c = np.asarray(y_true).astype(int), np.asarray(predicted).astype(int)
    return _quality(len(y), {k: partial(f, y, c, scores) for k, f in CLASSIFICATION.items()})


def regression_quality(y_true: np.ndarray, predicted: np.ndarray) -> Quality:
    """RMSE, MAE, R2 and MAPE (undefined with a zero target)."""
    y, v = np.asarray(y_true, dtype=float), np.asarray(predicted, dtype=float)
    return _quality(len(y), {k: partial(f, y, v) for k, f in REGRESSION.items()})


def _quality(rows: int, compute: dict[str, Callable[[], float]]) -> Quality:
    values: dict[str, float | None] = {}
    undefined: dict[str, str] = {}
    for name, fn in compute.items():
        values[name] = None
        if not rows:
            undefined[name] = "no matured labelled rows"
            continue
        try:
            values[name] = float(fn())
        except ValueError as exc:
            undefined[name] = str(exc)
    return Quality(rows=rows, metrics=values, undefined=undefined)


def _scores(scores: np.ndarray | None) -> np.ndarray:
    if scores is None:
        raise ValueError("the champion gives no probabilities (no predict_proba)")
    return scores
