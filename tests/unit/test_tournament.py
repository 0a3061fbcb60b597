"""The candidate tournament: the incumbent recipe keeps its place unless clearly beaten, a
concept change picks the short window, a recurring concept picks the archived version."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from retrain.config import ModelConfig, parse_config
from retrain.decisions.tournament import choose, gate_contest, run_tournament
from retrain.training.pipeline import TrainingError, fit_recipe, slices
from tests.helpers import config_dict, merge

AS_OF = date(2024, 3, 1)


def _config(**training: Any) -> ModelConfig:
    raw = merge(config_dict("t", "bucket-x", "p"), {"windows": {"holdout_days": 2}})
    del raw["windows"]["training_days"]
    raw["training"] = {
        "candidates": [{"days": 20}, {"days": 4}],
        "validation_days": 2,
        **training,
    }
    return parse_config(raw)


def _frame(first: date, days: int, flip_from: date | None, rows: int = 300) -> pd.DataFrame:
    """Daily events; the label depends on x1 and x2, with x1's sign flipped from `flip_from`."""
    frames = []
    for i in range(days):
        day = first + timedelta(days=i)
        rng = np.random.default_rng(day.toordinal())
        x1, x2 = rng.normal(0, 1, rows), rng.normal(0, 1, rows)
        sign = -1.0 if flip_from and day >= flip_from else 1.0
        logit = 2.0 * sign * x1 + 0.5 * x2 + rng.normal(0, 0.5, rows)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        seconds = np.sort(rng.integers(0, 86400, rows))
        frames.append(
            pd.DataFrame(
                {
                    "event_id": [f"{day}-{j}" for j in range(rows)],
                    "event_time": start + pd.to_timedelta(seconds, "s"),
                    "x1": x1,
                    "x2": x2,
                    "segment": rng.choice(["a", "b", "c"], rows).astype(object),
                    "label": (logit > 0).astype("float64"),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _scores(n: int, noise: dict[str, float], seed: int = 0) -> tuple[np.ndarray, dict]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return y, {name: y + rng.normal(0, s, n) for name, s in noise.items()}


def test_keeps_the_incumbent_when_the_best_is_not_clearly_better() -> None:
    y, preds = _scores(3000, {"56d": 1.0, "28d": 0.99, "14d": 1.01})
    choice = choose("roc_auc", y, preds, "56d", min_gain=0.005, alpha=0.05, resamples=300)
    assert (choice.winner, choice.reason) == ("56d", "not_clearly_beaten")
    assert choice.alpha == pytest.approx(0.025)  # Bonferroni over the two challengers


def test_switches_when_another_candidate_is_clearly_better() -> None:
    y, preds = _scores(3000, {"56d": 1.5, "28d": 0.6})
    choice = choose("roc_auc", y, preds, "56d", min_gain=0.005, alpha=0.05, resamples=300)
    assert (choice.winner, choice.reason) == ("28d", "clearly_better")
    assert choice.ci_low is not None and choice.ci_low > 0


def test_incumbent_that_could_not_run_gives_way_to_the_best() -> None:
    y, preds = _scores(1000, {"28d": 1.5, "v3": 0.6})
    choice = choose("roc_auc", y, preds, "56d", min_gain=0.005, alpha=0.05, resamples=100)
    assert (choice.winner, choice.reason) == ("v3", "incumbent_unavailable")


def test_a_concept_change_picks_the_window_after_it() -> None:
    config = _config()
    cut = slices(config, AS_OF)
    flip = (cut.validation_start - timedelta(days=4)).date()
    frame = _frame(AS_OF - timedelta(days=40), 40, flip)
    contest = run_tournament(frame, config, AS_OF, incumbent="20d", archived={})
    assert contest.choice.winner == "4d" and contest.choice.reason == "clearly_better"
    assert contest.recipe is not None and contest.recipe.days == 4
    assert contest.gate_fit is not None and contest.gate_fit.end == cut.holdout_start
    assert [e.name for e in contest.entries] == ["20d", "4d"]
    assert len(contest.fits) == 3  # two candidates up to the validation slice, one for the gate


def test_a_recurring_concept_reinstates_the_archived_version() -> None:
    config = _config()
    cut = slices(config, AS_OF)
    old = _frame(AS_OF - timedelta(days=80), 30, date(2000, 1, 1))  # concept B, long ago
    old_end = datetime.combine(AS_OF - timedelta(days=50), datetime.min.time(), tzinfo=UTC)
    old_model = fit_recipe(old, config, config.recipes[0], old_end).model
    frame = _frame(AS_OF - timedelta(days=40), 40, cut.validation_start.date())  # B returns
    contest = run_tournament(frame, config, AS_OF, incumbent="20d", archived={"3": old_model})
    assert contest.choice.winner == "v3" and contest.archived_version == "3"
    assert contest.gate_model is old_model and contest.gate_fit is None
    assert {e.name: e.kind for e in contest.entries}["v3"] == "archived"


def test_one_recipe_and_no_archive_fits_once_for_the_gate() -> None:
    config = _config(candidates=[{"days": 10}], validation_days=0)
    contest = run_tournament(_frame(AS_OF - timedelta(days=20), 20, None), config, AS_OF, None, {})
    assert contest.choice.reason == "no_comparison" and len(contest.fits) == 1


def test_weighted_recipe_fits_with_recency_weights() -> None:
    config = _config(candidates=[{"days": 20, "half_life_days": 3}], validation_days=0)
    frame = _frame(AS_OF - timedelta(days=25), 25, None)
    fit = fit_recipe(frame, config, config.recipes[0], slices(config, AS_OF).holdout_start)
    assert fit.recipe.name == "20d-h3" and len(fit.train) > 0


def test_too_few_holdout_rows_is_a_clear_error() -> None:
    config = _config()
    frame = _frame(AS_OF - timedelta(days=40), 30, None)  # stops 10 days before as_of
    with pytest.raises(TrainingError, match="in the holdout"):
        run_tournament(frame, config, AS_OF, None, {})


def test_the_gate_scores_the_winner_and_the_champion_on_the_same_holdout() -> None:
    """gate_contest (what gate_challenger runs): a champion of the old concept loses to the
    winner fitted after the change; without a champion the winner meets only the floor."""
    config = _config(candidates=[{"days": 10}], validation_days=0)
    cut = slices(config, AS_OF)
    frame = _frame(AS_OF - timedelta(days=20), 20, (cut.holdout_start - timedelta(days=8)).date())
    old_end = datetime.combine(AS_OF - timedelta(days=30), datetime.min.time(), tzinfo=UTC)
    champion = fit_recipe(
        _frame(AS_OF - timedelta(days=40), 10, None), config, config.recipes[0], old_end
    )
    contest = run_tournament(frame, config, AS_OF, None, {})

    against = gate_contest(config, contest, champion.model)
    alone = gate_contest(config, contest, None)

    assert against.promote and against.champion_score is not None
    assert against.challenger_score > against.champion_score
    assert alone.champion_score is None and alone.challenger_score == against.challenger_score
