"""Estimated performance while labels are delayed: confidence-based (CBPE, as in NannyML).

The champion's scores are calibrated (isotonic regression) on labelled rows; on rows whose labels
are not yet due, each calibrated probability is the chance that row is positive, so the expected
confusion matrix (and so accuracy, precision, recall, F1) and the expected ROC curve follow
without a label. It holds while P(label | score) stays as it was on the calibration rows: a shift
in the inputs is tracked, a change of concept is not (the realised metric tells, once labels come).

Own code, not `nannyml`: the method is a few array operations, while nannyml 0.13.1 pulls about
90 packages (xgboost, lightgbm, gcsfs, google-cloud-storage, a telemetry client) into the loop's
environment. The expected confusion matrix is NannyML's; ROC AUC ranks rows by the served score
(NannyML ranks by the calibrated probability: the same when the calibration is strictly
increasing, while isotonic's flat steps would merge rows the champion ranks apart); the
standard error is our own (see `cbpe`). tests/unit/test_estimate.py checks it by hand.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sklearn.isotonic import isotonic_regression

from retrain.config import ModelConfig, Task
from retrain.data.maturity import unknown_mask
from retrain.data.s3 import Window
from retrain.monitoring.estimate_base import LABEL_DRAWS, Estimate, calibrate
from retrain.monitoring.scoring import ChampionOutputs, champion_outputs
from retrain.run_record import RunRecord
from retrain.training.pipeline import matured_mask

ESTIMATED_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
CALIBRATION_RESAMPLES = 50  # bootstrap refits of the calibration
# Matured rows the calibration is fitted on, the newest first: isotonic regression on half a
# million rows is as good as on ten million, and its bootstrap costs a twentieth.
CALIBRATION_MAX_ROWS = 500_000


def expected_confusion(proba: np.ndarray, predicted: np.ndarray) -> tuple[float, ...]:
    """Expected (TP, FP, FN, TN): a row predicted positive adds p to TP and 1 - p to FP."""
    p, pos = np.asarray(proba, dtype=np.float64), np.asarray(predicted).astype(bool)
    return (
        float(p[pos].sum()),
        float((1 - p[pos]).sum()),
        float(p[~pos].sum()),
        float((1 - p[~pos]).sum()),
    )


def confusion_metrics(tp: float, fp: float, fn: float, tn: float) -> dict[str, float]:
    """Accuracy, precision, recall and F1 of a (possibly expected) confusion matrix; NaN if 0/0."""
    return {
        "accuracy": _ratio(tp + tn, tp + fp + fn + tn),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
    }


def expected_roc_auc(
    proba: np.ndarray, score: np.ndarray, order: np.ndarray | None = None
) -> float:
    """Area under the expected ROC curve: at each distinct score threshold, expected TPR and
    FPR from the calibrated probabilities of the rows at or above it (trapezoids, ties as one)."""
    p, s = np.asarray(proba, dtype=np.float64), np.asarray(score, dtype=np.float64)
    order = np.argsort(-s, kind="stable") if order is None else order  # rows, highest score first
    p, s = p[order], s[order]
    last_of_tie = np.r_[s[1:] != s[:-1], True]
    tp, fp = np.cumsum(p)[last_of_tie], np.cumsum(1 - p)[last_of_tie]
    if tp[-1] <= 0 or fp[-1] <= 0:
        return math.nan
    tpr, fpr = np.r_[0.0, tp / tp[-1]], np.r_[0.0, fp / fp[-1]]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def estimate_metrics(
    proba: np.ndarray, score: np.ndarray, predicted: np.ndarray, order: np.ndarray | None = None
) -> dict[str, float]:
    """Every estimated metric from calibrated probabilities, served scores and predicted classes."""
    out = confusion_metrics(*expected_confusion(proba, predicted))
    out["roc_auc"] = expected_roc_auc(proba, score, order)
    return out


def cbpe(
    reference_score: np.ndarray,
    reference_label: np.ndarray,
    score: np.ndarray,
    predicted: np.ndarray,
    metric: str,
    seed: int = 0,
) -> Estimate:
    """CBPE of `metric` on unlabelled rows, calibrated on labelled reference rows.

    The standard error adds two variances: the realised metric's own sampling noise on these
    rows (labels drawn Bernoulli(calibrated p), LABEL_DRAWS times; NannyML's sampling error
    plays this part) and the calibration's (isotonic refitted on CALIBRATION_RESAMPLES bootstrap
    resamples of the reference rows). It assumes the calibration still holds; nothing can
    measure that without labels.
    """
    if metric not in ESTIMATED_METRICS:
        raise ValueError(f"no estimate for {metric!r}; one of {ESTIMATED_METRICS}")
    ref_s = np.asarray(reference_score, dtype=np.float64)
    ref_y = np.asarray(reference_label).astype(int)
    s, pred = np.asarray(score, dtype=np.float64), np.asarray(predicted).astype(bool)
    if s.size == 0:
        raise ValueError("no unlabelled rows to estimate on")
    proba = calibrate(ref_s, ref_y).predict(s)
    order = np.argsort(-s, kind="stable")  # sorted once for every refit below
    metrics = estimate_metrics(proba, s, pred, order)
    rng = np.random.default_rng(seed)
    label_draws = _realised_draws(proba, s, pred, rng)
    refits: dict[str, list[float]] = {name: [] for name in ESTIMATED_METRICS}
    for refit_proba in _bootstrap_calibrations(ref_s, ref_y, s, rng):
        refit = estimate_metrics(refit_proba, s, pred, order)
        for name in ESTIMATED_METRICS:
            refits[name].append(refit[name])
    errors = {
        name: math.sqrt(_nanstd(label_draws[name]) ** 2 + _nanstd(np.asarray(refits[name])) ** 2)
        for name in ESTIMATED_METRICS
    }
    return Estimate(
        metric=metric,
        value=metrics[metric],
        standard_error=errors[metric],
        rows=int(s.size),
        calibration_rows=int(ref_s.size),
        metrics=metrics,
        standard_errors=errors,
    )


def _bootstrap_calibrations(
    ref_score: np.ndarray, ref_label: np.ndarray, score: np.ndarray, rng: Any
) -> Iterator[np.ndarray]:
    """The calibrated probabilities of `score` under CALIBRATION_RESAMPLES bootstrap refits of
    the calibration (resamples with both classes; the others are skipped).

    A Poisson bootstrap: each labelled row weighs Poisson(1) in a resample (the limit of the
    multinomial counts of n draws from n rows, as large-scale bootstraps do), drawn straight
    in the order of the scores sorted once. Each refit is then what
    `calibrate(ref_score, ref_label, sample_weight=weights).predict(score)` gives (sklearn's
    IsotonicRegression: ties of the score averaged, weighted pool-adjacent-violators, linear
    interpolation clipped at the ends), without sorting or counting rows again: a refit on
    850,000 rows costs tens of milliseconds instead of about 0.4 s. tests/unit/test_estimate.py
    checks the two agree."""
    n = ref_score.size
    order = np.argsort(ref_score, kind="stable")
    xs, ys = ref_score[order].astype(np.float64), ref_label[order].astype(np.float64)
    first = np.r_[True, xs[1:] != xs[:-1]] if n else np.zeros(0, dtype=bool)
    ties = not first.all()
    group = np.cumsum(first) - 1
    distinct = xs[first]
    at = np.argsort(score, kind="stable")  # interpolating at sorted points is ~10x faster
    points = np.asarray(score, dtype=np.float64)[at]
    for _ in range(CALIBRATION_RESAMPLES):
        weights = rng.poisson(1.0, n).astype(np.float64)  # of the rows in score order
        positives, drawn = float(weights @ ys), float(weights.sum())
        if positives == 0 or positives == drawn:  # a single class in the resample
            continue
        if ties:
            total = np.bincount(group, weights=weights, minlength=distinct.size)
            kept = total > 0
            summed = np.bincount(group, weights=weights * ys, minlength=distinct.size)
            mean = summed[kept] / total[kept]
        else:  # every score distinct: each row is its own group
            kept = weights > 0
            total, mean = weights, ys[kept]
        fitted = isotonic_regression(mean, sample_weight=total[kept], y_min=0.0, y_max=1.0)
        proba = np.empty(points.size)
        proba[at] = np.interp(points, distinct[kept], fitted)
        yield proba


def window_estimate(
    model: Any,
    frame: pd.DataFrame,
    config: ModelConfig,
    as_of: date,
    outputs: ChampionOutputs | None = None,
) -> dict[str, Any] | None:
    """The decision record's `estimated_performance`: CBPE of the configured metric on the
    window's rows whose labels are not yet due, calibrated on its rows whose labels matured.

    `outputs` are the champion's outputs on the window's rows (predicted when not given: the
    flow passes the run's one predict). None for a regression model; a dict with an `error`
    when there is nothing to estimate on.
    """
    if config.task is not Task.classification:
        return None
    ts = frame[config.columns.timestamp]
    pending = unknown_mask(frame, config, as_of)  # not yet due, or (a feed) not yet arrived
    reference = newest_rows(~pending & matured_mask(frame, config), ts, CALIBRATION_MAX_ROWS)
    out: dict[str, Any] = {
        "metric": config.metric,
        "value": None,
        "standard_error": None,
        "rows": int(pending.sum()),
        "days": _days(ts[pending]),
        "calibrated_on": _span(ts[reference]),
    }
    if not pending.any():
        return {**out, "error": "no rows whose labels are not yet due"}
    if not hasattr(model, "predict_proba") or len(getattr(model, "classes_", ())) < 2:
        return {**out, "error": "CBPE needs a classifier with predict_proba"}
    outputs = outputs if outputs is not None else champion_outputs(model, frame, config)
    if outputs.proba is not None:
        return _multiclass_estimate(out, frame, config, outputs, reference, pending)
    if outputs.kind != "score" or outputs.class_index is None or outputs.rows != len(frame):
        raise ValueError("CBPE needs the champion's positive-class scores on every window row")
    positive = model.classes_[1]
    ref_label = frame[config.columns.label].to_numpy()[reference] == positive
    predicted = outputs.class_index[pending] == 1  # what the realised f1/accuracy score
    try:
        est = cbpe(
            outputs.values[reference], ref_label, outputs.values[pending], predicted, config.metric
        )
    except ValueError as exc:
        return {**out, "error": str(exc)}
    method = (
        "CBPE: isotonic calibration on the matured rows (the newest "
        f"{CALIBRATION_MAX_ROWS:,} at most); SE from label draws ({LABEL_DRAWS}) and "
        f"calibration bootstrap ({CALIBRATION_RESAMPLES})"
    )
    return _estimated(out, est, method)


def _multiclass_estimate(
    out: dict[str, Any],
    frame: pd.DataFrame,
    config: ModelConfig,
    outputs: ChampionOutputs,
    reference: np.ndarray,
    pending: np.ndarray,
) -> dict[str, Any]:
    """The estimate of a champion with more than two classes
    (`retrain.monitoring.estimate_multiclass`)."""
    from retrain.monitoring.estimate_multiclass import multiclass_cbpe
    from retrain.training.pipeline import class_labels

    assert outputs.proba is not None and outputs.labels is not None
    assert outputs.class_index is not None
    labels = class_labels(frame[config.columns.label].to_numpy()[reference])
    classes = class_labels(outputs.labels)
    known = np.isin(labels, classes)  # a class the champion never saw cannot be calibrated
    rows = np.flatnonzero(reference)[known]
    try:
        est = multiclass_cbpe(
            outputs.proba[rows],
            np.searchsorted(classes, labels[known]),
            outputs.proba[pending],
            outputs.class_index[pending],
            config.metric,
        )
    except ValueError as exc:
        return {**out, "error": str(exc)}
    method = (
        "multi-class CBPE: one isotonic calibrator per class on the matured rows, "
        f"normalised; SE from label draws ({LABEL_DRAWS}) only"
    )
    return _estimated(out, est, method)


def _estimated(out: dict[str, Any], est: Any, method: str) -> dict[str, Any]:
    """The record's estimate from a binary or multi-class CBPE result: value, errors, method."""
    return {
        **out,
        "value": _finite(est.value),
        "standard_error": _finite(est.standard_error),
        "metrics": {k: _finite(v) for k, v in est.metrics.items()},
        "standard_errors": {k: _finite(v) for k, v in est.standard_errors.items()},
        "method": method,
    }


def newest_rows(rows: np.ndarray, timestamps: pd.Series, limit: int) -> np.ndarray:
    """The boolean mask `rows`, keeping only its `limit` newest rows (by timestamp)."""
    chosen = np.flatnonzero(rows)
    if chosen.size <= limit:
        return rows
    when = timestamps.to_numpy(dtype="datetime64[ns]")[chosen]
    kept = np.zeros_like(rows)
    kept[chosen[np.argpartition(when, chosen.size - limit)[chosen.size - limit :]]] = True
    return kept


def history_metrics(estimate: dict[str, Any] | None) -> dict[str, float]:
    """The estimate as points of the model's MLflow monitoring history: `estimated/<metric>`
    and `estimated/<metric>_stderr` for every metric CBPE estimated (finite values only)."""
    estimate = estimate or {}
    values = estimate.get("metrics") or {}
    errors = estimate.get("standard_errors") or {}
    points = {f"estimated/{k}": v for k, v in values.items() if v is not None}
    points |= {f"estimated/{k}_stderr": v for k, v in errors.items() if v is not None}
    return {k: float(v) for k, v in points.items()}


def earlier_estimate(
    history: list[RunRecord], champion_version: str | None, as_of: date, delay_days: int
) -> dict[str, Any] | None:
    """The newest earlier estimate of this champion whose days have all matured by `as_of`,
    with the window it was made in: the one to line up with its realised metric now."""
    due = (as_of - timedelta(days=delay_days)).isoformat()
    for record in reversed(history):
        estimate, version = record.estimated_performance, record.champion_version
        if estimate is None or estimate.value is None or not estimate.days or version is None:
            continue
        if str(version) == str(champion_version) and max(estimate.days) < due:
            return {**estimate.dump(), "as_of": record.as_of.isoformat()}
    return None


def estimate_days(estimate: dict[str, Any]) -> Window:
    """The days an estimate covered, as a window to load."""
    days = [date.fromisoformat(d) for d in estimate["days"]]
    return Window(min(days), max(days) + timedelta(days=1))


def lined_up(estimate: dict[str, Any], realised: float | None, rows: int) -> dict[str, Any]:
    """An earlier estimate beside the metric its rows realised once their labels matured."""
    value, se = estimate["value"], estimate.get("standard_error")
    gap = None
    if realised is not None and se:
        gap = round((value - realised) / se, 3)
    return {
        "as_of": estimate.get("as_of"),
        "days": estimate["days"],
        "metric": estimate.get("metric"),
        "estimated": value,
        "standard_error": se,
        "realised": realised,
        "rows": rows,
        "gap_in_standard_errors": gap,
    }


def _days(timestamps: pd.Series) -> list[str]:
    """The distinct UTC days of the timestamps, oldest first (one per day, not per row)."""
    return [d.date().isoformat() for d in sorted(timestamps.dt.floor("D").unique())]


def _span(timestamps: pd.Series) -> dict[str, Any]:
    return {
        "rows": len(timestamps),
        "start": timestamps.min().date().isoformat() if len(timestamps) else None,
        "end": timestamps.max().date().isoformat() if len(timestamps) else None,
    }


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _realised_draws(
    proba: np.ndarray, score: np.ndarray, predicted: np.ndarray, rng: Any
) -> dict[str, np.ndarray]:
    """Every metric as realised under LABEL_DRAWS label vectors drawn from the calibrated p,
    drawn in blocks of at most ~2 million cells so a big window stays within memory."""
    ranks, positive = _average_ranks(score), predicted.astype(np.float64)
    block = max(1, min(LABEL_DRAWS, 2_000_000 // proba.size))
    n_pos, tp, rank_sum = (np.empty(LABEL_DRAWS) for _ in range(3))
    for start in range(0, LABEL_DRAWS, block):
        stop = min(start + block, LABEL_DRAWS)
        labels = (rng.random((stop - start, proba.size)) < proba).astype(np.float64)
        n_pos[start:stop] = labels.sum(axis=1)
        tp[start:stop] = labels @ positive
        rank_sum[start:stop] = labels @ ranks
    n_neg = proba.size - n_pos
    fp = predicted.sum() - tp
    fn = n_pos - tp
    tn = n_neg - fp
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "accuracy": (tp + tn) / proba.size,
            "precision": np.where(tp + fp > 0, tp / (tp + fp), np.nan),
            "recall": np.where(n_pos > 0, tp / n_pos, np.nan),
            "f1": np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan),
            "roc_auc": (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg),
        }


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties given their mean rank (as the Mann-Whitney form of ROC AUC needs)."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    first = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], values.size]
    mean_rank = (starts + ends + 1) / 2.0
    ranks = np.empty(values.size)
    ranks[order] = mean_rank[group]
    return ranks


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan


def _nanstd(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.std(ddof=1)) if finite.size > 1 else math.nan
