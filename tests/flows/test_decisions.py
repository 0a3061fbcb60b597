"""The decision replay end to end on synthetic data: the real flow and the baselines, 3 windows."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from benchmarks import decisions
from retrain import data
from retrain.config import ModelConfig
from retrain.loop import monitoring_window, training_window
from retrain.settings import Settings
from retrain.training import (
    build_pipeline,
    evaluate,
    features,
    mask_immature_labels,
    matured,
    target,
    time_split,
    train_challenger,
)
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
            "--recipes=10h5",
            "--freshness-weeks=2",
            f"--out={out}",
            "--doc-png=",
        ]
    )
    assert status == 0

    table = pd.read_csv(out / "windows.csv")
    assert table["as_of"].tolist() == [w.isoformat() for w in WINDOWS]
    policies = ["loop", "never retrain", "cron 14 holdout", "cron 14 refit", "cron 10h5 refit"]
    assert set(policies) <= set(table.columns)
    assert table[policies].notna().all().all()

    # never retrain: the flow's own train_challenger as of the bootstrap, on the same rows
    boot = train_challenger(
        _window(s3, config, training_window(config, BOOTSTRAP), BOOTSTRAP), config, BOOTSTRAP
    )
    for as_of, got in zip(WINDOWS, table["never retrain"], strict=True):
        assert got == pytest.approx(evaluate(boot.model, _scored(s3, config, as_of), config))

    # the refit cron: at each window, the model fitted one step earlier on every matured row
    for as_of, got in zip(WINDOWS, table["cron 14 refit"], strict=True):
        fitted_at = as_of - timedelta(days=STEP)
        split = time_split(
            _window(s3, config, training_window(config, fitted_at), fitted_at), config, fitted_at
        )
        rows = pd.concat([split.train, split.holdout])
        model = build_pipeline(config).fit(features(rows, config), target(rows, config))
        assert got == pytest.approx(evaluate(model, _scored(s3, config, as_of), config))

    summary = pd.read_csv(out / "summary.csv").set_index("policy")
    assert summary.loc["never retrain", "retrains"] == 0
    assert summary.loc["cron 14 refit", "retrains"] == len(WINDOWS)
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
