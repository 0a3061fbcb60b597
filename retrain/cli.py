"""`retrain`: operate the loop from a shell through the same deployments the Prefect UI runs.

Reads the loop's settings (`RETRAIN_*`, `.env` of the current folder: the Prefect, MLflow and S3
endpoints), so no PREFECT_API_URL by hand. Runs go through the Prefect API to the worker (they
are ordinary runs in the UI); the command waits, prints the outcome and exits 1 when the run
failed. `status` and `history` read MLflow, S3 and Prefect directly and start nothing.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from retrain.cli_text import (
    ChampionFacts,
    ModelStatus,
    history_lines,
    overview_line,
    pending_items,
    replay_table,
    run_outcome,
    status_lines,
)
from retrain.config import ConfigError, ModelConfig
from retrain.config_folder import load_model_config
from retrain.operate import runs as prefect_runs
from retrain.operate.deployment_names import Purpose, deployment_path
from retrain.registry import page as registry_page
from retrain.registry import versions as registry
from retrain.run_record import RunRecord, load_record
from retrain.settings import Settings, get_settings
from retrain.sinks import reporting

EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT = 1, 2, 3


def iso_date(text: str) -> date:
    """An ISO date argument (YYYY-MM-DD); anything else is a usage error naming the value."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def parser() -> argparse.ArgumentParser:
    """The command line: run, replay, rollback, status, history."""
    top = argparse.ArgumentParser(
        prog="retrain",
        description="Operate the retrain loop: runs go through the Prefect deployments (visible "
        "in the UI) and wait for their end; settings from RETRAIN_* and .env.",
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run the loop for one window now and wait for its decision")
    run.add_argument("model")
    run.add_argument("--as-of", type=iso_date, help="window end (exclusive); default today")
    run.add_argument("--shadow", action="store_true", help="decide and record, never promote")
    run.add_argument("--force", action="store_true", help="retrain whatever the policy says")
    replay = sub.add_parser("replay", help="replay past windows (shadow unless --auto) and wait")
    replay.add_argument("model")
    replay.add_argument("--start", type=iso_date, required=True, help="first window end")
    replay.add_argument("--end", type=iso_date, required=True, help="last window end (inclusive)")
    replay.add_argument("--step-days", type=int, default=7, help="days between window ends")
    replay.add_argument("--auto", action="store_true", help="promote as the loop would")
    back = sub.add_parser("rollback", help="move the champion back to the version it replaced")
    back.add_argument("model")
    back.add_argument("--reason", required=True, help="why (kept in the alias history)")
    back.add_argument("--by", default=None, help="who asks (default: your user name)")
    for cmd in (run, replay, back):
        cmd.add_argument(
            "--timeout-minutes", type=float, default=60.0, help="stop waiting after this long"
        )
    status = sub.add_parser("status", help="champion, its age and record, last runs, pending")
    status.add_argument("model", nargs="?", help="one model (default: every configured model)")
    history = sub.add_parser("history", help="who was champion from when to when")
    history.add_argument("model")
    return top


def run_parameters(args: argparse.Namespace) -> tuple[Purpose, dict[str, Any]]:
    """Which deployment a command runs and with which parameters (dates as ISO text)."""
    if args.command == "run":
        params: dict[str, Any] = {"shadow": bool(args.shadow)}
        if args.as_of:
            params["as_of"] = args.as_of.isoformat()
        return (Purpose.RETRAIN_NOW if args.force else Purpose.SCHEDULED), params
    if args.command == "replay":
        if args.end < args.start or args.step_days < 1:
            raise ValueError(f"need --start <= --end and --step-days >= 1, got {vars(args)}")
        return Purpose.REPLAY, {
            "start": args.start.isoformat(),
            "end": args.end.isoformat(),
            "step_days": args.step_days,
            "shadow": not args.auto,
        }
    if args.command == "rollback":
        return Purpose.ROLLBACK, {"reason": args.reason, "requested_by": args.by or _user()}
    raise ValueError(f"{args.command} starts no deployment run")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `retrain` ([project.scripts])."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no bars in the output
    os.environ.setdefault("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    args = parser().parse_args(argv)
    settings = get_settings()
    try:
        configs = _configs(settings, args.model) if args.model else []
        if args.command in ("run", "replay", "rollback"):
            purpose, params = run_parameters(args)
            return start_and_wait(settings, configs[0], purpose, params, args.timeout_minutes)
        if args.command == "history":
            return print_history(settings, configs[0])
        return print_status(settings, configs)
    except (ConfigError, ValueError) as exc:
        print(f"retrain {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a service that refuses or is down: one line, no traceback
        print(f"retrain {args.command}: {service_problem(exc, settings)}", file=sys.stderr)
        return EXIT_FAILED


def service_problem(exc: Exception, settings: Settings) -> str:
    """A service's error as one line naming what to do where it is known."""
    if type(exc).__name__ == "ObjectNotFound":
        return (
            f"deployment not found on the Prefect server {settings.prefect_api_url}: register "
            "the deployments with `make deploy`"
        )
    return f"{type(exc).__name__}: {exc}"


def _configs(settings: Settings, model: str) -> list[ModelConfig]:
    """The model's config, before any call to a service: an unknown name fails here."""
    return [load_model_config(settings.config_dir, model)]


def start_and_wait(
    settings: Settings,
    config: ModelConfig,
    purpose: Purpose,
    params: dict[str, Any],
    timeout_minutes: float,
) -> int:
    """Run a deployment of the model on the worker, follow it, print what it did."""
    prefect_runs.use_api(settings)
    path = deployment_path(config.name, purpose)
    run = prefect_runs.start(settings, path, {"model": config.name, **params})
    print(f"{path}: flow run {run.name} created ({run.url})", flush=True)
    run = prefect_runs.wait(
        settings,
        run,
        timeout_minutes * 60,
        on_change=lambda r: print(f"  {r.state_name}", flush=True),
    )
    if not run.final:
        print(f"still {run.state_name} after {timeout_minutes:g} min: see {run.url}")
        return EXIT_TIMEOUT
    if purpose is Purpose.REPLAY:
        lines = replay_table(_replay_rows(run.id)) if run.ok else []
        lines += run_outcome(run, None)
    elif purpose is Purpose.ROLLBACK:
        lines = _rollback_lines(settings, config) if run.ok else []
        lines += run_outcome(run, None)
    else:
        lines = run_outcome(run, decision_record(settings, config.name, run.id))
    print("\n".join(lines))
    return 0 if run.ok else EXIT_FAILED


def decision_record(settings: Settings, model: str, flow_run_id: str) -> RunRecord | None:
    """The decision record a flow run of the loop wrote (any mode, any window), or None."""
    from retrain.clients import s3_client
    from retrain.data import s3 as data

    s3 = s3_client(settings)
    prefix = f"decisions/{model}/"
    keys = data.list_json(s3, settings.loop_bucket, prefix)
    keys = [k for k in keys if k.endswith(f"/{flow_run_id}.json")]
    raw = data.get_json(s3, settings.loop_bucket, keys[-1]) if keys else None
    return load_record(raw, data.s3_uri(settings.loop_bucket, keys[-1])) if raw else None


def _replay_rows(run_id: str) -> list[dict[str, Any]]:
    """The rows of the replay run's table artifact."""
    for artifact in prefect_runs.artifacts(run_id):
        if artifact["type"] == "table":
            rows = artifact["data"]
            return json.loads(rows) if isinstance(rows, str) else list(rows)
    return []


def _rollback_lines(settings: Settings, config: ModelConfig) -> list[str]:
    from retrain.clients import mlflow_client

    moves = registry.champion_history(mlflow_client(settings), config.name)
    last = moves[-1]
    return [
        f"{config.name}: champion v{last['previous']} -> v{last['version']} "
        f"({last['reason']}; by {last['by']})"
    ]


def print_history(settings: Settings, config: ModelConfig) -> int:
    from retrain.clients import mlflow_client

    client = mlflow_client(settings)
    champion = registry.get_champion(client, config.name)  # None when the model is not registered
    moves = registry.champion_history(client, config.name) if champion else []
    print("\n".join(history_lines(registry_page.champion_periods(moves))))
    return 0


def print_status(settings: Settings, configs: list[ModelConfig]) -> int:
    """One model in detail, or one line per configured model."""
    from retrain.clients import mlflow_client, s3_client

    prefect_runs.use_api(settings)
    client, s3 = mlflow_client(settings), s3_client(settings)
    if not configs:
        from retrain.config_folder import scan_configs

        scan = scan_configs(settings.config_dir)
        for name in sorted(scan.paths):
            champion = registry.get_champion(client, name)
            records = _records(settings, s3, name, 1)
            last = records[-1] if records else None
            print(overview_line(name, champion.version if champion else None, last))
        return 0
    config = configs[0]
    records = _records(settings, s3, config.name, 5)
    status = ModelStatus(
        model=config.name,
        metric=config.metric,
        today=datetime.now(UTC).date(),
        champion=_champion_facts(client, config.name, _records(settings, s3, config.name, 50)),
        records=records,
        runs=prefect_runs.model_runs(settings, config.name, limit=5),
        pending=pending_items(
            prefect_runs.model_runs(settings, config.name, limit=20, open_only=True), records
        ),
    )
    print("\n".join(status_lines(status)))
    return 0


def _records(settings: Settings, s3: Any, model: str, n: int) -> list[RunRecord]:
    """The newest decision record of each of the last `n` windows in auto mode, oldest first."""
    from retrain.data import s3 as data

    keys = data.list_json(s3, settings.loop_bucket, reporting.decisions_prefix(model, "auto"))
    days = sorted({day for k in keys if (day := reporting.as_of_of_key(k))})[-n:]
    wanted = [k for k in keys if reporting.as_of_of_key(k) in set(days)]
    records = [
        load_record(r, data.s3_uri(settings.loop_bucket, k))
        for k in wanted
        if (r := data.get_json(s3, settings.loop_bucket, k))
    ]
    return reporting.latest_per_window(records)


def _champion_facts(client: Any, name: str, records: list[RunRecord]) -> ChampionFacts | None:
    champion = registry.get_champion(client, name)
    if champion is None:
        return None
    moves = [m for m in registry.champion_history(client, name) if m["version"] == champion.version]
    scores = [
        (r.as_of.isoformat(), r.champion.metric_now if r.champion else None)
        for r in records
        if str(r.champion_version) == champion.version
    ]
    return ChampionFacts(
        version=champion.version,
        recipe=champion.recipe,
        trained_as_of=champion.trained_as_of,
        holdout_score=champion.holdout_metric,
        since=moves[-1]["at"] if moves else None,
        scores=scores[-6:],
    )


if __name__ == "__main__":
    sys.exit(main())
