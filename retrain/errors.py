"""Service failures named at the task boundary: which service, which operation, on what.

Clients retry transient faults themselves (boto3 standard mode, MLflow's HTTP retries) and
Prefect retries the I/O tasks; what is left after that surfaces as one `ServiceError` whose
message says e.g. "S3 PutObject s3://bucket/key failed: ...", never a credential.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

_USERINFO = re.compile(r"(?<=://)[^/@\s:]+:[^/@\s]+@")
_QUERY_SECRETS = re.compile(
    r"(?i)(X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|token|secret|password)=[^&\s'\"]+"
)
MAX_DETAIL = 600


class ServiceError(RuntimeError):
    """S3 or MLflow kept failing on one operation after every retry."""


def redact(text: str) -> str:
    """Drop user:password@ from URLs and signatures or tokens from query strings."""
    return _QUERY_SECRETS.sub(r"\1=***", _USERINFO.sub("***@", text))


def describe(exc: BaseException) -> str:
    """The failure in one bounded, credential-free line."""
    detail = redact(" ".join(f"{type(exc).__name__}: {exc}".split()))
    return detail if len(detail) <= MAX_DETAIL else detail[: MAX_DETAIL - 3] + "..."


@cache
def service_errors() -> tuple[type[BaseException], ...]:
    """What the S3 and MLflow clients raise when a call fails (imported on first use)."""
    from botocore.exceptions import BotoCoreError, ClientError
    from mlflow.exceptions import MlflowException
    from requests.exceptions import RequestException

    return (
        ClientError,
        BotoCoreError,
        MlflowException,
        RequestException,
        ConnectionError,
        TimeoutError,
    )


@contextmanager
def service_call(service: str, operation: str, target: str = "") -> Iterator[None]:
    """Turn a client exception raised inside into `ServiceError("<service> <operation> ...")`."""
    try:
        yield
    except ServiceError:
        raise
    except service_errors() as exc:
        what = f"{service} {operation}" + (f" {target}" if target else "")
        raise ServiceError(f"{what} failed: {describe(exc)}") from exc
