"""One flights week through the real flow on the stack: each step's seconds against its floor.

    python benchmarks/cycle_benchmark.py [--as-of 2013-03-11]     (make bench-cycle)

A private copy of the shipped flights model (own name, own S3 prefix holding 2013-01-01 up to
`as_of`) gets its champion from a bootstrap run at `as_of` - 7 (as the demo's, on the 56 days
before), then the week ending `as_of` runs with a forced retrain, so every step of a week runs:
scan, validation, drift, estimate, tournament, gate, refit, register, promote, records. Both run
in this process against the stack's Prefect, MLflow and S3 (`make up` first).

The floor is what the week cannot do without: the fits its decision needed (the tournament's
and the refit, as the record times them), one predict of the window by the champion, and the
writes it must make (the decision record to S3, the served model's skops bytes to S3). The
ratio says how much the orchestration, the registry and the reports cost on top.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from retrain.budget import TOTAL, UNTIMED, cost_table, format_cost_table
from retrain.clients import s3_client
from retrain.config import load_config
from retrain.data import s3 as data
from retrain.loop import monitoring_window
from retrain.samples.flights import seed_flights
from retrain.settings import get_settings
from retrain.threads import available_cores, thread_limit

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deployments" / "flights_delay.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2013, 3, 11))
    args = parser.parse_args(argv)
    settings = get_settings()
    os.environ.setdefault("PREFECT_API_URL", settings.prefect_api_url)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    folder = Path(tempfile.mkdtemp(prefix="bench-cycle-"))
    raw = yaml.safe_load(CONFIG.read_text())
    suffix = uuid.uuid4().hex[:8]
    raw["name"] = f"bench_cycle_{suffix}"
    raw["data"]["prefix"] = f"bench/cycle-{suffix}"
    (folder / "model.yaml").write_text(yaml.safe_dump(raw))
    os.environ["RETRAIN_CONFIG_DIR"] = str(folder)
    config = load_config(folder / "model.yaml")
    s3 = s3_client(settings)
    began = time.perf_counter()
    seed_flights(s3, config.data, date(2013, 1, 1), args.as_of)
    print(
        f"{available_cores()} cores, {thread_limit(settings.native_threads)} native threads, "
        f"load {os.getloadavg()[0]:.1f}; model {config.name}, seeded up to {args.as_of} "
        f"({time.perf_counter() - began:.1f} s)",
        flush=True,
    )
    from flows.monitor import monitor_and_retrain

    boot_at = args.as_of - timedelta(days=7)
    boot = monitor_and_retrain(config.name, as_of=boot_at)
    print(f"bootstrap {boot_at}: {boot['seconds'][TOTAL]:.1f} s", flush=True)
    week = monitor_and_retrain(config.name, as_of=args.as_of, force_retrain=True)
    seconds = week["seconds"]
    print(f"\nweek ending {args.as_of} (forced retrain): {seconds[TOTAL]:.1f} s, steps:")
    print(format_cost_table(cost_table([seconds]), runs="run"))
    fits, predict, writes = floor(settings, config, s3, week)
    total = fits + predict + writes
    print(
        f"\nfloor: fits {fits:.2f} s + one predict of the window {predict:.2f} s + writes "
        f"{writes:.2f} s = {total:.2f} s; the week took {seconds[TOTAL]:.2f} s = "
        f"{seconds[TOTAL] / total:.2f}x its floor (untimed orchestration {seconds[UNTIMED]:.2f} s)"
        f"; load {os.getloadavg()[0]:.1f}"
    )
    return 0


def floor(settings: Any, config: Any, s3: Any, week: dict[str, Any]) -> tuple[float, float, float]:
    """Seconds of the fits the record lists, one predict of its window, its two writes."""
    import skops.io

    from retrain.monitoring.scoring import champion_outputs
    from retrain.registry.model_io import load_sklearn_model
    from retrain.threads import limited_threads

    fits = float((week.get("training") or {}).get("seconds") or 0.0)
    window = data.load_window(
        s3, config.data, config.columns, monitoring_window(config, week_as_of(week))
    )
    model = load_sklearn_model(f"models:/{config.name}/{week['champion']['version']}")
    with limited_threads(thread_limit(settings.native_threads)):
        began = time.perf_counter()
        champion_outputs(model, window.frame, config)
        predict = time.perf_counter() - began
    served_version = week.get("registered_version") or week["champion"]["version"]
    served = load_sklearn_model(f"models:/{config.name}/{served_version}")
    body = skops.io.dumps(served)
    key = f"bench/cycle-floor/{config.name}"
    began = time.perf_counter()
    data.put_json(s3, settings.loop_bucket, f"{key}/record.json", week)
    s3.put_object(Bucket=settings.loop_bucket, Key=f"{key}/model.skops", Body=body)
    writes = time.perf_counter() - began
    for name in ("record.json", "model.skops"):
        s3.delete_object(Bucket=settings.loop_bucket, Key=f"{key}/{name}")
    return fits, predict, writes


def week_as_of(record: dict[str, Any]) -> date:
    return date.fromisoformat(record["as_of"])


if __name__ == "__main__":
    sys.exit(main())
