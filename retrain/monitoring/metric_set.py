"""The monitoring metric set of one window, computed once per run and kept in the decision
record (`monitoring`) and in the model's MLflow history: the champion's quality on matured
labels, its outputs (and what production served), the inputs and the traffic."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from retrain.config import ModelConfig, Task
from retrain.drift.reference import PREDICTION, SCORE, ReferenceStats
from retrain.drift.summary import DriftSummary
from retrain.drift.window_stats import WindowSummary, summarize
from retrain.monitoring.class_outputs import ClassFigures, class_figures
from retrain.monitoring.outputs import (
    Predictions,
    prediction_summary,
    served_summary,
    training_range,
)
from retrain.monitoring.quality import Quality, classification_quality, regression_quality
from retrain.monitoring.scoring import ChampionOutputs, champion_outputs, score_outputs
from retrain.monitoring.traffic import (
    Inputs,
    Traffic,
    expected_rows_per_day,
    inputs_summary,
    traffic_summary,
)
from retrain.training.pipeline import class_labels

__all__ = [
    "ChampionFacts",
    "ChampionOutputs",
    "Monitoring",
    "champion_outputs",
    "flat_metrics",
    "monitor_window",
]
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. /]")


@dataclass(frozen=True)
class ChampionFacts:
    """What is stored with the champion that monitoring compares against."""

    outputs: ChampionOutputs
    schema: dict[str, Any]
    reference: pd.DataFrame  # the reference sample (its timestamps give the expected volume)
    stats: ReferenceStats | None


@dataclass(frozen=True)
class Monitoring:
    """Everything monitored in one window; quality and predictions need a champion."""

    quality: Quality | None
    predictions: Predictions | None
    inputs: Inputs
    traffic: Traffic
    classes: ClassFigures | None = None  # a multi-class champion's figures per class

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form for the decision record (non-finite numbers become null)."""
        return _json_safe(asdict(self))

    def flat_metrics(self) -> dict[str, float]:
        """Every number worth charting, keyed `section/name` (see `flat_metrics`)."""
        return flat_metrics(self.to_dict())


def flat_metrics(section: dict[str, Any]) -> dict[str, float]:
    """The numbers of a record's `monitoring` section worth charting over time, keyed
    `section/name` (MLflow groups by the prefix; Prometheus puts the key in a label). Bounded:
    one per metric, per feature column and per latency quantile, never one per day or per bin.
    """
    out: dict[str, Any] = {}
    quality = section.get("quality") or {}
    out |= {f"quality/{k}": v for k, v in (quality.get("metrics") or {}).items()}
    if predictions := section.get("predictions"):
        out |= _prediction_metrics(predictions)
    out |= _class_metrics(section.get("classes") or {})
    inputs = section.get("inputs") or {}
    traffic = section.get("traffic") or {}
    out |= {f"inputs/missing_share/{c}": v for c, v in (inputs.get("missing_share") or {}).items()}
    out |= {f"inputs/drift_score/{c}": v for c, v in (inputs.get("drift_score") or {}).items()}
    out |= {
        f"inputs/new_category_share/{c}": n.get("share")
        for c, n in (inputs.get("new_categories") or {}).items()
        if n is not None
    }
    out |= {
        f"traffic/{k}": traffic.get(k)
        for k in (
            "rows",
            "mean_rows_per_day",
            "expected_rows_per_day",
            "volume_ratio",
            "rows_per_second",
            "error_rate",
        )
    }
    if traffic:
        out["traffic/days_missing"] = len(traffic.get("days_missing") or ())
    out |= {f"traffic/latency_{k}_ms": v for k, v in (traffic.get("latency_ms") or {}).items()}
    return {
        _KEY_UNSAFE.sub("_", k): float(v)
        for k, v in out.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }


def monitor_window(
    frame: pd.DataFrame,
    config: ModelConfig,
    days: list[date],
    champion: ChampionFacts | None,
    drift: DriftSummary | None,
    features: WindowSummary | None = None,
) -> Monitoring:
    """The whole metric set of one window; quality and predictions only with a champion.

    The inputs come from `features`, the window's merged summary when it was streamed (`frame`
    then holds the per-row columns: timestamp, label, serving columns), else from `frame`."""
    cols = config.columns
    if features is None:
        features = summarize(frame, None, list(cols.numeric), list(cols.categorical))
    expected = None
    if champion is not None:
        rows = int(champion.schema.get("rows", 0))
        expected = expected_rows_per_day(champion.reference[cols.timestamp], rows)
    return Monitoring(
        quality=_quality(frame, config, champion.outputs) if champion else None,
        predictions=_predictions(frame, config, champion, drift) if champion else None,
        inputs=inputs_summary(
            features, cols.numeric, cols.categorical, champion.schema if champion else None, drift
        ),
        traffic=traffic_summary(frame, cols.timestamp, days, expected, cols.latency_ms, cols.error),
        classes=_classes(frame, config, champion) if champion else None,
    )


def _classes(
    frame: pd.DataFrame, config: ModelConfig, champion: ChampionFacts
) -> ClassFigures | None:
    """Per-class figures of a champion with more than two classes (probabilities kept)."""
    outputs = champion.outputs
    if outputs.proba is None or outputs.labels is None or outputs.class_index is None:
        return None
    label = frame[config.columns.label]
    return class_figures(
        outputs.labels,
        outputs.proba,
        outputs.class_index,
        label.to_numpy(),
        label.notna().to_numpy(),
        champion.stats,
        config.thresholds.drift,
    )


def _quality(frame: pd.DataFrame, config: ModelConfig, outputs: ChampionOutputs) -> Quality:
    """Metrics on the rows whose label has matured (immature labels are already null)."""
    known = frame[config.columns.label].notna().to_numpy()
    y = frame[config.columns.label].to_numpy()[known]
    if config.task is Task.regression:
        return regression_quality(y.astype(float), outputs.values[known])
    assert outputs.classes is not None
    scores = outputs.values[known] if outputs.kind == "score" else None
    proba = outputs.probabilities()[known] if outputs.kind in ("score", "proba") else None
    return classification_quality(
        class_labels(y), outputs.classes[known], scores, proba, outputs.labels
    )


def _predictions(
    frame: pd.DataFrame,
    config: ModelConfig,
    champion: ChampionFacts,
    drift: DriftSummary | None,
) -> Predictions:
    """The outputs against their training range: the stored predictions for regression and
    roc_auc (they are the scores), the stored scores (SCORE) for a classifier scored on classes."""
    outputs, stats = champion.outputs, champion.stats
    columns = stats.columns if stats else {}
    reference = columns.get(PREDICTION)
    if config.task is Task.regression:
        bounds = training_range(reference)
    elif outputs.kind in ("score", "proba"):
        scored = columns.get(SCORE) or (reference if config.metric == "roc_auc" else None)
        bounds = training_range(scored)
    else:
        bounds = None
    served = None
    column = config.columns.prediction
    if column and column in frame.columns:
        regression = config.task is Task.regression
        mine = outputs.values if regression or outputs.classes is None else outputs.classes
        served = served_summary(
            column, frame[column], mine, not regression, reference, config.thresholds.drift
        )
    return prediction_summary(
        outputs.values,
        kind=outputs.kind,
        classes=outputs.classes,
        bounds=bounds,
        drift=drift.prediction if drift else None,
        served=served,
    )


def _class_metrics(figures: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"classes/mean_confidence": figures.get("mean_confidence")}
    for key in ("predicted_share", "actual_share", "recall", "probability_drift"):
        out |= {f"classes/{key}/{c}": v for c, v in (figures.get(key) or {}).items()}
    return out


def _prediction_metrics(p: dict[str, Any]) -> dict[str, Any]:
    quantiles = p.get("quantiles") or {}
    out: dict[str, Any] = {
        "predictions/mean": p.get("mean"),
        "predictions/p05": quantiles.get("0.05"),
        "predictions/p50": quantiles.get("0.5"),
        "predictions/p95": quantiles.get("0.95"),
        "predictions/mean_confidence": p.get("mean_confidence"),
        "predictions/positive_rate": p.get("positive_rate"),
        "predictions/outlier_share": p.get("outlier_share"),
        "predictions/drift_score": (p.get("drift") or {}).get("score"),
    }
    if served := p.get("served"):
        out["predictions/served_agreement"] = served.get("agreement")
        out["predictions/served_drift_score"] = (served.get("drift") or {}).get("score")
    return out


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    return value


def matured_metric(
    config: ModelConfig,
    frame: pd.DataFrame,
    known: np.ndarray,
    quality: Quality | None,
    outputs: ChampionOutputs | None,
    predict_error: str | None,
) -> float:
    """The champion's metric on the `known` (matured) rows of the window: the monitoring
    quality's when it has it (the same rows and formula), else scored from the champion's
    outputs (no second predict). Raises ValueError saying why it cannot be computed."""
    if quality is not None and config.metric in quality.metrics:
        value = quality.metrics[config.metric]
        if value is None:
            raise ValueError(quality.undefined.get(config.metric, "undefined"))
        return value
    if outputs is None:
        raise ValueError(predict_error or "the champion did not score the window")
    return score_outputs(outputs, frame, config, known)
