"""The decision replay end to end on synthetic data: the real flow and the baselines, 3 windows."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from benchmarks import decisions
from retrain.config import ModelConfig, Recipe
from retrain.data import s3 as data
from retrain.data.s3 import Window
from retrain.loop import monitoring_window
from retrain.settings import Settings
from retrain.training.pipeline import evaluate, fit_recipe, mask_immature_labels, matured, slices
from tests.helpers import FIRST_DAY, scenario, unique, window_days, write_days

pytestmark = pytest.mark.integration

BOOTSTRAP = FIRST_DAY + timedelta(days=15)  # 2024-01-16: 15 days of history for a 14-day window
STEP = 5
WINDOWS = [BOOTSTRAP + timedelta(days=STEP * k) for k in (1, 2, 3)]


def _window(s3: Any, config: ModelConfig, window: data.Window, as_of: date) -> pd.DataFrame:
    loaded = data.load_window(s3, config.data, config.columns, window)
    return mask_immature_labels(loaded.frame, config, as_of)


def _scored(s3: Any, config: ModelConfig, as_of: date) -> pd.DataFrame:
    return matured(_window(s3, config, monitoring_window(config, as_of), as_of), config)


def test_replay_has_one_row_per_window_and_baselines_equal_a_direct_computation(
    stack: Settings, s3: Any, tmp_path: Path
) -> None:
    case = scenario(tmp_path, unique("decisions").replace("-", "_"), stack.data_bucket)
    write_days(s3, case.source, window_days(WINDOWS[-1], (WINDOWS[-1] - FIRST_DAY).days))
    config, out = case.config, tmp_path / "out"
    status = decisions.main(
        [
            f"--config={case.config_dir / 'model.yaml'}",
            f"--bootstrap={BOOTSTRAP}",
            f"--start={WINDOWS[0]}",
            f"--end={WINDOWS[-1]}",
            f"--step={STEP}",
            "--cron=14",
            "--recipes=10h5",
            "--freshness-weeks=2",
            f"--out={out}",
            "--doc-png=",
        ]
    )
    assert status == 0

    table = pd.read_csv(out / "windows.csv")
    assert table["as_of"].tolist() == [w.isoformat() for w in WINDOWS]
    policies = ["loop", "never retrain", "cron 14d holdout", "cron 14d refit", "cron 10d-h5 refit"]
    assert set(policies) <= set(table.columns)
    assert table[policies].notna().all().all()

    # never retrain: 14 days up to the holdout as of the bootstrap (the loop's gate fit)
    recipe = Recipe(days=14)
    everything = Window(FIRST_DAY, WINDOWS[-1])
    boot = fit_recipe(
        _window(s3, config, everything, BOOTSTRAP),
        config,
        recipe,
        slices(config, BOOTSTRAP).holdout_start,
    )
    for as_of, got in zip(WINDOWS, table["never retrain"], strict=True):
        assert got == pytest.approx(evaluate(boot.model, _scored(s3, config, as_of), config))

    # the refit cron: at each window, the model fitted one step earlier up to the label cutoff
    for as_of, got in zip(WINDOWS, table["cron 14d refit"], strict=True):
        fitted_at = as_of - timedelta(days=STEP)
        frame = _window(s3, config, everything, fitted_at)
        fit = fit_recipe(frame, config, recipe, slices(config, fitted_at).cutoff)
        assert fit.start == slices(config, fitted_at).cutoff - timedelta(days=14)
        assert got == pytest.approx(evaluate(fit.model, _scored(s3, config, as_of), config))

    # served every 2 weeks: the fit made at the bootstrap serves the first two windows
    first = fit_recipe(
        _window(s3, config, everything, BOOTSTRAP), config, recipe, slices(config, BOOTSTRAP).cutoff
    )
    every2 = table["cron 14d refit every 2w"].tolist()
    assert every2[0] == pytest.approx(table["cron 14d refit"][0])
    assert every2[1] == pytest.approx(
        evaluate(first.model, _scored(s3, config, WINDOWS[1]), config)
    )
    crons = [c for c in table.columns if c.startswith("cron ") and c.endswith(" refit")]
    assert {"cron 14d refit", "cron 10d-h5 refit"} <= set(crons)  # and the config's own recipe
    assert table["best recipe each week"].tolist() == pytest.approx(table[crons].max(axis=1))
    costs = pd.read_csv(out / "costs.csv").set_index("policy")
    assert costs.loc["never retrain", "alpha_0.01"] == costs.loc["never retrain", "alpha_0"]
    assert costs.loc["cron 14d refit", "retrains_per_window"] == 1.0
    assert costs.loc["cron 14d refit every 2w", "retrains_per_window"] == pytest.approx(2 / 3, 1e-3)

    summary = pd.read_csv(out / "summary.csv").set_index("policy")
    assert summary.loc["never retrain", "retrains"] == 0
    assert summary.loc["cron 14d refit", "retrains"] == len(WINDOWS)
    assert summary.loc["loop", "retrains"] <= len(WINDOWS)
    freshness = pd.read_csv(out / "freshness.csv")
    assert freshness["age_weeks"].tolist() == [1, 2]
    assert (out / "decisions.png").stat().st_size > 10_000


def test_a_flow_failure_fails_the_replay_loudly(
    stack: Settings, s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = unique("no-such-bucket")
    case = scenario(tmp_path, unique("decisions").replace("-", "_"), missing)
    status = decisions.main(  # the flow refuses a config whose data bucket does not exist
        [
            f"--config={case.config_dir / 'model.yaml'}",
            f"--bootstrap={BOOTSTRAP}",
            f"--start={WINDOWS[0]}",
            f"--end={WINDOWS[0]}",
            f"--step={STEP}",
            f"--out={tmp_path / 'out'}",
            "--doc-png=",
        ]
    )
    assert status == 1
    err = capsys.readouterr().err
    assert "decisions failed" in err and f"window ending {BOOTSTRAP}" in err
    assert missing in err and not (tmp_path / "out" / "windows.csv").exists()
