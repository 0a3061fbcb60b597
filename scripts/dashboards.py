"""Check in headless Chromium that a model's dashboards are filled, and save a screenshot of each.

    python scripts/dashboards.py --model NAME [--out DIR] [--timeout 90]

Three pages, each waited for in real time until it shows what the servers hold for the model:
- MLflow: the model's monitoring-history run (`monitoring-<model>-auto`), Model metrics,
  filtered to the `quality` charts (one point per window);
- Prometheus: the graph of the champion's metric and the window's drift share for the model;
- Evidently UI: the model's project dashboard (drift share, drifted columns, metric, volume).

MLflow draws its charts only after the page has run in real time for a while, which Chromium's
`--screenshot` with a virtual-time budget never gives it (it saves spinners), so this script
drives Chromium over the DevTools protocol (`--remote-debugging-port`, the `websockets` client
that Prefect already installs): open the page, poll `document.body.innerText` for the expected
texts (reloading now and then, for a Prometheus that has not scraped yet), then capture a PNG.
Exits 1 naming what a page does not show, 2 when chromium is missing.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from browser_check import BROWSERS, CheckError, find_chromium

from retrain.monitoring.history import HISTORY_TAG, history_experiment_name
from retrain.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parent.parent
WINDOW = (1400, 1300)


@dataclass(frozen=True)
class Dashboard:
    """A page, the file name of its screenshot, texts it must show, and optionally text to type
    into a search field (CSS selector, text) then texts the filtered page must show."""

    name: str
    url: str
    expect: tuple[str, ...]
    search: tuple[str, str] | None = None
    after_search: tuple[str, ...] = ()


class Tab:
    """One Chromium page driven over the DevTools protocol."""

    def __init__(self, ws: Any) -> None:
        self.ws, self.n = ws, 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=60))
            if msg.get("id") == self.n:
                if "error" in msg:
                    raise CheckError(f"chromium: {method}: {msg['error']}")
                return dict(msg.get("result") or {})

    def text(self) -> str:
        found = self.call("Runtime.evaluate", expression="document.body.innerText")
        return str(found.get("result", {}).get("value") or "")

    def type_into(self, selector: str, text: str) -> bool:
        element = f"document.querySelector({json.dumps(selector)})"
        focus = f"(e => e ? (e.focus(), true) : false)({element})"
        found = self.call("Runtime.evaluate", expression=focus)
        if not found.get("result", {}).get("value"):
            return False
        self.call("Input.insertText", text=text)
        return True

    def screenshot(self, path: Path) -> None:
        shot = self.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def chromium(browser: str) -> Iterator[Tab]:
    """A headless Chromium with one page, closed on exit."""
    from websockets.sync.client import connect

    port = _free_port()
    # Chromium's helper processes may still write to the profile after its main process dies:
    # the whole process group is killed, and a file left in the profile is not an error
    with tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True) as profile:
        proc = subprocess.Popen(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                "--disable-background-networking",
                f"--window-size={WINDOW[0]},{WINDOW[1]}",
                f"--user-data-dir={profile}",
                f"--remote-debugging-port={port}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 30
            targets: list[dict[str, Any]] = []
            while not targets and time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=5) as r:
                        targets = [t for t in json.loads(r.read()) if t["type"] == "page"]
                except OSError:
                    time.sleep(0.3)
            if not targets:
                raise CheckError(f"chromium opened no DevTools port {port} within 30 s")
            with connect(targets[0]["webSocketDebuggerUrl"], max_size=None) as ws:
                tab = Tab(ws)
                tab.call("Page.enable")
                yield tab
        finally:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_for(tab: Tab, expect: tuple[str, ...], seconds: float) -> list[str]:
    """Poll the page's text for up to `seconds`; the texts still missing."""
    until = time.monotonic() + seconds
    missing = list(expect)
    while missing and time.monotonic() < until:
        time.sleep(1)
        text = tab.text()
        missing = [e for e in expect if e not in text]
    return missing


def show(tab: Tab, page: Dashboard, out: Path, timeout: float) -> list[str]:
    """Open the page, wait until it shows every expected text (reloading every 15 s), type the
    search and wait for what it filters in, let the charts settle, screenshot it; the texts it
    never showed."""
    deadline = time.monotonic() + timeout
    while True:
        tab.call("Page.navigate", url=page.url)
        missing = _wait_for(tab, page.expect, min(15.0, max(deadline - time.monotonic(), 1.0)))
        if not missing or time.monotonic() >= deadline:
            break
    if page.search and not missing:
        if not tab.type_into(*page.search):
            missing.append(f"a search field {page.search[0]}")
        missing += _wait_for(tab, page.after_search, max(deadline - time.monotonic(), 10.0))
    time.sleep(3)  # charts animate in after their data arrives
    tab.screenshot(out / f"{page.name}.png")
    return missing


def _json(url: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=15) as resp:
        return json.loads(resp.read())


def mlflow_history(settings: Settings, model: str) -> Dashboard:
    """The model's monitoring-history run, its `quality` charts."""
    base = settings.mlflow_tracking_uri.rstrip("/")
    name = history_experiment_name(model)
    query = urllib.parse.urlencode({"experiment_name": name})
    try:
        experiment = _json(f"{base}/api/2.0/mlflow/experiments/get-by-name?{query}")["experiment"]
    except OSError as exc:
        raise CheckError(f"MLflow at {base} has no experiment {name!r}: {exc}") from exc
    found = _json(
        f"{base}/api/2.0/mlflow/runs/search",
        {
            "experiment_ids": [experiment["experiment_id"]],
            "filter": f"tags.{HISTORY_TAG} = 'true' and tags.mode = 'auto'",
        },
    ).get("runs")
    if not found:
        raise CheckError(f"MLflow experiment {name!r} has no auto-mode monitoring run")
    run = found[0]["info"]["run_id"]
    url = f"{base}/#/experiments/{experiment['experiment_id']}/runs/{run}/model-metrics"
    metric = _json(f"{base}/api/2.0/mlflow/runs/get?run_id={run}")["run"]["data"].get("metrics")
    keys = sorted(m["key"] for m in metric or [] if m["key"].startswith("quality/"))
    if not keys:
        raise CheckError(f"monitoring run {run} of {model!r} has no quality/ metrics")
    shown = keys[0].removeprefix("quality/")  # a chart's title is the key after its section
    return Dashboard(
        "mlflow_history",
        url,
        (f"monitoring-{model}-auto", "quality"),
        ('input[placeholder*="Search"]', "quality/"),
        (shown,),
    )


def prometheus_graph(settings: Settings, model: str) -> Dashboard:
    """The champion's realised metric (the one `metric` label without a `/`) and the drift share,
    one panel each, over the last two hours (a longer range steps past a series only minutes
    old: Prometheus evaluates a graph every range/300)."""
    exprs = [
        f'max without (version) (retrain_window_metric{{model="{model}", metric=~"[a-z0-9_]+"}})',
        f'max without (version) (retrain_drift_share{{model="{model}"}})',
    ]
    params: dict[str, str] = {}
    for i, expr in enumerate(exprs):
        params |= {f"g{i}.expr": expr, f"g{i}.tab": "0", f"g{i}.range_input": "2h"}
    url = f"{settings.prometheus_url.rstrip('/')}/graph?{urllib.parse.urlencode(params)}"
    return Dashboard("prometheus_graph", url, (f'model="{model}"',))


def evidently_dashboard(settings: Settings, model: str) -> Dashboard:
    """The model's Evidently UI project: its dashboard panels with points."""
    base = settings.evidently_ui_url.rstrip("/")
    quoted = urllib.parse.quote(model)
    found = [p for p in _json(f"{base}/api/projects/search/{quoted}") if p["name"] == model]
    if not found:
        raise CheckError(f"the Evidently UI at {base} has no project named {model!r}")
    expect = (model, "Drift share", "Drifted columns", "Volume (rows)")
    return Dashboard("evidently_dashboard", f"{base}/projects/{found[0]['id']}", expect)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a model the loop has run windows of")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "dashboards")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds per page")
    args = parser.parse_args(argv)
    settings = get_settings()
    try:
        browser = find_chromium()
    except FileNotFoundError as exc:
        print(f"dashboards: {exc} (looked for {', '.join(BROWSERS)})", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    try:
        pages = [
            mlflow_history(settings, args.model),
            prometheus_graph(settings, args.model),
            evidently_dashboard(settings, args.model),
        ]
        with chromium(browser) as tab:
            for page in pages:
                missing = show(tab, page, args.out, args.timeout)
                shot = args.out / f"{page.name}.png"
                if missing:
                    failures.append(f"{page.url} does not show {missing} (screenshot {shot})")
                print(f"  {'ok  ' if not missing else 'FAIL'} {page.name:20} {page.url}  -> {shot}")
    except (CheckError, OSError, subprocess.SubprocessError) as exc:
        failures.append(str(exc))
    if failures:
        print("dashboards check failed:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    print(f"dashboards of {args.model} are filled: MLflow history, Prometheus, Evidently UI")
    return 0


if __name__ == "__main__":
    sys.exit(main())
