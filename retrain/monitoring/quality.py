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
    "positive_rate_predicted": lambda y, c, p: float(np.mean(_binary(y, c) == 1)),
    "positive_rate_actual": lambda y, c, p: float(np.mean(_binary(y, y) == 1)),
}
MULTICLASS = ("f1_macro", "f1_weighted", "precision_macro", "recall_macro")
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
    y_true: np.ndarray,
    predicted: np.ndarray,
    scores: np.ndarray | None,
    proba: np.ndarray | None = None,
    classes: np.ndarray | None = None,
) -> Quality:
    """Accuracy, precision, recall, F1, ROC AUC, log loss, Brier, positive rates (0/1 labels;
    undefined with the reason otherwise), and the multi-class set: macro and weighted F1,
    macro precision and recall, and with class probabilities (`proba`, columns `classes`)
    log loss and one-vs-rest ROC AUC (log_loss of many classes replaces the binary one)."""
    y, c = np.asarray(y_true), np.asarray(predicted)
    compute: dict[str, Callable[[], float]] = {
        k: partial(f, y, c, scores) for k, f in CLASSIFICATION.items()
    }
    compute |= {k: partial(metrics.score, k, y, c) for k in MULTICLASS}
    if proba is not None:
        compute["roc_auc_ovr"] = partial(metrics.score, "roc_auc_ovr", y, proba, classes)
        if scores is None:
            compute["log_loss"] = partial(metrics.score, "log_loss", y, proba, classes)
    return _quality(len(y), compute)


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


def _binary(y: np.ndarray, values: np.ndarray) -> np.ndarray:
    if y.dtype.kind not in "biuf" or not np.isin(y, (0, 1)).all():
        found = sorted({str(v) for v in np.unique(y)[:6]})
        raise ValueError(f"no positive class: the labels are {found}, not 0/1 (see classes/)")
    return values


def _scores(scores: np.ndarray | None) -> np.ndarray:
    if scores is None:
        raise ValueError("the champion gives no probabilities (no predict_proba)")
    return scores
