"""The preprocessing + estimator pipeline, time-ordered slices of matured labels, recipe fits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from time import perf_counter
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from retrain.config import ModelConfig, Recipe, Task
from retrain.data.maturity import day_start as day_start  # re-exported: callers import it here
from retrain.data.maturity import label_cutoff, mask_unknown_labels
from retrain.metrics import BINARY_ONLY, prediction_for_metric, score

MISSING = "__missing__"
INPUT_EXAMPLE_ROWS = 5
NATIVE_MAX_CATEGORIES = 250  # below HistGradientBoosting's 255 bins, missing and unknown kept apart


class TrainingError(ValueError):
    """Not enough usable rows to train or hold out, with the numbers."""


def mask_immature_labels(frame: pd.DataFrame, config: ModelConfig, as_of: date) -> pd.DataFrame:
    """Null the labels not known at `as_of` (what production would see): by arrival time with
    a label feed, by the label delay without (`retrain.data.maturity`, the one place that
    decides)."""
    return mask_unknown_labels(frame, config, as_of)


def matured_mask(frame: pd.DataFrame, config: ModelConfig) -> np.ndarray:
    """Which rows' labels have arrived, as a boolean array (no copy of the frame)."""
    label = config.columns.label
    if label not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return np.asarray(frame[label].notna().to_numpy(), dtype=bool)


def matured_rows(frame: pd.DataFrame, config: ModelConfig) -> int:
    """How many rows' labels have arrived, counted without copying the frame."""
    return int(matured_mask(frame, config).sum())


def matured(frame: pd.DataFrame, config: ModelConfig) -> pd.DataFrame:
    """Rows whose label has arrived."""
    label = config.columns.label
    if label not in frame.columns:
        return frame.iloc[0:0]
    return frame[frame[label].notna()]


def features(frame: pd.DataFrame, config: ModelConfig) -> pd.DataFrame:
    """The feature columns, categoricals as strings with an explicit missing marker."""
    cols = config.columns
    out = frame[cols.features].copy()
    for col in cols.categorical:
        out[col] = out[col].astype("string").fillna(MISSING).astype(object)
    for col in cols.numeric:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    return out


def target(frame: pd.DataFrame, config: ModelConfig) -> np.ndarray:
    y = frame[config.columns.label].to_numpy()
    return class_labels(y) if config.task is Task.classification else y.astype(float)


def class_labels(values: np.ndarray) -> np.ndarray:
    """Known class labels as a model is fitted and scored on them: numbers (and booleans) as
    integers, anything else (strings, categories) as text."""
    values = np.asarray(values)
    numbers = ("integer", "floating", "mixed-integer-float", "boolean")
    if values.dtype.kind in "biuf" or pd.api.types.infer_dtype(values) in numbers:
        return values.astype(int)
    return values.astype(str)


def check_labels_for_metric(y: np.ndarray, config: ModelConfig, where: str) -> None:
    """Refuse, before any fit, labels the configured metric cannot score (a binary-only metric
    on more than two classes, f1 on labels not coded 0/1)."""
    values = np.unique(y)
    shown = [str(v) for v in values[:10]]
    column, metric = config.columns.label, config.metric
    if metric in BINARY_ONLY and values.size > 2:
        raise TrainingError(
            f"metric {metric!r} needs a binary label but column {column!r} holds "
            f"{values.size} values {shown} in {where}; use a multi-class metric (f1_macro, "
            "roc_auc_ovr, accuracy, ...)"
        )
    if metric == "f1" and not np.isin(values, (0, 1)).all():
        raise TrainingError(
            f"metric 'f1' needs labels coded 0/1 but column {column!r} holds {shown} in {where}"
        )


def input_example(frame: pd.DataFrame, config: ModelConfig) -> pd.DataFrame:
    """The features of the first INPUT_EXAMPLE_ROWS rows: what a model version shows as its
    input example (features only: no id, timestamp, label or served columns)."""
    return features(frame.head(INPUT_EXAMPLE_ROWS), config).reset_index(drop=True)


def build_pipeline(config: ModelConfig) -> Pipeline:
    """Imputation and categorical encoding in front of the configured estimator.

    Estimators with native categorical support (HistGradientBoosting*) get ordinal codes and
    `categorical_features`; they fit several times faster than on a dense one-hot matrix.
    """
    cols = config.columns
    estimator = config.estimator.build()
    native = uses_native_categoricals(config, estimator)
    transformers: list[tuple[str, Any, list[str]]] = []
    if cols.numeric:
        transformers.append(("num", SimpleImputer(strategy="median"), cols.numeric))
    if cols.categorical and native:
        encoder: Any = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=np.nan,
            encoded_missing_value=np.nan,
            min_frequency=20,
            max_categories=NATIVE_MAX_CATEGORIES,
        )
        transformers.append(("cat", encoder, cols.categorical))
        first = len(cols.numeric)
        estimator.set_params(categorical_features=list(range(first, first + len(cols.categorical))))
    elif cols.categorical:
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            min_frequency=20,
            max_categories=40,
            sparse_output=False,
        )
        transformers.append(("cat", encoder, cols.categorical))
    pre = ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)
    return Pipeline([("preprocess", pre), ("estimator", estimator)])


def uses_native_categoricals(config: ModelConfig, estimator: Any) -> bool:
    """Whether the categoricals go to the estimator as ordinal codes rather than one-hot."""
    encoding = config.estimator.categorical_encoding
    if encoding == "onehot":
        return False
    supported = "categorical_features" in estimator.get_params()
    if encoding == "native" and not supported:
        raise ValueError(f"{config.estimator.class_path} has no native categorical support")
    return supported


@dataclass(frozen=True)
class Slices:
    """Where a retrain cuts the matured labels: [validation) [holdout) cutoff."""

    validation_start: datetime
    holdout_start: datetime
    cutoff: datetime


@dataclass(frozen=True)
class Fit:
    """A recipe fitted on the matured rows of [start, end)."""

    recipe: Recipe
    model: Pipeline
    train: pd.DataFrame
    start: datetime
    end: datetime
    seconds: float
    rows_available: int | None = None  # matured rows in [start, end) before training.max_rows

    def to_dict(self) -> dict[str, Any]:
        available = len(self.train) if self.rows_available is None else self.rows_available
        return {
            "recipe": self.recipe.name,
            "start": self.start.date().isoformat(),
            "end": self.end.date().isoformat(),
            "rows": len(self.train),
            "rows_available": available,
            "sampled": available > len(self.train),
            "seconds": round(self.seconds, 3),
        }


def slices(config: ModelConfig, as_of: date) -> Slices:
    """The holdout is the newest `holdout_days` of matured labels, validation the days before."""
    cutoff = label_cutoff(as_of, config.windows.label_delay_days)
    holdout_start = cutoff - timedelta(days=config.windows.holdout_days)
    validation_start = holdout_start - timedelta(days=config.training.validation_days)
    return Slices(validation_start, holdout_start, cutoff)


def between(
    frame: pd.DataFrame, config: ModelConfig, start: datetime, end: datetime
) -> pd.DataFrame:
    """Matured rows with start <= timestamp < end, oldest first (one copy of those rows)."""
    return newest_between(frame, config, start, end, None)[0]


SAMPLING_RULE = "the most recent training.max_rows matured rows of the recipe's window"


def newest_between(
    frame: pd.DataFrame, config: ModelConfig, start: datetime, end: datetime, max_rows: int | None
) -> tuple[pd.DataFrame, int]:
    """The newest `max_rows` (all when None) matured rows with start <= timestamp < end, oldest
    first, and how many there were: the sampling rule of a fit on a large window. Only the rows
    kept are copied."""
    column = config.columns.timestamp
    ts = frame[column]
    keep = matured_mask(frame, config) & (ts >= start).to_numpy() & (ts < end).to_numpy()
    positions = np.flatnonzero(keep)
    stamps = ts.to_numpy(dtype="datetime64[ns]")[positions] if len(positions) else None
    if stamps is not None and (np.diff(stamps) < np.timedelta64(0)).any():
        positions = positions[np.argsort(stamps, kind="stable")]
    available = len(positions)
    if max_rows is not None and available > max_rows:
        positions = positions[available - max_rows :]
    return frame.iloc[positions], available


def recency_weights(timestamps: pd.Series, end: datetime, half_life_days: int) -> np.ndarray:
    """Sample weights: 1 at `end` (and after it), halving every `half_life_days` before it."""
    age_days = (pd.Timestamp(end) - timestamps).dt.total_seconds().to_numpy() / 86400.0
    return np.asarray(0.5 ** (np.clip(age_days, 0.0, None) / half_life_days))


def fit_recipe(frame: pd.DataFrame, config: ModelConfig, recipe: Recipe, end: datetime) -> Fit:
    """Fit a fresh pipeline on the recipe's last `days` days of matured rows before `end`."""
    start = end - timedelta(days=recipe.days)
    train, available = newest_between(frame, config, start, end, config.training.max_rows)
    need = config.thresholds.min_labelled_rows
    if len(train) < need:
        raise TrainingError(
            f"recipe {recipe.name}: {len(train)} matured labelled rows in "
            f"{start.date()}..{end.date()}, need {need} (thresholds.min_labelled_rows)"
        )
    y = target(train, config)
    if config.task is Task.classification and np.unique(y).size < 2:
        raise TrainingError(f"recipe {recipe.name}: training labels hold a single class")
    fit_params: dict[str, Any] = {}
    if recipe.half_life_days:
        weights = recency_weights(train[config.columns.timestamp], end, recipe.half_life_days)
        fit_params["estimator__sample_weight"] = weights
    model = build_pipeline(config)
    began = perf_counter()
    model.fit(features(train, config), y, **fit_params)
    return Fit(recipe, model, train, start, end, perf_counter() - began, available)


def predict(
    model: Any, frame: pd.DataFrame, config: ModelConfig, classes: np.ndarray | None = None
) -> np.ndarray:
    """The model's output in the form the configured metric needs (class probabilities in the
    order of `classes`, when given, for log_loss and roc_auc_ovr)."""
    return prediction_for_metric(model, features(frame, config), config.metric, classes)


def drift_prediction(model: Any, frame: pd.DataFrame, config: ModelConfig) -> np.ndarray:
    """What prediction drift compares: `predict`, except the predicted class where the metric
    scores a probability matrix (log_loss, roc_auc_ovr)."""
    if config.metric in ("log_loss", "roc_auc_ovr"):
        return np.asarray(model.predict(features(frame, config)))
    return predict(model, frame, config)


def metric_classes(config: ModelConfig, y: np.ndarray, *models: Any) -> np.ndarray | None:
    """The classes probability metrics (log_loss, roc_auc_ovr) score on: the labels `y`, the
    declared classes and every model's classes, so models that know different classes are
    compared on the same columns; None for any other metric."""
    if config.metric not in ("log_loss", "roc_auc_ovr"):
        return None
    parts = [class_labels(y)]
    if isinstance(config.classes, list):
        parts.append(class_labels(np.asarray(config.classes)))
    parts += [np.asarray(m.classes_) for m in models if m is not None]
    return np.unique(np.concatenate(parts))


def training_scores(model: Any, frame: pd.DataFrame, config: ModelConfig) -> np.ndarray | None:
    """A classifier's positive-class probabilities when its metric scores classes (f1,
    accuracy), so their range is kept with the version; None when predict already gives them."""
    if config.task is not Task.classification or config.metric == "roc_auc":
        return None
    if not hasattr(model, "predict_proba"):
        return None
    return np.asarray(model.predict_proba(features(frame, config)))[:, -1]


def evaluate(model: Any, frame: pd.DataFrame, config: ModelConfig) -> float:
    """The configured metric of `model` on `frame`'s labelled rows."""
    y = target(frame, config)
    classes = metric_classes(config, y, model)
    return score(config.metric, y, predict(model, frame, config, classes), classes)


def reference_sample(frame: pd.DataFrame, config: ModelConfig, seed: int = 0) -> pd.DataFrame:
    """A bounded random sample of training rows, kept with the model as drift reference."""
    n = min(len(frame), config.thresholds.drift.reference_rows)
    keep = [c for c in (config.columns.timestamp, *config.columns.features, config.columns.label)]
    return frame[keep].sample(n=n, random_state=seed).sort_values(config.columns.timestamp)
