"""Skips that must not pass as green: a data prefix never written to, labels that never came.

The policy names them (`no_partitions`, `labels_missing`); the flow records the decision like
any other, then fails the run with `NeedsAttentionError` so the Prefect run is red and the
webhook says why (event `attention`)."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pandas as pd

from retrain.config import ModelConfig
from retrain.drift import DriftSummary
from retrain.policy import NEEDS_ATTENTION, PolicyInputs
from retrain.training import label_cutoff


class NeedsAttentionError(RuntimeError):
    """The run skipped for a reason someone must fix upstream (recorded before it was raised)."""


def rows_past_label_delay(frame: pd.DataFrame, config: ModelConfig, as_of: date) -> int:
    """Rows of the window whose label should have arrived by `as_of` (older than the delay)."""
    ts = config.columns.timestamp
    if ts not in frame.columns or frame.empty:
        return 0
    return int((frame[ts] < label_cutoff(as_of, config.windows.label_delay_days)).sum())


def with_window_facts(
    inputs: PolicyInputs,
    *,
    prefix_seen: bool,
    rows_past_delay: int,
    drift: DriftSummary | None,
) -> PolicyInputs:
    """The policy inputs with the facts that tell a broken feed from a quiet one, and the
    target-drift verdict."""
    return dataclasses.replace(
        inputs,
        prefix_seen=prefix_seen,
        rows_past_label_delay=rows_past_delay,
        target_drift=bool(drift and drift.target and drift.target.drifted),
    )


def attention_problem(record: dict[str, Any], config: ModelConfig) -> str | None:
    """What is wrong, in a sentence naming what to check, when the decision needs attention."""
    reasons = set(record.get("decision", {}).get("reasons", []))
    if not reasons & {str(r) for r in NEEDS_ATTENTION}:
        return None
    where = f"s3://{config.data.bucket}/{config.data.prefix}/"
    head = f"{config.name} window ending {record['as_of']}: skipped"
    if "no_partitions" in reasons:
        return (
            f"{head} (no_partitions): {where} has no dt=YYYY-MM-DD/ partition on any day; "
            "check data.bucket and data.prefix in the model config"
        )
    details = record["decision"].get("details", {})
    return (
        f"{head} (labels_missing): {details.get('rows_past_label_delay')} rows are older than "
        f"the label delay ({config.windows.label_delay_days} days) but only "
        f"{details.get('labelled_rows')} have a '{config.columns.label}' value; check the "
        "label feed under " + where
    )
