"""Fleet fan-out: the fleet flow over N small models, one after another vs `--parallel` at once.

    python benchmarks/fleet_benchmark.py --models 20 --parallel 4

Each side gets its own N synthetic models (same data shape, fresh names), so both do the same
work: a bootstrap run per model (load, validate, train, gate, register, promote, record), in
process against the running local stack. Prints wall times, their ratio and the outcomes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrain.clients import s3_client  # noqa: E402
from retrain.settings import get_settings  # noqa: E402
from tests.helpers import AS_OF, write_models  # noqa: E402


def make_models(config_dir: Path, tag: str, n: int) -> list[str]:
    """N synthetic models with their own S3 prefixes and configs in one config folder."""
    settings = get_settings()
    return write_models(
        s3_client(settings), settings.data_bucket, config_dir, f"fleet_bench_{tag}", n
    )


def timed_fleet(names: list[str], parallel: int) -> tuple[float, dict[str, str]]:
    from flows.fleet import fleet

    start = time.perf_counter()
    outcomes = fleet(models=names, as_of=AS_OF, max_parallel=parallel)
    return time.perf_counter() - start, outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_API_URL", get_settings().prefect_api_url)
    run = uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RETRAIN_CONFIG_DIR"] = tmp
        t0 = time.perf_counter()
        serial_names = make_models(Path(tmp), f"{run}s", args.models)
        parallel_names = make_models(Path(tmp), f"{run}p", args.models)
        print(f"data and configs for 2 x {args.models} models: {time.perf_counter() - t0:.1f}s")
        serial_s, serial = timed_fleet(serial_names, 1)
        parallel_s, parallel = timed_fleet(parallel_names, args.parallel)
    same = sorted(serial.values()) == sorted(parallel.values())
    print(f"\nfleet of {args.models} models (bootstrap run each, in process, 2 cores):")
    print(f"  one after another (max_parallel=1): {serial_s:7.1f}s")
    print(f"  max_parallel={args.parallel:<2}                    : {parallel_s:7.1f}s")
    print(f"  speed-up: {serial_s / parallel_s:.2f}x; same outcomes: {same}")
    print(f"  outcomes: {sorted(set(serial.values()))}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
