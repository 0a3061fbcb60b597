"""What one run of the loop carries between its steps, and the facts the policy decides on."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from retrain.config import ModelConfig
from retrain.data.s3 import LoadedWindow, Window
from retrain.data.validation import ValidationReport
from retrain.decisions.attention import rows_past_label_delay
from retrain.decisions.policy import PolicyInputs, reference_metric
from retrain.decisions.tournament import Tournament
from retrain.drift.reference import ReferenceStats
from retrain.drift.summary import DriftSummary
from retrain.registry.versions import Champion
from retrain.run_record import RECORD_VERSION, RunRecord, load_record
from retrain.sinks.reporting import challenger_scores, drift_history, last_promotion
from retrain.training.pipeline import SAMPLING_RULE, matured_rows, slices


class InvalidDataError(RuntimeError):
    """The window failed validation: nothing was trained and no alias moved."""


@dataclass(frozen=True)
class RunInfo:
    """Identity of one run: which model, which window end, which mode, which runs record it."""

    model: str
    as_of: date
    mode: str
    mlflow_run_id: str
    experiment_id: str
    flow_run_id: str
    config_hash: str
    git_commit: str
    started_at: str


@dataclass
class ChampionState:
    """The champion and what was stored with it: the model, reference sample, training schema."""

    champion: Champion
    model: Any
    reference: pd.DataFrame
    schema: dict[str, Any] = field(default_factory=dict)
    stats: ReferenceStats | None = None  # stored with its training run (None for older runs)


def monitoring_window(config: ModelConfig, as_of: date) -> Window:
    """The newest `monitoring_days` ending at (excluding) `as_of`."""
    return Window(as_of - timedelta(days=config.windows.monitoring_days), as_of)


def training_window(config: ModelConfig, as_of: date) -> Window:
    """Every day a retrain reads: the longest recipe before the validation slice, the validation
    slice, the holdout and the days whose labels have not matured, up to `as_of`."""
    w = config.windows
    days = max(r.days for r in config.recipes)
    back = days + config.training.validation_days + w.holdout_days + w.label_delay_days
    return Window(as_of - timedelta(days=back), as_of)


def history_window(config: ModelConfig, as_of: date) -> Window:
    """The window ends of earlier decision records a run reads: as far back as the policy looks
    (the reference windows of performance_drop, drift persistence, the cooldown, the staleness
    clock, the earlier estimate whose labels matured), one window more."""
    t, step = config.thresholds, config.windows.monitoring_days
    back = max(
        step * t.reference_windows,
        step * (t.drift.persistence_n - 1),
        t.cooldown_days,
        t.max_model_age_days or 0,
        config.windows.label_delay_days + step,
    )
    return Window(as_of - timedelta(days=back + step), as_of)


def git_commit(override: str | None = None) -> str:
    """The checkout's commit (`override`, the RETRAIN_GIT_COMMIT setting, wins), or "unknown";
    "<sha>-dirty" when the
    checkout has changes or files that commit lacks (a new model config, say): the commit then
    names the code only, and the version's `config_hash` tag (with the run's config.json)
    names the config."""
    if override:
        return override
    head = _git("rev-parse", "HEAD")
    if not head:
        return "unknown"
    return f"{head}-dirty" if _git("status", "--porcelain") else head


def _git(*args: str) -> str:
    """Output of a git command in this checkout, or "" when git cannot answer."""
    try:
        out = subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def policy_inputs(
    config: ModelConfig,
    run: RunInfo,
    window: LoadedWindow,
    validation: ValidationReport,
    drift: DriftSummary | None,
    champion: ChampionState | None,
    champion_metric: float | None,
    estimate: dict[str, Any] | None,
    history: list[RunRecord],
    forced: bool,
    prefix_seen: bool,
) -> PolicyInputs:
    """Every fact `decide` needs, from the steps before it and the earlier records: the one
    place a policy input is gathered (PolicyInputs has no defaults, so a new field fails here
    until it is filled in). `prefix_seen`: the window has files or its prefix has a partition
    on some day."""
    t, step = config.thresholds, config.windows.monitoring_days
    n = t.drift.persistence_n
    current = champion.champion if champion else None
    reference = None
    if current is not None:
        recent = challenger_scores(history, run.as_of - timedelta(days=step * t.reference_windows))
        reference = reference_metric(current.holdout_metric, list(recent), config.higher_is_better)
    trained = current.trained_as_of if current else None
    estimate = estimate or {}
    return PolicyInputs(
        as_of=run.as_of,
        rows=len(window.frame),
        data_valid=validation.valid,
        has_champion=current is not None,
        forced=forced,
        labelled_rows=matured_rows(window.frame, config),
        champion_metric=champion_metric,
        reference_metric=reference,
        higher_is_better=config.higher_is_better,
        dataset_drift=bool(drift and drift.dataset_drift),
        drift_history=drift_history(
            history,
            n - 1,
            current.version if current else None,
            run.as_of - timedelta(days=step * (n - 1)),
        ),
        last_promotion=last_promotion(history) or trained,
        model_age_days=(run.as_of - trained).days if trained else None,
        prefix_seen=prefix_seen,
        rows_past_label_delay=rows_past_label_delay(window.frame, config, run.as_of),
        target_drift=bool(drift and drift.target and drift.target.drifted),
        estimated_metric=estimate.get("value"),
        estimated_standard_error=estimate.get("standard_error"),
    )


def window_summary(window: LoadedWindow, config: ModelConfig) -> dict[str, Any]:
    """The window part of the decision record."""
    return {
        "start": window.window.start.isoformat(),
        "end": window.window.end.isoformat(),
        "rows": len(window.frame),
        "labelled_rows": matured_rows(window.frame, config),
        "days_present": [d.isoformat() for d in window.days_present],
        "days_missing": [d.isoformat() for d in window.days_missing],
        "files": len(window.files),
    }


def training_summary(
    window: LoadedWindow, contest: Tournament, config: ModelConfig, as_of: date
) -> dict[str, Any]:
    """The training part of the decision record: data read, candidates, choice, fits."""
    cut = slices(config, as_of)
    served = contest.gate_fit.to_dict() if contest.gate_fit else None
    return {
        **window_summary(window, config),
        **contest.to_dict(),
        "validation_start": cut.validation_start.date().isoformat(),
        "holdout_start": cut.holdout_start.date().isoformat(),
        "cutoff": cut.cutoff.date().isoformat(),
        "refit": False,
        "sampling": {"max_rows": config.training.max_rows, "rule": SAMPLING_RULE},
        "served_fit": served,
        "seconds": round(contest.fit_seconds, 3),
    }


def _record_head(config: ModelConfig, as_of: date, mode: str) -> dict[str, Any]:
    """The fields that name a run's window: first in every record and alert payload."""
    return {
        "record_version": RECORD_VERSION,
        "model": config.name,
        "as_of": as_of.isoformat(),
        "mode": mode,
        "metric": config.metric,
    }


def new_record(config: ModelConfig, run: RunInfo, forced: bool) -> dict[str, Any]:
    """The decision record as a run opens it; steps fill it in."""
    return {
        **_record_head(config, run.as_of, run.mode),
        "forced": forced,
        "flow_run_id": run.flow_run_id,
        "mlflow_run_id": run.mlflow_run_id,
        "config_hash": run.config_hash,
        "git_commit": run.git_commit,
        "started_at": run.started_at,
        "status": "running",
        "decision": {"action": "none", "reasons": [], "details": {}},
        "registered_version": None,
        "reinstated_version": None,
        "promoted": False,
        "promoted_version": None,
    }


def unrecorded_failure(config: ModelConfig, as_of: date, mode: str, error: str) -> RunRecord:
    """What the alert channels get for a run that failed before its decision record was opened
    (a missing bucket, the model's lock not free in time, MLflow unreachable): not stored."""
    return load_record(
        {
            **_record_head(config, as_of, mode),
            "status": "failed",
            "error": error,
            "decision": {"action": "none", "reasons": [], "details": {}},
        },
        f"the failure record of {config.name} {as_of}",
    )


def champion_summary(
    champion: ChampionState | None, metric_now: float | None, metric_error: str | None
) -> dict[str, Any]:
    """The champion part of the decision record: its score now and at registration."""
    if champion is None:
        return {}
    return {
        "version": champion.champion.version,
        "recipe": champion.champion.recipe,
        "metric_now": metric_now,
        "metric_error": metric_error,
        "holdout_metric_at_registration": champion.champion.holdout_metric,
    }


def _typed(record: RunRecord | dict[str, Any]) -> RunRecord:
    """The record as a RunRecord (the flow still assembles it as a dict during the run)."""
    return record if isinstance(record, RunRecord) else load_record(record, "the run's record")


def version_tags(record: RunRecord | dict[str, Any]) -> dict[str, Any]:
    """The few tags a reviewer scans on a challenger version (the registry's version list):
    window, recipe, holdout score, gate verdict, provenance. `as_of`, `mode` and `config_hash`
    also find a rerun's version (registry.RERUN_KEYS); the rest is on its run (`run_tags`)."""
    r = _typed(record)
    training, gate = r.training, r.gate
    served = training.served_fit if training else None
    classes = training.classes if training else None
    return {
        "as_of": r.as_of.isoformat(),
        "mode": r.mode,
        "training_window": f"{served.start if served else None}..{served.end if served else None}",
        "recipe": training.winner if training else None,
        "holdout_score": gate.challenger_score if gate else None,
        "gate": "promote" if gate and gate.promote else "reject",
        "config_hash": r.config_hash,
        "git_commit": r.git_commit,
        **({"classes": classes} if classes else {}),
    }


def run_tags(record: RunRecord | dict[str, Any]) -> dict[str, Any]:
    """What else a reviewer may look up about a challenger: tags of its MLflow run (the run
    holds the whole decision record too, decision.json)."""
    r = _typed(record)
    training, gate = r.training, r.gate
    served = training.served_fit if training else None
    gate_fit = training.gate_fit if training else None
    candidates = training.candidates if training else []
    return {
        "train_rows": served.rows if served else None,
        "refit": bool(training and training.refit),
        "gate_training_window": (
            f"{gate_fit.start if gate_fit else None}..{gate_fit.end if gate_fit else None}"
        ),
        "holdout_start": training.holdout_start if training else None,
        "holdout_rows": gate.n_rows if gate else None,
        "metric": r.metric,
        "challenger_metric": gate.challenger_score if gate else None,
        "champion_metric": gate.champion_score if gate else None,
        "champion_version": (r.champion.version if r.champion else None) or "",
        "candidates": {c.name: c.validation_score for c in candidates},
        "gate_mode": gate.mode if gate else None,
        "gate_reasons": gate.reasons if gate else [],
        "gate_gain": gate.gain if gate else None,
        "gate_ci_low": gate.ci_low if gate else None,
    }


def version_description(record: RunRecord | dict[str, Any]) -> str:
    """Why this version was trained and what the gate said, in a sentence or two."""
    r = _typed(record)
    gate, training = r.gate, r.training
    promoted = bool(gate and gate.promote)
    reasons = ", ".join(r.decision.reasons)
    verdict = "passed" if promoted else "failed"
    promotion = (
        "promoted to champion"
        if promoted and r.mode == "auto"
        else "waits for a person's approval"
        if promoted and r.mode == "approval"
        else "not promoted (shadow mode)"
        if promoted
        else "not promoted"
    )
    refit = " then refitted with the holdout" if training and training.refit else ""
    return (
        f"Trained for the window ending {r.as_of} because: {reasons}. Recipe "
        f"{training.winner if training else None} won the tournament "
        f"({training.choice.get('reason') if training else None})"
        f". Gate {verdict} ({', '.join(gate.reasons if gate else [])}): challenger "
        f"{r.metric} {gate.challenger_score if gate else None} vs champion "
        f"{gate.champion_score if gate else None} on the same holdout{refit}; {promotion}."
    )
