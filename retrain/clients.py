"""The one place where service clients are built from settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from retrain.settings import Settings

if TYPE_CHECKING:
    from mlflow import MlflowClient


def s3_client(settings: Settings) -> Any:
    """A boto3 S3 client for AWS or, when `s3_endpoint_url` is set, LocalStack."""
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url or None,
        region_name=settings.aws_region,
        aws_access_key_id=settings.aws_access_key_id.get_secret_value(),
        aws_secret_access_key=settings.aws_secret_access_key.get_secret_value(),
        config=Config(
            retries={"max_attempts": 5, "mode": "standard"},
            s3={"addressing_style": "path"},
            connect_timeout=5,
            read_timeout=60,
        ),
    )


def mlflow_client(settings: Settings) -> MlflowClient:
    """An MlflowClient bound to the tracking server, and the fluent API pointed at it too."""
    import mlflow

    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    return mlflow.MlflowClient(tracking_uri=settings.mlflow_tracking_uri)
