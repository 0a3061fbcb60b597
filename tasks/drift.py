"""Task that measures drift of the window against the champion's reference statistics."""

from __future__ import annotations

import tempfile
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from retrain.budget import timed
from retrain.clients import mlflow_client, s3_client
from retrain.config import ModelConfig
from retrain.data.s3 import s3_uri
from retrain.drift.reference import PREDICTION
from retrain.drift.summary import DriftSummary
from retrain.drift.window import window_drift
from retrain.loop import ChampionState, RunInfo
from retrain.monitoring.scoring import ChampionOutputs
from retrain.monitoring.window_scan import ScannedWindow
from retrain.settings import Settings
from retrain.sinks import reporting

__all__ = ["PREDICTION", "measure_drift"]


@task(retries=2, retry_delay_seconds=[5, 15], cache_policy=NO_CACHE)
@timed
def measure_drift(
    settings: Settings,
    config: ModelConfig,
    run: RunInfo,
    window: ScannedWindow,
    champion: ChampionState,
    outputs: ChampionOutputs,
) -> tuple[DriftSummary, dict[str, str]]:
    """Feature (from the window's merged summary), prediction and target drift; the Evidently
    reports (on the window's row sample) go to S3 and to the MLflow run."""
    logger = get_run_logger()
    if champion.stats is None:
        logger.info("champion has no stored reference statistics; using its reference sample")
    with tempfile.TemporaryDirectory() as tmp:
        summary, reports = window_drift(config, window, champion, outputs, Path(tmp))
        links: dict[str, str] = {}
        if reports is not None:
            s3 = s3_client(settings)
            prefix = reporting.report_prefix(config.name, run.as_of, run.flow_run_id)
            for kind, path in (("html", reports.html), ("json", reports.json)):
                key = prefix + path.name
                s3.upload_file(str(path), settings.loop_bucket, key)
                links[kind] = s3_uri(settings.loop_bucket, key)
            mlflow_client(settings).log_artifacts(run.mlflow_run_id, tmp, "drift")
    logger.info(
        "drift share %.2f (dataset drift %s); drifted: %s; report on %s sampled rows",
        summary.drift_share,
        summary.dataset_drift,
        ", ".join(summary.drifted_columns) or "none",
        summary.report_sample_rows,
    )
    return summary, links
