"""The Evidently UI filled by real flow runs: the model's project lists one snapshot per window
(timestamped with its end), its dashboard renders in headless Chromium with every panel, and a
UI that cannot be reached fails no run."""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
import socket
import subprocess
import sys
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from flows.monitor import monitor_and_retrain
from retrain.config import load_config
from retrain.run_record import load_record
from retrain.settings import Settings, get_settings
from tasks.evidently_ui import add_window_snapshot
from tests.helpers import write_config
from tests.streams import day, stream_config, write_stream

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
PANELS = ["Drift share", "Drifted columns", "Model metric (roc_auc)", "Volume (rows)"]
# One recipe, no archived versions, no refit, few bootstrap resamples: the runs stay cheap.
CHEAP: dict[str, Any] = {
    "training": {"candidates": [{"days": 20}], "archived_versions": 0, "refit": False},
    "thresholds": {"bootstrap_resamples": 50},
}


def _get(settings: Settings, path: str) -> Any:
    with urllib.request.urlopen(f"{settings.evidently_ui_url}{path}", timeout=15) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def windows(
    stack: Settings, s3: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path, list[dict[str, Any]]]:
    """Two windows of a stable stream: the bootstrap (day 25) and a kept champion (day 30)."""
    try:
        assert _get(stack, "/api/version")["application"] == "Evidently UI"
    except OSError as exc:
        pytest.fail(f"Evidently UI not reachable at {stack.evidently_ui_url}: {exc}")
    name = f"evui_{uuid.uuid4().hex[:8]}"
    folder = tmp_path_factory.mktemp("evui")
    write_config(folder, stream_config(name, stack.data_bucket, f"tests/evui/{name}", **CHEAP))
    source = load_config(folder / "model.yaml").data
    write_stream(s3, source, 31, lambda _: "A")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RETRAIN_CONFIG_DIR", str(folder))
        records = [monitor_and_retrain(name, as_of=day(i)) for i in (25, 30)]
    return name, folder, records


def _project(settings: Settings, name: str) -> dict[str, Any]:
    found = [p for p in _get(settings, f"/api/projects/search/{name}") if p["name"] == name]
    assert len(found) == 1, found
    return dict(found[0])


def test_the_project_lists_one_snapshot_per_window(
    stack: Settings, windows: tuple[str, Path, list[dict[str, Any]]]
) -> None:
    name, _, records = windows
    project = _project(stack, name)
    snapshots = _get(stack, f"/api/projects/{project['id']}/snapshots")
    stamps = sorted(datetime.fromisoformat(s["timestamp"]) for s in snapshots)
    assert stamps == [datetime(day(i).year, day(i).month, day(i).day) for i in (25, 30)]
    names = sorted(s["name"] for s in snapshots)
    assert names[0].startswith(f"window ending {day(25)} (auto): retrain"), names
    assert names[1] == f"window ending {day(30)} (auto): {records[1]['decision']['action']}"
    board = _get(stack, f"/api/v2/dashboards/{project['id']}")
    assert [p["title"] for p in board["panels"]] == PANELS


def _browser_check() -> Any:
    """scripts/browser_check.py as a module (its Chromium flags and DOM-to-text)."""
    spec = importlib.util.spec_from_file_location(
        "browser_check", ROOT / "scripts/browser_check.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_dashboard_renders_every_panel_in_chromium(
    stack: Settings, windows: tuple[str, Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    assert shutil.which("chromium"), "chromium is not on PATH: run scripts/install_chromium.sh"
    name, _, _ = windows
    check = _browser_check()
    url = f"{stack.evidently_ui_url}/projects/{_project(stack, name)['id']}"
    expect = (
        name,
        *PANELS,
        "share of drifted feature columns",  # legends: drawn only with data points
        "drifted feature columns",
        "champion roc_auc on matured labels",
        "rows with matured labels",
        f"{day(25)} 00:00:00",
        f"{day(30)} 00:00:00",
    )
    page = check.Page("evidently_dashboard", url, expect)
    missing = check.check_page(check.find_chromium(), page, tmp_path)
    assert not missing, f"{url} does not show {missing} (screenshot in {tmp_path})"
    assert (tmp_path / "evidently_dashboard.png").stat().st_size > 10_000


def test_an_unreachable_ui_fails_no_run(
    stack: Settings,
    windows: tuple[str, Path, list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The flow's task against a port nothing listens on: the run completes, the task warns
    naming the URL."""
    from prefect import flow

    name, folder, records = windows
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("RETRAIN_EVIDENTLY_UI_URL", dead)
    settings = get_settings()
    config = load_config(folder / "model.yaml")

    @flow(name="evidently-probe")
    def probe(model: str) -> str | None:
        return add_window_snapshot(settings, config, load_record(records[-1], "the last record"))

    with caplog.at_level(logging.WARNING):
        state = probe(name, return_state=True)
    assert state.is_completed() and state.result() is None
    assert any(dead in r.getMessage() for r in caplog.records), caplog.text


def _dashboards(model: str, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "scripts/dashboards.py", "--model", model, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_dashboards_script_finds_all_three_filled(
    stack: Settings, windows: tuple[str, Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    """scripts/dashboards.py (what `make demo` runs) on this module's model: the MLflow history
    charts, the Prometheus graph and the Evidently dashboard show the model, one PNG each."""
    name, _, _ = windows
    done = _dashboards(name, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    for page in ("mlflow_history", "prometheus_graph", "evidently_dashboard"):
        assert (tmp_path / f"{page}.png").stat().st_size > 20_000, page
    assert f"dashboards of {name} are filled" in done.stdout


def test_the_dashboards_script_names_a_model_without_history(
    stack: Settings, tmp_path: Path
) -> None:
    name = f"nohistory_{uuid.uuid4().hex[:8]}"
    done = _dashboards(name, tmp_path)
    assert done.returncode == 1
    assert f"retrain-loop/{name}/monitoring" in done.stderr, done.stderr
