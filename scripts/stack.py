"""Start, stop and inspect the local stack on the host: LocalStack S3, MLflow, Prefect and a worker.

    python scripts/stack.py up | down | status | run -- CMD...

Pids and logs live in `.stack/` (git-ignored). Ports come from the RETRAIN_* URLs in settings,
so one variable moves both the service and its clients. `run` starts what is not running,
runs CMD against the stack and stops only what it started.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrain.settings import Settings, get_settings  # noqa: E402

STATE = ROOT / ".stack"
LOGS = STATE / "logs"
VENV_BIN = ROOT / ".venv" / "bin"
WORK_POOL = os.environ.get("RETRAIN_WORK_POOL", "local-process")


class StackError(RuntimeError):
    """A service that could not start or a port held by someone else."""


@dataclass
class Service:
    name: str
    url: str
    port: int
    command: list[str]
    healthy: Callable[[], bool]
    env: dict[str, str] = field(default_factory=dict)
    marker: str = ""  # a word of the running process's command line (pid reuse check)
    timeout: float = 90.0
    before_start: Callable[[], None] | None = None

    @property
    def pidfile(self) -> Path:
        return STATE / f"{self.name}.pid"

    @property
    def logfile(self) -> Path:
        return LOGS / f"{self.name}.log"


def _get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""
    except (OSError, ValueError):
        return 0, b""


def _post_json(url: str, body: dict[str, object]) -> tuple[int, Any]:
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


def _port_of(url: str, default: int) -> int:
    return urlparse(url).port or default


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _service_env(settings: Settings) -> dict[str, str]:
    return {
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
        # the SQLite-backed server can answer 503 under load; clients ride it out
        "PREFECT_CLIENT_MAX_RETRIES": "10",
    }


def _localstack_ready(base: str) -> bool:
    status, body = _get(f"{base}/_localstack/init/ready")
    if status != 200:
        return False
    state = json.loads(body)
    failed = [s["name"] for s in state.get("scripts", []) if s.get("state") == "ERROR"]
    if failed:
        raise StackError(f"LocalStack init script(s) failed: {failed}")
    return bool(state.get("completed"))


def _worker_online(api: str, pidfile: Path) -> bool:
    """A worker of the pool has sent a heartbeat since our worker process was started."""
    if not pidfile.exists():
        return False
    started = datetime.fromtimestamp(pidfile.stat().st_mtime, UTC)
    status, workers = _post_json(f"{api}/work_pools/{WORK_POOL}/workers/filter", {})
    return status == 200 and any(
        w.get("status") == "ONLINE" and datetime.fromisoformat(w["last_heartbeat_time"]) >= started
        for w in workers or []
    )


def _create_work_pool(api: str) -> None:
    if _get(f"{api}/work_pools/{WORK_POOL}")[0] == 200:
        return
    subprocess.run(
        [str(VENV_BIN / "prefect"), "work-pool", "create", WORK_POOL, "--type", "process"],
        check=True,
        env={**os.environ, "PREFECT_API_URL": api, "PREFECT_HOME": str(STATE / "prefect")},
        capture_output=True,
    )


def _reset_mlflow_store() -> None:
    """LocalStack community keeps S3 in memory: a fresh LocalStack means MLflow's artifacts are
    gone, so its registry starts fresh too rather than point at objects that no longer exist."""
    db = STATE / "mlflow" / "mlflow.db"
    if db.exists():
        db.rename(db.with_suffix(f".{int(time.time())}.stale"))


def services(settings: Settings) -> list[Service]:
    """The four services, in start order."""
    s3_url = settings.s3_endpoint_url or "http://127.0.0.1:4566"
    s3_port = _port_of(s3_url, 4566)
    ml_port = _port_of(settings.mlflow_tracking_uri, 5000)
    pf_port = _port_of(settings.prefect_api_url, 4200)
    api = settings.prefect_api_url.rstrip("/")
    base_env = _service_env(settings)
    bucket_env = {
        "RETRAIN_DATA_BUCKET": settings.data_bucket,
        "RETRAIN_ARTIFACTS_BUCKET": settings.artifacts_bucket,
        "RETRAIN_LOOP_BUCKET": settings.loop_bucket,
    }
    (STATE / "mlflow").mkdir(parents=True, exist_ok=True)
    return [
        Service(
            "localstack",
            s3_url,
            s3_port,
            [str(ROOT / "localstack" / "host.sh"), str(STATE / "localstack"), str(s3_port)],
            lambda: _localstack_ready(s3_url.rstrip("/")),
            env=bucket_env,
            marker="localstack.runtime.main",
            before_start=_reset_mlflow_store,
        ),
        Service(
            "mlflow",
            f"http://127.0.0.1:{ml_port}",
            ml_port,
            [
                str(VENV_BIN / "mlflow"),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(ml_port),
                "--backend-store-uri",
                f"sqlite:///{STATE / 'mlflow' / 'mlflow.db'}",
                "--artifacts-destination",
                f"s3://{settings.artifacts_bucket}",
                "--workers",
                "2",
            ],
            lambda: _get(f"http://127.0.0.1:{ml_port}/health")[0] == 200,
            env=base_env,
        ),
        Service(
            "prefect",
            f"http://127.0.0.1:{pf_port}",
            pf_port,
            [
                str(VENV_BIN / "prefect"),
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(pf_port),
            ],
            lambda: _get(f"{api}/health")[1].strip() == b"true",
            env=base_env,
        ),
        Service(
            "worker",
            f"{api}/work_pools/{WORK_POOL}",
            0,
            [
                str(VENV_BIN / "prefect"),
                "worker",
                "start",
                "--pool",
                WORK_POOL,
                "--type",
                "process",
            ],
            lambda: _worker_online(api, STATE / "worker.pid"),
            env={**base_env, **bucket_env, "RETRAIN_PROJECT_DIR": str(ROOT)},
            before_start=lambda: _create_work_pool(api),
        ),
    ]


def _pid(svc: Service) -> int | None:
    """The pid of our running process for this service, if any."""
    try:
        pid = int(svc.pidfile.read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    except PermissionError:
        return pid
    cmdline = Path(f"/proc/{pid}/cmdline")
    text = cmdline.read_bytes().decode(errors="replace") if cmdline.exists() else ""
    if text and svc.command[0] not in text and not (svc.marker and svc.marker in text):
        return None  # pid reused by another program
    return pid


def _tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def start(svc: Service) -> bool:
    """Start one service unless ours is already running; True when this call started it."""
    if _pid(svc) is not None:
        if not _wait_healthy(svc, started=False):
            raise StackError(f"{svc.name} is running (pid {_pid(svc)}) but not healthy")
        print(f"  {svc.name:<10} already running   {svc.url}")
        return False
    if svc.port and _port_open(svc.port):
        raise StackError(
            f"port {svc.port} for {svc.name} is already in use by a process this project did not "
            f"start; stop it or point the RETRAIN_* URL for {svc.name} at another port"
        )
    if svc.before_start:
        svc.before_start()
    LOGS.mkdir(parents=True, exist_ok=True)
    with svc.logfile.open("ab") as log:
        proc = subprocess.Popen(
            svc.command,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **svc.env},
        )
    svc.pidfile.write_text(str(proc.pid))
    t0 = time.monotonic()
    _wait_healthy(svc, started=True)
    print(f"  {svc.name:<10} started in {time.monotonic() - t0:4.1f}s  {svc.url}")
    return True


def _wait_healthy(svc: Service, started: bool) -> bool:
    deadline = time.monotonic() + (svc.timeout if started else 5)
    while time.monotonic() < deadline:
        if svc.healthy():
            return True
        if started and _pid(svc) is None:
            raise StackError(f"{svc.name} exited during start; log tail:\n{_tail(svc.logfile)}")
        time.sleep(0.5)
    if started:
        stop(svc)
        raise StackError(
            f"{svc.name} not healthy after {svc.timeout:.0f}s; log tail ({svc.logfile}):\n"
            f"{_tail(svc.logfile)}"
        )
    return False


def stop(svc: Service) -> bool:
    """Stop our process group for this service; True when something was stopped."""
    pid = _pid(svc)
    if pid is None:
        svc.pidfile.unlink(missing_ok=True)
        return False
    for sig, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _group_alive(pid):
            time.sleep(0.2)
        if not _group_alive(pid):
            break
    svc.pidfile.unlink(missing_ok=True)
    return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def up(names: list[str] | None = None) -> list[str]:
    """Start the stack (or the named services); returns the names this call started."""
    started: list[str] = []
    STATE.mkdir(exist_ok=True)
    print("local stack:")
    try:
        for svc in services(get_settings()):
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
    """Stop the stack (or the named services), in reverse start order."""
    for svc in reversed(services(get_settings())):
        if names and svc.name not in names:
            continue
        print(f"  {svc.name:<10} {'stopped' if stop(svc) else 'not running'}")


def status() -> bool:
    """Print each service, its URL and health; True when all are healthy."""
    all_ok = True
    for svc in services(get_settings()):
        pid = _pid(svc)
        healthy = pid is not None and svc.healthy()
        all_ok &= healthy
        state = "healthy" if healthy else ("unhealthy" if pid else "stopped")
        print(f"  {svc.name:<10} {state:<10} pid {pid or '-':<8} {svc.url}")
    return all_ok


def run(command: list[str]) -> int:
    """Run a command against the stack, stopping afterwards only what this call started."""
    started = up()
    env = {**os.environ, **_service_env(get_settings())}
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
    sub.add_parser("down", help="stop every service this project started")
    sub.add_parser("status", help="show each service, its URL and health")
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
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        return run(command)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
