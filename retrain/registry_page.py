"""How the registered-model page stays readable: the champion alias history as a short table in
the model's description, and the whole history, machine-readable, in a few packed tags.

Earlier code kept one registered-model tag per alias move (`champion_history.00001`, a JSON
object each): ~40 tags after the demo, pushing the versions below the fold. Now the moves are
packed into JSON lists (`champion_history.part001`, as many moves as fit in MLflow's 5,000
characters of a registered-model tag: about 40), and the older one-move tags are still read (and
packed on the next move). Pure functions: registry.py does the reading and writing.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from retrain.reporting import md

HISTORY_TAG = "champion_history"
PART_PREFIX = f"{HISTORY_TAG}.part"
TAG_LIMIT = 5000  # SqlRegisteredModelTag.value is String(5000) in MLflow 3.17.2
DESCRIPTION_LIMIT = 5000  # SqlRegisteredModel.description is String(5000)
REASON_LIMIT = 300
HISTORY_HEADING = "\n\n#### Champion alias history"
TABLE_ROWS = 8
FIELDS = ("version", "previous", "at", "reason", "by")
KEY_FIELDS = (*FIELDS, "as_of")  # what makes two stored moves the same move


def is_history_tag(key: str) -> bool:
    """A tag holding alias moves: the packed parts, or an old one-move tag."""
    return key.startswith(f"{HISTORY_TAG}.")


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
    """Every alias move held in a registered model's tags, oldest first, each once.

    Old one-move tags (`champion_history.00001`, a JSON object) and packed parts (a JSON list)
    are both read; a move found in both (a crash while packing) counts once."""
    found: list[dict[str, Any]] = []
    for key in sorted(k for k in tags if is_history_tag(k)):
        value = json.loads(tags[key])
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            seq = item.get("seq")
            if seq is None and not key.startswith(PART_PREFIX):  # an old tag: its number
                seq = int(key.rsplit(".", 1)[-1])
            found.append({**item, "seq": seq if seq is not None else i + 1})
    unique: dict[tuple[str, ...], dict[str, Any]] = {}
    for move in found:
        unique.setdefault(tuple(str(move.get(f, "")) for f in KEY_FIELDS), move)
    ordered = sorted(unique.values(), key=lambda m: (m["at"], m["seq"]))
    return [_normal(m) for m in ordered]


def _normal(move: dict[str, Any]) -> dict[str, Any]:
    """The stored fields as text (`as_of` only when the move has one), and its sequence number."""
    out: dict[str, Any] = {f: str(move.get(f) or "") for f in FIELDS}
    if move.get("as_of"):
        out["as_of"] = str(move["as_of"])
    return out | {"seq": move["seq"]}


def pack(moves: list[dict[str, Any]], limit: int = TAG_LIMIT) -> dict[str, str]:
    """The moves as packed tags `champion_history.part001`...: JSON lists, each within `limit`."""
    parts: list[list[dict[str, Any]]] = [[]]
    for move in moves:
        if parts[-1] and len(_dump([*parts[-1], move])) > limit:
            parts.append([])
        parts[-1].append(move)
    return {f"{PART_PREFIX}{i + 1:03d}": _dump(p) for i, p in enumerate(parts) if p}


def _dump(moves: list[dict[str, Any]]) -> str:
    return json.dumps(moves, sort_keys=True, separators=(",", ":"))


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
    lines += ["", f"{more}all {len(periods)}: `retrain history <model>` (tags `{PART_PREFIX}*`)."]
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
