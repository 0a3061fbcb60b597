"""The preprocessing + estimator pipeline, and a challenger trained on a time-ordered split."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from retrain.config import ModelConfig, Task
from retrain.metrics import prediction_for_metric, score

MISSING = "__missing__"
NATIVE_MAX_CATEGORIES = 250  # below HistGradientBoosting's 255 bins, missing and unknown kept apart


class TrainingError(ValueError):
    """Not enough usable rows to train or hold out, with the numbers."""


@dataclass(frozen=True)
class Split:
    """A time-ordered split: train on the older rows, hold out the newest days."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    holdout_start: datetime
    cutoff: datetime


@dataclass(frozen=True)
class TrainedChallenger:
    model: Pipeline
    split: Split
    holdout_score: float
    train_score: float


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def label_cutoff(as_of: date, label_delay_days: int) -> datetime:
    """Events before this instant have matured labels as of `as_of`."""
    return day_start(as_of) - timedelta(days=label_delay_days)


def mask_immature_labels(frame: pd.DataFrame, config: ModelConfig, as_of: date) -> pd.DataFrame:
    """Null the labels of events too recent to have matured (what production would see)."""
    cutoff = label_cutoff(as_of, config.windows.label_delay_days)
    ts, label = config.columns.timestamp, config.columns.label
    if label not in frame.columns or ts not in frame.columns:
        return frame
    immature = frame[ts] >= cutoff
    if not immature.any():
        return frame
    out = frame.copy()
    out[label] = out[label].astype("float64").where(~immature)
    return out


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
    return y.astype(int) if config.task is Task.classification else y.astype(float)


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


def time_split(frame: pd.DataFrame, config: ModelConfig, as_of: date) -> Split:
    """Matured rows split by time: the newest `holdout_days` before the cutoff are held out."""
    cutoff = label_cutoff(as_of, config.windows.label_delay_days)
    holdout_start = cutoff - timedelta(days=config.windows.holdout_days)
    rows = matured(frame, config)
    ts = rows[config.columns.timestamp]
    rows = rows[ts < cutoff].sort_values(config.columns.timestamp, kind="stable")
    ts = rows[config.columns.timestamp]
    return Split(rows[ts < holdout_start], rows[ts >= holdout_start], holdout_start, cutoff)


def _check_split(split: Split, config: ModelConfig) -> None:
    need = config.thresholds.min_labelled_rows
    if len(split.train) < need or len(split.holdout) < max(30, need // 4):
        raise TrainingError(
            f"too few matured labelled rows to train: {len(split.train)} train "
            f"(need {need}), {len(split.holdout)} holdout (need {max(30, need // 4)}) "
            f"before {split.cutoff.date()}"
        )
    if config.task is Task.classification:
        classes = np.unique(target(split.train, config))
        if len(classes) < 2:
            raise TrainingError(f"training labels hold a single class {classes.tolist()}")


def train_challenger(frame: pd.DataFrame, config: ModelConfig, as_of: date) -> TrainedChallenger:
    """Fit a fresh pipeline on the older rows and score it on the held-out newest days."""
    split = time_split(frame, config, as_of)
    _check_split(split, config)
    model = build_pipeline(config)
    model.fit(features(split.train, config), target(split.train, config))
    return TrainedChallenger(
        model=model,
        split=split,
        holdout_score=evaluate(model, split.holdout, config),
        train_score=evaluate(model, split.train, config),
    )


def predict(model: Any, frame: pd.DataFrame, config: ModelConfig) -> np.ndarray:
    """The model's output in the form the configured metric needs."""
    return prediction_for_metric(model, features(frame, config), config.metric)


def evaluate(model: Any, frame: pd.DataFrame, config: ModelConfig) -> float:
    """The configured metric of `model` on `frame`'s labelled rows."""
    return score(config.metric, target(frame, config), predict(model, frame, config))


def reference_sample(frame: pd.DataFrame, config: ModelConfig, seed: int = 0) -> pd.DataFrame:
    """A bounded random sample of training rows, kept with the model as drift reference."""
    n = min(len(frame), config.thresholds.drift.reference_rows)
    keep = [c for c in (config.columns.timestamp, *config.columns.features, config.columns.label)]
    return frame[keep].sample(n=n, random_state=seed).sort_values(config.columns.timestamp)
