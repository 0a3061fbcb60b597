"""Endpoints, names and credentials of the stack, read from `RETRAIN_*` environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where the services live and which buckets the loop uses."""

    model_config = SettingsConfigDict(
        env_prefix="RETRAIN_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    s3_endpoint_url: str | None = Field(
        default="http://127.0.0.1:4566",
        description="S3 endpoint; LocalStack locally, empty for AWS itself.",
    )
    aws_region: str = Field(default="us-east-1", description="AWS region of the buckets.")
    aws_access_key_id: SecretStr = Field(default=SecretStr("test"), description="S3 key id.")
    aws_secret_access_key: SecretStr = Field(
        default=SecretStr("test"), description="S3 secret key."
    )
    data_bucket: str = Field(
        default="production-data",
        description="Production-data bucket the local stack creates; the loop reads each "
        "model's bucket from its config (data.bucket), not from here.",
    )
    artifacts_bucket: str = Field(
        default="mlflow-artifacts", description="Bucket behind the MLflow artifact store."
    )
    loop_bucket: str = Field(
        default="retrain-loop",
        description="Bucket for decision records and drift reports written by the loop.",
    )
    mlflow_tracking_uri: str = Field(
        default="http://127.0.0.1:5000", description="MLflow tracking server URI."
    )
    prefect_api_url: str = Field(
        default="http://127.0.0.1:4200/api", description="Prefect server API URL."
    )
    pushgateway_url: str = Field(
        default="http://127.0.0.1:9091",
        description="Prometheus Pushgateway each flow run pushes its metrics to.",
    )
    prometheus_url: str = Field(
        default="http://127.0.0.1:9090",
        description="Prometheus server that scrapes the Pushgateway and evaluates the alert rules.",
    )
    alertmanager_url: str = Field(
        default="http://127.0.0.1:9093",
        description="Alertmanager that routes Prometheus's alerts (receivers: RETRAIN_ALERT_*).",
    )
    evidently_ui_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Evidently UI service: one project per model, a snapshot per window.",
    )
    webhook_url: SecretStr | None = Field(
        default=None, description="Slack-compatible webhook for notifications (a secret)."
    )
    config_dir: str = Field(
        default="deployments", description="Folder holding one YAML config per monitored model."
    )
    work_pool: str = Field(
        default="local-process",
        description="Prefect work pool the deployments run on (the stack creates it, a process "
        "pool, and starts its worker).",
    )
    git_commit: str | None = Field(
        default=None,
        description="The code's commit tagged on every version and record; unset: read from the "
        "checkout with git (`<sha>-dirty` when it has changes).",
    )


def get_settings() -> Settings:
    """Read settings now (never at import time)."""
    return Settings()
