"""CBPE: NannyML's method by hand, honest error on a stationary stream, and where it moves."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression

from retrain.metrics import roc_auc
from retrain.monitoring.estimate import (
    CALIBRATION_RESAMPLES,
    ESTIMATED_METRICS,
    _bootstrap_calibrations,
    cbpe,
    confusion_metrics,
    estimate_metrics,
    expected_confusion,
    expected_roc_auc,
)


def _stream(
    rng: np.random.Generator, n: int, slope: float = 2.0, centre: float = 0.0, spread: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores the champion serves (monotone in x ~ N(centre, spread), miscalibrated), predicted
    classes, labels drawn from the true P(y=1 | x) = sigmoid(slope * x - 1)."""
    x = rng.normal(centre, spread, n)
    score = 1 / (1 + np.exp(-1.5 * x))
    label = (rng.random(n) < 1 / (1 + np.exp(-(slope * x - 1)))).astype(int)
    return score, (score >= 0.5).astype(int), label


def _realised(score: np.ndarray, predicted: np.ndarray, label: np.ndarray) -> dict[str, float]:
    pos, y = predicted.astype(bool), label.astype(bool)
    cells = [(pos & y).sum(), (pos & ~y).sum(), (~pos & y).sum(), (~pos & ~y).sum()]
    out = confusion_metrics(*(float(c) for c in cells))
    out["roc_auc"] = roc_auc(label, score)
    return out


def test_expected_confusion_matrix_by_hand() -> None:
    # NannyML's CBPE: a row predicted positive adds p to TP and 1 - p to FP; a row predicted
    # negative adds p to FN and 1 - p to TN. Rows p = .9, .7 predicted 1; .4, .2 predicted 0.
    proba = np.array([0.9, 0.7, 0.4, 0.2])
    predicted = np.array([1, 1, 0, 0])
    tp, fp, fn, tn = expected_confusion(proba, predicted)
    assert (tp, fp, fn, tn) == pytest.approx((1.6, 0.4, 0.6, 1.4))
    got = estimate_metrics(proba, proba, predicted)
    assert got["accuracy"] == pytest.approx(3.0 / 4)  # (1.6 + 1.4) / 4
    assert got["precision"] == pytest.approx(0.8)  # 1.6 / 2.0
    assert got["recall"] == pytest.approx(1.6 / 2.2)
    assert got["f1"] == pytest.approx(3.2 / 4.2)  # 2 TP / (2 TP + FP + FN)


def test_expected_roc_auc_by_hand() -> None:
    # Thresholds .9, .6, .3, .2: expected TP .9, 1.5, 1.8, 2.0 of 2.0 and FP .1, .5, 1.2, 2.0
    # of 2.0 give the curve (0,0) (.05,.45) (.25,.75) (.6,.9) (1,1), area
    # .01125 + .12 + .28875 + .38 = 0.8; the pairwise form agrees:
    # (sum over ranked pairs p_i (1 - p_j) + half of sum p_i (1 - p_i)) / (P N) = 3.2 / 4.
    proba = np.array([0.2, 0.9, 0.3, 0.6])
    assert expected_roc_auc(proba, proba) == pytest.approx(0.8)
    # Ranked by the served score, not the calibrated probability: a monotone map changes nothing.
    assert expected_roc_auc(proba, np.log(proba)) == pytest.approx(0.8)
    # Tied scores form one threshold: two rows tied at the top are one step of the curve.
    tied = expected_roc_auc(np.array([0.9, 0.7, 0.1]), np.array([1.0, 1.0, 0.0]))
    tpr, fpr = 1.6 / 1.7, 0.4 / 1.3  # at threshold 1: TP .9 + .7 of 1.7, FP .1 + .3 of 1.3
    assert tied == pytest.approx(fpr * tpr / 2 + (1 - fpr) * (tpr + 1) / 2)


def test_expected_roc_auc_is_the_expected_share_of_correctly_ordered_pairs() -> None:
    """On 300 rows with distinct scores the curve's area equals the pairwise form: for every
    pair (i ranked above j) p_i (1 - p_j), plus half of p_i (1 - p_i) for each row, over the
    expected positives times the expected negatives."""
    rng = np.random.default_rng(2)
    proba = rng.random(300)
    above = proba[:, None] > proba[None, :]
    pairs = (proba[:, None] * (1 - proba[None, :]))[above].sum()
    pairs += 0.5 * (proba * (1 - proba)).sum()
    want = pairs / (proba.sum() * (1 - proba).sum())
    assert expected_roc_auc(proba, proba) == pytest.approx(want, rel=1e-12)


def test_certain_probabilities_reproduce_the_realised_metrics() -> None:
    # With p in {0, 1} the expectation is the realised confusion matrix and ROC AUC.
    rng = np.random.default_rng(3)
    score = rng.random(500)
    label = (rng.random(500) < score).astype(int)
    predicted = (score >= 0.5).astype(int)
    got = estimate_metrics(label.astype(float), score, predicted)
    want = _realised(score, predicted, label)
    for name in ESTIMATED_METRICS:
        assert got[name] == pytest.approx(want[name]), name


@pytest.mark.slow
def test_stationary_stream_estimate_within_its_error() -> None:
    """Calibrated on 5,000 labelled rows, estimated on 2,000 from the same stream, 30 windows:
    for every metric the gap to the realised one, in standard errors, behaves like a standard
    normal's (within 3 SE in at least 29, within 2 SE in at least 25), yet exceeds 1 SE in some
    (the SE is not padded), and the SE is the right size for 2,000 rows."""
    gaps: dict[str, list[float]] = {name: [] for name in ESTIMATED_METRICS}
    errors: dict[str, list[float]] = {name: [] for name in ESTIMATED_METRICS}
    for seed in range(30):
        rng = np.random.default_rng(seed)
        ref_score, _, ref_label = _stream(rng, 5000)
        score, predicted, label = _stream(rng, 2000)
        est = cbpe(ref_score, ref_label, score, predicted, "roc_auc", seed=seed)
        realised = _realised(score, predicted, label)
        assert est.rows == 2000 and est.calibration_rows == 5000
        assert est.standard_error == est.standard_errors["roc_auc"]
        for name in ESTIMATED_METRICS:
            se = est.standard_errors[name]
            gaps[name].append(abs(est.metrics[name] - realised[name]) / se)
            errors[name].append(se)
    for name in ESTIMATED_METRICS:
        z = np.array(gaps[name])
        assert (z <= 3).sum() >= 29, (name, z.round(2))
        assert (z <= 2).sum() >= 25, (name, z.round(2))
        assert (z > 1).sum() >= 4, (name, z.round(2))
        assert 0.003 < float(np.mean(errors[name])) < 0.03, name


def test_concept_shift_breaks_the_estimate() -> None:
    """Labels' relation to the score weakens (slope 2 -> 0.3): the realised ROC AUC falls, the
    estimate from the old calibration does not, and the gap is far beyond its error."""
    rng = np.random.default_rng(11)
    ref_score, _, ref_label = _stream(rng, 5000)
    score, predicted, label = _stream(rng, 2000, slope=0.3)
    est = cbpe(ref_score, ref_label, score, predicted, "roc_auc")
    realised = _realised(score, predicted, label)["roc_auc"]
    assert realised < 0.65 < est.value
    assert est.value - realised > 5 * est.standard_error


def test_input_shift_moves_the_estimate_with_the_realised_metric() -> None:
    """Inputs crowd near the boundary (x ~ N(0.25, 0.3): borderline rows, the concept unchanged):
    estimated accuracy falls, as the realised accuracy does, and stays within its error of it."""
    rng = np.random.default_rng(5)
    ref_score, _, ref_label = _stream(rng, 5000)
    before = cbpe(ref_score, ref_label, *_stream(rng, 2000)[:2], "accuracy")
    score, predicted, label = _stream(rng, 2000, centre=0.25, spread=0.3)
    after = cbpe(ref_score, ref_label, score, predicted, "accuracy")
    realised = _realised(score, predicted, label)["accuracy"]
    assert after.value < before.value - 3 * before.standard_error
    assert abs(after.value - realised) <= 3 * after.standard_error


def test_bound_points_the_optimistic_way() -> None:
    est = cbpe(*_two_class_reference(), np.array([0.2, 0.8]), np.array([0, 1]), "accuracy")
    assert est.bound(higher_is_better=True) == est.value + 2 * est.standard_error
    assert est.bound(higher_is_better=False) == est.value - 2 * est.standard_error


def test_refuses_what_it_cannot_estimate() -> None:
    score, label = _two_class_reference()
    with pytest.raises(ValueError, match="no estimate"):
        cbpe(score, label, score, label, "rmse")
    with pytest.raises(ValueError, match="both classes"):
        cbpe(score, np.zeros_like(label), score, label, "accuracy")
    with pytest.raises(ValueError, match="no unlabelled rows"):
        cbpe(score, label, np.array([]), np.array([]), "accuracy")
    assert math.isnan(expected_roc_auc(np.ones(3), np.arange(3.0)))


def _two_class_reference() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    score = rng.random(400)
    return score, (rng.random(400) < score).astype(int)


@pytest.mark.parametrize("decimals", [2, None])
def test_bootstrap_refits_equal_sklearn_isotonic_refits(decimals: int | None) -> None:
    """The calibration bootstrap refits from row counts on scores sorted once: the same
    probabilities as IsotonicRegression fitted on each resample (ties of the score included)."""
    rng = np.random.default_rng(3)
    ref_score = rng.random(3000).astype(np.float32)
    if decimals is not None:
        ref_score = np.round(ref_score, decimals)  # many ties
    ref_label = (rng.random(3000) < ref_score).astype(int)
    score = rng.random(500)
    fast = list(_bootstrap_calibrations(ref_score, ref_label, score, np.random.default_rng(7)))
    draws, slow = np.random.default_rng(7), []
    order = np.argsort(ref_score, kind="stable")
    for _ in range(CALIBRATION_RESAMPLES):
        weights = np.empty(ref_score.size)
        weights[order] = draws.poisson(1.0, ref_score.size)  # drawn in score order
        kept = weights > 0
        refit = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
            ref_score[kept].astype(np.float64), ref_label[kept], sample_weight=weights[kept]
        )
        slow.append(refit.predict(score))
    assert len(fast) == len(slow) == CALIBRATION_RESAMPLES
    for mine, theirs in zip(fast, slow, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-12)


def test_bootstrap_skips_resamples_of_a_single_class() -> None:
    ref_score, ref_label = np.array([0.1, 0.9]), np.array([0, 1])
    refits = list(
        _bootstrap_calibrations(ref_score, ref_label, ref_score, np.random.default_rng(0))
    )
    assert 0 < len(refits) < CALIBRATION_RESAMPLES  # about half the resamples of 2 rows
