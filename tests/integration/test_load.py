"""Concurrent flow runs against the stack: none failed, no record lost or doubled, one promotion.

The same measurement as `make bench-load` (benchmarks/load_benchmark.py, 50 runs), smaller:
RUNS flow runs start at once, two of them for the same model.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from benchmarks.load_benchmark import cleanup, make_fleet, run_load
from retrain.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.serial]
RUNS = 12


def test_concurrent_runs_lose_nothing_and_one_model_promotes_once(
    stack: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(tmp_path))
    names, source = make_fleet(tmp_path, uuid.uuid4().hex[:6], RUNS - 1)
    try:
        result = run_load(names)
    finally:
        cleanup(names, source)
    print(result.report())
    assert result.runs == RUNS
    assert result.failed == [], result.report()
    assert (result.lost, result.duplicated) == ([], []), result.report()
    assert (result.race_promotions, result.race_versions, result.race_history) == (1, 1, 1)
