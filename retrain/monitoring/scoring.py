"""The champion's outputs on a window, computed once per run in chunks of rows.

Every consumer of the champion's predictions on the window (prediction drift, the monitoring
metric set, the champion's metric, the CBPE estimate) reads them from one `ChampionOutputs`,
so the champion predicts once per window. The features are built (categoricals as strings,
one-hot inside the pipeline) one chunk of `chunk_rows` rows at a time: only a chunk's copy of
the features and its encoded matrix are alive at once, and what is kept per row is compact
(float32 positive-class scores, the predicted class as an index into the model's classes).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from retrain.config import ModelConfig, Task
from retrain.drift.reference import PREDICTION, ReferenceStats, compute_reference_stats
from retrain.metrics import score
from retrain.training.pipeline import class_labels, drift_prediction, features


@dataclass(frozen=True)
class ChampionOutputs:
    """The champion's outputs on every row of a window, in the window's row order.

    kind "score": a binary classifier with predict_proba (`values` its positive-class
    probability, float32); "proba": one of more than two classes (`values` the probability of
    the predicted class, `proba` every class's, float32); "class": a classifier without
    predict_proba (`values` the predicted class as a number); "value": a regressor.
    """

    values: np.ndarray
    class_index: np.ndarray | None  # classifiers: index of the predicted class in `labels`
    labels: np.ndarray | None  # classifiers: the model's classes_ (or the classes seen)
    kind: str
    proba: np.ndarray | None = None  # kind "proba": (rows, classes) probabilities

    @property
    def classes(self) -> np.ndarray | None:
        """The predicted class of each row (classifiers), built on demand."""
        if self.class_index is None or self.labels is None:
            return None
        return self.labels[self.class_index]

    @property
    def rows(self) -> int:
        return int(self.values.size)

    def for_metric(self, metric: str) -> np.ndarray:
        """What `metric` scores, as `retrain.metrics.prediction_for_metric` gives it: the
        positive-class probability for roc_auc, the predicted class or value otherwise."""
        if metric == "roc_auc":
            if self.kind != "score" or self.labels is None or len(self.labels) != 2:
                raise ValueError("roc_auc needs a binary classifier with predict_proba")
            return self.values
        if metric in MATRIX_METRICS:
            return self.probabilities()
        if self.kind == "value":
            return self.values
        classes = self.classes
        assert classes is not None
        return classes

    def probabilities(self) -> np.ndarray:
        """Every class's probability, (rows, classes) with columns `labels`."""
        if self.proba is not None:
            return self.proba
        if self.kind != "score":
            raise ValueError("class probabilities need a classifier with predict_proba")
        return np.column_stack([1.0 - self.values, self.values])

    def drift_values(self, metric: str) -> np.ndarray:
        """What prediction drift compares (the PREDICTION column): `for_metric`, except the
        predicted class where the metric scores a probability matrix."""
        if metric in MATRIX_METRICS:
            classes = self.classes
            return classes if classes is not None else self.values
        return self.for_metric(metric)


MATRIX_METRICS = frozenset({"log_loss", "roc_auc_ovr"})


def row_chunks(rows: int, chunk_rows: int) -> Iterator[slice]:
    """Consecutive slices of at most `chunk_rows` rows covering `rows` rows."""
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    for start in range(0, rows, chunk_rows):
        yield slice(start, min(start + chunk_rows, rows))


def champion_outputs(
    model: Any, frame: pd.DataFrame, config: ModelConfig, chunk_rows: int | None = None
) -> ChampionOutputs:
    """Scores and classes of a classifier (predict_proba), or a regressor's values, predicted
    `chunk_rows` rows at a time (the config's `scale.predict_chunk_rows` when None)."""
    chunk = chunk_rows or config.scale.predict_chunk_rows
    n = len(frame)
    if config.task is Task.regression:
        values = np.empty(n, dtype=np.float64)
        for part in row_chunks(n, chunk):
            values[part] = np.asarray(model.predict(features(frame.iloc[part], config)))
        return ChampionOutputs(values, None, None, "value")
    if hasattr(model, "predict_proba"):
        labels = np.asarray(model.classes_)
        scores = np.empty(n, dtype=np.float32)
        index = np.empty(n, dtype=_index_dtype(len(labels)))
        multi = len(labels) > 2
        every = np.empty((n, len(labels)), dtype=np.float32) if multi else None
        for part in row_chunks(n, chunk):
            proba = np.asarray(model.predict_proba(features(frame.iloc[part], config)))
            index[part] = proba.argmax(axis=1)
            scores[part] = proba.max(axis=1) if multi else proba[:, -1]
            if every is not None:
                every[part] = proba
        return ChampionOutputs(scores, index, labels, "proba" if multi else "score", every)
    predicted = [
        np.asarray(model.predict(features(frame.iloc[part], config)))
        for part in row_chunks(n, chunk)
    ]
    classes = np.concatenate(predicted) if predicted else np.empty(0)
    labels, index = np.unique(classes, return_inverse=True)
    return ChampionOutputs(
        classes.astype(np.float64), index.astype(_index_dtype(len(labels))), labels, "class"
    )


def reference_statistics(
    model: Any, reference: pd.DataFrame, config: ModelConfig, stored: ReferenceStats | None
) -> ReferenceStats:
    """The champion's reference statistics: those stored with it, else (an older version)
    those of its reference sample and the champion's predictions on it."""
    if stored is not None:
        return stored
    cols = config.columns
    frame = reference.assign(**{PREDICTION: drift_prediction(model, reference, config)})
    return compute_reference_stats(frame, cols.numeric, cols.categorical, [PREDICTION, cols.label])


def concat_outputs(parts: list[ChampionOutputs]) -> ChampionOutputs:
    """The outputs of consecutive batches as one (a classifier without predict_proba gets its
    class indices again: each batch numbered only the classes it saw)."""
    first = parts[0]
    values = np.concatenate([p.values for p in parts])
    if first.kind == "value":
        return ChampionOutputs(values, None, None, "value")
    if first.kind == "class":
        labels, index = np.unique(values, return_inverse=True)
        return ChampionOutputs(values, index.astype(_index_dtype(len(labels))), labels, "class")
    index = np.concatenate([p.class_index for p in parts if p.class_index is not None])
    proba = (
        np.concatenate([p.proba for p in parts if p.proba is not None])
        if first.proba is not None
        else None
    )
    return ChampionOutputs(values, index, first.labels, first.kind, proba)


def _index_dtype(classes: int) -> type[np.integer[Any]]:
    return np.int8 if classes <= 127 else np.int32


def has_training_scores(config: ModelConfig, outputs: ChampionOutputs) -> bool:
    """Whether a model's reference statistics keep its scores apart (`SCORE`): a classifier with
    predict_proba whose metric scores classes (f1, accuracy); for roc_auc the predictions are
    the scores already (as `retrain.training.pipeline.training_scores`)."""
    return (
        config.task is Task.classification
        and config.metric != "roc_auc"
        and outputs.kind in ("score", "proba")
    )


def score_outputs(
    outputs: ChampionOutputs, frame: pd.DataFrame, config: ModelConfig, rows: np.ndarray
) -> float:
    """The configured metric of the champion on the window rows selected by the boolean mask
    `rows` (its labels against its outputs), without predicting again."""
    labels = frame[config.columns.label].to_numpy()[rows]
    y = class_labels(labels) if config.task is Task.classification else labels.astype(float)
    classes = outputs.labels if config.metric in MATRIX_METRICS else None
    return score(config.metric, y, outputs.for_metric(config.metric)[rows], classes)
