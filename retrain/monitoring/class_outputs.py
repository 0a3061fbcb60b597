"""Monitoring figures of a multi-class champion, per class, where "positive" has no meaning:
the share of each class predicted against its share among the matured labels, each class's
recall, the confidence of the predicted class, and the drift of each class's probability
against the champion's training predictions (stored as `PROBA_PREFIX<class>` statistics)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from retrain.config import DriftThresholds
from retrain.drift.reference import ReferenceStats
from retrain.drift.summary import column_drift

PROBA_PREFIX = "__proba__"


@dataclass(frozen=True)
class ClassFigures:
    """Per class (keyed by the class as text): predicted and actual shares, recall, the drift
    score of its probability; the mean probability of the predicted class."""

    classes: tuple[str, ...]
    predicted_share: dict[str, float]
    actual_share: dict[str, float | None]  # None: no matured label in the window
    recall: dict[str, float | None]  # None: the class has no matured label
    labelled_rows: int
    mean_confidence: float | None
    probability_drift: dict[str, float | None]  # None: no stored training statistics
    probability_drifted: tuple[str, ...]


def proba_columns(labels: np.ndarray) -> list[str]:
    """The reference-statistics column of each class's probability."""
    return [f"{PROBA_PREFIX}{c}" for c in labels]


def class_figures(
    labels: np.ndarray,
    proba: np.ndarray,
    class_index: np.ndarray,
    y_true: np.ndarray,
    known: np.ndarray,
    stats: ReferenceStats | None,
    thresholds: DriftThresholds,
) -> ClassFigures:
    """The figures of one window: `proba` (rows, classes) with columns `labels`, the predicted
    `class_index`, the labels `y_true` and which of them have matured (`known`)."""
    names = tuple(str(c) for c in labels)
    k, n = len(names), len(class_index)
    predicted = np.bincount(class_index.astype(np.intp), minlength=k)
    y = np.asarray(y_true)[known].astype(str)
    picked = np.asarray(names)[class_index[known].astype(np.intp)]
    actual: dict[str, float | None] = {}
    recall: dict[str, float | None] = {}
    for name in names:
        rows = y == name
        actual[name] = float(rows.mean()) if y.size else None
        recall[name] = float(np.mean(picked[rows] == name)) if rows.any() else None
    drift: dict[str, float | None] = {}
    drifted: list[str] = []
    columns = stats.columns if stats else {}
    for j, (name, column) in enumerate(zip(names, proba_columns(labels), strict=True)):
        reference = columns.get(column)
        verdict = None
        if reference is not None and n:
            verdict = column_drift(
                column, "prediction", reference, pd.Series(proba[:, j]), thresholds
            )
        drift[name] = verdict.score if verdict else None
        if verdict and verdict.drifted:
            drifted.append(name)
    return ClassFigures(
        classes=names,
        predicted_share={
            c: float(v / n) if n else 0.0 for c, v in zip(names, predicted, strict=True)
        },
        actual_share=actual,
        recall=recall,
        labelled_rows=int(y.size),
        mean_confidence=float(proba.max(axis=1).mean()) if n else None,
        probability_drift=drift,
        probability_drifted=tuple(drifted),
    )
