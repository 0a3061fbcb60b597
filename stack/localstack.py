"""LocalStack S3 on the host, with its objects saved to and restored from the state folder."""

from __future__ import annotations

import json
import sys
import time

from retrain.settings import Settings
from stack import s3_snapshot
from stack.base import ROOT, STATE, VENV_BIN, Service, StackError, StackSettings, http_get, port_of


def ready(base: str) -> bool:
    """LocalStack's init hooks (bucket creation) have run."""
    status, body = http_get(f"{base}/_localstack/init/ready")
    if status != 200:
        return False
    state = json.loads(body)
    failed = [s["name"] for s in state.get("scripts", []) if s.get("state") == "ERROR"]
    if failed:
        raise StackError(f"LocalStack init script(s) failed: {failed}")
    return bool(state.get("completed"))


def _restore(stack: StackSettings) -> None:
    began = time.monotonic()
    count, size = s3_snapshot.restore(s3_snapshot.s3_client(), stack.s3_snapshot_dir)
    if count:
        print(
            f"  localstack restored {count} objects ({size / 1e6:.1f} MB) from "
            f"{stack.s3_snapshot_dir} in {time.monotonic() - began:.1f}s"
        )


def _final_save(stack: StackSettings) -> None:
    try:
        done = s3_snapshot.save(s3_snapshot.s3_client(), stack.s3_snapshot_dir)
    except Exception as exc:  # LocalStack not answering: the last periodic save stays
        print(
            f"  localstack WARNING: final S3 save failed ({type(exc).__name__}: {exc}); "
            f"{stack.s3_snapshot_dir} keeps the last periodic save",
            file=sys.stderr,
        )
        return
    print(
        f"  localstack saved {done.objects} objects ({done.bytes / 1e6:.1f} MB) to "
        f"{stack.s3_snapshot_dir}"
    )


def service(settings: Settings, stack: StackSettings) -> Service:
    url = settings.s3_endpoint_url or "http://127.0.0.1:4566"
    port = port_of(url, 4566)
    return Service(
        "localstack",
        url,
        port,
        [str(ROOT / "localstack" / "host.sh"), str(STATE / "localstack"), str(port)],
        lambda: ready(url.rstrip("/")),
        env={
            "RETRAIN_DATA_BUCKET": settings.data_bucket,
            "RETRAIN_ARTIFACTS_BUCKET": settings.artifacts_bucket,
            "RETRAIN_LOOP_BUCKET": settings.loop_bucket,
        },
        marker="localstack.runtime.main",
        after_start=lambda: _restore(stack),
        before_stop=lambda: _final_save(stack),
    )


def saver(stack: StackSettings, env: dict[str, str]) -> Service:
    """Saves S3 every `s3_snapshot_seconds` while the stack runs (`s3_snapshot every`)."""
    stamp = stack.s3_snapshot_dir / s3_snapshot.STAMP
    pidfile = STATE / "s3-saver.pid"

    def saved_since_start() -> bool:
        return (
            stamp.exists()
            and pidfile.exists()
            and stamp.stat().st_mtime >= int(pidfile.stat().st_mtime)
        )

    return Service(
        "s3-saver",
        f"{stack.s3_snapshot_dir} every {stack.s3_snapshot_seconds:g}s",
        0,
        [
            str(VENV_BIN / "python"),
            "-m",
            "stack.s3_snapshot",
            "every",
            str(stack.s3_snapshot_seconds),
        ],
        saved_since_start,
        env=env,
        marker="stack.s3_snapshot",
        timeout=120.0,
    )
