"""The champion's outputs on a window: distribution, confidence, outliers against the training
range, and what production served (`columns.prediction`) against the champion's re-prediction."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from retrain.config import DriftThresholds
from retrain.drift.reference import ColumnStats, NumericStats
from retrain.drift.summary import ColumnDrift, column_drift

QUANTILES = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)
BINS = 10
AGREEMENT_FLOOR = 0.99  # below it, production most likely serves another model
REGRESSION_RTOL, REGRESSION_ATOL = 1e-4, 1e-8  # a served value "agrees" within these


@dataclass(frozen=True)
class Histogram:
    """Counts on fixed bins; values below the first or above the last edge counted apart."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]
    below: int
    above: int


@dataclass(frozen=True)
class Served:
    """What production served (`columns.prediction`) against the champion's re-prediction."""

    column: str
    rows: int  # rows with a served value
    agreement: float | None  # share of those rows where served and re-predicted agree
    mismatch: bool  # agreement under AGREEMENT_FLOOR: production serves another model
    drift: ColumnDrift | None  # against the champion's predictions on its training data
    drift_note: str | None


@dataclass(frozen=True)
class Predictions:
    """The champion's outputs on every row: scores (positive-class probability) or values."""

    rows: int
    kind: str  # "score" or "value"
    mean: float | None
    quantiles: dict[str, float]
    histogram: Histogram | None
    histogram_fixed: bool  # bins fixed across windows (scores, or the training range)
    mean_confidence: float | None  # classification: mean probability of the predicted class
    positive_rate: float | None  # binary classification: share predicted positive
    training_range: tuple[float, float] | None
    outlier_share: float | None  # share outside training_range
    outlier_note: str | None
    drift: ColumnDrift | None  # the drift step's prediction drift, referenced
    served: Served | None


def training_range(stats: ColumnStats | None) -> tuple[float, float] | None:
    """Smallest and largest prediction on the training data, from the reference statistics."""
    if not isinstance(stats, NumericStats) or not len(stats.xs):
        return None
    return float(stats.xs[0]), float(stats.xs[-1])


def histogram(values: np.ndarray, edges: np.ndarray) -> Histogram:
    """Counts of `values` on `edges` (the last bin closed), with what falls outside."""
    counts, _ = np.histogram(values, bins=edges)
    return Histogram(
        edges=tuple(float(e) for e in edges),
        counts=tuple(int(c) for c in counts),
        below=int(np.count_nonzero(values < edges[0])),
        above=int(np.count_nonzero(values > edges[-1])),
    )


def outlier_share(values: np.ndarray, bounds: tuple[float, float]) -> float:
    """Share of values outside [low, high]."""
    low, high = bounds
    return float(np.mean((values < low) | (values > high))) if len(values) else 0.0


def served_agreement(served: np.ndarray, champion: np.ndarray, classification: bool) -> float:
    """Share of rows where production's prediction equals the champion's re-prediction: the same
    class (a served score counts as class 1 above 0.5), or a value within a relative 1e-4."""
    served, champion = np.asarray(served, dtype=float), np.asarray(champion, dtype=float)
    if classification:
        is_class = np.isin(served, (0.0, 1.0)).all()
        served_class = served if is_class else (served > 0.5).astype(float)
        same = served_class == champion
    else:
        same = np.isclose(served, champion, rtol=REGRESSION_RTOL, atol=REGRESSION_ATOL)
    return float(np.mean(same)) if len(served) else math.nan


def served_summary(
    column: str,
    served: pd.Series,
    champion: np.ndarray,
    classification: bool,
    reference: ColumnStats | None,
    thresholds: DriftThresholds,
) -> Served:
    """Agreement of the served prediction with the champion's, and its drift against the
    champion's predictions on its training data."""
    if classification and _named_classes(served, champion):
        return _served_classes(column, served, champion, reference, thresholds)
    numbers = pd.to_numeric(served, errors="coerce")
    known = numbers.notna().to_numpy()
    agreement = served_agreement(numbers.to_numpy()[known], champion[known], classification)
    drift, note = None, None
    if reference is None:
        note = "no reference statistics stored with the champion"
    elif classification and _is_classes(numbers.dropna()) != _holds_classes(reference):
        note = "served classes and stored scores (or the reverse) are not comparable"
    else:
        try:
            drift = column_drift(column, "served_prediction", reference, numbers, thresholds)
            note = None if drift else "its drift method needs raw values"
        except ValueError as exc:
            note = f"not comparable with the champion's training predictions: {exc}"
    value = agreement if math.isfinite(agreement) else None
    return Served(
        column=column,
        rows=int(known.sum()),
        agreement=value,
        mismatch=value is not None and value < AGREEMENT_FLOOR,
        drift=drift,
        drift_note=note,
    )


def _named_classes(served: pd.Series, champion: np.ndarray) -> bool:
    """Whether the served column holds class names (text) rather than numbers or scores."""
    return np.asarray(champion).dtype.kind in "UO" or not (
        pd.api.types.is_numeric_dtype(served) or pd.api.types.is_bool_dtype(served)
    )


def _served_classes(
    column: str,
    served: pd.Series,
    champion: np.ndarray,
    reference: ColumnStats | None,
    thresholds: DriftThresholds,
) -> Served:
    """A served class name against the champion's predicted class, compared as text; drift of
    the served classes against the champion's predicted classes on its training data."""
    known = served.notna().to_numpy()
    text = served[known].astype(str)
    same = text.to_numpy() == np.asarray(champion)[known].astype(str)
    agreement = float(same.mean()) if known.any() else None
    drift, note = None, None
    if reference is None:
        note = "no reference statistics stored with the champion"
    else:
        try:
            drift = column_drift(column, "served_prediction", reference, text, thresholds)
            note = None if drift else "its drift method needs raw values"
        except ValueError as exc:
            note = f"not comparable with the champion's training predictions: {exc}"
    return Served(
        column=column,
        rows=int(known.sum()),
        agreement=agreement,
        mismatch=agreement is not None and agreement < AGREEMENT_FLOOR,
        drift=drift,
        drift_note=note,
    )


def _is_classes(values: pd.Series) -> bool:
    return bool(values.isin((0, 1)).all())


def _holds_classes(reference: ColumnStats) -> bool:
    """Whether the stored training predictions are 0/1 classes rather than scores."""
    if isinstance(reference, NumericStats):
        return reference.exact and bool(np.isin(reference.xs, (0.0, 1.0)).all())
    return {str(v) for v in reference.counts} <= {"0", "1", "0.0", "1.0", "True", "False"}


def prediction_summary(
    values: np.ndarray,
    *,
    kind: str,
    classes: np.ndarray | None,
    bounds: tuple[float, float] | None,
    drift: ColumnDrift | None,
    served: Served | None,
) -> Predictions:
    """Distribution, confidence and outliers of the champion's outputs on the window.

    `kind` "score": positive-class probabilities (bins 0.0, 0.1, ... 1.0); "proba": the
    probability of the predicted class of many (binned alike; no positive rate); "value": regression
    outputs, binned on the training range when known (else the window's own, not fixed)."""
    values = np.asarray(values, dtype=float)
    if not len(values):
        return Predictions(
            0, kind, None, {}, None, False, None, None, bounds, None, None, drift, served
        )
    probability = kind in ("score", "proba")  # proba: the predicted class's, of many classes
    fixed = probability or (bounds is not None and bounds[1] > bounds[0])
    if probability:
        edges = np.linspace(0.0, 1.0, BINS + 1)
    elif bounds is not None and fixed:
        edges = np.linspace(bounds[0], bounds[1], BINS + 1)
    else:
        edges = np.linspace(values.min(), values.max(), BINS + 1)
    confidence = values if kind == "proba" else np.maximum(values, 1 - values)
    quantiles = np.quantile(values, QUANTILES).tolist()
    return Predictions(
        rows=len(values),
        kind=kind,
        mean=float(values.mean()),
        quantiles={str(q): v for q, v in zip(QUANTILES, quantiles, strict=True)},
        histogram=histogram(values, edges) if edges[-1] > edges[0] else None,
        histogram_fixed=fixed,
        mean_confidence=float(confidence.mean()) if probability else None,
        positive_rate=float(np.mean(classes == 1))
        if classes is not None and kind != "proba"
        else None,
        training_range=bounds,
        outlier_share=outlier_share(values, bounds) if bounds is not None else None,
        outlier_note=None
        if bounds is not None
        else "the training range of these outputs is not stored",
        drift=drift,
        served=served,
    )
