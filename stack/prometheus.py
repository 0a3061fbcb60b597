"""Prometheus (Debian's prometheus): scrapes the Pushgateway, evaluates the repo's alert rules.

Its config is written to `.stack/prometheus/prometheus.yml` on every start (from the settings:
the Pushgateway's and Alertmanager's ports may move); its time series live in
`.stack/prometheus/data`, so they survive `make down` / `make up`. Firing alerts go to the
stack's Alertmanager (stack/alertmanager.py), which routes them to people.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from retrain.settings import Settings
from stack.base import ROOT, STATE, Service, StackError, http_get, port_of

BINARY = "prometheus"
FOLDER = STATE / "prometheus"
RULES = ROOT / "monitoring" / "prometheus" / "alerts.yml"
INTERVAL = "5s"  # scrape and rule evaluation: a pushed run is visible within seconds


def config(
    pushgateway: str,
    rules: Path | str = RULES,
    interval: str = INTERVAL,
    alertmanager: str | None = None,
) -> dict[str, Any]:
    """The Prometheus config: scrape the Pushgateway keeping the pushed job and labels, send
    firing alerts to `alertmanager` (host:port) when one is given."""
    out: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(rules)],
        "scrape_configs": [
            {
                "job_name": "pushgateway",
                "honor_labels": True,
                "static_configs": [{"targets": [pushgateway]}],
            }
        ],
    }
    if alertmanager:
        out["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    return out


def write_config(settings: Settings, folder: Path = FOLDER, interval: str = INTERVAL) -> Path:
    """Write the config for this host's Pushgateway and Alertmanager; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    target = f"127.0.0.1:{port_of(settings.pushgateway_url, 9091)}"
    alertmanager = f"127.0.0.1:{port_of(settings.alertmanager_url, 9093)}"
    path = folder / "prometheus.yml"
    body = config(target, interval=interval, alertmanager=alertmanager)
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def _prepare(settings: Settings, folder: Path, interval: str) -> None:
    if not shutil.which(BINARY):
        raise StackError(f"{BINARY} not found: `make setup` installs Debian's {BINARY}")
    write_config(settings, folder, interval)


def service(settings: Settings, folder: Path = FOLDER, interval: str = INTERVAL) -> Service:
    port = port_of(settings.prometheus_url, 9090)
    return Service(
        "prometheus",
        f"http://127.0.0.1:{port}",
        port,
        [
            BINARY,
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle",
        ],
        lambda: http_get(f"http://127.0.0.1:{port}/-/ready")[0] == 200,
        marker=BINARY,
        timeout=120.0,
        before_start=lambda: _prepare(settings, folder, interval),
    )
