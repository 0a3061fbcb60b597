"""The flow's metrics in the live Prometheus: pushed by real flow runs to the stack's Pushgateway,
scraped, queried over the HTTP API; the floor rule fires on a window built to breach it, every
panel of the Grafana dashboard returns data, a failed run pushes its failure, and an unreachable
Pushgateway fails no run."""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flows.monitor import monitor_and_retrain
from retrain.config import ConfigError, DataSource, load_config
from retrain.run_record import load_record
from retrain.settings import Settings, get_settings
from stack import cli
from tasks.prometheus import push_run_outcome, push_window_metrics
from tests.helpers import write_config
from tests.streams import day, stream_config, write_stream

pytestmark = [pytest.mark.integration, pytest.mark.slow]
DASHBOARD = Path(__file__).resolve().parents[2] / "monitoring/grafana/dashboards/retrain.json"


def _api(settings: Settings, path: str, **params: str) -> Any:
    url = f"{settings.prometheus_url.rstrip('/')}/api/v1/{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.loads(resp.read())
    assert body["status"] == "success", body
    return body["data"]


def _query(settings: Settings, promql: str) -> list[dict[str, Any]]:
    return list(_api(settings, "query", query=promql)["result"])


def _wait(what: str, probe: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll until `probe` returns something truthy (Prometheus scrapes and evaluates every 5 s)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found or time.monotonic() > deadline:
            assert found, f"{what}: nothing after {timeout:.0f}s"
            return found
        time.sleep(1.0)


def _firing(settings: Settings, alert: str, model: str) -> list[dict[str, Any]]:
    return [
        a
        for a in _api(settings, "alerts")["alerts"]
        if a["labels"]["alertname"] == alert
        and a["labels"].get("model") == model
        and a["state"] == "firing"
    ]


# One recipe, no archived versions, no refit, few bootstrap resamples: the runs stay cheap.
CHEAP: dict[str, Any] = {
    "training": {"candidates": [{"days": 20}], "archived_versions": 0, "refit": False},
    "thresholds": {"bootstrap_resamples": 50},
}


@pytest.fixture(scope="module")
def failed_model(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A model whose data bucket does not exist: its run fails before the model's lock and
    before any record (run first, so Prometheus scrapes it while the other runs go on)."""
    name = f"prom_fail_{uuid.uuid4().hex[:8]}"
    folder = tmp_path_factory.mktemp("prom-fail")
    bucket = f"no-such-bucket-{uuid.uuid4().hex[:8]}"
    write_config(folder, stream_config(name, bucket, "tests/prom-none", **CHEAP))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RETRAIN_CONFIG_DIR", str(folder))
        with pytest.raises(ConfigError, match="does not exist"):
            monitor_and_retrain(name, as_of=day(25))
    return name


@pytest.fixture(scope="module")
def breached(
    stack: Settings, s3: Any, tmp_path_factory: pytest.TempPathFactory, failed_model: str
) -> tuple[str, dict[str, Any], Path]:
    """A stream whose concept flips on day 30: the champion bootstrapped on day 25 falls under
    its floor (0.6) in the window ending on day 35."""
    name = f"prom_{uuid.uuid4().hex[:8]}"
    folder = tmp_path_factory.mktemp("prom")
    write_config(folder, stream_config(name, stack.data_bucket, f"tests/prom/{name}", **CHEAP))
    source = DataSource(bucket=stack.data_bucket, prefix=f"tests/prom/{name}")
    write_stream(s3, source, 36, lambda i: "A" if i < 30 else "B")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RETRAIN_CONFIG_DIR", str(folder))
        assert monitor_and_retrain(name, as_of=day(25))["promoted_version"] == "1"
        record = monitor_and_retrain(name, as_of=day(35))
    assert "below_floor" in record["decision"]["reasons"], record["decision"]
    return name, record, folder


def test_run_series_in_prometheus_and_the_floor_rule_fires(
    stack: Settings, breached: tuple[str, dict[str, Any], Path]
) -> None:
    name, record, _ = breached
    metric_now = record["champion"]["metric_now"]
    got = _wait(
        "the window metric of the second run",
        lambda: [
            r
            for r in _query(stack, f'retrain_window_metric{{model="{name}", metric="roc_auc"}}')
            if abs(float(r["value"][1]) - metric_now) < 1e-9
        ],
    )
    assert got[0]["metric"]["version"] == "1" and got[0]["metric"]["job"] == "retrain_loop"
    series = _query(stack, f'{{job="retrain_loop", model="{name}"}}')
    names = {s["metric"]["__name__"] for s in series}
    assert {
        "retrain_window_metric",
        "retrain_metric_floor",
        "retrain_drift_share",
        "retrain_drifted_columns",
        "retrain_window_rows",
        "retrain_window_labelled_rows",
        "retrain_decision",
        "retrain_run_outcome",
        "retrain_run_duration_seconds",
        "retrain_last_success_timestamp_seconds",
    } <= names, names
    value = {
        (s["metric"]["__name__"], s["metric"].get("action") or s["metric"].get("outcome")): float(
            s["value"][1]
        )
        for s in series
    }
    assert value[("retrain_window_rows", None)] == record["window"]["rows"]
    assert value[("retrain_decision", "retrain")] == 1
    assert value[("retrain_run_outcome", "success")] == 1
    # the outcome is pushed by the flow's completion hook, after the record's metrics: a scrape
    # between the two pushes still shows the first run's outcome (version none), so wait for it
    outcome = _wait(
        "the second run's outcome, its version read back from the record the flow returned",
        lambda: [
            s
            for s in _query(stack, f'retrain_run_outcome{{model="{name}", outcome="success"}}')
            if s["metric"].get("version") == "1"
        ],
    )
    assert float(outcome[0]["value"][1]) == 1
    assert value[("retrain_metric_floor", None)] == 0.6
    assert 0 < value[("retrain_run_duration_seconds", None)] < 600

    alert = _wait(
        "RetrainMetricBelowFloor firing", lambda: _firing(stack, "RetrainMetricBelowFloor", name)
    )
    assert alert[0]["labels"]["version"] == "1"
    assert float(alert[0]["value"]) == pytest.approx(metric_now)


def test_every_dashboard_panel_query_returns_data(
    stack: Settings, breached: tuple[str, dict[str, Any], Path]
) -> None:
    """Grafana is not installable here: each panel's PromQL runs against Prometheus itself."""
    name, _, _ = breached
    _wait("the floor alert", lambda: _firing(stack, "RetrainMetricBelowFloor", name))
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(dashboard["panels"]) >= 8 and all("$model" in e for e in exprs)
    empty = [e for e in exprs if not _query(stack, e.replace("$model", name))]
    assert not empty, f"panel queries without data: {empty}"


def test_a_failed_run_pushes_its_failure(stack: Settings, failed_model: str) -> None:
    """The flow's state hook pushes the failure of a run that never reached its record."""
    _wait(
        "the failed run's outcome",
        lambda: _query(
            stack,
            f'retrain_run_outcome{{model="{failed_model}", outcome="failure", version="unknown"}}'
            " == 1",
        ),
    )
    _wait("RetrainFlowFailed firing", lambda: _firing(stack, "RetrainFlowFailed", failed_model))


def test_an_unreachable_pushgateway_fails_no_run(
    stack: Settings,
    breached: tuple[str, dict[str, Any], Path],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The flow's push task and state hook against a port nothing listens on: the run
    completes, the hook warns naming the URL (a flow of its own: the loop's wiring adds nothing
    that could catch an error)."""
    from prefect import flow

    name, record, folder = breached
    dead = "http://127.0.0.1:9"  # the discard port: nothing listens
    monkeypatch.setenv("RETRAIN_PUSHGATEWAY_URL", dead)
    settings = get_settings()
    assert settings.pushgateway_url == dead
    config = load_config(folder / "model.yaml")

    @flow(name="push-probe", on_completion=[push_run_outcome], on_failure=[push_run_outcome])
    def probe(model: str) -> bool:
        return push_window_metrics(settings, config, load_record(record))

    with caplog.at_level(logging.WARNING, logger="retrain.sinks.prometheus"):
        state = probe(name, return_state=True)
    assert state.is_completed() and state.result() is False  # not pushed, not failed
    warned = [r.getMessage() for r in caplog.records if r.name == "retrain.sinks.prometheus"]
    assert any(dead in m for m in warned), warned


def test_pushgateway_keeps_the_last_push_over_a_restart(
    stack: Settings, breached: tuple[str, dict[str, Any], Path]
) -> None:
    """`make down` / `make up` of the two services: the last push is still served (last in the
    module: Prometheus needs a scrape after it)."""
    name, _, _ = breached
    cli.down(["prometheus", "pushgateway"])
    cli.up(["pushgateway", "prometheus"])
    url = f"{stack.pushgateway_url.rstrip('/')}/metrics"
    with urllib.request.urlopen(url, timeout=10) as resp:
        text = resp.read().decode()
    kept = [
        line
        for line in text.splitlines()
        if line.startswith("retrain_window_metric{") and f'model="{name}"' in line
    ]
    assert kept and 'job="retrain_loop"' in kept[0], text[-2000:]
