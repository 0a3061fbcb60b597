"""The shipped automations file: valid, one per model where it says so, triggers on our events."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrain.config import load_config
from retrain.operate.automations import (
    AUTOMATIONS_FILE,
    build,
    expand,
    load_automations,
    notify_slugs,
)
from retrain.sinks.events import EVENT_NAMES, RETRAIN_REQUESTED

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_file_expands_per_model_and_builds() -> None:
    spec = load_automations(ROOT / AUTOMATIONS_FILE)
    config = load_config(ROOT / "deployments" / "flights_delay.yaml")
    items = expand(spec, [config])
    assert [model for _, model in items] == [None, None, None, "flights_delay"]
    assert notify_slugs(spec, [config]) == []  # the shipped config names no Slack block
    for item, model in items:
        assert set(item.events) <= {*EVENT_NAMES, RETRAIN_REQUESTED}
        deployment = "00000000-0000-0000-0000-000000000002" if item.run_deployment else None
        automation = build(item, model, ["00000000-0000-0000-0000-000000000001"], deployment)
        assert automation.trigger.expect == set(item.events)  # type: ignore[union-attr]
    retrain = build(items[-1][0], "flights_delay", [], "00000000-0000-0000-0000-000000000002")
    assert retrain.name == "retrain-loop: retrain flights_delay on request"
    assert retrain.actions[0].parameters == {"force_retrain": True, "model": "flights_delay"}  # type: ignore[union-attr]
    assert retrain.trigger.match.root == {"prefect.resource.id": "retrain.model.flights_delay"}  # type: ignore[union-attr]


def test_a_bad_file_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "automations.yaml"
    bad.write_text(
        "automations:\n  - {name: x, events: [retrain.model.no-such-thing],"
        " notify: {subject: s, body: b}}\n"
    )
    with pytest.raises(ValueError, match=r"(?s)automations.yaml.*unknown events"):
        load_automations(bad)
