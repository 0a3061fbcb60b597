"""How the registered-model page stays readable: the champion alias history as a short table in
the model's description, and the whole history, machine-readable, in one JSON artifact that one
tag points to.

Earlier code kept one registered-model tag per alias move (`champion_history.00001`, a JSON
object each): ~40 tags after the demo, pushing the versions below the fold. A registered
model's tag holds at most 5,000 characters in MLflow 3.17.2, and the UI shows a long value as
a tall cell, so the moves now live in `champion_history.json` of a run of the experiment
`retrain-loop/<model>/registry`, and the tag `champion_history` holds `runs:/<run id>/...`.
The older one-move tags are still read (and folded into the artifact on the next move). Pure
functions: registry.py does the reading and writing.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from retrain.config import ModelConfig
from retrain.sinks.reporting import md

HISTORY_TAG = "champion_history"
HISTORY_FILE = "champion_history.json"
DESCRIPTION_LIMIT = 5000  # SqlRegisteredModel.description is String(5000)
REASON_LIMIT = 300
HISTORY_HEADING = "\n\n#### Champion alias history"
TABLE_ROWS = 8
FIELDS = ("version", "previous", "at", "reason", "by")
KEY_FIELDS = (*FIELDS, "as_of")  # what makes two stored moves the same move


def is_old_history_tag(key: str) -> bool:
    """A one-move tag of earlier code (`champion_history.00001`)."""
    return key.startswith(f"{HISTORY_TAG}.")


def pointer(run_id: str) -> str:
    """The `champion_history` tag's value: where the history artifact is."""
    return f"runs:/{run_id}/{HISTORY_FILE}"


def pointed_run(value: str | None) -> str | None:
    """The run id in a `champion_history` tag's value, or None."""
    prefix, suffix = "runs:/", f"/{HISTORY_FILE}"
    if not value or not value.startswith(prefix) or not value.endswith(suffix):
        return None
    return value[len(prefix) : -len(suffix)] or None


def entry(
    version: str,
    previous: str | None,
    at: str,
    reason: str,
    by: str,
    seq: int,
    as_of: date | None = None,
) -> dict[str, Any]:
    """One alias move as stored (`as_of`: the window end of the loop's run that made it, when
    one did); a long reason is cut so that a move always fits in a tag."""
    cut = reason if len(reason) <= REASON_LIMIT else reason[: REASON_LIMIT - 3] + "..."
    move: dict[str, Any] = {
        "version": str(version),
        "previous": previous or "",
        "at": at,
        "reason": cut,
        "by": by,
        "seq": seq,
    }
    if as_of is not None:
        move["as_of"] = as_of.isoformat()
    return move


def moves_from_tags(tags: dict[str, str]) -> list[dict[str, Any]]:
    """The alias moves held in earlier code's one-move tags (a JSON object each), oldest first."""
    found = []
    for key in sorted(k for k in tags if is_old_history_tag(k)):
        value = json.loads(tags[key])
        if isinstance(value, list):  # a packed list of moves (this branch's first cut)
            found += value
            continue
        number = key.rsplit(".", 1)[-1]
        found.append({**value, "seq": value.get("seq") or (int(number) if number.isdigit() else 0)})
    return merged(found)


def merged(*lists: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alias moves from several places, oldest first, each once: a move found in both the old
    tags and the artifact (a crash before the old tags were deleted) counts once."""
    unique: dict[tuple[str, ...], dict[str, Any]] = {}
    for i, move in enumerate(m for moves in lists for m in moves):
        key = tuple(str(move.get(f, "")) for f in KEY_FIELDS)
        unique.setdefault(key, {**move, "seq": move.get("seq") or i + 1})
    ordered = sorted(unique.values(), key=lambda m: (m["at"], m["seq"]))
    return [_normal(m) for m in ordered]


def _normal(move: dict[str, Any]) -> dict[str, Any]:
    """The stored fields as text (`as_of` only when the move has one), and its sequence number."""
    out: dict[str, Any] = {f: str(move.get(f) or "") for f in FIELDS}
    if move.get("as_of"):
        out["as_of"] = str(move["as_of"])
    return out | {"seq": move["seq"]}


def base_description(text: str | None) -> str:
    """The description without the history table this module appends."""
    return (text or "").split(HISTORY_HEADING, 1)[0]


def with_history(base: str, moves: list[dict[str, Any]], rows: int = TABLE_ROWS) -> str:
    """The description: `base`, then the newest alias moves as a compact markdown table."""
    if not moves:
        return base
    table = history_table(moves, rows)
    while len(base) + len(table) > DESCRIPTION_LIMIT and rows > 1:
        rows -= 1
        table = history_table(moves, rows)
    return base + table


def history_table(moves: list[dict[str, Any]], rows: int = TABLE_ROWS) -> str:
    """The newest `rows` moves, newest first: version, from, until, replaced, by, why."""
    periods = champion_periods(moves)
    lines = [
        HISTORY_HEADING,
        "",
        "| champion | from | until | replaced | by | why |",
        "|---|---|---|---|---|---|",
    ]
    for p in reversed(periods[-rows:]):
        lines.append(
            f"| v{p['version']} | {_day(p['at'])} | {_day(p['until'])} | "
            f"{'v' + p['previous'] if p['previous'] else '-'} | {_cell(p['by'])} | "
            f"{_cell(p['reason'], 60)} |"
        )
    earlier = len(periods) - min(rows, len(periods))
    more = f"{earlier} earlier moves not shown; " if earlier else ""
    lines += ["", f"{more}all {len(periods)}: `retrain history <model>` (tag `{HISTORY_TAG}`)."]
    return "\n".join(lines)


def champion_periods(moves: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each move with `until`: when the next move replaced it, or "now"."""
    return [
        {**move, "until": moves[i + 1]["at"] if i + 1 < len(moves) else "now"}
        for i, move in enumerate(moves)
    ]


def _day(stamp: str) -> str:
    """`2026-12-02T00:54:27+00:00` -> `2026-12-02 00:54` (UTC)."""
    return stamp if stamp == "now" else stamp[:16].replace("T", " ")


def _cell(text: str, width: int = 30) -> str:
    """A table cell: one line, at most `width` characters, markdown escaped (data, not markup)."""
    text = " ".join(str(text).split())
    return md(text if len(text) <= width else text[: width - 1] + "…")


def model_description(config: ModelConfig) -> str:
    """The registered model's description: what it predicts and from which config."""
    cols = config.columns
    text = config.description or f"{config.task} model predicting {cols.label}"
    return (
        f"{text}\n\nPredicts `{cols.label}` ({config.task}, metric {config.metric}) from "
        f"{len(cols.numeric)} numeric and {len(cols.categorical)} categorical features of "
        f"s3://{config.data.bucket}/{config.data.prefix}/. Config `{config.name}` "
        f"(hash {config.config_hash()}); managed by the retrain loop: the `champion` alias is "
        "what production serves."
    )
