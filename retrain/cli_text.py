"""What the `retrain` command line prints: pure functions of records, runs and history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from retrain.operate.runs import RunState
from retrain.run_record import RunRecord
from retrain.sinks.reporting import headline


@dataclass(frozen=True)
class ChampionFacts:
    """The champion as `retrain status` shows it."""

    version: str
    recipe: str | None
    trained_as_of: date | None
    holdout_score: float | None
    since: str | None  # when the alias last moved to it (UTC ISO), None when unrecorded
    scores: list[tuple[str, float | None]] = field(default_factory=list)  # (as_of, metric_now)


@dataclass(frozen=True)
class ModelStatus:
    """Everything `retrain status MODEL` prints, gathered by the CLI from the stack."""

    model: str
    metric: str
    today: date
    champion: ChampionFacts | None
    records: list[RunRecord]  # newest decision records, oldest first
    runs: list[RunState]  # newest Prefect runs of the model's deployments, newest first
    pending: list[str]  # what waits: open runs, records needing attention


def num(value: Any, digits: int = 4) -> str:
    """A metric or share for a terminal: 4 decimals, '-' when absent."""
    if value is None or value == "":
        return "-"
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def failure_reason(run: RunState, record: RunRecord | None) -> str:
    """Why a run failed: the decision record's error or attention note, else Prefect's message."""
    if record is not None:
        for note in (record.error, record.attention):
            if note:
                return note
    return run.message or f"the run ended {run.state_name}"


def run_outcome(run: RunState, record: RunRecord | None) -> list[str]:
    """The lines `retrain run` ends with: the decision, the champion's score, the gate, where the
    record is; on failure, the reason first."""
    lines: list[str] = []
    if not run.ok:
        lines.append(f"FAILED ({run.state_name}): {failure_reason(run, record)}")
    if record is not None:
        lines.append(headline(record))
        champion, gate = record.champion, record.gate
        if champion is not None and champion.version:
            rows = record.window.labelled_rows if record.window else None
            lines.append(
                f"  champion v{champion.version}: {record.metric} "
                f"{num(champion.metric_now)} on {rows if rows is not None else '-'} "
                "matured rows"
            )
        if gate is not None:
            verdict = "promote" if gate.promote else "reject"
            lines.append(
                f"  gate: {verdict} ({', '.join(gate.reasons)}); challenger "
                f"{num(gate.challenger_score)} vs champion {num(gate.champion_score)}"
            )
        if record.record_uri:
            lines.append(f"  decision record: {record.record_uri}")
    lines.append(f"  Prefect run: {run.url}")
    return lines


def replay_table(rows: list[dict[str, Any]]) -> list[str]:
    """The replay flow's table artifact as text: one line per window."""
    lines = [f"{'as_of':<10}  {'decision':<8}  served  metric  would promote  reasons"]
    for r in rows:
        served = f"v{r['champion_version']}" if r.get("champion_version") else "-"
        lines.append(
            f"{r.get('as_of', ''):<10}  {r.get('decision', ''):<8}  {served:<6}  "
            f"{num(r.get('champion_metric'))}  {'yes' if r.get('would_promote') else 'no':<13}  "
            f"{r.get('reasons') or '-'}"
        )
    return lines


def history_lines(periods: list[dict[str, Any]]) -> list[str]:
    """Who was champion from when to when, oldest first (registry_page.champion_periods)."""
    if not periods:
        return ["no champion has been promoted yet"]
    lines = [f"{'champion':<8}  {'from (UTC)':<16}  {'until':<16}  replaced  by  why"]
    for p in periods:
        until = "now" if p["until"] == "now" else p["until"][:16].replace("T", " ")
        replaced = f"v{p['previous']}" if p.get("previous") else "-"
        lines.append(
            f"v{p['version']:<7}  {p['at'][:16].replace('T', ' '):<16}  {until:<16}  "
            f"{replaced:<8}  {p.get('by', '')}  {p.get('reason', '')}"
        )
    return lines


def status_lines(status: ModelStatus) -> list[str]:
    """`retrain status MODEL`: champion, its age and record, last runs, pending items."""
    lines = [f"{status.model} ({status.metric})"]
    champ = status.champion
    if champ is None:
        lines.append("  champion: none yet (the first run trains one)")
    else:
        age = f"{(status.today - champ.trained_as_of).days} days ago" if champ.trained_as_of else ""
        lines.append(
            f"  champion: v{champ.version}, recipe {champ.recipe or '-'}, trained for the window "
            f"ending {champ.trained_as_of or '-'} ({age or 'age unknown'}); holdout "
            f"{num(champ.holdout_score)}; champion since {(champ.since or '-')[:16]}"
        )
        if champ.scores:
            scored = ", ".join(f"{d} {num(m)}" for d, m in champ.scores)
            lines.append(f"  its out-of-sample record (newest windows): {scored}")
    lines.append("  last windows (auto):" if status.records else "  last windows: none recorded")
    for rec in status.records:
        champion = rec.champion
        served = f"v{rec.champion_version}" if rec.champion_version else "-"
        lines.append(
            f"    {rec.as_of}  {rec.status:<9}  served "
            f"{served} {num(champion.metric_now if champion else None)}  "
            f"{rec.decision.action} ({', '.join(rec.decision.reasons) or '-'})"
        )
    lines.append("  last runs:" if status.runs else "  last runs: none")
    for run in status.runs:
        lines.append(f"    {run.start[:16]}  {run.state_name:<10}  {run.deployment}  ({run.name})")
    lines.append("  pending:" if status.pending else "  pending: nothing")
    lines += [f"    {item}" for item in status.pending]
    return lines


def pending_items(open_runs: list[RunState], records: list[RunRecord]) -> list[str]:
    """What waits for the worker or for a person: runs started or due and not ended (the next
    scheduled run once, as such), and the newest window's attention note."""
    due = [r for r in open_runs if r.state_name != "Scheduled"]
    upcoming = sorted((r for r in open_runs if r.state_name == "Scheduled"), key=lambda r: r.start)
    items = [f"run {r.name} ({r.deployment}) {r.state_name}: {r.url}" for r in due]
    if upcoming:
        nxt = upcoming[0]
        items.append(f"next scheduled: {nxt.start[:16]} ({nxt.deployment}, {nxt.name})")
    if records and records[-1].attention:
        items.append(f"window {records[-1].as_of} needs attention: {records[-1].attention}")
    return items


def overview_line(name: str, champion: str | None, last: RunRecord | None) -> str:
    """`retrain status` without a model: one line per configured model."""
    where = f"champion v{champion}" if champion else "no champion"
    if last is None:
        return f"{name}: {where}; no window recorded"
    decision = last.decision
    return (
        f"{name}: {where}; last window {last.as_of} {decision.action} "
        f"({', '.join(decision.reasons) or '-'})"
    )
