"""The Alertmanager config the stack writes from the RETRAIN_ALERT_* settings: valid for
`amtool check-config` (Debian's 0.25), routed as documented (`amtool config routes test`), its
secrets only in 0600 files, and a clear error naming a wrong setting."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from stack.alert_settings import AlertSettings, alert_settings
from stack.alertmanager import describe, write_config
from stack.base import StackError

SECRETS = {
    "slack_webhook_url": "http://127.0.0.1:1/services/T000/B000/slack-secret",
    "smtp_password": "smtp-secret",
    "pagerduty_routing_key": "pagerduty-secret",
}


def _settings(**values: Any) -> AlertSettings:
    return AlertSettings(_env_file=None, **values)  # type: ignore[call-arg]


def _all_three(**extra: Any) -> AlertSettings:
    return _settings(
        slack_webhook_url=SecretStr(SECRETS["slack_webhook_url"]),
        slack_channel="#ml-alerts",
        email_to="oncall@example.com",
        email_from="alertmanager@example.com",
        smtp_host="smtp.example.com:587",
        smtp_username="alertmanager",
        smtp_password=SecretStr(SECRETS["smtp_password"]),
        pagerduty_routing_key=SecretStr(SECRETS["pagerduty_routing_key"]),
        **extra,
    )


def _amtool(*args: str) -> subprocess.CompletedProcess[str]:
    amtool = shutil.which("amtool")
    assert amtool, "amtool not found: `make setup` installs Debian's prometheus-alertmanager"
    return subprocess.run([amtool, *args], capture_output=True, text=True, timeout=60, check=False)


def _routes(path: Path, *labels: str) -> str:
    out = _amtool("config", "routes", "test", f"--config.file={path}", *labels)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout.strip()


def test_no_receiver_gives_a_null_route_that_amtool_accepts(tmp_path: Path) -> None:
    path = write_config(_settings(), tmp_path)
    out = _amtool("check-config", str(path))
    assert out.returncode == 0 and "SUCCESS" in out.stdout, out.stdout + out.stderr
    body = yaml.safe_load(path.read_text())
    assert body["route"]["receiver"] == "null"
    assert body["receivers"] == [{"name": "null"}]
    assert _routes(path, "alertname=RetrainFlowFailed", "severity=critical") == "null"
    assert "no receiver configured" in describe(_settings())


def test_all_three_receivers_pass_amtool_and_route_by_severity(tmp_path: Path) -> None:
    alerts = _all_three(group_wait="10s", group_interval="1m", repeat_interval="12h")
    path = write_config(alerts, tmp_path)
    out = _amtool("check-config", str(path))
    assert out.returncode == 0 and "3 receivers" in out.stdout, out.stdout + out.stderr
    route = yaml.safe_load(path.read_text())["route"]
    assert route["group_by"] == ["alertname", "model"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == (
        "10s",
        "1m",
        "12h",
    )
    assert _routes(path, "alertname=RetrainFlowFailed", "severity=critical") == "pager,team"
    assert _routes(path, "alertname=RetrainDriftShareHigh", "severity=warning") == "team"
    assert describe(alerts).startswith("routed to slack, email, pagerduty")


def test_pagerduty_alone_pages_the_critical_and_drops_the_rest(tmp_path: Path) -> None:
    alerts = _settings(pagerduty_routing_key=SecretStr("k"), pagerduty_severity="page")
    path = write_config(alerts, tmp_path)
    assert _amtool("check-config", str(path)).returncode == 0
    assert _routes(path, "severity=page") == "pager,null"
    assert _routes(path, "severity=critical") == "null"


def test_secrets_live_only_in_private_files(tmp_path: Path) -> None:
    path = write_config(_all_three(), tmp_path)
    text = path.read_text()
    assert not [s for s in SECRETS.values() if s in text]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secrets = tmp_path / "secrets"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    for name, value in SECRETS.items():
        assert (secrets / name).read_text() == value
        assert stat.S_IMODE((secrets / name).stat().st_mode) == 0o600
        assert str(secrets / name) in text  # named through the *_file options
    write_config(_settings(), tmp_path)  # the secrets unset since: their files go
    assert not list(secrets.iterdir())


def test_an_empty_variable_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETRAIN_ALERT_SLACK_WEBHOOK_URL", "")
    monkeypatch.setenv("RETRAIN_ALERT_PAGERDUTY_ROUTING_KEY", "")
    assert AlertSettings(_env_file=None).receivers() == []  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        (
            {"RETRAIN_ALERT_GROUP_WAIT": "soon"},
            "RETRAIN_ALERT_GROUP_WAIT: 'soon' is not a duration",
        ),
        ({"RETRAIN_ALERT_EMAIL_TO": "a@example.com"}, "it needs RETRAIN_ALERT_EMAIL_FROM"),
        (
            {
                "RETRAIN_ALERT_EMAIL_TO": "a@example.com",
                "RETRAIN_ALERT_EMAIL_FROM": "b@example.com",
                "RETRAIN_ALERT_SMTP_HOST": "smtp.example.com",
            },
            "needs a port",
        ),
        ({"RETRAIN_ALERT_SMTP_PASSWORD": "x"}, "RETRAIN_ALERT_SMTP_USERNAME is not"),
        ({"RETRAIN_ALERT_PAGERDUTY_SEVERITY": 'x"}'}, "RETRAIN_ALERT_PAGERDUTY_SEVERITY"),
    ],
)
def test_a_wrong_setting_is_named(
    env: dict[str, str], named: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the checkout's
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(StackError, match="alert settings") as caught:
        alert_settings()
    assert named in str(caught.value)
    assert named in describe()  # `make status` says it too


def test_a_wrong_secret_is_named_but_never_echoed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RETRAIN_ALERT_SLACK_WEBHOOK_URL", "hooks.example.com/very-secret")
    with pytest.raises(StackError, match="RETRAIN_ALERT_SLACK_WEBHOOK_URL") as caught:
        alert_settings()
    assert "very-secret" not in str(caught.value)
