"""Operating flows: replay history in shadow mode, roll the champion back, show alias history."""

import getpass
from datetime import date, timedelta
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.monitor import monitor_and_retrain
from retrain.clients import mlflow_client
from retrain.config_folder import load_model_config
from retrain.registry import versions as registry
from retrain.run_record import RunRecord, load_record
from retrain.settings import get_settings
from retrain.sinks import events
from retrain.sinks.reporting import artifact_key, md
from tasks.events import emit_events
from tasks.locks import model_lock


def replay_row(as_of: date, record: RunRecord | None, error: str | None) -> dict[str, Any]:
    """One line of the replay table: what the loop saw and would have done for one window."""
    if record is None:
        return {
            "as_of": as_of.isoformat(),
            "rows": None,
            "drift_share": None,
            "champion_metric": None,
            "decision": "failed",
            "reasons": error or "",
            "challenger_metric": None,
            "would_promote": False,
            "promoted": False,
            "champion_version": None,
            "days_since_retrain": None,
        }
    gate, champion = record.gate, record.champion
    return {
        "as_of": record.as_of.isoformat(),
        "rows": record.window.rows if record.window else None,
        "drift_share": record.drift.drift_share if record.drift else None,
        "champion_metric": champion.metric_now if champion else None,
        "decision": record.decision.action,
        "reasons": ", ".join(record.decision.reasons),
        "challenger_metric": gate.challenger_score if gate else None,
        "would_promote": bool(gate and gate.promote),
        "promoted": record.promoted,
        "champion_version": record.champion_version,
        "days_since_retrain": record.decision.details.get("days_since_retrain"),
    }


@flow(name="replay", log_prints=True)
def replay(
    model: str,
    start: date,
    end: date,
    step_days: int = 7,
    shadow: bool = True,
) -> list[dict[str, Any]]:
    """Run the loop over past windows and tabulate what it decided, window by window.

    Args:
        model: name of the monitored model.
        start: first window end to replay.
        end: last window end to replay (inclusive).
        step_days: days between window ends (7 = weekly).
        shadow: keep True to tune thresholds: decide and record, never move the alias. Each
            window is judged by the champion the loop had then (the newest champion trained for
            a window not after it; none before the first); in auto mode a window before the
            current champion's training is refused (retrain/decisions/timeline.py).
    """
    if end < start or step_days < 1:
        raise ValueError(f"need start <= end and step_days >= 1, got {start}..{end} by {step_days}")
    rows = []
    as_of = start
    while as_of <= end:
        state = monitor_and_retrain(model, as_of=as_of, shadow=shadow, return_state=True)
        if state.is_completed():
            rows.append(replay_row(as_of, load_record(state.result(), f"the run of {as_of}"), None))
        else:
            rows.append(replay_row(as_of, None, state.message))
        print(rows[-1])
        as_of += timedelta(days=step_days)
    create_table_artifact(
        rows,
        key=artifact_key(model, "replay"),
        description=f"{model}: replay {start}..{end} every {step_days} days "
        f"({'shadow' if shadow else 'auto'} mode)",
    )
    return rows


@flow(name="rollback", log_prints=True)
def rollback(model: str, reason: str, requested_by: str | None = None) -> dict[str, str]:
    """Move `champion` back to the version it replaced, recording who, when and why.

    Args:
        model: name of the monitored model.
        reason: why production goes back (kept in the alias history).
        requested_by: who asks; defaults to the user running the flow.
    """
    settings = get_settings()
    config = load_model_config(settings.config_dir, model)
    actor = requested_by or getpass.getuser()
    with model_lock(config.name):
        before, after = registry.rollback(mlflow_client(settings), config.name, reason, actor)
    emit_events([events.rolled_back(config.name, before, after, reason, actor)])
    get_run_logger().info(
        "rolled %s back from v%s to v%s (%s, by %s)", model, before, after, reason, actor
    )
    create_markdown_artifact(
        key=artifact_key(model, "rollback"),
        markdown=f"# {md(model)}: champion v{before} -> v{after}\n\n"
        f"Rolled back by {md(actor)}: {md(reason)}\n",
    )
    return {"from": before, "to": after, "by": actor, "reason": reason}


@flow(name="champion-history", log_prints=True)
def champion_history(model: str) -> list[dict[str, str]]:
    """Who was champion from when to when, as a table artifact and in the logs.

    Args:
        model: name of the monitored model.
    """
    settings = get_settings()
    config = load_model_config(settings.config_dir, model)
    moves = registry.champion_history(mlflow_client(settings), config.name)
    rows = [
        {**move, "until": moves[i + 1]["at"] if i + 1 < len(moves) else "now"}
        for i, move in enumerate(moves)
    ]
    for row in rows:
        print(
            f"v{row['version']:>3} champion {row['at']} .. {row['until']}  "
            f"(was v{row['previous'] or '-'}; {row['reason']}; by {row['by']})"
        )
    create_table_artifact(rows, key=artifact_key(model, "history"))
    return rows
