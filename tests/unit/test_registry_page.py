"""The registered-model page: alias history packed in a few tags, a short table in the
description, and the one-move tags of earlier code still read."""

from __future__ import annotations

import json
from datetime import date

from retrain.loop import run_tags, version_tags
from retrain.registry import page
from tests.helpers import typed_record


def _move(n: int, reason: str = "performance_drop") -> dict[str, object]:
    at = f"2026-12-01T00:{n:02d}:00+00:00"
    return page.entry(str(n + 1), str(n) if n else None, at, reason, "retrain-loop", n + 1)


def test_old_one_move_tags_are_read_in_order() -> None:
    tags = {
        "champion_history.00002": json.dumps(
            {
                "version": "2",
                "previous": "1",
                "at": "2026-11-02T00:00:00+00:00",
                "reason": "drift",
                "by": "retrain-loop",
            }
        ),
        "champion_history.00001": json.dumps(
            {
                "version": "1",
                "previous": "",
                "at": "2026-11-01T00:00:00+00:00",
                "reason": "no_champion",
                "by": "retrain-loop",
            }
        ),
        "owner": "ops",
    }
    moves = page.moves_from_tags(tags)
    assert [(m["version"], m["previous"], m["seq"]) for m in moves] == [("1", "", 1), ("2", "1", 2)]


def test_old_tags_and_the_artifact_together_count_each_move_once() -> None:
    moves = [_move(i) for i in range(3)]
    old = {f"champion_history.{i + 1:05d}": json.dumps(m) for i, m in enumerate(moves[:2])}
    # a crash after the artifact was written, before the old tags were deleted
    assert page.merged(page.moves_from_tags(old), moves) == moves
    assert page.merged(moves[2:], moves[:2]) == moves  # oldest first whatever the order


def test_the_tag_points_at_the_artifact() -> None:
    assert page.pointer("abc123") == "runs:/abc123/champion_history.json"
    assert page.pointed_run(page.pointer("abc123")) == "abc123"
    assert page.pointed_run(None) is None and page.pointed_run("[{...}]") is None
    assert page.is_old_history_tag("champion_history.00001")
    assert not page.is_old_history_tag("champion_history")


def test_a_long_reason_is_cut() -> None:
    move = _move(0, reason="rollback: " + "x" * 400)
    assert len(move["reason"]) == page.REASON_LIMIT and move["reason"].endswith("...")


def test_description_shows_the_newest_moves_first_and_keeps_its_base() -> None:
    moves = [_move(i) for i in range(12)]
    text = page.with_history("Predicts `late`.", moves)
    assert text.startswith("Predicts `late`.")
    table = text.split(page.HISTORY_HEADING, 1)[1].splitlines()
    rows = [line for line in table if line.startswith("| v")]
    assert len(rows) == page.TABLE_ROWS
    assert rows[0].startswith("| v12 | 2026-12-01 00:11 | now | v11 |")
    assert rows[1].startswith("| v11 | 2026-12-01 00:10 | 2026-12-01 00:11 | v10 |")
    assert "4 earlier moves not shown; all 12" in text and "(tag `champion_history`)" in text
    assert page.base_description(text) == "Predicts `late`."
    assert page.with_history(page.base_description(text), moves) == text


def test_description_stays_within_mlflow_limit_and_escapes_data() -> None:
    moves = [_move(i, reason="a|b *bold* " + "y" * 300) for i in range(40)]
    text = page.with_history("x" * 4000, moves)
    assert len(text) <= page.DESCRIPTION_LIMIT
    assert "a/b" not in text and "a\\|b \\*bold\\*" in text
    assert page.with_history("base", []) == "base"


def test_version_tags_are_the_few_a_reviewer_scans() -> None:
    record = {
        "as_of": "2013-07-01",
        "mode": "auto",
        "metric": "roc_auc",
        "config_hash": "abc",
        "git_commit": "deadbeef",
        "decision": {"action": "retrain", "reasons": ["drift"]},
        "champion": {"version": "1"},
        "training": {
            "winner": "56d",
            "served_fit": {"start": "2013-05-06", "end": "2013-06-30", "rows": 50000},
            "candidates": [{"name": "56d", "validation_score": 0.7}],
        },
        "gate": {"challenger_score": 0.71, "champion_score": 0.69, "promote": True, "n_rows": 900},
    }
    tags = version_tags(typed_record(record))
    assert tags == {
        "as_of": "2013-07-01",
        "mode": "auto",
        "training_window": "2013-05-06..2013-06-30",
        "recipe": "56d",
        "holdout_score": 0.71,
        "gate": "promote",
        "config_hash": "abc",
        "git_commit": "deadbeef",
    }
    details = run_tags(typed_record(record))
    assert details["train_rows"] == 50000 and details["champion_version"] == "1"
    assert details["candidates"] == {"56d": 0.7} and not set(details) & set(tags)


def test_the_run_window_of_a_move_is_kept() -> None:
    moved = page.entry("2", "1", "2026-12-01T00:00:00+00:00", "drift", "retrain-loop", 1,
                       date(2013, 7, 1))  # fmt: skip
    old_style = {"champion_history.00001": json.dumps({**_move(0), "seq": None})}
    moves = page.merged(page.moves_from_tags(old_style), [moved])
    assert [m.get("as_of") for m in moves] == [None, "2013-07-01"]
