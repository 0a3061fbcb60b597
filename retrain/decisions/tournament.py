"""The candidate tournament of a retrain: recipes and past champions compared on a validation
slice, the winner chosen so that the best of many on one noisy slice does not fool it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from retrain.config import ModelConfig, Recipe
from retrain.decisions.gate import GateResult, bootstrap_gains, gate
from retrain.metrics import oriented_gain, score
from retrain.training.pipeline import (
    Fit,
    TrainingError,
    between,
    check_labels_for_metric,
    fit_recipe,
    matured,
    metric_classes,
    predict,
    slices,
    target,
)

ARCHIVED_PREFIX = "v"  # archived candidates are named by their version, e.g. "v3"
MIN_VALIDATION_ROWS = 30


@dataclass(frozen=True)
class Entry:
    """One candidate's showing on the validation slice."""

    name: str
    kind: str  # "recipe" or "archived"
    validation_score: float | None
    rows: int | None = None
    seconds: float | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Choice:
    """Which candidate won and why: the incumbent keeps its place unless clearly beaten."""

    winner: str
    incumbent: str
    reason: str
    gain: float | None = None
    ci_low: float | None = None
    alpha: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Tournament:
    """The outcome: every entry, the choice, and the winner ready for the gate."""

    entries: list[Entry]
    choice: Choice
    recipe: Recipe | None  # the winning recipe, or None when an archived version won
    archived_version: str | None
    gate_model: Any  # what the gate scores on the holdout
    gate_fit: Fit | None  # the recipe's fit that ends where the holdout starts
    holdout: pd.DataFrame
    fits: list[Fit] = field(default_factory=list)

    @property
    def fit_seconds(self) -> float:
        return sum(f.seconds for f in self.fits)

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidates": [e.to_dict() for e in self.entries],
            "choice": self.choice.to_dict(),
            "winner": self.choice.winner,
            "archived_version": self.archived_version,
            "gate_fit": self.gate_fit.to_dict() if self.gate_fit else None,
            "fits": [f.to_dict() for f in self.fits],
            "fit_seconds": round(self.fit_seconds, 3),
            "classes": _classes(self.gate_model),
        }


def _classes(model: Any) -> list[str] | None:
    """A classifier's classes as text (what the version's `classes` tag shows)."""
    classes = getattr(model, "classes_", None)
    return None if classes is None else [str(c) for c in classes]


def choose(
    metric: str,
    y_true: np.ndarray,
    predictions: dict[str, np.ndarray],
    incumbent: str,
    *,
    min_gain: float,
    alpha: float,
    resamples: int,
    seed: int = 0,
    classes: np.ndarray | None = None,
) -> Choice:
    """Keep the incumbent unless the best candidate beats it by `min_gain` with a paired
    bootstrap lower bound above 0 at `alpha` divided by the number of challengers (Bonferroni:
    the best of k is tested as k comparisons)."""
    if not predictions:
        raise ValueError("no candidate to choose from")
    scores = {name: score(metric, y_true, pred, classes) for name, pred in predictions.items()}
    if incumbent not in scores:
        best = _best(metric, scores)
        return Choice(best, incumbent, "incumbent_unavailable")
    best = _best(metric, scores)
    if best == incumbent:
        return Choice(incumbent, incumbent, "incumbent_best")
    adjusted = alpha / max(1, len(scores) - 1)
    gains = bootstrap_gains(
        metric, y_true, predictions[best], predictions[incumbent], resamples, seed, classes
    )
    ci_low = float(np.quantile(gains, adjusted)) if gains.size else None
    gain = oriented_gain(metric, scores[best], scores[incumbent])
    if ci_low is not None and ci_low > 0 and gain >= min_gain:
        return Choice(best, incumbent, "clearly_better", gain, ci_low, adjusted)
    return Choice(incumbent, incumbent, "not_clearly_beaten", gain, ci_low, adjusted)


def _best(metric: str, scores: dict[str, float]) -> str:
    """The top scorer; ties go to the earlier candidate."""
    best = next(iter(scores))
    for name, value in scores.items():
        if oriented_gain(metric, value, scores[best]) > 0:
            best = name
    return best


def run_tournament(
    frame: pd.DataFrame,
    config: ModelConfig,
    as_of: date,
    incumbent: str | None,
    archived: dict[str, Any],
) -> Tournament:
    """Fit every recipe up to the validation slice, score them and the archived versions on it,
    choose, then fit the winning recipe up to the holdout for the gate."""
    labels = target(matured(frame, config), config) if config.task == "classification" else None
    if labels is not None:
        check_labels_for_metric(labels, config, "the training window")
    cut = slices(config, as_of)
    holdout = between(frame, config, cut.holdout_start, cut.cutoff)
    need = max(MIN_VALIDATION_ROWS, config.thresholds.min_labelled_rows // 4)
    if len(holdout) < need:
        raise TrainingError(
            f"{len(holdout)} matured labelled rows in the holdout {cut.holdout_start.date()}.."
            f"{cut.cutoff.date()}, need {need} (a quarter of thresholds.min_labelled_rows)"
        )
    recipes = {r.name: r for r in config.recipes}
    default = incumbent if incumbent in recipes else next(iter(recipes))
    validation = between(frame, config, cut.validation_start, cut.holdout_start)
    fits: list[Fit] = []
    if len(validation) < need or (len(recipes) == 1 and not archived):
        entries = [Entry(default, "recipe", None)]
        choice = Choice(default, default, "no_comparison")
    else:
        classes = metric_classes(
            config, labels if labels is not None else np.empty(0), *archived.values()
        )
        entries, predictions = _compete(
            frame, validation, config, recipes, archived, cut.validation_start, fits, classes
        )
        if not predictions:
            raise TrainingError("no candidate could be fitted or scored: " + _errors(entries))
        t = config.thresholds
        choice = choose(
            config.metric,
            target(validation, config),
            predictions,
            default,
            min_gain=t.min_gain,
            alpha=t.bootstrap_alpha,
            resamples=t.bootstrap_resamples,
            classes=classes,
        )
    if choice.winner in recipes:
        gate_fit = fit_recipe(frame, config, recipes[choice.winner], cut.holdout_start)
        fits.append(gate_fit)
        return Tournament(
            entries, choice, recipes[choice.winner], None, gate_fit.model, gate_fit, holdout, fits
        )
    version = choice.winner.removeprefix(ARCHIVED_PREFIX)
    return Tournament(entries, choice, None, version, archived[version], None, holdout, fits)


def _compete(
    frame: pd.DataFrame,
    validation: pd.DataFrame,
    config: ModelConfig,
    recipes: dict[str, Recipe],
    archived: dict[str, Any],
    validation_start: datetime,
    fits: list[Fit],
    classes: np.ndarray | None = None,
) -> tuple[list[Entry], dict[str, np.ndarray]]:
    """Every candidate scored on the validation slice (recipes fitted on the days before it);
    a candidate that cannot be fitted or scored is an entry with its error."""
    frame_y = target(validation, config)
    entries: list[Entry] = []
    predictions: dict[str, np.ndarray] = {}
    for name, recipe in recipes.items():
        try:
            fit = fit_recipe(frame, config, recipe, validation_start)
        except TrainingError as exc:
            entries.append(Entry(name, "recipe", None, error=str(exc)))
            continue
        fits.append(fit)
        predictions[name] = predict(fit.model, validation, config, classes)
        value = score(config.metric, frame_y, predictions[name], classes)
        entries.append(Entry(name, "recipe", value, len(fit.train), round(fit.seconds, 3)))
    for version, model in archived.items():
        name = f"{ARCHIVED_PREFIX}{version}"
        try:
            predictions[name] = predict(model, validation, config, classes)
            value = score(config.metric, frame_y, predictions[name], classes)
        except (ValueError, KeyError, TypeError) as exc:
            predictions.pop(name, None)
            entries.append(Entry(name, "archived", None, error=f"{type(exc).__name__}: {exc}"))
            continue
        entries.append(Entry(name, "archived", value))
    return entries, predictions


def _errors(entries: list[Entry]) -> str:
    return "; ".join(f"{e.name}: {e.error}" for e in entries if e.error)


def gate_contest(config: ModelConfig, contest: Tournament, champion_model: Any) -> GateResult:
    """The gate (retrain/decisions/gate.py) on the holdout both models are scored on: the
    tournament's
    winner against the champion (None: no champion), with the config's thresholds."""
    holdout = contest.holdout
    t = config.thresholds
    segment = config.columns.segment
    y = target(holdout, config)
    classes = metric_classes(config, y, contest.gate_model, champion_model)
    champion_side = champion_model is not None
    return gate(
        config.metric,
        y,
        predict(contest.gate_model, holdout, config, classes),
        predict(champion_model, holdout, config, classes) if champion_side else None,
        min_gain=t.min_gain,
        floor=t.absolute_floor,
        resamples=t.bootstrap_resamples,
        alpha=t.bootstrap_alpha,
        seed=0,
        segments=holdout[segment].to_numpy() if segment else None,
        max_segment_regression=t.max_segment_regression,
        min_segment_rows=t.min_segment_rows,
        mode=t.gate_mode,
        margin=t.non_inferiority_margin,
        classes=classes,
    )
