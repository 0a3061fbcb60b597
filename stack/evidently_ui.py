"""The Evidently UI (`evidently ui`, from the project's environment): one project per model,
a snapshot per window, added by the flow through the UI's HTTP API.

Its workspace is `.stack/evidently/` (projects, dashboards, snapshots as JSON files), so every
project survives `make down` / `make up`.
"""

from __future__ import annotations

from retrain.settings import Settings
from stack.base import STATE, VENV_BIN, Service, http_get, port_of

WORKSPACE = STATE / "evidently"


def service(settings: Settings, env: dict[str, str]) -> Service:
    port = port_of(settings.evidently_ui_url, 8000)
    return Service(
        "evidently",
        f"http://127.0.0.1:{port}",
        port,
        [
            str(VENV_BIN / "evidently"),
            "ui",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--workspace={WORKSPACE}",
        ],
        lambda: http_get(f"http://127.0.0.1:{port}/api/version")[0] == 200,
        env=env,
        marker="evidently",
        timeout=120.0,
        before_start=lambda: WORKSPACE.mkdir(parents=True, exist_ok=True),
    )
