"""LocalStack ready.d hook: create the project's buckets (runs in host mode and in Docker alike).

LocalStack executes this file inside its own process once S3 is ready. Bucket names come from
the same RETRAIN_* variables the project reads; creating a bucket that exists is a no-op.
"""

import os

import boto3

BUCKET_VARS = {
    "RETRAIN_DATA_BUCKET": "production-data",
    "RETRAIN_ARTIFACTS_BUCKET": "mlflow-artifacts",
    "RETRAIN_LOOP_BUCKET": "retrain-loop",
}

_port = os.environ.get("GATEWAY_LISTEN", "127.0.0.1:4566").split(",")[0].rsplit(":", 1)[-1]
_s3 = boto3.client(
    "s3",
    endpoint_url=f"http://127.0.0.1:{_port}",
    region_name="us-east-1",
    aws_access_key_id="test",
    aws_secret_access_key="test",
)
_existing = {b["Name"] for b in _s3.list_buckets().get("Buckets", [])}
for _var, _default in BUCKET_VARS.items():
    _bucket = os.environ.get(_var, _default)
    if _bucket not in _existing:
        _s3.create_bucket(Bucket=_bucket)
        print(f"created bucket {_bucket}")
