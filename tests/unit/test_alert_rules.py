"""The alert rules load in Prometheus (`promtool check rules`), and each fires on series built
to breach it and stays silent otherwise (`promtool test rules` on
monitoring/prometheus/alerts_test.yml)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

RULES = Path(__file__).resolve().parents[2] / "monitoring" / "prometheus"


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool, "promtool not found: `make setup` installs Debian's prometheus"
    return subprocess.run(
        [promtool, *args], cwd=RULES, capture_output=True, text=True, timeout=60, check=False
    )


def test_rules_pass_promtool_check() -> None:
    out = _promtool("check", "rules", "alerts.yml")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 4 rules found" in out.stdout


def test_each_rule_fires_on_a_breach_and_only_then() -> None:
    out = _promtool("test", "rules", "alerts_test.yml")
    assert out.returncode == 0, out.stdout + out.stderr
    tested = yaml.safe_load((RULES / "alerts_test.yml").read_text())["tests"]
    named = {t["alertname"] for test in tested for t in test["alert_rule_test"]}
    rules = yaml.safe_load((RULES / "alerts.yml").read_text())["groups"][0]["rules"]
    assert named == {r["alert"] for r in rules}  # every rule has a test


def test_a_rule_test_that_expects_the_wrong_alert_fails(tmp_path: Path) -> None:
    """The unit tests can fail: expecting silence from a breached floor is reported."""
    shutil.copy(RULES / "alerts.yml", tmp_path / "alerts.yml")
    tests = yaml.safe_load((RULES / "alerts_test.yml").read_text())
    tests["tests"][0]["alert_rule_test"][1]["exp_alerts"] = []
    (tmp_path / "wrong.yml").write_text(yaml.safe_dump(tests))
    promtool = shutil.which("promtool")
    assert promtool
    out = subprocess.run(
        [promtool, "test", "rules", "wrong.yml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode != 0 and "RetrainMetricBelowFloor" in out.stdout + out.stderr
