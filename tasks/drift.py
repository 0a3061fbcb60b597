"""Task that measures drift between the champion's reference sample and the window (Evidently)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from retrain import reporting
from retrain.clients import mlflow_client, s3_client
from retrain.config import ModelConfig
from retrain.data import LoadedWindow, s3_uri
from retrain.drift import DriftSummary, run_drift
from retrain.loop import ChampionState, RunInfo
from retrain.settings import Settings
from retrain.training import predict

PREDICTION = "__prediction__"


@task(retries=2, retry_delay_seconds=[5, 15], cache_policy=NO_CACHE)
def measure_drift(
    settings: Settings,
    config: ModelConfig,
    run: RunInfo,
    window: LoadedWindow,
    champion: ChampionState,
) -> tuple[DriftSummary, dict[str, str]]:
    """Feature, prediction and target drift; reports go to S3 and to the MLflow run."""
    reference = champion.reference.copy()
    current = window.frame.copy()
    reference[PREDICTION] = predict(champion.model, reference, config)
    current[PREDICTION] = predict(champion.model, current, config)
    with tempfile.TemporaryDirectory() as tmp:
        summary, reports = run_drift(
            reference,
            current,
            numeric=config.columns.numeric,
            categorical=config.columns.categorical,
            thresholds=config.thresholds.drift,
            prediction=PREDICTION,
            target=config.columns.label,
            out_dir=Path(tmp),
        )
        links: dict[str, str] = {}
        if reports is not None:
            s3 = s3_client(settings)
            prefix = reporting.report_prefix(config.name, run.as_of, run.flow_run_id)
            for kind, path in (("html", reports.html), ("json", reports.json)):
                key = prefix + path.name
                s3.upload_file(str(path), settings.loop_bucket, key)
                links[kind] = s3_uri(settings.loop_bucket, key)
            mlflow_client(settings).log_artifacts(run.mlflow_run_id, tmp, "drift")
    get_run_logger().info(
        "drift share %.2f (dataset drift %s); drifted: %s",
        summary.drift_share,
        summary.dataset_drift,
        ", ".join(summary.drifted_columns) or "none",
    )
    return summary, links
