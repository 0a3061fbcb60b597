"""The `retrain` command line: arguments to deployment runs, and what it prints (pure)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from retrain import cli
from retrain.cli_text import (
    ChampionFacts,
    ModelStatus,
    failure_reason,
    history_lines,
    pending_items,
    replay_table,
    run_outcome,
    status_lines,
)
from retrain.operate.deployment_names import Purpose
from retrain.operate.runs import RunState
from retrain.registry.page import champion_periods
from tests.helpers import typed_record


def _args(*argv: str) -> Any:
    return cli.parser().parse_args(list(argv))


def _run(state: str = "COMPLETED", name: str = "Completed", message: str = "") -> RunState:
    return RunState("id-1", "brave-fox", state, name, message, "http://ui/runs/flow-run/id-1",
                    "m: retrain", "2026-12-02T01:00:00+00:00")  # fmt: skip


RECORD: dict[str, Any] = {
    "model": "m",
    "as_of": "2013-07-01",
    "mode": "shadow",
    "metric": "roc_auc",
    "status": "completed",
    "decision": {"action": "retrain", "reasons": ["forced"]},
    "registered_version": "3",
    "promoted": False,
    "champion": {"version": "1", "metric_now": 0.7422},
    "window": {"labelled_rows": 5344},
    "gate": {
        "promote": False,
        "reasons": ["gain_below_min"],
        "challenger_score": 0.74,
        "champion_score": 0.7399,
    },
    "record_uri": "s3://retrain-loop/decisions/m/shadow/2013-07-01/id-1.json",
}


def test_run_maps_to_the_scheduled_or_the_retrain_now_deployment() -> None:
    assert cli.run_parameters(_args("run", "m")) == (Purpose.SCHEDULED, {"shadow": False})
    purpose, params = cli.run_parameters(_args("run", "m", "--as-of", "2013-07-01", "--shadow"))
    assert (purpose, params) == (Purpose.SCHEDULED, {"shadow": True, "as_of": "2013-07-01"})
    assert cli.run_parameters(_args("run", "m", "--force"))[0] is Purpose.RETRAIN_NOW


def test_replay_is_shadow_unless_auto_and_checks_its_range() -> None:
    purpose, params = cli.run_parameters(
        _args("replay", "m", "--start", "2013-06-03", "--end", "2013-06-17")
    )
    assert purpose is Purpose.REPLAY
    assert params == {"start": "2013-06-03", "end": "2013-06-17", "step_days": 7, "shadow": True}
    auto = _args("replay", "m", "--start", "2013-06-03", "--end", "2013-06-03", "--auto")
    assert cli.run_parameters(auto)[1]["shadow"] is False
    with pytest.raises(ValueError, match="--start <= --end"):
        cli.run_parameters(_args("replay", "m", "--start", "2013-06-10", "--end", "2013-06-03"))


def test_rollback_needs_a_reason_and_names_who_asks() -> None:
    purpose, params = cli.run_parameters(_args("rollback", "m", "--reason", "late", "--by", "al"))
    assert (purpose, params) == (Purpose.ROLLBACK, {"reason": "late", "requested_by": "al"})
    assert cli.run_parameters(_args("rollback", "m", "--reason", "x"))[1]["requested_by"]
    with pytest.raises(SystemExit):
        _args("rollback", "m")


def test_a_bad_date_is_a_usage_error_naming_the_value(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _args("run", "m", "--as-of", "2013/07/01")
    assert exit_info.value.code == 2
    assert "not a date (YYYY-MM-DD): '2013/07/01'" in capsys.readouterr().err


def test_an_unknown_model_fails_before_any_service_call(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RETRAIN_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("RETRAIN_PREFECT_API_URL", "http://127.0.0.1:9/api")  # nothing listens
    assert cli.main(["run", "nosuch"]) == cli.EXIT_USAGE
    assert "no model named 'nosuch'" in capsys.readouterr().err


def test_a_failed_run_prints_the_reason_from_its_record_first() -> None:
    failed = _run("FAILED", "Failed", "Flow run encountered an exception")
    record = {**RECORD, "status": "failed", "error": "LaterChampionError: champion v16 ..."}
    lines = run_outcome(failed, typed_record(record))
    assert lines[0] == "FAILED (Failed): LaterChampionError: champion v16 ..."
    assert lines[-1] == "  Prefect run: http://ui/runs/flow-run/id-1"
    assert failure_reason(failed, None) == "Flow run encountered an exception"
    assert failure_reason(_run("CRASHED", "Crashed"), None) == "the run ended Crashed"


def test_a_completed_run_prints_decision_score_gate_and_record() -> None:
    lines = run_outcome(_run(), typed_record(RECORD))
    assert lines[0] == (
        "m window ending 2013-07-01 (shadow): retrain (forced); challenger v3 registered, "
        "not promoted"
    )
    assert lines[1] == "  champion v1: roc_auc 0.7422 on 5344 matured rows"
    assert lines[2] == "  gate: reject (gain_below_min); challenger 0.7400 vs champion 0.7399"
    assert lines[3].endswith("/decisions/m/shadow/2013-07-01/id-1.json")


def test_replay_and_history_tables() -> None:
    rows = [{"as_of": "2013-06-03", "decision": "keep", "reasons": "stable",
             "champion_version": "1", "champion_metric": 0.7, "would_promote": False}]  # fmt: skip
    assert replay_table(rows)[1].split() == ["2013-06-03", "keep", "v1", "0.7000", "no", "stable"]
    moves = [
        {"version": "1", "previous": "", "at": "2026-11-01T00:00:00+00:00", "reason": "no_champion",
         "by": "retrain-loop"},
        {"version": "2", "previous": "1", "at": "2026-11-08T06:00:00+00:00", "reason": "drift",
         "by": "retrain-loop"},
    ]  # fmt: skip
    lines = history_lines(champion_periods(moves))
    assert lines[1].split() == ["v1", "2026-11-01", "00:00", "2026-11-08", "06:00", "-",
                                "retrain-loop", "no_champion"]  # fmt: skip
    assert lines[2].split()[:4] == ["v2", "2026-11-08", "06:00", "now"]
    assert history_lines([]) == ["no champion has been promoted yet"]


def test_status_shows_champion_age_record_runs_and_pending() -> None:
    waiting = _run("SCHEDULED", "Late")
    upcoming = RunState("id-2", "calm-owl", "SCHEDULED", "Scheduled", "", "u", "m: check",
                        "2026-12-07T06:00:00+00:00")  # fmt: skip
    status = ModelStatus(
        model="m",
        metric="roc_auc",
        today=date(2013, 7, 15),
        champion=ChampionFacts(
            "2", "56d", date(2013, 7, 1), 0.71, "2026-12-01T00:00:00+00:00", [("2013-07-08", 0.73)]
        ),
        records=[typed_record({**RECORD, "as_of": "2013-07-08", "mode": "auto"})],
        runs=[_run()],
        pending=pending_items(
            [waiting, upcoming], [typed_record({"as_of": "2013-07-08", "attention": "no"})]
        ),
    )
    text = "\n".join(status_lines(status))
    assert (
        "champion: v2, recipe 56d, trained for the window ending 2013-07-01 (14 days ago)" in text
    )
    assert "holdout 0.7100" in text and "2013-07-08 0.7300" in text
    assert "2013-07-08  completed  served v1 0.7422  retrain (forced)" in text
    assert "Completed   m: retrain  (brave-fox)" in text
    assert "run brave-fox (m: retrain) Late" in text
    assert "next scheduled: 2026-12-07T06:00 (m: check, calm-owl)" in text
    assert "window 2013-07-08 needs attention: no" in text
