"""Deployment names: distinct per model, valid for Prefect, one place for every caller."""

from __future__ import annotations

import re

import pytest
from prefect.types.names import BANNED_CHARACTERS

from retrain.operate.deployment_names import (
    SPECS,
    Purpose,
    deployment_name,
    deployment_path,
    description,
)


def test_names_read_as_model_and_what_they_do() -> None:
    assert [deployment_name("flights_delay", p) for p in Purpose] == [
        "flights_delay: check",
        "flights_delay: retrain",
        "flights_delay: replay",
        "flights_delay: rollback",
        "flights_delay: approve",
        "flights_delay: history",
    ]
    assert deployment_path("flights_delay", Purpose.RETRAIN_NOW) == (
        "monitor-and-retrain/flights_delay: retrain"
    )
    assert deployment_path("m", Purpose.HISTORY) == "champion-history/m: history"
    assert deployment_path("m", Purpose.APPROVE) == "approve/m: approve"


def test_names_are_distinct_and_valid_for_prefect() -> None:
    names = [deployment_name("flights_delay", p) for p in Purpose]
    assert len(set(names)) == len(names)
    pattern = re.compile(r"^[^" + "".join(BANNED_CHARACTERS) + r"]+$")
    assert all(pattern.match(n) for n in names)
    assert all("/" not in n for n in names)  # `<flow>/<name>` splits at the first slash


def test_a_model_name_prefect_would_refuse_is_named() -> None:
    with pytest.raises(ValueError, match=r"'a/b'.*\['/'\]"):
        deployment_name("a/b", Purpose.REPLAY)


def test_every_purpose_has_a_flow_and_a_description_naming_the_model() -> None:
    for purpose in Purpose:
        spec = SPECS[purpose]
        assert spec.entrypoint.startswith("flows/") and ":" in spec.entrypoint
        assert "diabetes" in description("diabetes", purpose)
