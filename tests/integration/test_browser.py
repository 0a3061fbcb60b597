"""The browser check in headless Chromium, against a model and a flow run this module makes."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from retrain.registry import versions as registry
from retrain.registry.model_io import log_sklearn_model
from retrain.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
PAGES = ("prefect_runs", "prefect_flow_runs", "mlflow_model", "mlflow_champion")


def _register(mlflow: Any, name: str, champion: bool) -> str:
    """A tiny fitted model, logged with skops and registered; `champion` alias when asked."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    experiment = mlflow.get_experiment_by_name("retrain-loop/browser-tests")
    experiment_id = (
        experiment.experiment_id
        if experiment
        else mlflow.create_experiment("retrain-loop/browser-tests")
    )
    run_id = mlflow.create_run(experiment_id, run_name=name).info.run_id
    source = log_sklearn_model(mlflow, run_id, model)
    mlflow.set_terminated(run_id)
    registry.ensure_registered_model(
        mlflow, name, "A tiny model made by tests/integration/test_browser.py"
    )
    version = registry.register_version(mlflow, name, source, run_id, {"purpose": "test"}, "tiny")
    if champion:
        registry.promote(mlflow, name, str(version.version), None, "browser test", "pytest")
    return str(version.version)


def _check(model: str, flow: str, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "scripts/browser_check.py",
            "--model",
            model,
            "--flow",
            flow,
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


@pytest.fixture(scope="module")
def flow_name(stack: Settings) -> str:
    """A flow with one completed run recorded by the real Prefect server."""
    from prefect import flow

    name = f"browser-check-{uuid.uuid4().hex[:8]}"

    @flow(name=name)
    def tiny() -> int:
        return 1

    assert tiny(return_state=True).is_completed()
    return name


def test_chromium_is_installed() -> None:
    assert shutil.which("chromium"), (
        "chromium is not on PATH: run scripts/install_chromium.sh (`make test` does)"
    )


def test_browser_check_sees_the_flow_runs_and_the_champion(
    mlflow: Any, flow_name: str, tmp_path: Path
) -> None:
    model = f"browser_{uuid.uuid4().hex[:8]}"
    version = _register(mlflow, model, champion=True)
    out = _check(model, flow_name, tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "browser check passed" in out.stdout
    assert f"/#/models/{model}/versions/{version}" in out.stdout
    for page in PAGES:
        shot = tmp_path / f"{page}.png"
        assert shot.stat().st_size > 10_000, f"{shot} looks blank"
        assert _png_size(shot) == (1400, 1000)


def test_browser_check_fails_clearly_without_a_champion(
    mlflow: Any, flow_name: str, tmp_path: Path
) -> None:
    model = f"browser_{uuid.uuid4().hex[:8]}"
    _register(mlflow, model, champion=False)
    out = _check(model, flow_name, tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "browser check failed" in out.stderr and "`champion` alias" in out.stderr


def test_browser_check_fails_clearly_for_a_flow_without_runs(
    mlflow: Any, stack: Settings, tmp_path: Path
) -> None:
    out = _check("no_such_model", f"no-such-flow-{uuid.uuid4().hex[:8]}", tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "knows no flow named" in out.stderr
