"""The stack in start order, and the commands: up, down, status, run, clean.

    python -m stack up | down | status | clean | run -- CMD...

Pids and logs live in `.stack/` (git-ignored), with the stack's state: the PostgreSQL cluster
(MLflow registry and runs, Prefect flow runs and deployments) and the S3 snapshot. Ports come
from the RETRAIN_* settings, so one variable moves both the service and its clients. `run` starts
what is not running, runs CMD against the stack and stops only what it started. Only `clean`
deletes state.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

from retrain.settings import Settings, get_settings
from stack import (
    alertmanager,
    evidently_ui,
    localstack,
    mlflow_server,
    postgres,
    prefect_server,
    prometheus,
    pushgateway,
    s3_snapshot,
)
from stack.base import ROOT, STATE, Service, StackError, StackSettings, stack_settings
from stack.process import pid_of, start, stop


def service_env(settings: Settings, stack: StackSettings) -> dict[str, str]:
    """What every process of the stack (and a command run against it) gets in its environment."""
    env = {
        "AWS_ACCESS_KEY_ID": settings.aws_access_key_id.get_secret_value(),
        "AWS_SECRET_ACCESS_KEY": settings.aws_secret_access_key.get_secret_value(),
        "AWS_DEFAULT_REGION": settings.aws_region,
        "MLFLOW_S3_ENDPOINT_URL": settings.s3_endpoint_url or "",
        "PREFECT_HOME": str(STATE / "prefect"),
        "PREFECT_API_URL": settings.prefect_api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "false",
        "PYTHONUNBUFFERED": "1",  # log lines land in .stack/logs/ when they happen
    }
    if stack.db == "sqlite":  # a SQLite-backed Prefect server answers 503 under load
        env["PREFECT_CLIENT_MAX_RETRIES"] = "10"
    return env


def services(settings: Settings | None = None, stack: StackSettings | None = None) -> list[Service]:
    """The services, in start order (PostgreSQL only when it is the backend)."""
    settings = settings or get_settings()
    stack = stack or stack_settings()
    env = service_env(settings, stack)
    return [
        *([postgres.service(stack)] if stack.db == "postgres" else []),
        localstack.service(settings, stack),
        localstack.saver(stack, env),
        mlflow_server.service(settings, stack, env),
        prefect_server.server(settings, stack, env),
        prefect_server.worker(settings, env),
        pushgateway.service(settings),
        alertmanager.service(settings),
        prometheus.service(settings),
        evidently_ui.service(settings, env),
    ]


def service(name: str) -> Service:
    """One service by name (e.g. for a test that kills it)."""
    found = [s for s in services() if s.name == name]
    if not found:
        raise StackError(f"no service {name!r}; the stack has {[s.name for s in services()]}")
    return found[0]


def up(names: list[str] | None = None) -> list[str]:
    """Start the stack (or the named services); returns the names this call started."""
    started: list[str] = []
    STATE.mkdir(exist_ok=True)
    stack = stack_settings()
    print(f"local stack ({stack.db} backend, state in {STATE}):")
    try:
        for svc in services(stack=stack):
            if names and svc.name not in names:
                continue
            if start(svc):
                started.append(svc.name)
    except BaseException:
        if started:
            print("stopping what this call started:")
            down(started)
        raise
    return started


def down(names: list[str] | None = None) -> None:
    """Stop the stack (or the named services), in reverse start order; state stays."""
    for svc in reversed(services()):
        if names and svc.name not in names:
            continue
        print(f"  {svc.name:<12} {'stopped' if stop(svc) else 'not running'}")


def status() -> bool:
    """Print each service, its URL and health, and the state; True when all are healthy."""
    all_ok = True
    stack = stack_settings()
    for svc in services(stack=stack):
        pid = pid_of(svc)
        healthy = pid is not None and svc.healthy()
        all_ok &= healthy
        state = "healthy" if healthy else ("unhealthy" if pid else "stopped")
        print(f"  {svc.name:<12} {state:<10} pid {pid or '-':<8} {svc.url}")
    print(f"  state: {STATE}; S3 snapshot: {s3_snapshot.describe(stack.s3_snapshot_dir)}")
    print(f"  alerts: {alertmanager.describe()}")
    return all_ok


def clean() -> None:
    """Stop the stack and delete every piece of its state, saying what goes."""
    stack = stack_settings()
    down()
    doomed = {
        "the PostgreSQL cluster (MLflow registry, runs and experiments; Prefect flow runs, "
        "deployments, work pool)": stack.postgres_data_dir,
        f"the S3 snapshot ({s3_snapshot.describe(stack.s3_snapshot_dir)})": stack.s3_snapshot_dir,
        "everything else in the state folder (SQLite databases if STACK_DB=sqlite, Prefect home, "
        "LocalStack scratch, logs, pids)": STATE,
    }
    print("deleting the stack's state:")
    for what, path in doomed.items():
        if path.exists():
            print(f"  {path}: {what}")
            shutil.rmtree(path)
    print("done: the next `make up` starts empty")


def run(command: list[str]) -> int:
    """Run a command against the stack, stopping afterwards only what this call started."""
    started = up()
    env = {**os.environ, **service_env(get_settings(), stack_settings())}
    env.pop("PREFECT_HOME")
    try:
        return subprocess.call(command, cwd=ROOT, env=env)
    finally:
        if started:
            print("stopping what this run started:")
            down(started)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("up", help="start every service that is not running")
    sub.add_parser("down", help="stop every service this project started (state stays)")
    sub.add_parser("status", help="show each service, its URL and health, and the state")
    sub.add_parser("clean", help="stop the stack and delete its state (says what)")
    run_p = sub.add_parser("run", help="run a command against the stack")
    run_p.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    try:
        if args.cmd == "up":
            up()
            return 0
        if args.cmd == "down":
            down()
            return 0
        if args.cmd == "status":
            return 0 if status() else 1
        if args.cmd == "clean":
            clean()
            return 0
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        return run(command)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
