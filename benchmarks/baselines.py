"""The baselines of the decision replay, computed in-process with the project's own training code.

"never retrain" (the bootstrap model), and a weekly cron per recipe, with the holdout week left
out of the fit or refit on all of it. Every model is scored on exactly the rows the loop scores:
the window's labels matured at its end, `min_labelled_rows` or more of them.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.decisions_table import FreshnessPoint, PolicyWindow
from benchmarks.recipes import Recipe, recency_weights
from retrain import data
from retrain.config import ModelConfig, Task
from retrain.data import Window
from retrain.loop import monitoring_window, training_window
from retrain.training import (
    TrainingError,
    build_pipeline,
    evaluate,
    features,
    mask_immature_labels,
    matured,
    target,
    time_split,
)

NEVER = "never retrain"


def cron_policy(recipe: Recipe, refit: bool) -> str:
    """The name of the weekly cron that fits `recipe` (holdout week left out, or refit)."""
    return f"cron {recipe.name} {'refit' if refit else 'holdout'}"


@dataclass(frozen=True)
class History:
    """Every row the replay needs, read once from S3 in segments whose edges are window edges."""

    frame: pd.DataFrame
    segment_start: np.ndarray  # per row: ordinal of the first day of the segment it was read in
    edges: frozenset[date]

    def rows(self, window: Window) -> pd.DataFrame:
        """The rows of the window's partitions (its edges must be segment edges)."""
        if window.start not in self.edges or window.end not in self.edges:
            raise ValueError(f"window {window.start}..{window.end} was not planned when loading")
        keep = (self.segment_start >= window.start.toordinal()) & (
            self.segment_start < window.end.toordinal()
        )
        return self.frame[keep]


def load_history(s3: Any, config: ModelConfig, windows: Iterable[Window]) -> History:
    """Read the partitions of all windows with `retrain.data.load_window`, one segment per call."""
    edges = sorted({d for w in windows for d in (w.start, w.end)})
    frames, starts = [], []
    for start, end in itertools.pairwise(edges):
        frame = data.load_window(s3, config.data, config.columns, Window(start, end)).frame
        if len(frame):
            frames.append(frame)
            starts.append(np.full(len(frame), start.toordinal()))
    if not frames:
        raise TrainingError(
            f"no data in s3://{config.data.bucket}/{config.data.prefix}/ between {edges[0]} and "
            f"{edges[-1]}"
        )
    frame = pd.concat(frames, ignore_index=True)
    return History(frame, np.concatenate(starts), frozenset(edges))


def planned_windows(config: ModelConfig, points: list[date], recipes: list[Recipe]) -> list[Window]:
    """Every window the replay reads: monitoring windows, and each recipe's training windows."""
    scored = [monitoring_window(config, p) for p in points[1:]]
    trained = [training_window(with_days(config, r.days), p) for r in recipes for p in points]
    return scored + trained


def with_days(config: ModelConfig, days: int) -> ModelConfig:
    """The config with `windows.training_days` replaced."""
    windows = config.windows.model_copy(update={"training_days": days})
    return config.model_copy(update={"windows": windows})


@dataclass(frozen=True)
class Fit:
    model: Any
    seconds: float
    rows: int


def fit_recipe(
    history: History, config: ModelConfig, recipe: Recipe, as_of: date, refit: bool
) -> Fit:
    """Fit the recipe as of `as_of` on matured labels; holdout days left out unless `refit`."""
    cfg = with_days(config, recipe.days)
    frame = mask_immature_labels(history.rows(training_window(cfg, as_of)), cfg, as_of)
    split = time_split(frame, cfg, as_of)
    rows = pd.concat([split.train, split.holdout]) if refit else split.train
    need = config.thresholds.min_labelled_rows
    y = target(rows, config) if len(rows) else np.array([])
    if len(rows) < need or (config.task is Task.classification and len(np.unique(y)) < 2):
        raise TrainingError(
            f"recipe {recipe.name} as of {as_of}: {len(rows)} matured rows to fit "
            f"(need {need} and two classes)"
        )
    fit_params = {}
    if recipe.half_life_days is not None:
        ts = rows[config.columns.timestamp]
        weights = recency_weights(ts, split.cutoff, recipe.half_life_days)
        fit_params["estimator__sample_weight"] = weights
    model = build_pipeline(cfg)
    began = time.perf_counter()
    model.fit(features(rows, cfg), y, **fit_params)
    return Fit(model, time.perf_counter() - began, len(rows))


class Scorer:
    """Scores models on each window's matured labels, the rows the loop scores its champion on."""

    def __init__(self, history: History, config: ModelConfig) -> None:
        self.history, self.config = history, config
        self._rows: dict[date, pd.DataFrame | None] = {}

    def rows(self, as_of: date) -> pd.DataFrame | None:
        """Matured rows of the window ending `as_of`; None when fewer than the flow needs."""
        if as_of not in self._rows:
            window = self.history.rows(monitoring_window(self.config, as_of))
            found = matured(mask_immature_labels(window, self.config, as_of), self.config)
            enough = len(found) >= self.config.thresholds.min_labelled_rows
            self._rows[as_of] = found if enough else None
        return self._rows[as_of]

    def score(self, model: Any, as_of: date) -> float | None:
        rows = self.rows(as_of)
        return None if rows is None else evaluate(model, rows, self.config)


def never_retrain(scorer: Scorer, default: Recipe, points: list[date]) -> list[PolicyWindow]:
    """The bootstrap model (default recipe, holdout left out, as the loop's bootstrap) forever."""
    boot = fit_recipe(scorer.history, scorer.config, default, points[0], refit=False)
    return [
        PolicyWindow(NEVER, p, scorer.score(boot.model, p), False, False, 0.0) for p in points[1:]
    ]


def weekly_cron(
    scorer: Scorer,
    recipe: Recipe,
    refit: bool,
    points: list[date],
    max_age: int = 0,
    log: Callable[[str], None] = print,
    sample: int = 1,
) -> tuple[list[PolicyWindow], list[FreshnessPoint]]:
    """Fit at every decision point but the last; serve the model in the next window.

    With `max_age`, also score each model `1..max_age` windows after it was fitted (the
    freshness curve); the age-1 score is the cron's own. `sample` > 1 fits (and scores the
    cron) only at every sample-th point, the first included, to save time."""
    policy, served, fresh = cron_policy(recipe, refit), [], []
    for i, trained_at in enumerate(points[:-1]):
        if i % sample:
            continue
        fit = fit_recipe(scorer.history, scorer.config, recipe, trained_at, refit)
        metric = scorer.score(fit.model, points[i + 1])
        served.append(PolicyWindow(policy, points[i + 1], metric, True, True, fit.seconds))
        for age in range(1, max_age + 1):
            if i + age < len(points):
                later = points[i + age]
                value = metric if age == 1 else scorer.score(fit.model, later)
                fresh.append(FreshnessPoint(trained_at, age, later, value))
        log(f"  {policy:<22} fitted {trained_at} on {fit.rows:>6} rows in {fit.seconds:5.1f}s: "
            f"{_num(metric)} on the window ending {points[i + 1]}")  # fmt: skip
    return served, fresh


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
