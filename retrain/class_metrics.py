"""Multi-class metrics (any number of classes, labels of any type), vectorised over resamples.

Each factory validates and encodes once and returns a function of an index matrix (one
resample per row) as `retrain.metrics.resample_scorer` does, so the gate's paired bootstrap
stays a gather and a count. Every value equals scikit-learn's on the same rows: macro and
weighted averages over the classes present in the resample's labels or predictions (a class
with no predicted row has precision 0, as sklearn's zero_division), log loss on probabilities
clipped to [eps, 1 - eps], ROC AUC one-vs-rest averaged over the classes (undefined, NaN,
when a resample misses a class).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

LABEL_METRICS = frozenset({"f1_macro", "f1_weighted", "precision_macro", "recall_macro"})
PROBABILITY_METRICS = frozenset({"log_loss", "roc_auc_ovr"})
Scorer = Callable[[np.ndarray], np.ndarray]


def class_index(values: np.ndarray, classes: np.ndarray, what: str) -> np.ndarray:
    """The position of every value in the sorted `classes`; a value outside them is named."""
    values = np.asarray(values)
    known = np.isin(values, classes)
    if not known.all():
        unseen = sorted({str(v) for v in values[~known]})[:5]
        raise ValueError(f"{what} holds classes {unseen} outside the model's {classes.tolist()}")
    return np.searchsorted(classes, values)


def label_scorer(metric: str, y_true: np.ndarray, y_pred: np.ndarray) -> Scorer:
    """Macro / weighted F1, macro precision or recall of predicted classes against labels."""
    classes = np.unique(np.concatenate([np.asarray(y_true), np.asarray(y_pred)]))
    k = classes.size
    code = (np.searchsorted(classes, y_true) * k + np.searchsorted(classes, y_pred)).astype(np.intp)

    def scorer(rows: np.ndarray) -> np.ndarray:
        n = rows.shape[0]
        keys = code[rows] + (k * k) * np.arange(n)[:, None]
        confusion = np.bincount(keys.ravel(), minlength=n * k * k).reshape(n, k, k)
        tp = np.einsum("ijj->ij", confusion).astype(np.float64)
        support, predicted = confusion.sum(axis=2), confusion.sum(axis=1)
        present = (support + predicted) > 0
        if metric == "precision_macro":
            per_class = _ratio(tp, predicted)
        elif metric == "recall_macro":
            per_class = _ratio(tp, support)
        else:
            per_class = _ratio(2 * tp, support + predicted)
        if metric == "f1_weighted":
            return np.asarray((per_class * support).sum(axis=1) / support.sum(axis=1))
        return np.asarray((per_class * present).sum(axis=1) / present.sum(axis=1))

    return scorer


def probability_scorer(
    metric: str, y_true: np.ndarray, proba: np.ndarray, classes: np.ndarray | None
) -> Scorer:
    """Log loss or one-vs-rest macro ROC AUC of an (n, k) probability matrix whose column j is
    the probability of `classes[j]` (the sorted labels of y_true when None: then every class
    must occur in y_true)."""
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim == 1:  # a binary model's positive-class probability
        proba = np.column_stack([1.0 - proba, proba])
    y_true = np.asarray(y_true)
    if proba.ndim != 2 or proba.shape[0] != y_true.size:
        raise ValueError(f"{metric} needs an (n, k) probability matrix for {y_true.size} rows")
    if classes is None:
        classes = np.unique(y_true)
        if classes.size != proba.shape[1]:
            raise ValueError(
                f"{metric}: y_true holds {classes.size} classes but the probabilities have "
                f"{proba.shape[1]} columns; pass the model's classes"
            )
    classes = np.asarray(classes)
    if classes.size != proba.shape[1]:
        raise ValueError(f"{metric}: {classes.size} classes but {proba.shape[1]} columns")
    if not np.isfinite(proba).all() or ((proba < 0) | (proba > 1)).any():
        raise ValueError(f"{metric}: probabilities must be finite and lie in [0, 1]")
    index = class_index(y_true, classes, "y_true")
    if metric == "log_loss":
        eps = np.finfo(np.float64).eps
        loss = -np.log(np.clip(proba[np.arange(y_true.size), index], eps, 1 - eps))
        return lambda rows: np.asarray(loss[rows].mean(axis=1))
    per_class = [auc_scorer(index == j, proba[:, j]) for j in range(classes.size)]
    return lambda rows: np.mean([auc(rows) for auc in per_class], axis=0)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.where(den > 0, num / np.maximum(den, 1), 0.0)


def auc_scorer(positive: np.ndarray, y_score: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Counts positives and negatives per tie group of scores: ranks without sorting again."""
    _, tie_group = np.unique(y_score, return_inverse=True)
    width = 2 * (int(tie_group.max()) + 1)
    key = (tie_group + (width // 2) * ~positive).astype(np.int32 if width < 2**31 else np.intp)

    def auc(rows: np.ndarray) -> np.ndarray:
        n = rows.shape[0]
        keys = key[rows]
        if width * n < 2**31:
            keys += np.arange(0, width * n, width, dtype=keys.dtype)[:, None]
        else:
            keys = keys.astype(np.intp) + np.arange(0, width * n, width)[:, None]
        counts = np.bincount(keys.ravel(), minlength=width * n).reshape(n, 2, width // 2)
        pos, neg = counts[:, 0], counts[:, 1]
        twice_below = np.cumsum(neg, axis=1)
        twice_below *= 2
        twice_below -= neg
        n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.einsum("ij,ij->i", pos, twice_below) / (2 * n_pos * n_neg)
        return np.where((n_pos > 0) & (n_neg > 0), value, np.nan)

    return auc
