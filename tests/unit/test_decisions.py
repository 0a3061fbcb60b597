"""The pure parts of the decision replay: recipes, weights, decision points, tables, summary."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from benchmarks.decisions_table import (
    LOOP,
    FreshnessPoint,
    PolicyWindow,
    bootstrap_check,
    cadence_rows,
    common_windows,
    costs,
    format_costs,
    format_summary,
    format_windows,
    freshness_curve,
    freshness_point,
    loop_row,
    policies,
    policy_window,
    records,
    short,
    summary,
    upper_bound,
    wide,
)
from benchmarks.recipes import decision_points, parse_recipe, parse_recipes
from retrain.config import Recipe
from retrain.training.pipeline import recency_weights
from tests.helpers import typed_record

D1, D2, D3 = date(2013, 3, 11), date(2013, 3, 18), date(2013, 3, 25)


@pytest.mark.parametrize(
    ("token", "recipe", "name"),
    [
        ("56", Recipe(days=56), "56d"),
        (" 84 ", Recipe(days=84), "84d"),
        ("365h56", Recipe(days=365, half_life_days=56), "365d-h56"),
        ("365h28", Recipe(days=365, half_life_days=28), "365d-h28"),
    ],
)
def test_parse_recipe(token: str, recipe: Recipe, name: str) -> None:
    assert parse_recipe(token) == recipe
    assert recipe.name == name


@pytest.mark.parametrize("token", ["", "abc", "56d", "h56", "365h", "1", "365h0", "-5", "56,84"])
def test_parse_recipe_refuses_bad_tokens_naming_them(token: str) -> None:
    with pytest.raises(ValueError, match="recipe"):
        parse_recipe(token)


def test_parse_recipes_puts_the_default_first_once() -> None:
    r56, r84, r365 = Recipe(days=56), Recipe(days=84), Recipe(days=365, half_life_days=56)
    found = parse_recipes("84, 56,365h56,84,", default=r56)
    assert found == [r56, r84, r365]
    assert parse_recipes("", default=r56) == [r56]
    assert parse_recipes("") == []


def test_recency_weights_halve_every_half_life() -> None:
    cutoff = datetime(2013, 3, 4, tzinfo=UTC)
    ts = pd.Series(
        pd.to_datetime(["2013-03-04", "2013-02-02", "2013-01-03", "2013-03-10"], utc=True)
    )
    weights = recency_weights(ts, cutoff, 30.0)
    np.testing.assert_allclose(weights, [1.0, 0.5, 0.25, 1.0])


def test_decision_points_bootstrap_then_every_step_inclusive() -> None:
    points = decision_points(date(2013, 3, 4), date(2013, 3, 11), date(2013, 12, 30), 7)
    assert points[0] == date(2013, 3, 4)
    assert points[1] == date(2013, 3, 11) and points[-1] == date(2013, 12, 30)
    assert len(points) == 1 + 43
    with pytest.raises(ValueError, match="bootstrap < start"):
        decision_points(date(2013, 3, 11), date(2013, 3, 11), date(2013, 3, 18), 7)
    with pytest.raises(ValueError, match="step"):
        decision_points(date(2013, 3, 4), date(2013, 3, 11), date(2013, 3, 18), 0)


def _rows() -> list[PolicyWindow]:
    return [
        PolicyWindow("never retrain", D1, 0.70, False, False, 0.0),
        PolicyWindow("never retrain", D2, 0.66, False, False, 0.0),
        PolicyWindow("never retrain", D3, 0.64, False, False, 0.0),
        PolicyWindow("cron 56 refit", D1, 0.72, True, True, 10.0),
        PolicyWindow("cron 56 refit", D2, 0.70, True, True, 12.0),
        PolicyWindow("cron 56 refit", D3, None, True, True, 11.0),
        PolicyWindow(LOOP, D1, 0.70, True, True, 20.0, "retrain -> v2 promoted"),
        PolicyWindow(LOOP, D2, 0.71, False, False, 0.0, "none"),
        PolicyWindow(LOOP, D3, 0.69, True, False, 25.0, "retrain, v3 rejected"),
    ]


def test_policies_loop_first_then_first_seen() -> None:
    assert policies(_rows()) == [LOOP, "never retrain", "cron 56 refit"]


def test_common_windows_leave_out_a_window_one_policy_could_not_score() -> None:
    assert common_windows(_rows()) == [D1, D2]


def test_summary_means_over_common_windows_and_counts_against_the_loop() -> None:
    table = {r["policy"]: r for r in summary(_rows(), {LOOP: "flow wall time"})}
    assert table[LOOP]["mean_metric"] == pytest.approx(0.705)
    assert table[LOOP]["retrains"] == 2 and table[LOOP]["promotions"] == 1
    assert table[LOOP]["train_seconds"] == 45.0
    assert table[LOOP]["seconds_per_retrain"] == 22.5
    assert table[LOOP]["seconds_source"] == "flow wall time"
    assert "minus_loop" not in table[LOOP]
    cron = table["cron 56 refit"]
    assert cron["mean_metric"] == pytest.approx(0.71) and cron["windows"] == 2
    assert cron["retrains"] == 3 and cron["train_seconds"] == 33.0
    assert cron["minus_loop"] == pytest.approx(0.005)
    assert cron["beats_loop"] == "1/2"
    never = table["never retrain"]
    assert never["retrains"] == 0 and never["seconds_per_retrain"] is None
    assert never["minus_loop"] == pytest.approx(-0.025) and never["beats_loop"] == "0/2"


def test_summary_without_the_loop_has_no_comparison() -> None:
    table = summary([r for r in _rows() if r.policy != LOOP])
    assert all("minus_loop" not in r for r in table)
    assert {r["windows"] for r in table} == {2}


def test_wide_has_one_row_per_window_with_each_policy() -> None:
    rows = wide(_rows())
    assert [r["as_of"] for r in rows] == [d.isoformat() for d in (D1, D2, D3)]
    assert rows[2]["cron 56 refit"] is None and rows[2][LOOP] == 0.69
    assert rows[0]["loop_note"] == "retrain -> v2 promoted"


def test_formatted_tables_show_every_policy() -> None:
    text = format_windows(_rows())
    assert "56 rf" in text and "never" in text and text.count("\n") == 3
    md = format_summary(summary(_rows(), {LOOP: "flow wall time"}), "roc_auc")
    assert "| loop | 0.7050 | 2 | 2 | 1 | 45* | 22.5 |  |  |" in md
    assert "| cron 56 refit | 0.7100 |" in md and "+0.0050 | 1/2 |" in md


def test_short_names() -> None:
    assert short("cron 365h56 holdout") == "365h56 ho"
    assert short("cron 84 refit") == "84 rf"
    assert short("never retrain") == "never" and short(LOOP) == LOOP


def test_freshness_curve_compares_ages_on_the_same_models() -> None:
    t0, t1, t2 = date(2013, 3, 4), D1, D2
    points = [
        FreshnessPoint(t0, 1, D1, 0.80),
        FreshnessPoint(t0, 2, D2, 0.70),
        FreshnessPoint(t1, 1, D2, 0.76),
        FreshnessPoint(t1, 2, D3, 0.66),
        FreshnessPoint(t2, 1, D3, 0.72),
    ]
    curve = {r["age_weeks"]: r for r in freshness_curve(points)}
    assert curve[1]["pairs"] == 3 and curve[2]["pairs"] == 2
    assert curve[1]["common_models"] == 2  # t0 and t1 are scored at both ages
    assert curve[1]["mean_common"] == pytest.approx(0.78)
    assert curve[2]["mean_common"] == pytest.approx(0.68)
    assert curve[2]["minus_age1"] == pytest.approx(-0.10)
    assert curve[1]["mean_all"] == pytest.approx(0.76)
    assert freshness_curve([]) == []


def _record(**changes: object) -> Any:
    record = {
        "as_of": "2013-03-18",
        "decision": {"action": "retrain", "reasons": ["performance_drop"]},
        "champion": {"version": "1", "metric_now": 0.68},
        "registered_version": "2",
        "promoted": True,
    }
    record.update(changes)
    return typed_record({"model": "m", **record})


def test_loop_row_reads_the_record() -> None:
    row, source = loop_row(_record(), 31.5)
    assert row == PolicyWindow(
        LOOP, D2, 0.68, True, True, 31.5, "v1 retrain (performance_drop) -> v2 promoted"
    )
    assert source == "flow wall time"


def test_loop_row_prefers_the_recorded_training_seconds() -> None:
    row, source = loop_row(_record(training={"seconds": 7.25}, promoted=False), 31.5)
    assert row.seconds == 7.25 and source == "record"
    assert row.note.endswith(", v2 rejected") and not row.promoted


def test_loop_row_without_retrain_spends_nothing() -> None:
    row, _ = loop_row(_record(decision={"action": "none", "reasons": []}, promoted=False), 9.0)
    assert not row.retrained and row.seconds == 0.0 and row.note == "v1 none"


def test_rows_survive_a_csv_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    pd.DataFrame(records(_rows())).to_csv(path, index=False)
    frame = pd.read_csv(path, keep_default_na=False, na_values={"metric": [""]})
    assert [policy_window(r) for r in frame.to_dict("records")] == _rows()
    point = FreshnessPoint(D1, 2, D3, None)
    pd.DataFrame(records([point])).to_csv(path, index=False)
    assert freshness_point(pd.read_csv(path).to_dict("records")[0]) == point


def test_parse_variants() -> None:
    from benchmarks.decisions import parse_variants

    assert parse_variants("holdout,refit") == (False, True)
    assert parse_variants("refit") == (True,)
    assert parse_variants(" refit , holdout") == (False, True)
    for bad in ("", "both", "refit,later"):
        with pytest.raises(ValueError, match="--variants"):
            parse_variants(bad)


def test_bootstrap_check_compares_the_loop_and_never_until_the_first_promotion() -> None:
    assert bootstrap_check(_rows()) == (1, 0.0)  # D1 ties; the loop promoted at D1
    rows = [r for r in _rows() if r.as_of != D1]
    n, diff = bootstrap_check(rows) or (0, 0.0)
    assert n == 2 and diff == pytest.approx(0.05)
    assert bootstrap_check([r for r in _rows() if r.policy != LOOP]) is None


def _fresh(cron: str, fits: dict[date, list[float]]) -> list[FreshnessPoint]:
    """Weekly fits of `cron` scored at ages 1.. on the windows after them (7 days apart)."""
    out = []
    for trained, scores in fits.items():
        for age, score in enumerate(scores, start=1):
            out.append(FreshnessPoint(trained, age, trained + timedelta(days=7 * age), score, cron))
    return out


def test_a_slower_cadence_serves_its_last_fit_at_its_age() -> None:
    points = [date(2013, 3, 4) + timedelta(days=7 * i) for i in range(6)]
    cron = "cron 56d refit"
    fresh = _fresh(cron, {p: [0.70 + i / 100, 0.60 + i / 100] for i, p in enumerate(points)})

    every2 = cadence_rows(fresh, points, cron, 2)

    assert [r.as_of for r in every2] == points[1:]
    assert [r.metric for r in every2] == pytest.approx([0.70, 0.60, 0.72, 0.62, 0.74])
    assert [r.retrained for r in every2] == [True, False, True, False, True]
    assert every2[0].policy == "cron 56d refit every 2w" and short(every2[0].policy) == "56d rf/2w"
    # a cadence of one is the weekly cron itself: age 1 every window
    weekly = cadence_rows(fresh, points, cron, 1)
    assert [r.metric for r in weekly] == pytest.approx([0.70 + i / 100 for i in range(5)])


def test_a_cadence_without_the_score_at_that_age_has_no_metric() -> None:
    points = [date(2013, 3, 4) + timedelta(days=7 * i) for i in range(4)]
    fresh = _fresh("cron 56d refit", {p: [0.7] for p in points})  # scored at age 1 only

    rows = cadence_rows(fresh, points, "cron 56d refit", 4)

    assert [r.metric for r in rows] == [0.7, None, None]


def test_the_upper_bound_takes_the_best_cron_of_each_window() -> None:
    rows = [
        PolicyWindow("cron 56d refit", D1, 0.70, True, True, 1.0),
        PolicyWindow("cron 365d-h56 refit", D1, 0.72, True, True, 1.0),
        PolicyWindow("cron 56d refit", D2, 0.69, True, True, 1.0),
        PolicyWindow("cron 365d-h56 refit", D2, None, True, True, 1.0),
        PolicyWindow(LOOP, D2, 0.99, True, True, 1.0),  # not a cron: never the bound
    ]

    best = upper_bound(rows, ["cron 56d refit", "cron 365d-h56 refit"])

    assert [(r.as_of, r.metric, r.note) for r in best] == [
        (D1, 0.72, "365d-h56 rf"),
        (D2, 0.69, "56d rf"),
    ]


def test_the_cost_table_charges_each_retrain_alpha() -> None:
    table = [
        {"policy": LOOP, "windows": 10, "mean_metric": 0.705, "retrains": 10},
        {"policy": "cron 56d refit every 4w", "windows": 10, "mean_metric": 0.700, "retrains": 3},
        {"policy": "never retrain", "windows": 10, "mean_metric": 0.650, "retrains": 0},
        {"policy": "nothing scored", "windows": 0, "mean_metric": None, "retrains": 0},
    ]

    rows = costs(table, alphas=(0.0, 0.01))

    assert [r["policy"] for r in rows] == [LOOP, "cron 56d refit every 4w", "never retrain"]
    assert [r["alpha_0"] for r in rows] == [0.705, 0.700, 0.650]
    assert [r["alpha_0.01"] for r in rows] == [0.695, 0.697, 0.650]
    text = format_costs(rows, "roc_auc")
    assert "| loop | 1.000 | 0.7050* | 0.6950 |" in text
    assert "| cron 56d refit every 4w | 0.300 | 0.7000 | 0.6970* |" in text
