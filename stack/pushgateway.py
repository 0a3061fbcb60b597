"""The Prometheus Pushgateway (Debian's prometheus-pushgateway): where flow runs push metrics.

Its metrics are saved to `.stack/pushgateway/metrics` every 30 s and on stop, so the last push
of every model survives `make down` / `make up`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from retrain.settings import Settings
from stack.base import STATE, Service, StackError, http_get, port_of

BINARY = "prometheus-pushgateway"


def _prepare(folder: Path) -> None:
    if not shutil.which(BINARY):
        raise StackError(f"{BINARY} not found: `make setup` installs Debian's {BINARY}")
    folder.mkdir(parents=True, exist_ok=True)


def service(settings: Settings, folder: Path = STATE / "pushgateway") -> Service:
    port = port_of(settings.pushgateway_url, 9091)
    return Service(
        "pushgateway",
        f"http://127.0.0.1:{port}",
        port,
        [
            BINARY,
            f"--web.listen-address=127.0.0.1:{port}",
            f"--persistence.file={folder / 'metrics'}",
            "--persistence.interval=30s",
        ],
        lambda: http_get(f"http://127.0.0.1:{port}/-/ready")[0] == 200,
        marker=BINARY,
        timeout=60.0,
        before_start=lambda: _prepare(folder),
    )
