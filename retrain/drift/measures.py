"""Evidently 0.7's drift stattests, computed from reference statistics and the window's values.

Each function matches the Evidently stattest of the same name (`evidently/legacy/calculations/
stattests/`): same binning, same zero filling, same normalisation. Numeric references kept as
quantiles make the results approximate (to about 1e-3 of the reference std for `wasserstein`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats as sstats
from scipy.spatial import distance

from retrain.drift.reference import OTHER, NumericStats

P_VALUE_METHODS = {"ks", "chisquare", "z"}
NUMERIC_FROM_STATS = {"wasserstein", "ks", "psi", "kl_div", "jensenshannon"}
CATEGORICAL_FROM_STATS = {"jensenshannon", "chisquare", "z", "psi", "kl_div", "hellinger"}
_FEW_VALUES = 20  # Evidently bins numbers by value (not by histogram) at or below this


def is_drift(method: str, score: float, threshold: float) -> bool:
    """Evidently's verdict: p-values drift below the threshold, distances at or above it."""
    if method == "ks":
        return score <= threshold
    if method in P_VALUE_METHODS:
        return score < threshold
    return score >= threshold


def wasserstein_norm(ref: NumericStats, cur: np.ndarray) -> float:
    """W1(ref, cur) / max(std(ref), 0.001); `cur` holds sorted finite values."""
    norm = max(ref.std, 0.001)
    if ref.exact:  # both CDFs are steps: integrate |F - G| exactly over the merged values
        points = _merged_distinct(ref.xs, cur)
        f = ref.cdf(points)
        g = np.searchsorted(cur, points, side="right") / len(cur)
        return float(np.sum(np.abs(f - g)[:-1] * np.diff(points)) / norm)
    # quantile form: W1 = integral over u of |F^-1(u) - G^-1(u)|; G^-1 is constant on each
    # (i/m, (i+1)/m] and F^-1 linear between knots, so the midpoint rule is all but exact
    u = (np.arange(len(cur), dtype="float64") + 0.5) / len(cur)
    return float(np.mean(np.abs(ref.quantile(u) - cur)) / norm)


def ks_pvalue(ref: NumericStats, cur: np.ndarray) -> float:
    """Two-sample K-S p-value from sup|F - G| (scipy's asymptotic distribution)."""
    points = _merged_distinct(ref.xs, cur)
    g_right = np.searchsorted(cur, points, side="right") / len(cur)
    d = np.abs(ref.cdf(points) - g_right).max()
    if not ref.exact:
        g_left = np.searchsorted(cur, points, side="left") / len(cur)
        d = max(d, np.abs(ref.cdf(points, right=False) - g_left).max())
    n, m = sorted([float(ref.rows), float(len(cur))], reverse=True)
    return float(np.clip(sstats.kstwo.sf(d, np.round(n * m / (n + m))), 0.0, 1.0))


def _merged_distinct(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distinct values of two sorted arrays (a stable sort merges two sorted runs fast)."""
    merged = np.sort(np.concatenate([a, b]), kind="stable")
    return merged[np.concatenate([[True], merged[1:] != merged[:-1]])]


def sturges_edges(lo: float, hi: float, size: int) -> np.ndarray:
    """np.histogram_bin_edges(data, 'sturges') from the data's min, max and size."""
    width = (hi - lo) / (np.log2(size) + 1.0)
    first, last = (lo - 0.5, hi + 0.5) if lo == hi else (lo, hi)
    bins = int(np.ceil((last - first) / width)) if width else 1
    return np.linspace(first, last, bins + 1, endpoint=True)


def _histogram(ref: NumericStats, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shares per Sturges bin over both sides, as Evidently's get_binned_data (last bin closed)."""
    edges = sturges_edges(min(ref.xs[0], cur[0]), max(ref.xs[-1], cur[-1]), ref.rows + len(cur))
    cum_cur = np.concatenate(
        [np.searchsorted(cur, edges[:-1], "left"), np.searchsorted(cur, edges[-1:], "right")]
    )
    cum_ref = np.concatenate([ref.cdf(edges[:-1], right=False), ref.cdf(edges[-1:])])
    return np.diff(cum_ref), np.diff(cum_cur) / len(cur)


def _fill_zeroes(shares: np.ndarray) -> np.ndarray:
    smallest = shares[shares != 0].min()
    fill = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return np.where(shares == 0, fill, shares)


def binned_score(method: str, ref: np.ndarray, cur: np.ndarray) -> float:
    """jensenshannon, psi or kl_div of two share vectors over the same bins."""
    if method == "jensenshannon":
        return float(distance.jensenshannon(ref, cur))
    ref, cur = _fill_zeroes(ref), _fill_zeroes(cur)
    if method == "psi":
        return float(np.sum((ref - cur) * np.log(ref / cur)))
    if method == "kl_div":
        return float(sstats.entropy(ref, cur))
    raise ValueError(f"{method} is not a binned method")


def numeric_score(method: str, ref: NumericStats, cur: np.ndarray) -> float:
    """A numeric column's drift score from its reference statistics and sorted finite values."""
    if method == "wasserstein":
        return wasserstein_norm(ref, cur)
    if method == "ks":
        return ks_pvalue(ref, cur)
    if method not in NUMERIC_FROM_STATS:
        raise ValueError(f"{method} cannot be computed from statistics")
    if ref.distinct <= _FEW_VALUES:
        values, counts = np.unique(cur, return_counts=True)
        current = dict(zip(values.tolist(), counts.tolist(), strict=True))
        return categorical_score(method, ref.value_counts(), 0, current)
    ref_shares, cur_shares = _histogram(ref, cur)
    return binned_score(method, ref_shares, cur_shares)


def _aligned(
    ref: dict[Any, int], other: int, cur: dict[Any, int]
) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """Counts of both sides over the union of values (values unknown to a pooled ref -> OTHER)."""
    if other:
        pooled = sum(c for k, c in cur.items() if k not in ref)
        cur = {k: c for k, c in cur.items() if k in ref}
        cur[OTHER] = cur.get(OTHER, 0) + pooled
        ref = {**ref, OTHER: ref.get(OTHER, 0) + other}
    keys = list(ref.keys() | cur.keys())
    ref_counts = np.array([ref.get(k, 0) for k in keys], dtype="float64")
    cur_counts = np.array([cur.get(k, 0) for k in keys], dtype="float64")
    return keys, ref_counts, cur_counts


def categorical_score(method: str, ref: dict[Any, int], other: int, cur: dict[Any, int]) -> float:
    """A categorical column's drift score from value counts (non-null values only)."""
    keys, ref_counts, cur_counts = _aligned(ref, other, cur)
    n, m = ref_counts.sum(), cur_counts.sum()
    if method in ("jensenshannon", "psi", "kl_div"):
        return binned_score(method, ref_counts / n, cur_counts / m)
    if method == "chisquare":
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(sstats.chisquare(cur_counts, ref_counts * (m / n))[1])
    if method == "z":
        return _z_pvalue(keys, ref_counts, cur_counts)
    if method == "hellinger":
        overlap = float(np.clip(np.sum(np.sqrt(ref_counts / n * (cur_counts / m))), 0, 1))
        return math.sqrt(1 - overlap)
    raise ValueError(f"{method} cannot be computed from statistics")


def _z_pvalue(keys: list[Any], ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Evidently's two-proportion z-test: the share of values other than the smallest key."""
    ref_seen, cur_seen = ref_counts > 0, cur_counts > 0
    if ref_seen.sum() == 1 and cur_seen.sum() == 1 and (ref_seen == cur_seen).all():
        return 1.0
    first = keys.index(sorted(keys)[0])
    n1, n2 = ref_counts.sum(), cur_counts.sum()
    p1, p2 = (n1 - ref_counts[first]) / n1, (n2 - cur_counts[first]) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - sstats.norm.cdf(np.abs(z))))
