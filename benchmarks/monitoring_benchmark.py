"""Cost of the monitoring metric step on a synthetic window (no stack needed).

.venv/bin/python benchmarks/monitoring_benchmark.py --rows 100000
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from time import perf_counter

import numpy as np
import pandas as pd

from retrain.config import ModelConfig
from retrain.data.validation import capture_schema
from retrain.drift.reference import PREDICTION, ReferenceStats, numeric_stats
from retrain.monitoring.metric_set import ChampionFacts, champion_outputs, monitor_window
from retrain.samples.fixtures import config_dict, day_frame, merge
from retrain.training.pipeline import build_pipeline, features, target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()
    raw = config_dict("bench", "bucket", "bench")
    config = ModelConfig.model_validate(
        merge(raw, {"columns": {"prediction": "served", "latency_ms": "ms", "error": "err"}})
    )
    start = date(2024, 1, 1)
    train = pd.concat([day_frame(start + timedelta(days=i), 2000) for i in range(14)])
    model = build_pipeline(config).fit(features(train, config), target(train, config))
    per_day = args.rows // args.days
    days = [start + timedelta(days=20 + i) for i in range(args.days)]
    window = pd.concat([day_frame(d, per_day) for d in days], ignore_index=True)
    rng = np.random.default_rng(0)
    window["served"] = rng.integers(0, 2, len(window))
    window["ms"], window["err"] = rng.gamma(2.0, 20.0, len(window)), rng.random(len(window)) < 0.01
    trained = model.predict_proba(features(train, config))[:, 1]
    stats = ReferenceStats(len(train), {PREDICTION: numeric_stats(pd.Series(trained))})
    schema = capture_schema(train, config.columns)
    began = perf_counter()
    outputs = champion_outputs(model, window, config)
    predicted = perf_counter()
    facts = ChampionFacts(outputs, schema, train, stats)
    monitoring = monitor_window(window, config, days, facts, None)
    flat = monitoring.flat_metrics()
    monitoring.to_dict()
    done = perf_counter()
    print(
        f"{len(window)} rows: champion predict_proba {predicted - began:.3f} s, "
        f"metric set {done - predicted:.3f} s ({len(flat)} metrics)"
    )


if __name__ == "__main__":
    main()
