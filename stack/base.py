"""What every service of the stack shares: paths, settings, the Service record, HTTP probes."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".stack"
LOGS = STATE / "logs"
VENV_BIN = ROOT / ".venv" / "bin"


class StackError(RuntimeError):
    """A service that could not start or a port held by someone else."""


class StackSettings(BaseSettings):
    """Settings of the stack itself (the loop never reads them): its database and S3 snapshots."""

    model_config = SettingsConfigDict(
        env_prefix="RETRAIN_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    db: Literal["postgres", "sqlite"] = Field(
        default="postgres",
        validation_alias="STACK_DB",
        description="Backend of the Prefect and MLflow servers; sqlite is the fallback.",
    )
    postgres_port: int = Field(default=5432, description="Port of the stack's PostgreSQL.")
    postgres_user: str = Field(default="retrain", description="PostgreSQL superuser.")
    postgres_password: SecretStr = Field(
        default=SecretStr("retrain"), description="Its password (a secret: never logged)."
    )
    postgres_data_dir: Path = Field(
        default=STATE / "postgres",
        description="The cluster's folder; the `postgres` account must be able to reach it.",
    )
    postgres_bin: Path | None = Field(
        default=None, description="Folder of initdb/postgres; found under /usr/lib/postgresql."
    )
    s3_snapshot_dir: Path = Field(
        default=STATE / "s3-snapshot", description="Where the S3 objects are saved."
    )
    s3_snapshot_seconds: float = Field(
        default=30.0, gt=0, description="Seconds between two saves of S3 while the stack runs."
    )


def stack_settings() -> StackSettings:
    """Read the stack's settings now (never at import time)."""
    return StackSettings()


@dataclass
class Service:
    """One process of the stack: how to start it, how to know it is healthy."""

    name: str
    url: str
    port: int
    command: list[str]
    healthy: Callable[[], bool]
    env: dict[str, str] = field(default_factory=dict)
    marker: str = ""  # a word of the running process's command line (pid reuse check)
    timeout: float = 300.0  # generous: the machines are small and shared
    user: str | None = None  # run as this account (PostgreSQL refuses root)
    before_start: Callable[[], None] | None = None
    after_start: Callable[[], None] | None = None  # once healthy, in the starting process
    before_stop: Callable[[], None] | None = None  # while still running, before SIGTERM

    @property
    def pidfile(self) -> Path:
        return STATE / f"{self.name}.pid"

    @property
    def logfile(self) -> Path:
        return LOGS / f"{self.name}.log"


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """Status and body of a GET; status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""
    except (OSError, ValueError):
        return 0, b""


def http_post_json(url: str, body: dict[str, object]) -> tuple[int, Any]:
    """Status and decoded JSON answer of a POST; status 0 when nothing answered."""
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=3) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (OSError, ValueError):
        return 0, None


def port_of(url: str, default: int) -> int:
    return urlparse(url).port or default


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
