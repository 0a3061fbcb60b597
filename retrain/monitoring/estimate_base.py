"""What both CBPE estimates (binary, retrain/monitoring/estimate.py; multi-class,
retrain/monitoring/estimate_multiclass.py) share: the estimate's shape, the isotonic calibration and
the
number of label draws."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.isotonic import IsotonicRegression

LABEL_DRAWS = 200  # Monte Carlo draws of the labels the calibrated probabilities imply


@dataclass(frozen=True)
class Estimate:
    """The estimated metrics of unlabelled rows, their standard errors, and the sizes."""

    metric: str
    value: float
    standard_error: float
    rows: int
    calibration_rows: int
    metrics: dict[str, float]
    standard_errors: dict[str, float]

    def bound(self, higher_is_better: bool, z: float = 2.0) -> float:
        """The optimistic end of the estimate: value + z SE (or - z SE for an error metric)."""
        return self.value + z * self.standard_error * (1 if higher_is_better else -1)


def calibrate(score: np.ndarray, label: np.ndarray) -> IsotonicRegression:
    """Isotonic map from the champion's score to P(label = 1), fitted on labelled rows."""
    y = np.asarray(label).astype(np.float64)
    if np.unique(y).size < 2:
        raise ValueError("calibration needs both classes among the labelled rows")
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    return iso.fit(np.asarray(score, dtype=np.float64), y)
