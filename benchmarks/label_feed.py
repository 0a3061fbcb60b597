"""Label coverage and arrival lag of the flights, labels in the files vs the two-feed layout.

    python benchmarks/label_feed.py [--start 2013-03-04] [--weeks 8]

Seeds both layouts (deployments/flights_delay.yaml and deployments/two_feeds/flights_delay.yaml,
days already there are kept), then, for each weekly window, reads it as the loop does (the
label feed joined by id, labels not known at `as_of` nulled by retrain/data/maturity.py) and prints
the decision record's `labels` figures of both layouts side by side (docs/labels.md).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta
from pathlib import Path

from retrain.clients import s3_client
from retrain.config import ModelConfig, load_config
from retrain.data.label_coverage import label_summary
from retrain.data.label_feed import with_feed_labels
from retrain.data.s3 import load_window
from retrain.loop import monitoring_window
from retrain.samples.flights import seed_model
from retrain.settings import get_settings
from retrain.training.pipeline import mask_immature_labels

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = {
    "in-file": ROOT / "deployments" / "flights_delay.yaml",
    "feed": ROOT / "deployments" / "two_feeds" / "flights_delay.yaml",
}


def figures(s3: object, config: ModelConfig, as_of: date) -> dict[str, object]:
    """The `labels` figures of the window ending `as_of`, read as the loop reads it."""
    window = monitoring_window(config, as_of)
    loaded = load_window(s3, config.data, config.columns, window)
    frame = with_feed_labels(s3, config, loaded.frame, window, as_of)
    return label_summary(mask_immature_labels(frame, config, as_of), config, as_of)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default=date(2013, 3, 4), type=date.fromisoformat)
    parser.add_argument("--weeks", default=8, type=int)
    args = parser.parse_args(argv)
    s3 = s3_client(get_settings())
    configs = {name: load_config(path) for name, path in CONFIGS.items()}
    end = args.start + timedelta(weeks=args.weeks)
    for config in configs.values():
        seed_model(s3, config, args.start - timedelta(days=7), end)
    print(
        "| as_of | rows | labelled in-file | labelled feed | coverage in-file | coverage feed "
        "| lag h median | lag h p95 | late (> 1 day) | orphans |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for week in range(args.weeks):
        as_of = args.start + timedelta(weeks=week)
        old, new = (figures(s3, c, as_of) for c in configs.values())
        print(
            f"| {as_of} | {old['rows']} | {old['labelled_rows']} | {new['labelled_rows']} "
            f"| {old['coverage']} | {new['coverage']} | {new['lag_hours_median']} "
            f"| {new['lag_hours_p95']} | {new['late_labels']} | {new['orphans']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
