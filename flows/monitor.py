"""The loop for one model: load, validate, drift, evaluate, decide, retrain, gate, promote."""

from datetime import UTC, date, datetime
from typing import Any

from prefect import flow, get_run_logger

from flows.steps import (
    close_run,
    cycle_steps,
    earlier_estimate_check,
    keep_window,
    raise_unless_done,
    retrain_and_promote,
)
from retrain.budget import current_seconds, run_budget
from retrain.config import Mode, ModelConfig
from retrain.config_folder import load_model_config
from retrain.cycle import check_window
from retrain.data.label_coverage import label_summary
from retrain.decisions.attention import attention_problem
from retrain.decisions.plan import plan, run_mode
from retrain.loop import (
    RunInfo,
    monitoring_window,
    new_record,
    policy_inputs,
    unrecorded_failure,
    window_summary,
)
from retrain.run_record import load_record
from retrain.settings import Settings, get_settings
from retrain.sinks.events import retrain_started, run_failed
from retrain.threads import limited_threads, thread_limit
from tasks.alerts import send_alerts
from tasks.data import check_buckets, check_label_feed, load_history, prefix_seen, scan_window
from tasks.events import emit_events
from tasks.locks import model_lock
from tasks.notification import notify
from tasks.policy import decide_action
from tasks.prometheus import push_run_outcome
from tasks.registry import champion_for_window, find_champion
from tasks.reporting import start_run


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
        steps = cycle_steps(settings, config, run, window, champion, record)
        check = check_window(steps, champion is not None, len(window.frame))
        validation, estimate, links = check.validation, check.estimate, check.links
        keep_window(settings, run, record, champion, check)
        history = load_history(settings, config, mode, as_of)
        if champion is not None and estimate is not None:
            estimate["earlier"] = earlier_estimate_check(settings, config, champion, history, as_of)
        seen = bool(window.files) or prefix_seen(settings, config)
        inputs = policy_inputs(
            config, run, window, validation, check.drift, champion, check.metric_now, estimate,
            history, force_retrain, seen,
        )  # fmt: skip
        decision = decide_action(inputs, config.thresholds)
        record["decision"] = decision.to_dict()
        del window, check, steps  # a retrain reads its own (longer) window: free this
        if plan(decision, None, Mode(mode), None, config.training.refit).retrain:
            emit_events([retrain_started(load_record(record, "the run's record"))])
            retrain_and_promote(settings, config, run, champion, decision, record)
        record["status"] = "completed"
        record["attention"] = attention_problem(load_record(record, "the run's record"), config)
    except Exception as exc:
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        try:
            close_run(settings, config, run, record, links)
        except Exception as close_error:  # the run's own error is the one to raise
            get_run_logger().error("recording the failed run failed too: %s", close_error)
        raise
    record = close_run(settings, config, run, record, links)
    raise_unless_done(config, run, validation, record)
    return record


if __name__ == "__main__":
    monitor_and_retrain("flights_delay", as_of=date(2013, 3, 4))
