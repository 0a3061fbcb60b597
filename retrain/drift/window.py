"""Drift of one scanned window against a champion: the frames `run_drift` compares, built from
the window (its merged summary, its row sample, the champion's outputs on it) and the champion
(its reference sample with its own predictions, its stored or recomputed statistics)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from retrain.config import ModelConfig
from retrain.drift.reference import PREDICTION
from retrain.drift.summary import DriftReports, DriftSummary, run_drift
from retrain.loop import ChampionState
from retrain.monitoring.scoring import ChampionOutputs, reference_statistics
from retrain.monitoring.window_scan import ScannedWindow
from retrain.training.pipeline import drift_prediction


def window_drift(
    config: ModelConfig,
    window: ScannedWindow,
    champion: ChampionState,
    outputs: ChampionOutputs,
    out_dir: Path,
) -> tuple[DriftSummary, DriftReports | None]:
    """Feature (from the window's merged summary), prediction and target drift of the window;
    the Evidently reports (on the window's row sample), if any, are written to `out_dir`."""
    cols = config.columns
    frame = window.frame
    current = {
        PREDICTION: pd.Series(outputs.drift_values(config.metric), index=frame.index),
        cols.label: frame[cols.label],
    }
    reference = champion.reference.assign(
        **{PREDICTION: drift_prediction(champion.model, champion.reference, config)}
    )
    stats = reference_statistics(champion.model, champion.reference, config, champion.stats)
    return run_drift(
        reference,
        current,
        numeric=cols.numeric,
        categorical=cols.categorical,
        thresholds=config.thresholds.drift,
        prediction=PREDICTION,
        target=cols.label,
        out_dir=out_dir,
        reference_stats=stats,
        summary=window.features,
        sample=window.sample,
    )
