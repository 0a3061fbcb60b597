"""Alertmanager (Debian's prometheus-alertmanager 0.25): routes Prometheus's alerts to people.

Its config is written to `.stack/alertmanager/alertmanager.yml` on every start, from the
`RETRAIN_ALERT_*` settings: Slack and email get every alert, PagerDuty the critical ones; alerts
are grouped by alertname and model. Secrets (the Slack webhook URL, the SMTP password, the
PagerDuty routing key) go to files of their own (mode 0600) that the config names through
Alertmanager's `*_file` options, so neither the config, nor a command line, nor Alertmanager's
status API holds them. With no receiver configured the alerts stop at a `null` receiver.
Silences and the notification log live in `.stack/alertmanager/data`, so they survive
`make down` / `make up`.

    python -m stack.alertmanager write FOLDER   # the config and secrets into FOLDER (compose)
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from retrain.settings import Settings
from stack.alert_settings import AlertSettings, alert_settings, explain
from stack.base import STATE, Service, StackError, http_get, port_of

BINARY = "prometheus-alertmanager"
FOLDER = STATE / "alertmanager"
GROUP_BY = ["alertname", "model"]
# One line per alert of the notification: its summary, severity and model version.
TEXT = (
    "{{ range .Alerts }}{{ .Annotations.summary }} ({{ .Labels.severity }}"
    '{{ with .Labels.version }}, version {{ . }}{{ end }}){{ "\\n" }}{{ end }}'
)
PAGERDUTY_SEVERITY = (
    '{{ if eq .CommonLabels.severity "critical" "error" "warning" "info" }}'
    "{{ .CommonLabels.severity }}{{ else }}error{{ end }}"
)
PAGERDUTY_SOURCE = "retrain-loop{{ with .CommonLabels.model }} {{ . }}{{ end }}"


def write_secrets(alerts: AlertSettings, folder: Path) -> dict[str, Path]:
    """Write each configured secret to `folder/secrets/<name>` (0600); returns name -> path."""
    secrets = {
        "slack_webhook_url": alerts.slack_webhook_url,
        "smtp_password": alerts.smtp_password,
        "pagerduty_routing_key": alerts.pagerduty_routing_key,
    }
    target = folder / "secrets"
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    target.chmod(0o700)
    written: dict[str, Path] = {}
    for name, secret in secrets.items():
        path = target / name
        path.unlink(missing_ok=True)  # a secret unset since the last start goes
        if secret is not None:
            _write_private(path, secret.get_secret_value())
            written[name] = path
    return written


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    path.chmod(0o600)


def config(alerts: AlertSettings, secrets: dict[str, Path]) -> dict[str, Any]:
    """The Alertmanager config: a `team` receiver (Slack, email) for every alert, a `pager`
    receiver (PagerDuty) for the paging severity, `null` when nothing is configured."""
    team: dict[str, Any] = {"name": "team"}
    if "slack_webhook_url" in secrets:
        slack = {"api_url_file": str(secrets["slack_webhook_url"]), "send_resolved": True}
        team["slack_configs"] = [{**slack, "text": TEXT}]
        if alerts.slack_channel:
            team["slack_configs"][0]["channel"] = alerts.slack_channel
    if alerts.email_to:
        email: dict[str, Any] = {
            "to": alerts.email_to,
            "from": alerts.email_from,
            "smarthost": alerts.smtp_host,
            "require_tls": alerts.smtp_require_tls,
            "send_resolved": True,
            "text": TEXT,
        }
        if alerts.smtp_username:
            email["auth_username"] = alerts.smtp_username
        if "smtp_password" in secrets:
            email["auth_password_file"] = str(secrets["smtp_password"])
        team["email_configs"] = [email]
    receivers: list[dict[str, Any]] = [{"name": "null"}]
    route: dict[str, Any] = {
        "receiver": "team" if len(team) > 1 else "null",
        "group_by": GROUP_BY,
        "group_wait": alerts.group_wait,
        "group_interval": alerts.group_interval,
        "repeat_interval": alerts.repeat_interval,
    }
    if len(team) > 1:
        receivers.append(team)
    if "pagerduty_routing_key" in secrets:
        pager: dict[str, Any] = {
            "routing_key_file": str(secrets["pagerduty_routing_key"]),
            "url": alerts.pagerduty_url,
            "send_resolved": True,
            "severity": PAGERDUTY_SEVERITY,
            "source": PAGERDUTY_SOURCE,
            "details": {"summary": TEXT},
        }
        receivers.append({"name": "pager", "pagerduty_configs": [pager]})
        # The paging severity goes to the pager and on to the team; the rest to the team only.
        route["routes"] = [
            {
                "receiver": "pager",
                "matchers": [f'severity="{alerts.pagerduty_severity}"'],
                "continue": True,
            },
            {"receiver": route["receiver"]},
        ]
    return {"route": route, "receivers": receivers}


def write_config(alerts: AlertSettings, folder: Path = FOLDER) -> Path:
    """Write the secrets and the config (0600) into `folder`; returns the config's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    path = folder / "alertmanager.yml"
    _write_private(
        path,
        yaml.safe_dump(config(alerts, write_secrets(alerts, folder)), sort_keys=False, width=1000),
    )
    return path


def describe(alerts: AlertSettings | None = None) -> str:
    """Where alerts go, for `make status`."""
    try:
        alerts = alerts or AlertSettings()
    except ValidationError as exc:
        return f"alert settings invalid: {explain(exc)}"
    names = alerts.receivers()
    if not names:
        return "no receiver configured: alerts stop at Alertmanager (see docs/alerts.md)"
    paging = f" (pagerduty: severity={alerts.pagerduty_severity})" if "pagerduty" in names else ""
    return f"routed to {', '.join(names)}{paging}, grouped by {', '.join(GROUP_BY)}"


def _prepare(folder: Path, alerts: AlertSettings | None) -> None:
    if not shutil.which(BINARY):
        raise StackError(f"{BINARY} not found: `make setup` installs Debian's {BINARY}")
    write_config(alerts or alert_settings(), folder)


def service(
    settings: Settings, alerts: AlertSettings | None = None, folder: Path = FOLDER
) -> Service:
    """The Alertmanager of the stack (`alerts` read at start when not given); its HA cluster
    port is switched off, it listens on 127.0.0.1 only."""
    port = port_of(settings.alertmanager_url, 9093)
    url = f"http://127.0.0.1:{port}"
    return Service(
        "alertmanager",
        url,
        port,
        [
            BINARY,
            f"--config.file={folder / 'alertmanager.yml'}",
            f"--storage.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--web.external-url={url}",
            "--cluster.listen-address=",
        ],
        lambda: http_get(f"{url}/-/ready")[0] == 200,
        marker=BINARY,
        timeout=60.0,
        before_start=lambda: _prepare(folder, alerts),
    )


def main(argv: list[str]) -> int:
    """`write FOLDER`: the config and secrets from the environment (the compose stack's)."""
    if len(argv) != 2 or argv[0] != "write":
        print(__doc__, file=sys.stderr)
        return 2
    try:
        print(write_config(alert_settings(), Path(argv[1])))
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
