"""The loop for one model: load, validate, drift, evaluate, decide, retrain, gate, promote."""

from datetime import UTC, date, datetime
from typing import Any

from prefect import flow, get_run_logger

from retrain.attention import NeedsAttentionError, attention_problem
from retrain.budget import current_seconds, run_budget
from retrain.config import Mode, ModelConfig
from retrain.config_folder import load_model_config
from retrain.cycle import CycleSteps, check_window
from retrain.estimate import earlier_estimate, estimate_days, history_metrics
from retrain.events import record_events, retrain_started, run_failed
from retrain.label_coverage import label_metrics, label_summary
from retrain.loop import (
    ChampionState,
    InvalidDataError,
    RunInfo,
    champion_summary,
    monitoring_window,
    new_record,
    policy_inputs,
    run_tags,
    training_summary,
    training_window,
    unrecorded_failure,
    version_description,
    version_tags,
    window_summary,
)
from retrain.plan import plan, run_mode
from retrain.policy import Decision
from retrain.run_record import RunRecord, load_record
from retrain.settings import Settings, get_settings
from retrain.threads import limited_threads, thread_limit
from retrain.window_scan import ScannedWindow
from tasks.alerts import send_alerts
from tasks.approval import request_approval
from tasks.data import (
    check_buckets,
    check_label_feed,
    load_history,
    load_window,
    prefix_seen,
    scan_window,
)
from tasks.drift import measure_drift
from tasks.evaluation import check_estimate, estimate_performance, evaluate_champion
from tasks.events import emit_events
from tasks.evidently_ui import add_window_snapshot
from tasks.gate import gate_challenger
from tasks.locks import model_lock
from tasks.monitoring import compute_monitoring, log_monitoring_history
from tasks.notification import notify
from tasks.policy import decide_action
from tasks.prometheus import push_run_outcome, push_window_metrics
from tasks.registry import (
    champion_for_window,
    find_archived,
    find_champion,
    promote_challenger,
    register_challenger,
)
from tasks.reporting import publish_summary, record_decision, start_run
from tasks.scoring import predict_champion
from tasks.training import hold_tournament, log_challenger, refit_winner
from tasks.validation import validate_data


@flow(
    name="monitor-and-retrain",
    log_prints=True,
    on_completion=[push_run_outcome],
    on_failure=[push_run_outcome],
    on_crashed=[push_run_outcome],
)
def monitor_and_retrain(
    model: str,
    as_of: date | None = None,
    force_retrain: bool = False,
    shadow: bool = False,
) -> dict[str, Any]:
    """Check one model's newest window and retrain, gate and promote when the policy says so.

    Args:
        model: name of the monitored model (a config file in the config folder).
        as_of: end of the window (exclusive); today when unset. Set it to replay history.
        force_retrain: retrain whatever drift and metrics say (the gate still applies).
        shadow: decide, train and record, but never move the champion alias.
    """
    settings = get_settings()
    config = load_model_config(settings.config_dir, model)
    as_of = as_of or datetime.now(UTC).date()
    mode = run_mode(config.mode, shadow)
    opened = False
    try:
        check_buckets(settings, config)
        check_label_feed(settings, config)
        threads = thread_limit(settings.native_threads)
        with run_budget(), model_lock(config.name), limited_threads(threads):
            run = start_run(settings, config, as_of, mode)
            opened = True
            return _monitor(settings, config, run, force_retrain)
    except Exception as exc:
        if not opened:  # no decision record carries this failure: tell the channels here
            record = unrecorded_failure(config, as_of, mode, f"{type(exc).__name__}: {exc}")
            notify(settings, record)
            send_alerts(config, record)
            emit_events([run_failed(record)])
        raise


def _monitor(
    settings: Settings, config: ModelConfig, run: RunInfo, force_retrain: bool
) -> dict[str, Any]:
    """The steps, in order, under the model's lock; every outcome leaves a decision record."""
    as_of, mode = run.as_of, run.mode
    record = new_record(config, run, force_retrain)
    record["seconds"] = current_seconds()  # each step adds its seconds (retrain/budget.py)
    links: dict[str, str] = {}
    try:
        champion = find_champion(settings, config)
        days = monitoring_window(config, as_of)
        champion = champion_for_window(settings, config, champion, days, mode)
        window = scan_window(settings, config, days, as_of, champion)
        record.update(window=window_summary(window, config))
        record["labels"] = label_summary(window.frame, config, as_of)
        steps = _steps(settings, config, run, window, champion, record)
        check = check_window(steps, champion is not None, len(window.frame))
        validation, drift, links = check.validation, check.drift, check.links
        monitoring, estimate, outputs = check.monitoring, check.estimate, check.outputs
        record["champion"] = champion_summary(champion, check.metric_now, check.metric_error)
        if estimate is not None:
            record["estimated_performance"] = estimate
        if monitoring is not None:
            extra = {**history_metrics(estimate), **label_metrics(record["labels"])}
            log_monitoring_history(settings, run, monitoring, extra)
        history = load_history(settings, config, mode, as_of)
        if champion is not None and estimate is not None:
            estimate["earlier"] = _check_earlier_estimate(
                settings, config, champion, history, as_of
            )
        seen = bool(window.files) or prefix_seen(settings, config)
        inputs = policy_inputs(
            config, run, window, validation, drift, champion, check.metric_now, estimate, history,
            force_retrain, seen,
        )  # fmt: skip
        decision = decide_action(inputs, config.thresholds)
        record["decision"] = decision.to_dict()
        del window, outputs, check, steps  # a retrain reads its own (longer) window: free this
        if plan(decision, None, Mode(mode), None, config.training.refit).retrain:
            emit_events([retrain_started(load_record(record, "the run's record"))])
            _retrain(settings, config, run, champion, decision, record)
        record["status"] = "completed"
        record["attention"] = attention_problem(load_record(record, "the run's record"), config)
    except Exception as exc:
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        try:
            _close(settings, config, run, record, links)
        except Exception as close_error:  # the run's own error is the one to raise
            get_run_logger().error("recording the failed run failed too: %s", close_error)
        raise
    record = _close(settings, config, run, record, links)
    if not validation.valid:
        raise InvalidDataError(
            f"window ending {as_of} of {config.name} is invalid, nothing trained: "
            + "; ".join(validation.reasons())
        )
    if record.get("attention"):
        raise NeedsAttentionError(record["attention"])
    return record


def _steps(
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
        assert champion is not None, "only a champion scores the window (retrain/plan.py)"
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


def _retrain(
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


def _check_earlier_estimate(
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


def _close(
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


if __name__ == "__main__":
    monitor_and_retrain("flights_delay", as_of=date(2013, 3, 4))
