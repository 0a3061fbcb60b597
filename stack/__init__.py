"""The local stack on the host: PostgreSQL, LocalStack S3 (saved to disk), MLflow, Prefect.

One small module per service (`postgres`, `localstack` + `s3_snapshot`, `mlflow_server`,
`prefect_server`); `process` starts and stops any of them; `cli` puts them in order and is what
`python -m stack up | down | status | run | clean` (`stack/__main__.py`) calls.
"""
