"""The decision record of one run, with a schema: what S3, MLflow and every reader see.

A run writes one record (`decisions/<model>/<mode>/<as_of>/<flow_run_id>.json`, and the MLflow
run's decision.json); later runs read the history back, the sinks (markdown, Prometheus, the
webhook, alerts, events, the Evidently UI) and the yardstick read it. `RunRecord` is that JSON
as a pydantic model: the top level forbids unknown fields (a typo or a section nobody reads
fails), the sections type the fields readers use and keep the rest of what their step wrote
(`extra="allow"`), so the stored JSON keeps its shape for people and `jq`.

Versions: 1 had no schema (what the loop wrote until the record got one); 2 is this schema
over the same JSON. `upgrade` turns a stored version-1 record into a version-2 one, so nothing
in a bucket becomes unreadable. `RunRecord.dump()` writes the JSON back: the fields a record was
given, no more (a failed run's record has no `window`; it does not get `"window": null`).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

RECORD_VERSION = 2
Status = Literal["running", "completed", "failed"]
RunMode = Literal["auto", "shadow", "approval"]
Number = int | float  # as written: an int stays an int in the JSON


class RecordError(ValueError):
    """A decision record does not match the schema; the message names the record and field."""


class Section(BaseModel):
    """A part of the record one step writes: typed where read, the rest kept as written."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    def dump(self) -> dict[str, Any]:
        """The section's JSON as stored: the fields it was given."""
        return self.model_dump(mode="json", exclude_unset=True)


class DecisionSection(Section):
    action: str = "none"
    reasons: list[str] = []
    details: dict[str, Any] = {}
    retrain: bool = False


class WindowSection(Section):
    start: date | None = None
    end: date | None = None
    rows: int | None = None
    labelled_rows: int | None = None
    days_present: list[str] = []
    days_missing: list[str] = []
    files: int | None = None


class Problem(Section):
    severity: str
    code: str
    message: str
    column: str | None = None


class ValidationSection(Section):
    valid: bool
    reasons: list[str] = []
    problems: list[Problem] = []


class LabelsSection(Section):
    layout: str | None = None
    rows: int | None = None
    labelled_rows: int | None = None
    coverage: Number | None = None
    due_rows: int | None = None
    due_labelled_rows: int | None = None
    due_coverage: Number | None = None
    lag_hours_median: Number | None = None
    lag_hours_p95: Number | None = None
    orphans: int | None = None


class TargetDrift(Section):
    column: str | None = None
    method: str | None = None
    score: Number | None = None
    threshold: Number | None = None
    drifted: bool = False


class DriftSection(Section):
    dataset_drift: bool = False
    drift_share: Number | None = None
    drifted_columns: list[str] = []
    target: TargetDrift | None = None


class ChampionSection(Section):
    """The champion's score now and at registration; empty (`{}`) when there is none."""

    version: str | None = None
    recipe: str | None = None
    metric_now: Number | None = None
    metric_error: str | None = None
    holdout_metric_at_registration: Number | None = None


class EarlierEstimate(Section):
    as_of: str | None = None
    days: list[str] = []
    metric: str | None = None
    estimated: Number | None = None
    standard_error: Number | None = None
    realised: Number | None = None
    rows: int | None = None
    gap_in_standard_errors: Number | None = None


class EstimateSection(Section):
    """The CBPE estimate on the window's rows whose labels are not yet due."""

    metric: str | None = None
    value: Number | None = None
    standard_error: Number | None = None
    rows: int | None = None
    days: list[str] = []
    metrics: dict[str, Number | None] = {}
    standard_errors: dict[str, Number | None] = {}
    calibrated_on: dict[str, Any] | None = None
    error: str | None = None
    earlier: EarlierEstimate | None = None


class MonitoringSection(Section):
    """Quality, predictions, classes, inputs and traffic (retrain/monitoring/metric_set.py)."""

    quality: dict[str, Any] | None = None
    predictions: dict[str, Any] | None = None
    classes: dict[str, Any] | None = None
    inputs: dict[str, Any] | None = None
    traffic: dict[str, Any] | None = None


class Fit(Section):
    start: str | None = None
    end: str | None = None
    rows: int | None = None
    seconds: Number | None = None


class Candidate(Section):
    name: str
    kind: str | None = None
    validation_score: Number | None = None
    rows: int | None = None
    error: str | None = None


class TrainingSection(Section):
    """The retrain: data read, candidates, the winner, its fits (retrain/loop.py)."""

    winner: str | None = None
    choice: dict[str, Any] = {}
    candidates: list[Candidate] = []
    refit: bool = False
    served_fit: Fit | None = None
    gate_fit: Fit | None = None
    holdout_start: str | None = None
    classes: list[Any] | None = None
    seconds: Number | None = None
    labels: LabelsSection | None = None


class GateSection(Section):
    promote: bool = False
    reasons: list[str] = []
    metric: str | None = None
    mode: str | None = None
    challenger_score: Number | None = None
    champion_score: Number | None = None
    gain: Number | None = None
    ci_low: Number | None = None
    ci_high: Number | None = None
    p_value: Number | None = None
    n_rows: int | None = None


class ApprovalSection(Section):
    state: str
    version: str | None = None
    champion_version: str | None = None


class RunRecord(BaseModel):
    """One run's decision record (module docstring)."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    record_version: int = RECORD_VERSION
    # the run head: first in every record and alert payload
    model: str
    as_of: date
    mode: RunMode
    metric: str
    forced: bool = False
    flow_run_id: str | None = None
    mlflow_run_id: str | None = None
    config_hash: str | None = None
    git_commit: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    record_key: str | None = None
    record_uri: str | None = None
    # the steps' sections, in the order a run fills them in
    seconds: dict[str, Any] | None = None
    window: WindowSection | None = None
    validation: ValidationSection | None = None
    labels: LabelsSection | None = None
    drift: DriftSection | None = None
    monitoring: MonitoringSection | None = None
    champion: ChampionSection | None = None
    estimated_performance: EstimateSection | None = None
    decision: DecisionSection
    training: TrainingSection | None = None
    gate: GateSection | None = None
    approval: ApprovalSection | None = None
    # the outcome
    status: Status
    error: str | None = None
    attention: str | None = None
    promoted: bool = False
    promoted_version: str | None = None
    registered_version: str | None = None
    reinstated_version: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, raw: Any) -> Any:
        return upgrade(raw) if isinstance(raw, dict) else raw

    @model_validator(mode="after")
    def _complete(self) -> RunRecord:
        """A completed run read its window, validated it and looked at its champion."""
        if self.status == "completed":
            missing = [s for s in ("window", "validation", "champion") if getattr(self, s) is None]
            if missing:
                raise ValueError(f"a completed record needs {', '.join(missing)}")
        return self

    @property
    def champion_version(self) -> str | None:
        """The version that served the window (None without a champion)."""
        return self.champion.version if self.champion else None

    def dump(self) -> dict[str, Any]:
        """The JSON as stored: the fields this record was given, in schema order."""
        return self.model_dump(mode="json", exclude_unset=True)


def upgrade(raw: dict[str, Any]) -> dict[str, Any]:
    """A stored record of an earlier version as the current one (a copy; the input is kept).
    Version 1 is the same JSON without a schema: only its version changes."""
    version = raw.get("record_version", 1)
    if not isinstance(version, int) or version > RECORD_VERSION:
        raise ValueError(
            f"record_version {version!r} is not one this code reads (1..{RECORD_VERSION})"
        )
    return {**raw, "record_version": RECORD_VERSION}


def load_record(raw: dict[str, Any], where: str = "decision record") -> RunRecord:
    """`raw` as a RunRecord, or a RecordError naming `where` and every field that fails."""
    try:
        return RunRecord.model_validate(raw)
    except ValidationError as exc:
        raise RecordError(f"{where} does not match the record schema: {_fields(exc)}") from exc


def _fields(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in exc.errors()
    )
