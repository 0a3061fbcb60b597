"""Skips that must not pass as green: a data prefix never written to, labels that never came.

The policy names them (`no_partitions`, `labels_missing`); the flow records the decision like
any other, then fails the run with `NeedsAttentionError` so the Prefect run is red and the
webhook says why (event `attention`)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from retrain.config import ModelConfig
from retrain.data.maturity import due_mask
from retrain.decisions.policy import NEEDS_ATTENTION
from retrain.run_record import LabelsSection, RunRecord


class NeedsAttentionError(RuntimeError):
    """The run skipped for a reason someone must fix upstream (recorded before it was raised)."""


def rows_past_label_delay(frame: pd.DataFrame, config: ModelConfig, as_of: date) -> int:
    """Rows of the window whose label should have arrived by `as_of` (older than the delay)."""
    return int(due_mask(frame, config, as_of).sum())


def attention_problem(record: RunRecord, config: ModelConfig) -> str | None:
    """What is wrong, in a sentence naming what to check, when the decision needs attention."""
    reasons = set(record.decision.reasons)
    if not reasons & {str(r) for r in NEEDS_ATTENTION}:
        return None
    where = f"s3://{config.data.bucket}/{config.data.prefix}/"
    head = f"{config.name} window ending {record.as_of}: skipped"
    if "no_partitions" in reasons:
        return (
            f"{head} (no_partitions): {where} has no dt=YYYY-MM-DD/ partition on any day; "
            "check data.bucket and data.prefix in the model config"
        )
    details = record.decision.details
    if config.labels is not None:
        return f"{head} (labels_missing): " + _feed_problem(record, config)
    return (
        f"{head} (labels_missing): {details.get('rows_past_label_delay')} rows are older than "
        f"the label delay ({config.windows.label_delay_days} days) but only "
        f"{details.get('labelled_rows')} have a '{config.columns.label}' value; check the "
        "label feed under " + where
    )


def _feed_problem(record: RunRecord, config: ModelConfig) -> str:
    """What a label feed's coverage and lag say about labels that did not come."""
    labels = record.labels or LabelsSection()
    assert config.labels is not None
    bucket = config.labels.bucket or config.data.bucket
    lag = labels.lag_hours_p95
    arrived = (
        f"those that arrived took {labels.lag_hours_median} h (median), {lag} h (p95)"
        if lag is not None
        else "none arrived"
    )
    return (
        f"{labels.due_rows} rows are older than the expected label delay "
        f"({config.windows.label_delay_days} days) but only {labels.due_labelled_rows} "
        f"have a label that arrived before {record.as_of} (due coverage "
        f"{labels.due_coverage}); {arrived}; {labels.orphans} feed labels matched "
        f"no row; check the label feed s3://{bucket}/{config.labels.prefix}/ (labels.id "
        "matching columns.id, arrivals written) or raise windows.label_delay_days"
    )
