"""Load: N monitor-and-retrain flow runs at once against the running stack, nothing lost.

    python benchmarks/load_benchmark.py --runs 50

N-1 small synthetic models (one shared data prefix, a config each) get one bootstrap run each
(load, validate, train, gate, register, promote, record), and the first model gets a second run
at the same moment: a race for one model. All N start together, each flow run in its own thread
of this process, talking to the stack's Prefect server, MLflow server and S3. Reports runs
failed (and how many by the API or the database: must be 0), decision records lost or duplicated
(0), promotions in the race (exactly 1), errors the servers logged meanwhile, and wall time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retrain.clients import mlflow_client, s3_client
from retrain.config import DataSource
from retrain.data.s3 import get_json
from retrain.registry import versions as registry
from retrain.samples.fixtures import (
    AS_OF,
    DAYS,
    config_dict,
    empty_bucket,
    object_keys,
    window_days,
    write_config,
    write_days,
)
from retrain.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
# a failure the stack caused rather than the run's own logic
API_OR_DB = re.compile(
    r"(?i)\b50[0-4]\b|database|asyncpg|psycopg|sqlite|PrefectHTTPStatusError|ServiceError|"
    r"connect|timed? ?out|Service Unavailable"
)
SERVER_LOGS = {  # one match per error a server logged
    "prefect": re.compile(r"\| ERROR +\|"),
    "mlflow": re.compile(r"\bERROR\b"),
    "postgres": re.compile(r"\b(ERROR|FATAL|PANIC):"),
}
# two runs of one model creating its lock at once: PostgreSQL refuses the second insert, Prefect
# logs it and answers 409, tasks/locks.py takes that as "exists" (the race working as designed)
LOCK_RACE = re.compile(r'ERROR: +duplicate key value violates unique constraint "uq_concurrency')


@dataclass
class LoadResult:
    """What N concurrent runs left behind."""

    runs: int
    seconds: float
    failed: list[tuple[str, str]] = field(default_factory=list)  # (model, message)
    lost: list[str] = field(default_factory=list)  # flow run ids without a decision record
    duplicated: list[str] = field(default_factory=list)  # flow run ids with more than one
    race_promotions: int = 0
    race_versions: int = 0
    race_history: int = 0
    server_errors: dict[str, int] = field(default_factory=dict)

    @property
    def failed_by_api_or_db(self) -> list[tuple[str, str]]:
        return [(m, msg) for m, msg in self.failed if API_OR_DB.search(msg)]

    @property
    def ok(self) -> bool:
        return not (self.failed or self.lost or self.duplicated) and self.race_promotions == 1

    def report(self) -> str:
        return "\n".join(
            [
                f"{self.runs} flow runs at once ({self.runs - 1} models, 2 runs racing for one):",
                f"  wall time                        {self.seconds:7.1f} s "
                f"({self.runs / self.seconds * 60:.1f} runs/min)",
                f"  runs failed                      {len(self.failed):7d}",
                f"    of which by the API/database   {len(self.failed_by_api_or_db):7d}",
                f"  decision records lost            {len(self.lost):7d}",
                f"  decision records duplicated      {len(self.duplicated):7d}",
                f"  promotions in the race           {self.race_promotions:7d} "
                f"(versions {self.race_versions}, alias history {self.race_history})",
                "  errors in server logs meanwhile  "
                + ", ".join(f"{k} {v}" for k, v in self.server_errors.items() if k != "lock")
                + f"; the lock-creation race (answered 409, handled) is "
                f"{self.server_errors.get('lock', 0)} of them in prefect and in postgres",
                *(f"  FAILED {m}: {msg[:300]}" for m, msg in self.failed),
            ]
        )


def make_fleet(config_dir: Path, tag: str, n: int) -> tuple[list[str], DataSource]:
    """N models reading one shared data prefix (written once), a config file each."""
    settings = get_settings()
    source = DataSource(bucket=settings.data_bucket, prefix=f"load/{tag}", format="parquet")
    write_days(s3_client(settings), source, window_days(AS_OF, DAYS))
    names = [f"load_{tag}_{i:02d}" for i in range(n)]
    for name in names:
        write_config(config_dir, config_dict(name, source.bucket, source.prefix), f"{name}.yaml")
    return names, source


def _log_sizes() -> dict[str, int]:
    logs = ROOT / ".stack" / "logs"
    return {n: (logs / f"{n}.log").stat().st_size if (logs / f"{n}.log").exists() else 0
            for n in SERVER_LOGS}  # fmt: skip


def _new_errors(before: dict[str, int]) -> dict[str, int]:
    logs, found = ROOT / ".stack" / "logs", {}
    for name, pattern in SERVER_LOGS.items():
        path = logs / f"{name}.log"
        if not path.exists():
            continue
        with path.open("rb") as f:
            f.seek(before.get(name, 0))
            text = f.read().decode(errors="replace")
        found[name] = sum(1 for line in text.splitlines() if pattern.search(line))
        if name == "postgres":
            found["lock"] = sum(1 for line in text.splitlines() if LOCK_RACE.search(line))
    return found


def run_load(names: list[str]) -> LoadResult:
    """One run per model plus a second run of names[0], all at once; then count what they left."""
    from flows.monitor import monitor_and_retrain

    jobs = [*names, names[0]]

    def one(name: str) -> Any:
        """The run's final state, or the exception that kept it from having one (e.g. the
        server refused to create the flow run): counted as a failure, not raised."""
        try:
            return monitor_and_retrain(name, as_of=AS_OF, return_state=True)
        except Exception as exc:
            return exc

    before = _log_sizes()
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        outcomes = list(pool.map(one, jobs))
    seconds = time.perf_counter() - began
    time.sleep(2)  # the servers' last log lines
    result = LoadResult(len(jobs), seconds, server_errors=_new_errors(before))
    settings = get_settings()
    s3, client = s3_client(settings), mlflow_client(settings)
    run_ids = set()
    for name, outcome in zip(jobs, outcomes, strict=True):
        if isinstance(outcome, Exception):
            result.failed.append((name, f"{type(outcome).__name__}: {outcome}"))
            continue
        run_ids.add(str(outcome.state_details.flow_run_id))
        if not outcome.is_completed():
            result.failed.append((name, f"{outcome.name}: {outcome.message}"))
    written: Counter[str] = Counter()
    race_records = []
    for name in names:
        for key in object_keys(s3, settings.loop_bucket, f"decisions/{name}/"):
            record = get_json(s3, settings.loop_bucket, key)
            written[str(record["flow_run_id"])] += 1
            if name == names[0]:
                race_records.append(record)
    result.lost = sorted(run_ids - set(written))
    result.duplicated = sorted(r for r, n in written.items() if n > 1)
    result.race_promotions = sum(bool(r.get("promoted")) for r in race_records)
    result.race_versions = len(client.search_model_versions(f"name='{names[0]}'"))
    result.race_history = len(registry.champion_history(client, names[0]))
    return result


def cleanup(names: list[str], source: DataSource) -> None:
    """Delete the models, their records and reports, their locks and the shared data."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    from tasks.locks import lock_name

    settings = get_settings()
    s3, client = s3_client(settings), mlflow_client(settings)
    with get_client(sync_client=True) as prefect:
        for name in names:
            if client.search_registered_models(f"name='{name}'"):
                client.delete_registered_model(name)
            for prefix in (f"decisions/{name}/", f"reports/{name}/"):
                empty_bucket(s3, settings.loop_bucket, prefix)
            with contextlib.suppress(ObjectNotFound):
                prefect.delete_global_concurrency_limit_by_name(lock_name(name))
    empty_bucket(s3, source.bucket, f"{source.prefix}/")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="flow runs at once (>= 2)")
    parser.add_argument("--keep", action="store_true", help="keep the models and records")
    args = parser.parse_args()
    if args.runs < 2:
        parser.error("--runs must be at least 2 (two of them race for one model)")
    os.environ.setdefault("PREFECT_API_URL", get_settings().prefect_api_url)
    os.environ.setdefault("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_HTTP_POOL_MAXSIZE", str(args.runs + 10))  # one per thread
    tag = uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RETRAIN_CONFIG_DIR"] = tmp
        names, source = make_fleet(Path(tmp), tag, args.runs - 1)
        try:
            result = run_load(names)
        finally:
            if not args.keep:
                cleanup(names, source)
    print(result.report())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
