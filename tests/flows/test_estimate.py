"""The CBPE estimate through the flow on the real stack: recorded, fed to the policy, and lined
up with the metric its days realised in a later window."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from flows.monitor import monitor_and_retrain
from retrain.config import load_config
from retrain.settings import Settings
from tests.helpers import write_config
from tests.streams import ROWS_PER_DAY, day, stream_config, write_stream

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_estimate_recorded_triggering_and_lined_up_later(
    stack: Settings, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stable stream, 5-day windows, labels a day late: each window estimates its last day;
    a floor no estimate can clear raises estimated_below_floor (held back by the cooldown);
    the window ending day 33 lines up the estimate made on day 30 with day 29's realised AUC."""
    name = f"cbpe_{uuid.uuid4().hex[:8]}"
    overrides = {"thresholds": {"estimated_floor": 0.999, "cooldown_days": 14}}
    raw = stream_config(name, stack.data_bucket, f"tests/streams/{name}", **overrides)
    write_config(tmp_path, raw)
    monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(tmp_path))
    write_stream(s3, load_config(tmp_path / "model.yaml").data, 33, lambda _: "A")
    first = monitor_and_retrain(name, as_of=day(25))
    assert first["decision"]["reasons"] == ["no_champion"]
    assert "estimated_performance" not in first  # no champion to estimate
    second = monitor_and_retrain(name, as_of=day(30))
    estimate = second["estimated_performance"]
    assert estimate["days"] == [day(29).isoformat()] and estimate["rows"] == ROWS_PER_DAY
    assert estimate["calibrated_on"]["rows"] == 4 * ROWS_PER_DAY
    assert 0.5 < estimate["value"] < 1 and 0 < estimate["standard_error"] < 0.05
    assert second["decision"]["reasons"] == ["cooldown"]
    assert second["decision"]["details"]["suppressed_triggers"] == ["estimated_below_floor"]
    assert estimate["earlier"] is None  # the first window had no champion, so no estimate
    third = monitor_and_retrain(name, as_of=day(33))
    earlier = third["estimated_performance"]["earlier"]
    assert earlier["as_of"] == day(30).isoformat() and earlier["days"] == [day(29).isoformat()]
    assert earlier["estimated"] == estimate["value"] and earlier["rows"] == ROWS_PER_DAY
    assert abs(earlier["gap_in_standard_errors"]) <= 3, earlier
