"""The wiring the monitor flow (flows/monitor.py) calls: its tasks bound into the window's cycle
(retrain/cycle.py), the retrain after the decision as retrain/decisions/plan.py says, the earlier
estimate's check, and the record's sinks at the end of a run."""

from datetime import date
from typing import Any

from retrain.config import Mode, ModelConfig
from retrain.cycle import CycleSteps, WindowCheck
from retrain.data.label_coverage import label_metrics, label_summary
from retrain.data.validation import ValidationReport
from retrain.decisions.attention import NeedsAttentionError
from retrain.decisions.plan import plan
from retrain.decisions.policy import Decision
from retrain.loop import (
    ChampionState,
    InvalidDataError,
    RunInfo,
    champion_summary,
    run_tags,
    training_summary,
    training_window,
    version_description,
    version_tags,
)
from retrain.monitoring.estimate import earlier_estimate, estimate_days, history_metrics
from retrain.monitoring.window_scan import ScannedWindow
from retrain.run_record import RunRecord
from retrain.settings import Settings
from retrain.sinks.events import record_events
from tasks.alerts import send_alerts
from tasks.approval import request_approval
from tasks.data import (
    load_window,
    scan_window,
)
from tasks.drift import measure_drift
from tasks.evaluation import check_estimate, estimate_performance, evaluate_champion
from tasks.events import emit_events
from tasks.evidently_ui import add_window_snapshot
from tasks.gate import gate_challenger
from tasks.monitoring import compute_monitoring, log_monitoring_history
from tasks.notification import notify
from tasks.prometheus import push_window_metrics
from tasks.registry import (
    find_archived,
    promote_challenger,
    register_challenger,
)
from tasks.reporting import publish_summary, record_decision
from tasks.scoring import predict_champion
from tasks.training import hold_tournament, log_challenger, refit_winner
from tasks.validation import validate_data


def cycle_steps(
    settings: Settings,
    config: ModelConfig,
    run: RunInfo,
    window: ScannedWindow,
    champion: ChampionState | None,
    record: dict[str, Any],
) -> CycleSteps:
    """The window's cycle (retrain/cycle.py) with this run's tasks as its steps."""
    as_of = run.as_of

    def scored() -> ChampionState:
        assert champion is not None, "only a champion scores the window (retrain/decisions/plan.py)"
        return champion

    def keep(name: str, section: Any) -> None:
        record[name] = section.to_dict()

    return CycleSteps(
        validate=lambda: validate_data(config, window, champion, as_of),
        predict=lambda: predict_champion(config, window, scored()),
        drift=lambda out: measure_drift.submit(settings, config, run, window, scored(), out),
        estimate=lambda out: estimate_performance(config, window, champion, as_of, out),
        monitor=lambda drift, out: compute_monitoring(
            settings, config, window, champion, drift, out
        ),
        evaluate=lambda monitoring, out: evaluate_champion(
            config, window, champion, monitoring, out
        ),
        keep=keep,
    )


def retrain_and_promote(
    settings: Settings,
    config: ModelConfig,
    run: RunInfo,
    champion: ChampionState | None,
    decision: Decision,
    record: dict[str, Any],
) -> None:
    """Tournament, gate, then what the plan says: reinstate a past version, or refit, register,
    promote or ask a person."""
    as_of, why = run.as_of, ", ".join(decision.reasons)
    training = load_window(settings, config, training_window(config, as_of), as_of)
    archived = find_archived(settings, config, champion)
    contest = hold_tournament(config, training, as_of, champion, archived)
    verdict = gate_challenger(config, contest, champion)
    record.update(training=training_summary(training, contest, config, as_of))
    record["training"]["labels"] = label_summary(training.frame, config, as_of)
    record["gate"] = verdict.to_dict()
    then = plan(decision, verdict, Mode(run.mode), contest.archived_version, config.training.refit)
    expected = champion.champion.version if champion else None
    if then.reinstate is not None:
        version = then.reinstate
        promote_challenger(settings, config, version, expected, f"reinstated ({why})", as_of)
        record.update(reinstated_version=version, promoted=True, promoted_version=version)
    if not then.register:
        return
    assert contest.gate_fit is not None
    served = contest.gate_fit
    if then.refit:
        served = refit_winner(config, training, contest, as_of)
        seconds = record["training"]["seconds"] + served.seconds
        record["training"].update(refit=True, served_fit=served.to_dict(), seconds=seconds)
    source = log_challenger(settings, config, run, served, verdict.challenger_score)
    version = register_challenger(
        settings,
        config,
        source,
        run.mlflow_run_id,
        version_tags(record),
        version_description(record),
        run_tags(record),
    )
    record["registered_version"] = version
    if then.promote:
        promote_challenger(settings, config, version, expected, why, as_of)
        record.update(promoted=True, promoted_version=version)
    elif then.request_approval:  # a person promotes (flows/approval.py)
        record["approval"] = {
            "state": "requested",
            "version": version,
            "champion_version": expected,
        }


def earlier_estimate_check(
    settings: Settings,
    config: ModelConfig,
    champion: ChampionState,
    history: list[RunRecord],
    as_of: date,
) -> dict[str, Any] | None:
    """The newest earlier estimate of this champion whose labels have matured, lined up with
    the metric those days realised (their rows read again: a weekly window no longer holds them)."""
    delay = config.windows.label_delay_days
    earlier = earlier_estimate(history, champion.champion.version, as_of, delay)
    if earlier is None:
        return None
    days = scan_window(settings, config, estimate_days(earlier), as_of, champion)
    return check_estimate(config, days, champion, earlier)


def close_run(
    settings: Settings,
    config: ModelConfig,
    run: RunInfo,
    record: dict[str, Any],
    links: dict[str, str],
) -> dict[str, Any]:
    if (record.get("approval") or {}).get("state") == "requested":
        record["approval"] = request_approval(settings, config, run, record, links)
    typed = record_decision(settings, run, record)
    emit_events(record_events(typed))
    push_window_metrics(settings, config, typed)
    add_window_snapshot(settings, config, typed)
    publish_summary(settings, run, typed, links)
    notify(settings, typed)
    send_alerts(config, typed)
    return typed.dump()  # the flow returns the JSON as stored


def keep_window(
    settings: Settings,
    run: RunInfo,
    record: dict[str, Any],
    champion: ChampionState | None,
    check: WindowCheck,
) -> None:
    """The window's champion and estimate sections of the record, and the window's point on the
    model's monitoring history in MLflow."""
    record["champion"] = champion_summary(champion, check.metric_now, check.metric_error)
    if check.estimate is not None:
        record["estimated_performance"] = check.estimate
    if check.monitoring is not None:
        extra = {**history_metrics(check.estimate), **label_metrics(record["labels"])}
        log_monitoring_history(settings, run, check.monitoring, extra)


def raise_unless_done(
    config: ModelConfig, run: RunInfo, validation: ValidationReport, record: dict[str, Any]
) -> None:
    """A recorded run still fails visibly when its window was invalid or it needs a person."""
    if not validation.valid:
        raise InvalidDataError(
            f"window ending {run.as_of} of {config.name} is invalid, nothing trained: "
            + "; ".join(validation.reasons())
        )
    if record.get("attention"):
        raise NeedsAttentionError(record["attention"])
