"""Check in headless Chromium that the UIs show what the loop did: flow runs and the champion.

    python scripts/browser_check.py --model NAME [--flow monitor-and-retrain] [--out DIR]

Opens the Prefect UI (all runs, and the runs of one flow) and the MLflow UI (the registered
model and its champion version) in Debian's `chromium`, asserts on the text of the rendered
DOM (the flow's newest run by name; `Version N` with `@ champion`), and saves a screenshot of
each page. The expected run and version are read from the servers' APIs first; the pages must
then show them. Exits 1 with the reasons when a page does not, 2 when chromium is missing.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrain.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1400,1000",
]


class CheckError(RuntimeError):
    """Something the UI should show and does not, or a server that cannot answer."""


@dataclass(frozen=True)
class Page:
    """A page to render, a file name for its screenshot, and texts its DOM must contain."""

    name: str
    url: str
    expect: tuple[str, ...] = ()


def find_chromium() -> str:
    """The Chromium executable on PATH, or a clear error saying how to install it."""
    for name in BROWSERS:
        if path := shutil.which(name):
            return path
    raise FileNotFoundError(
        "chromium not found on PATH: run scripts/install_chromium.sh (Debian's chromium; "
        "`make test` and `make demo` run it) or `apt-get install -y chromium`"
    )


def _request(url: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=15) as resp:
        return json.loads(resp.read() or b"null")


def newest_flow_run(api: str, flow: str) -> tuple[str, str]:
    """(flow id, name of the newest flow run that is not merely scheduled)."""
    try:
        flow_id = _request(f"{api}/flows/name/{urllib.parse.quote(flow)}")["id"]
    except urllib.error.HTTPError as exc:
        raise CheckError(f"the Prefect server at {api} knows no flow named {flow!r}") from exc
    runs = _request(
        f"{api}/flow_runs/filter",
        {
            "flows": {"id": {"any_": [flow_id]}},
            "flow_runs": {"state": {"type": {"not_any_": ["SCHEDULED"]}}},
            "sort": "START_TIME_DESC",
            "limit": 1,
        },
    )
    if not runs:
        raise CheckError(f"flow {flow!r} has no flow runs on the Prefect server at {api}")
    return flow_id, runs[0]["name"]


def champion_version(mlflow: str, model: str) -> str:
    """The version behind the model's `champion` alias, read from the MLflow REST API."""
    query = urllib.parse.urlencode({"name": model, "alias": "champion"})
    try:
        found = _request(f"{mlflow}/api/2.0/mlflow/registered-models/alias?{query}")
    except urllib.error.HTTPError as exc:
        raise CheckError(
            f"MLflow at {mlflow} has no registered model {model!r} with a `champion` alias"
        ) from exc
    return str(found["model_version"]["version"])


def render(browser: str, url: str, *, screenshot: Path | None = None, budget_ms: int) -> str:
    """The rendered DOM of `url` (or, with `screenshot`, save a PNG of it and return '')."""
    # Chromium's helper processes (crashpad) can still write to the profile after the browser
    # exits; a profile left behind in the temp folder must not fail the check (seen under load:
    # "[Errno 39] Directory not empty: 'Default'")
    with tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True) as profile:
        what = [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
        cmd = [browser, *FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}"]
        out = subprocess.run(
            [*cmd, *what, url], capture_output=True, text=True, timeout=120, check=False
        )
    if out.returncode != 0:
        raise CheckError(f"chromium exited {out.returncode} on {url}: {out.stderr[-500:]}")
    if screenshot and not screenshot.exists():
        raise CheckError(f"chromium wrote no screenshot of {url}")
    return out.stdout


def save_screenshot(browser: str, url: str, path: Path, attempts: int = 3) -> None:
    """Screenshot a page already checked; headless Chromium on a loaded machine now and then
    exits 0 without writing the file (seen in `make test` at load ~6), so try again."""
    for attempt in range(1, attempts + 1):
        try:
            render(browser, url, screenshot=path, budget_ms=15000)
            return
        except CheckError:
            if attempt == attempts:
                raise


def visible_text(dom: str) -> str:
    """The text of a DOM, scripts and styles dropped, whitespace (and nbsp) collapsed."""
    dom = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S | re.I)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", dom))).strip()


def check_page(browser: str, page: Page, out: Path) -> list[str]:
    """Render a page (a second time with more time if needed), screenshot it; what is missing."""
    missing: list[str] = list(page.expect)
    for budget in (15000, 30000):
        text = visible_text(render(browser, page.url, budget_ms=budget))
        missing = [e for e in page.expect if e not in text]
        if not missing:
            break
    save_screenshot(browser, page.url, out / f"{page.name}.png")
    return missing


def pages(model: str, flow: str, prefect_ui: str, mlflow_ui: str) -> list[Page]:
    """The pages to check, with what each must show (read from the APIs now)."""
    api = f"{prefect_ui}/api"
    flow_id, run_name = newest_flow_run(api, flow)
    version = champion_version(mlflow_ui, model)
    quoted = urllib.parse.quote(model)
    return [
        Page("prefect_runs", f"{prefect_ui}/runs", ("Runs", "Flow runs")),
        Page("prefect_flow_runs", f"{prefect_ui}/flows/flow/{flow_id}", (flow, run_name)),
        Page("mlflow_model", f"{mlflow_ui}/#/models/{quoted}", (model, f"Version {version}")),
        Page(
            "mlflow_champion",
            f"{mlflow_ui}/#/models/{quoted}/versions/{version}",
            (model, f"Version {version}", "Aliases : @ champion"),
        ),
    ]


def approval_pages(model: str, prefect_ui: str) -> list[Page]:
    """The pages a person opens to answer a pending approval request: the request (the model's
    `approval` artifact: scores, gate interval, links) and the approve deployment's run form."""
    from retrain.operate.deployment_names import Purpose, deployment_name
    from retrain.sinks.reporting import artifact_key

    api = f"{prefect_ui}/api"
    name = urllib.parse.quote(deployment_name(model, Purpose.APPROVE))
    deployment = _request(f"{api}/deployments/name/approve/{name}")
    return [
        Page(
            "prefect_approval_request",
            f"{prefect_ui}/artifacts/key/{artifact_key(model, 'approval')}",
            ("waits for approval", "gate interval", "Answer it"),
        ),
        Page(
            "prefect_approval_form",
            f"{prefect_ui}/deployments/deployment/{deployment['id']}/run",
            ("decision", "who", "comment"),
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="registered model with a champion alias")
    parser.add_argument("--flow", default="monitor-and-retrain", help="flow whose runs to show")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "browser", help="screenshots")
    parser.add_argument(
        "--approval", action="store_true", help="only the pending approval request and its form"
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    prefect_ui = settings.prefect_api_url.rstrip("/").removesuffix("/api")
    mlflow_ui = settings.mlflow_tracking_uri.rstrip("/")
    try:
        browser = find_chromium()
    except FileNotFoundError as exc:
        print(f"browser check: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    try:
        chosen = (
            approval_pages(args.model, prefect_ui)
            if args.approval
            else pages(args.model, args.flow, prefect_ui, mlflow_ui)
        )
        for page in chosen:
            missing = check_page(browser, page, args.out)
            shot = args.out / f"{page.name}.png"
            if missing:
                failures.append(f"{page.url} does not show {missing} (screenshot {shot})")
            print(f"  {'ok  ' if not missing else 'FAIL'} {page.url}  -> {shot}")
    except (CheckError, OSError, subprocess.TimeoutExpired) as exc:
        failures.append(str(exc))
    if failures:
        print("browser check failed:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    print(f"browser check passed: {args.flow} runs and {args.model}'s champion are rendered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
