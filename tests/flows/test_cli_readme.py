"""Every operating example of the README, run as written (model name swapped for a private
copy) after a demo-like history, through the deployed flows on the real worker: the README
cannot drift from the `retrain` command line."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from flows.monitor import monitor_and_retrain
from retrain.registry import versions as registry
from retrain.settings import Settings
from tests.flows.conftest import MECHANICS, FlightsModel

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
MARKER = "# operating examples:"
DEMO_MODEL = "flights_delay"


def readme_examples(text: str) -> list[list[str]]:
    """The commands of the README's operating-examples block, as argument lists."""
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    block = next((b for b in blocks if MARKER in b), None)
    assert block is not None, f"README.md has no ```bash block with {MARKER!r}"
    lines = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    return [shlex.split(line) for line in lines]


def test_the_block_is_found_and_covers_every_command() -> None:
    commands = readme_examples((ROOT / "README.md").read_text())
    assert {c[0] for c in commands} == {".venv/bin/retrain"}
    assert {c[1] for c in commands} >= {"status", "run", "replay", "rollback", "history"}


@pytest.fixture(scope="module")
def demo_like(flights_model: Callable[..., FlightsModel], stack: Settings) -> FlightsModel:
    """A model with the demo's shape of history: bootstrap v1, a quiet week, v2 promoted on the
    degraded summer; its deployments registered on the server for the worker."""
    model = flights_model("readme", MECHANICS)
    out = subprocess.run(
        [sys.executable, "scripts/deploy.py", "--config-dir", str(model.config_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RETRAIN_CONFIG_DIR", str(model.config_dir))
        records = [
            monitor_and_retrain(model.name, as_of=day)
            for day in (date(2013, 3, 4), date(2013, 3, 11), date(2013, 7, 1))
        ]
    assert [r["promoted"] for r in records] == [True, False, True], records
    return model


def _retrain(model: FlightsModel, argv: list[str]) -> subprocess.CompletedProcess[str]:
    args = [a.replace(DEMO_MODEL, model.name) for a in argv]
    env = {**os.environ, "RETRAIN_CONFIG_DIR": str(model.config_dir)}
    env.pop("PREFECT_API_URL", None)  # the CLI finds Prefect from the loop's settings alone
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)


def test_every_readme_operating_example_works(demo_like: FlightsModel, mlflow: Any) -> None:
    model = demo_like
    trained = {
        str(v.version): date.fromisoformat(v.tags["as_of"])
        for v in mlflow.search_model_versions(f"name = '{model.name}'")
    }
    for argv in readme_examples((ROOT / "README.md").read_text()):
        before = registry.get_champion(mlflow, model.name)
        out = _retrain(model, argv)
        shown = shlex.join(argv)
        assert out.returncode == 0, f"{shown}\n{out.stdout}\n{out.stderr}"
        assert "Traceback" not in out.stderr, out.stderr
        after = registry.get_champion(mlflow, model.name)
        command = argv[1]
        if command == "status":
            assert f"champion: v{after.version}" in out.stdout, out.stdout  # type: ignore[union-attr]
            assert "last windows (auto):" in out.stdout and "pending:" in out.stdout
        elif command == "run":
            assert "(shadow): " in out.stdout and "Prefect run: http" in out.stdout, out.stdout
            served = re.search(r"champion v(\d+): ", out.stdout)
            assert served, out.stdout
            window_start = date.fromisoformat(argv[argv.index("--as-of") + 1]) - timedelta(7)
            trained.update(
                {
                    str(v.version): date.fromisoformat(v.tags["as_of"])
                    for v in mlflow.search_model_versions(f"name = '{model.name}'")
                }
            )
            assert trained[served.group(1)] <= window_start, (shown, served.group(0), trained)
            assert after.version == before.version  # type: ignore[union-attr]
        elif command == "replay":
            rows = [line for line in out.stdout.splitlines() if re.match(r"\d{4}-\d\d-\d\d ", line)]
            assert [r.split()[0] for r in rows] == ["2013-06-03", "2013-06-10"], out.stdout
            assert after.version == before.version  # type: ignore[union-attr]
        elif command == "rollback":
            assert before is not None and after is not None
            assert after.version == before.tags["previous_champion"] != before.version
            assert f"champion v{before.version} -> v{after.version}" in out.stdout, out.stdout
        elif command == "history":
            rows = [line for line in out.stdout.splitlines() if line.startswith("v")]
            versions = [r.split()[0] for r in rows]
            assert versions == [
                f"v{m['version']}" for m in registry.champion_history(mlflow, model.name)
            ]
            assert "now" in rows[-1] and "complaints about late flights" in rows[-1]


def test_a_failed_run_exits_1_with_the_reason(demo_like: FlightsModel) -> None:
    """An auto run for a window before the champion's training is refused; the CLI says why."""
    out = _retrain(demo_like, [".venv/bin/retrain", "run", DEMO_MODEL, "--as-of", "2013-02-25"])
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stdout.startswith(f"monitor-and-retrain/{demo_like.name}: check"), out.stdout
    assert "FAILED (Failed): LaterChampionError: champion v" in out.stdout, out.stdout
