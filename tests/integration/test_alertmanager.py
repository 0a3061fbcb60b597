"""Prometheus alerts that reach someone: the repo's rules, fired by series pushed to a
Pushgateway, go through a real Prometheus and a real Alertmanager (Debian's 0.25, configured by
stack/alertmanager.py from the RETRAIN_ALERT_* settings) to a local Slack webhook, a local SMTP
server and a local PagerDuty Events API v2: once per group (alertname, model), critical ones
paged, warnings not, nothing while a silence holds. And the stack's own Alertmanager: Prometheus
sends to it, and its silences survive a restart."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from retrain.settings import Settings
from retrain.sinks.prometheus import JOB, Sample, push, run_samples
from stack import alertmanager, cli, prometheus, pushgateway
from stack.alert_settings import AlertSettings
from stack.base import Service, http_get
from tests.receivers import HttpSink, SmtpSink

pytestmark = pytest.mark.integration

SLACK_PATH = "/services/T0TEST/B0TEST/"  # the webhook's token is the secret part
SMTP_LOGIN = ("alertmanager", f"smtp-{uuid.uuid4().hex[:8]}")
ROUTING_KEY = f"pd-{uuid.uuid4().hex}"
SUBJECT = re.compile(r"^\[(FIRING|RESOLVED)(?::(\d+))?\] (\S+) (\S+)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(
    what: str,
    probe: Callable[[], Any],
    timeout: float = 60.0,
    seen: Callable[[], Any] | None = None,
) -> Any:
    """Poll until `probe` returns something truthy; on timeout say what `seen` shows."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found or time.monotonic() > deadline:
            assert found, f"{what}: not after {timeout:.0f}s; seen: {seen() if seen else found!r}"
            return found
        time.sleep(0.5)


def _api(url: str, method: str = "GET", body: Any = None) -> Any:
    req = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read()
    return json.loads(text) if text else None


def _silence(am_url: str, model: str, minutes: int = 60) -> str:
    """A silence of every alert of `model`, through Alertmanager's API v2; returns its id."""
    now = datetime.now(UTC)
    body = {
        "matchers": [{"name": "model", "value": model, "isRegex": False, "isEqual": True}],
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(minutes=minutes)).isoformat(),
        "createdBy": "tests/integration/test_alertmanager.py",
        "comment": "retraining by hand",
    }
    return str(_api(f"{am_url}/api/v2/silences", "POST", body)["silenceID"])


def _alerts_of(am_url: str, model: str) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode({"filter": f'model="{model}"'})
    return list(_api(f"{am_url}/api/v2/alerts?{query}"))


def _forget(pushgateway_url: str, model: str) -> None:
    """Delete the model's group from the Pushgateway (its alerts then resolve)."""
    url = f"{pushgateway_url.rstrip('/')}/metrics/job/{JOB}/model/{model}"
    urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=10).close()


def _floor_breach(model: str) -> list[Sample]:
    """Two metrics of one model under their floors (one group, two alerts) and its drift share
    over the threshold (a warning)."""
    v = {"model": model, "version": "3"}
    return [
        Sample("retrain_window_metric", {**v, "metric": "roc_auc"}, 0.41),
        Sample("retrain_window_metric", {**v, "metric": "quality/f1"}, 0.2),
        Sample("retrain_metric_floor", {"model": model, "metric": "roc_auc", "bound": "min"}, 0.6),
        Sample(
            "retrain_metric_floor", {"model": model, "metric": "quality/f1", "bound": "min"}, 0.5
        ),
        Sample("retrain_drift_share", v, 0.8),
        Sample("retrain_drift_threshold", {"model": model}, 0.5),
    ]


@dataclass
class Routed:
    """The private Pushgateway, Prometheus and Alertmanager, and the receivers behind them."""

    settings: Settings
    am_url: str
    http: HttpSink
    smtp: SmtpSink
    folder: Path

    def slack(self, model: str, status: str = "FIRING") -> list[tuple[str, int, dict[str, Any]]]:
        """(alertname, alerts in the notification, attachment) of each Slack post for `model`."""
        out = []
        for body in self.http.bodies(SLACK_PATH):
            att = body["attachments"][0]
            m = SUBJECT.match(att["title"])
            if m and m[1] == status and m[4] == model:
                out.append((m[3], int(m[2] or 0), att))
        return out

    def mails(self, model: str, status: str = "FIRING") -> list[tuple[str, int, Any]]:
        out = []
        for env in self.smtp.messages():
            m = SUBJECT.match(str(env.message["Subject"]))
            if m and m[1] == status and m[4] == model:
                out.append((m[3], int(m[2] or 0), env))
        return out

    def pages(self, model: str, action: str = "trigger") -> list[tuple[str, int, dict[str, Any]]]:
        out = []
        for body in self.http.bodies("/v2/enqueue"):
            m = SUBJECT.match(body["payload"]["summary"])
            if m and m[4] == model and body["event_action"] == action:
                out.append((m[3], int(m[2] or 0), body))
        return out


def _run(svc: Service, log: Path) -> subprocess.Popen[bytes]:
    """Start one service's process as the stack would (its own prepare step, its command) and
    wait on its health check; a service that does not come up fails the test with its log."""
    assert svc.before_start
    svc.before_start()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            svc.command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while not svc.healthy():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{svc.name} did not start:\n{log.read_text()[-3000:]}", pytrace=False)
        time.sleep(0.2)
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _require(settings: Settings) -> None:
    for name, url in {
        "Pushgateway": settings.pushgateway_url,
        "Prometheus": settings.prometheus_url,
        "Alertmanager": settings.alertmanager_url,
    }.items():
        if http_get(f"{url.rstrip('/')}/-/ready")[0] != 200:
            pytest.fail(f"the stack's {name} ({url}) is not ready: `make up` first", pytrace=False)


@pytest.fixture(scope="module")
def routed(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Routed]:
    """A Pushgateway, a Prometheus (rules evaluated every second) and an Alertmanager routing to
    the local receivers with a second of group_wait: the stack's modules start them on ports of
    their own (a parallel test restarts the stack's Pushgateway, which would resolve and re-fire
    the alerts)."""
    folder = tmp_path_factory.mktemp("alerting")
    with HttpSink() as http, SmtpSink(*SMTP_LOGIN) as smtp:
        alerts = AlertSettings(
            _env_file=None,  # type: ignore[call-arg]
            slack_webhook_url=SecretStr(f"{http.url}{SLACK_PATH}{uuid.uuid4().hex}"),
            email_to="oncall@example.com",
            email_from="alertmanager@example.com",
            smtp_host=f"127.0.0.1:{smtp.port}",
            smtp_username=SMTP_LOGIN[0],
            smtp_password=SecretStr(SMTP_LOGIN[1]),
            smtp_require_tls=False,  # the test's server has no STARTTLS
            pagerduty_routing_key=SecretStr(ROUTING_KEY),
            pagerduty_url=f"{http.url}/v2/enqueue",
            group_wait="1s",
            group_interval="2s",
            repeat_interval="1h",
        )
        private = settings.model_copy(
            update={
                f"{name}_url": f"http://127.0.0.1:{_free_port()}"
                for name in ("pushgateway", "alertmanager", "prometheus")
            }
        )
        services = [
            pushgateway.service(private, folder / "pushgateway"),
            alertmanager.service(private, alerts, folder / "alertmanager"),
            prometheus.service(private, folder / "prometheus", interval="1s"),
        ]
        procs: list[subprocess.Popen[bytes]] = []
        try:
            for svc in services:
                procs.append(_run(svc, folder / f"{svc.name}.log"))
            yield Routed(private, private.alertmanager_url, http, smtp, folder)
        finally:
            for proc in reversed(procs):
                _stop(proc)


@pytest.fixture(scope="module")
def fired(routed: Routed) -> tuple[str, str, str]:
    """Model A: its run failed, two metrics under their floors, drift high. Model B: its run
    failed, under a silence created before the push. Pushed the way the flow pushes."""
    a, b = (f"alerted_{uuid.uuid4().hex[:8]}" for _ in range(2))
    silence = _silence(routed.am_url, b)
    url = routed.settings.pushgateway_url
    push(url, a, [*run_samples(a, False, 3.0, datetime.now(UTC)), *_floor_breach(a)])
    push(url, b, run_samples(b, False, 3.0, datetime.now(UTC)))
    return a, b, silence


@pytest.mark.slow
def test_a_firing_rule_reaches_slack_email_and_pagerduty_once_per_group(
    routed: Routed, fired: tuple[str, str, str]
) -> None:
    a, _, _ = fired
    want = {("RetrainFlowFailed", 1), ("RetrainMetricBelowFloor", 2), ("RetrainDriftShareHigh", 1)}
    paged = {("RetrainFlowFailed", 1), ("RetrainMetricBelowFloor", 2)}  # critical only
    for where, got, expected, timeout in (
        ("on Slack", lambda: {n[:2] for n in routed.slack(a)}, want, 90),
        ("by email", lambda: {n[:2] for n in routed.mails(a)}, want, 30),
        ("on PagerDuty", lambda: {p[:2] for p in routed.pages(a)}, paged, 30),
    ):
        _wait(f"the groups {where}", lambda g=got, e=expected: g() == e, timeout, seen=got)
    time.sleep(5)  # more than two group_intervals: an unchanged group is not sent again
    assert sorted(n[:2] for n in routed.slack(a)) == sorted(want)
    assert sorted(n[:2] for n in routed.mails(a)) == sorted(want)
    assert sorted(p[:2] for p in routed.pages(a)) == sorted(paged)

    floor = f"{a} v3: roc_auc 0.41 is past its floor (critical, version 3)"
    f1 = f"{a} v3: quality/f1 0.2 is past its floor (critical, version 3)"
    failed = f"{a}: the last flow run failed (see the Prefect UI) (critical, version unknown)"
    slack = {name: att for name, _, att in routed.slack(a)}
    assert floor in slack["RetrainMetricBelowFloor"]["text"]
    assert f1 in slack["RetrainMetricBelowFloor"]["text"]
    assert failed in slack["RetrainFlowFailed"]["text"]
    assert f"{a} v3: 0.8 of the feature columns drifted" in slack["RetrainDriftShareHigh"]["text"]

    mails = {name: env for name, _, env in routed.mails(a)}
    env = mails["RetrainMetricBelowFloor"]
    assert env.login == SMTP_LOGIN[0] and routed.smtp.refused_logins == 0
    assert env.sender == "alertmanager@example.com"
    assert env.recipients == ["oncall@example.com"]
    assert env.message["To"] == "oncall@example.com"
    text = env.message.get_body(("plain",)).get_content()
    assert floor in text and f1 in text
    assert failed in mails["RetrainFlowFailed"].message.get_body(("plain",)).get_content()

    pages = {name: body for name, _, body in routed.pages(a)}
    event = pages["RetrainMetricBelowFloor"]
    assert event["routing_key"] == ROUTING_KEY
    assert event["event_action"] == "trigger" and event["dedup_key"]
    assert event["payload"]["severity"] == "critical"
    assert event["payload"]["source"] == f"retrain-loop {a}"
    assert event["payload"]["summary"].startswith(f"[FIRING:2] RetrainMetricBelowFloor {a}")
    assert floor in event["payload"]["custom_details"]["summary"]
    assert pages["RetrainFlowFailed"]["payload"]["summary"].startswith(
        f"[FIRING:1] RetrainFlowFailed {a}"
    )


@pytest.mark.slow
def test_a_silence_holds_the_notifications_until_it_expires(
    routed: Routed, fired: tuple[str, str, str]
) -> None:
    _, b, silence = fired
    held = _wait(
        "B's alert in Alertmanager, silenced",
        lambda: [
            x
            for x in _alerts_of(routed.am_url, b)
            if x["status"]["state"] == "suppressed" and x["status"]["silencedBy"] == [silence]
        ],
    )
    assert held[0]["labels"]["alertname"] == "RetrainFlowFailed"
    time.sleep(4)  # group_wait and a group_interval have passed: nothing may go out
    assert not routed.slack(b) and not routed.mails(b) and not routed.pages(b)

    _api(f"{routed.am_url}/api/v2/silence/{silence}", "DELETE")  # expire it
    _wait("B on Slack once the silence expired", lambda: routed.slack(b), 30)
    _wait("B by email", lambda: routed.mails(b), 30)
    _wait("B on PagerDuty", lambda: routed.pages(b), 30)


@pytest.mark.slow
def test_a_resolved_group_is_sent_resolved_with_the_same_dedup_key(
    routed: Routed, fired: tuple[str, str, str]
) -> None:
    a, _, _ = fired

    def paged(action: str) -> dict[str, Any] | None:
        return {p[0]: p[2] for p in routed.pages(a, action)}.get("RetrainFlowFailed")

    first = _wait("A's failure paged", lambda: paged("trigger"), 90)
    _forget(routed.settings.pushgateway_url, a)
    resolved = _wait("A's failure resolved on PagerDuty", lambda: paged("resolve"))
    assert resolved["dedup_key"] == first["dedup_key"]
    assert resolved["routing_key"] == ROUTING_KEY
    _wait("A's failure resolved on Slack", lambda: routed.slack(a, "RESOLVED"))


def test_the_config_on_disk_and_the_status_api_hold_no_secret(routed: Routed) -> None:
    text = (routed.folder / "alertmanager" / "alertmanager.yml").read_text()
    shown = json.dumps(_api(f"{routed.am_url}/api/v2/status"))
    for secret in (ROUTING_KEY, SMTP_LOGIN[1], SLACK_PATH):
        assert secret not in text and secret not in shown
    assert "routing_key_file" in shown and "auth_password_file" in shown


def test_the_stacks_prometheus_sends_to_the_stacks_alertmanager(
    stack: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    _require(stack)
    targets = _api(f"{stack.prometheus_url}/api/v1/alertmanagers")["data"]["activeAlertmanagers"]
    assert [t["url"] for t in targets] == [f"{stack.alertmanager_url}/api/v2/alerts"]
    model = f"alerted_{uuid.uuid4().hex[:8]}"
    push(stack.pushgateway_url, model, run_samples(model, False, 1.0, datetime.now(UTC)))
    try:
        got = _wait(
            "the failure in the stack's Alertmanager",
            lambda: _alerts_of(stack.alertmanager_url, model),
        )
        assert got[0]["labels"]["alertname"] == "RetrainFlowFailed"
    finally:
        _forget(stack.pushgateway_url, model)
    cli.status()
    out = capsys.readouterr().out
    assert re.search(r"alertmanager +healthy", out), out
    assert f"alerts: {alertmanager.describe()}" in out


@pytest.mark.serial
def test_a_silence_survives_an_alertmanager_restart(stack: Settings) -> None:
    _require(stack)
    model = f"silenced_{uuid.uuid4().hex[:8]}"
    silence = _silence(stack.alertmanager_url, model)
    try:
        cli.down(["alertmanager"])
        cli.up(["alertmanager"])
        kept = _api(f"{stack.alertmanager_url}/api/v2/silence/{silence}")
        assert kept["status"]["state"] == "active"
        assert kept["matchers"][0]["value"] == model
    finally:
        _api(f"{stack.alertmanager_url}/api/v2/silence/{silence}", "DELETE")


def test_a_failing_receiver_logs_no_secret(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Every receiver down (a port nothing listens on): Alertmanager logs each failed attempt,
    and none of the secrets (it redacts the Slack URL; the others never appear)."""
    secrets = {name: f"{name}-{uuid.uuid4().hex}" for name in ("slack", "smtp", "pagerduty")}
    dead = f"127.0.0.1:{_free_port()}"
    alerts = AlertSettings(
        _env_file=None,  # type: ignore[call-arg]
        slack_webhook_url=SecretStr(f"http://{dead}{SLACK_PATH}{secrets['slack']}"),
        email_to="oncall@example.com",
        email_from="alertmanager@example.com",
        smtp_host=dead,
        smtp_username="alertmanager",
        smtp_password=SecretStr(secrets["smtp"]),
        pagerduty_routing_key=SecretStr(secrets["pagerduty"]),
        pagerduty_url=f"http://{dead}/v2/enqueue",
        group_wait="1s",
    )
    folder = tmp_path_factory.mktemp("alerting-down")
    private = settings.model_copy(update={"alertmanager_url": f"http://127.0.0.1:{_free_port()}"})
    proc = _run(alertmanager.service(private, alerts, folder / "am"), folder / "am.log")
    try:
        firing = {"alertname": "RetrainFlowFailed", "severity": "critical", "model": "m"}
        _api(f"{private.alertmanager_url}/api/v2/alerts", "POST", [{"labels": firing}])
        failed = ("integration=slack", "integration=email", "integration=pagerduty")
        log = folder / "am.log"
        _wait(
            "a failed attempt of each receiver in the log",
            lambda: all(f in log.read_text() for f in failed),
            30,
            seen=lambda: log.read_text()[-2000:],
        )
    finally:
        _stop(proc)
    text = log.read_text()
    assert "Notify attempt failed" in text
    assert not [name for name, secret in secrets.items() if secret in text]
