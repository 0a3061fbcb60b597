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
from retrain.drift_stats import PREDICTION, ReferenceStats, compute_reference_stats
from retrain.metrics import score
from retrain.training import features, predict


@dataclass(frozen=True)
class ChampionOutputs:
    """The champion's outputs on every row of a window, in the window's row order.

    kind "score": a classifier with predict_proba (`values` its positive-class probability,
    float32); "class": a classifier without it (`values` the predicted class as a number);
    "value": a regressor (`values` its predictions, float64).
    """

    values: np.ndarray
    class_index: np.ndarray | None  # classifiers: index of the predicted class in `labels`
    labels: np.ndarray | None  # classifiers: the model's classes_ (or the classes seen)
    kind: str

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
        if self.kind == "value":
            return self.values
        classes = self.classes
        assert classes is not None
        return classes


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
        for part in row_chunks(n, chunk):
            proba = np.asarray(model.predict_proba(features(frame.iloc[part], config)))
            scores[part] = proba[:, -1]
            index[part] = proba.argmax(axis=1)
        return ChampionOutputs(scores, index, labels, "score")
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
    frame = reference.assign(**{PREDICTION: predict(model, reference, config)})
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
    return ChampionOutputs(values, index, first.labels, first.kind)


def _index_dtype(classes: int) -> type[np.integer[Any]]:
    return np.int8 if classes <= 127 else np.int32


def has_training_scores(config: ModelConfig, outputs: ChampionOutputs) -> bool:
    """Whether a model's reference statistics keep its scores apart (`SCORE`): a classifier with
    predict_proba whose metric scores classes (f1, accuracy); for roc_auc the predictions are
    the scores already (as `retrain.training.training_scores`)."""
    return (
        config.task is Task.classification
        and config.metric != "roc_auc"
        and outputs.kind == "score"
    )


def score_outputs(
    outputs: ChampionOutputs, frame: pd.DataFrame, config: ModelConfig, rows: np.ndarray
) -> float:
    """The configured metric of the champion on the window rows selected by the boolean mask
    `rows` (its labels against its outputs), without predicting again."""
    labels = frame[config.columns.label].to_numpy()[rows]
    y = labels.astype(int) if config.task is Task.classification else labels.astype(float)
    return score(config.metric, y, outputs.for_metric(config.metric)[rows])
