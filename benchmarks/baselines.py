"""The baselines of the decision replay, computed in-process with the project's own training code.

"never retrain" (the bootstrap model), and a weekly cron per recipe, with the holdout week left
out of the fit or refit on all of it. Every model is scored on exactly the rows the loop scores:
the window's labels matured at its end, `min_labelled_rows` or more of them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.decisions_table import FreshnessPoint, PolicyWindow
from retrain.config import ModelConfig, Recipe
from retrain.data import s3 as data
from retrain.data.label_feed import with_feed_labels
from retrain.data.s3 import Window
from retrain.loop import monitoring_window
from retrain.training import pipeline as training
from retrain.training.pipeline import TrainingError, evaluate, mask_immature_labels, matured, slices

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
    """Read the partitions of all windows with `retrain.data.s3.load_window`, one segment per
    call."""
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
    # a label feed: every label of the range, its arrival time deciding maturity per window
    frame = with_feed_labels(s3, config, frame, Window(edges[0], edges[-1]), edges[-1])
    return History(frame, np.concatenate(starts), frozenset(edges))


def planned_windows(config: ModelConfig, points: list[date], recipes: list[Recipe]) -> list[Window]:
    """Every window the replay reads: monitoring windows, and each recipe's fit windows."""
    scored = [monitoring_window(config, p) for p in points[1:]]
    trained = [
        fit_window(config, r, p, refit) for r in recipes for p in points for refit in (False, True)
    ]
    return scored + trained


def fit_window(config: ModelConfig, recipe: Recipe, as_of: date, refit: bool) -> Window:
    """The partitions a cron fit as of `as_of` reads: the recipe's days before the label cutoff
    (refit) or before the holdout week (holdout left out, as the loop's gate fit), to `as_of`."""
    end = _fit_end(config, as_of, refit)
    return Window((end - timedelta(days=recipe.days)).date(), as_of)


def _fit_end(config: ModelConfig, as_of: date, refit: bool) -> datetime:
    cut = slices(config, as_of)
    return cut.cutoff if refit else cut.holdout_start


@dataclass(frozen=True)
class Fit:
    model: Any
    seconds: float
    rows: int


def fit_recipe(
    history: History, config: ModelConfig, recipe: Recipe, as_of: date, refit: bool
) -> Fit:
    """Fit the recipe as of `as_of` with the loop's own code (retrain.training.pipeline.fit_recipe):
    up to the label cutoff when `refit`, else up to the holdout week."""
    frame = mask_immature_labels(
        history.rows(fit_window(config, recipe, as_of, refit)), config, as_of
    )
    fit = training.fit_recipe(frame, config, recipe, _fit_end(config, as_of, refit))
    return Fit(fit.model, fit.seconds, len(fit.train))


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
                fresh.append(FreshnessPoint(trained_at, age, later, value, policy))
        log(f"  {policy:<22} fitted {trained_at} on {fit.rows:>6} rows in {fit.seconds:5.1f}s: "
            f"{_num(metric)} on the window ending {points[i + 1]}")  # fmt: skip
    return served, fresh


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
