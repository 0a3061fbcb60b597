"""The champion/challenger gate: promote only a win that is large, above the floor and not noise."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from retrain.metrics import higher_is_better, oriented_gain, resample_scorer, score

MIN_SEGMENT_ROWS = 30
SUPERIORITY, NON_INFERIORITY = "superiority", "non_inferiority"
_CHUNK = 16  # resamples scored per block: keeps the index matrix small and in cache


@dataclass(frozen=True)
class GateResult:
    """The gate's verdict, its reasons, and the statistics behind it."""

    promote: bool
    reasons: tuple[str, ...]
    metric: str
    challenger_score: float
    champion_score: float | None
    gain: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_rows: int
    segment_gains: dict[str, float] = field(default_factory=dict)
    mode: str = SUPERIORITY
    margin: float | None = None
    regressed_segments: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable record, for version tags and the run report."""
        return {
            **asdict(self),
            "reasons": list(self.reasons),
            "regressed_segments": list(self.regressed_segments),
        }


def gate(
    metric: str,
    y_true: np.ndarray,
    challenger_pred: np.ndarray,
    champion_pred: np.ndarray | None,
    *,
    min_gain: float,
    floor: float | None,
    resamples: int,
    alpha: float,
    seed: int = 0,
    segments: np.ndarray | None = None,
    max_segment_regression: float | None = None,
    min_segment_rows: int = MIN_SEGMENT_ROWS,
    mode: str = SUPERIORITY,
    margin: float = 0.0,
    classes: np.ndarray | None = None,
) -> GateResult:
    """Decide whether the challenger replaces the champion, both scored on the same rows.

    superiority: the gain must reach `min_gain` and its bootstrap lower bound exceed 0.
    non_inferiority: the bootstrap lower bound of the gain must exceed -`margin` (a fresher
    model that is not worse by more than the margin). Segments are checked when
    `max_segment_regression` is set, and only reported otherwise. `classes` names the columns
    of probability predictions (log_loss, roc_auc_ovr).
    """
    _check_args(min_gain, resamples, alpha)
    if mode not in (SUPERIORITY, NON_INFERIORITY) or margin < 0:
        raise ValueError(f"unknown gate mode {mode!r} or negative margin {margin}")
    y_true, challenger_pred = np.asarray(y_true), np.asarray(challenger_pred)
    challenger_score = score(metric, y_true, challenger_pred, classes)
    cleared = _clears_floor(metric, challenger_score, floor)
    if champion_pred is None:
        return GateResult(
            promote=cleared,
            reasons=("no_champion",) if cleared else ("no_champion", "below_floor"),
            metric=metric,
            challenger_score=challenger_score,
            champion_score=None,
            gain=None,
            ci_low=None,
            ci_high=None,
            p_value=None,
            n_rows=y_true.size,
            mode=mode,
        )
    champion_pred = np.asarray(champion_pred)
    champion_score = score(metric, y_true, champion_pred, classes)
    gain = oriented_gain(metric, challenger_score, champion_score)
    gains = bootstrap_gains(
        metric, y_true, challenger_pred, champion_pred, resamples, seed, classes
    )
    ci_low, ci_high, p_value = _interval(gains, alpha)
    seg_gains: dict[str, float] = {}
    if segments is not None:
        seg_gains = segment_gains(
            metric, y_true, challenger_pred, champion_pred, segments, min_segment_rows, classes
        )
    regressed: tuple[str, ...] = ()
    if max_segment_regression is not None:
        regressed = tuple(k for k, g in sorted(seg_gains.items()) if g < -max_segment_regression)
    failures = [] if cleared else ["below_floor"]
    if mode == SUPERIORITY:
        if gain < min_gain:
            failures.append("gain_below_min")
        if ci_low is None or ci_low <= 0:
            failures.append("not_significant")
    elif ci_low is None or ci_low <= -margin:
        failures.append("worse_than_margin")
    failures += [f"segment_regression:{key}" for key in regressed]
    won = "challenger_wins" if mode == SUPERIORITY else "not_worse_than_margin"
    return GateResult(
        promote=not failures,
        reasons=tuple(failures) or (won,),
        metric=metric,
        challenger_score=challenger_score,
        champion_score=champion_score,
        gain=gain,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=p_value,
        n_rows=y_true.size,
        segment_gains=seg_gains,
        mode=mode,
        margin=margin if mode == NON_INFERIORITY else None,
        regressed_segments=regressed,
    )


def bootstrap_gains(
    metric: str,
    y_true: np.ndarray,
    challenger_pred: np.ndarray,
    champion_pred: np.ndarray,
    resamples: int,
    seed: int,
    classes: np.ndarray | None = None,
) -> np.ndarray:
    """Challenger's oriented gain on paired resamples of the rows; undefined draws are dropped."""
    rng = np.random.default_rng(seed)
    n = y_true.size
    sign = 1.0 if higher_is_better(metric) else -1.0
    challenger = resample_scorer(metric, y_true, challenger_pred, classes)
    champion = resample_scorer(metric, y_true, champion_pred, classes)
    dtype = np.int32 if n < 2**31 else np.intp
    blocks = []
    for start in range(0, resamples, _CHUNK):
        rows = rng.integers(0, n, size=(min(_CHUNK, resamples - start), n), dtype=dtype)
        blocks.append(sign * (challenger(rows) - champion(rows)))
    gains = np.concatenate(blocks)
    return gains[~np.isnan(gains)]


def segment_gains(
    metric: str,
    y_true: np.ndarray,
    challenger_pred: np.ndarray,
    champion_pred: np.ndarray,
    segments: np.ndarray,
    min_rows: int = MIN_SEGMENT_ROWS,
    classes: np.ndarray | None = None,
) -> dict[str, float]:
    """Oriented gain in each segment large enough to judge and where the metric is defined."""
    keys = np.asarray(segments).astype(str)
    if keys.shape != y_true.shape:
        raise ValueError(f"segments have shape {keys.shape}, rows {y_true.shape}")
    gains: dict[str, float] = {}
    values, counts = np.unique(keys, return_counts=True)
    for key in values[counts >= min_rows]:
        rows = keys == key
        if metric == "roc_auc" and np.unique(y_true[rows]).size < 2:
            continue
        if metric == "roc_auc_ovr" and np.unique(y_true[rows]).size < _class_count(
            challenger_pred, classes
        ):
            continue  # a class absent from the segment: one-vs-rest AUC is undefined there
        challenger = score(metric, y_true[rows], challenger_pred[rows], classes)
        champion = score(metric, y_true[rows], champion_pred[rows], classes)
        gains[str(key)] = oriented_gain(metric, challenger, champion)
    return gains


def _class_count(proba: np.ndarray, classes: np.ndarray | None) -> int:
    return int(np.asarray(classes).size if classes is not None else np.asarray(proba).shape[1])


def _interval(gains: np.ndarray, alpha: float) -> tuple[float | None, float | None, float | None]:
    if gains.size == 0:
        return None, None, None
    low, high = np.quantile(gains, [alpha, 1 - alpha])
    return float(low), float(high), float(np.mean(gains <= 0))


def _clears_floor(metric: str, value: float, floor: float | None) -> bool:
    if floor is None:
        return True
    return value >= floor if higher_is_better(metric) else value <= floor


def _check_args(min_gain: float, resamples: int, alpha: float) -> None:
    if min_gain < 0:
        raise ValueError(f"min_gain must be >= 0, got {min_gain}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5), got {alpha}")
