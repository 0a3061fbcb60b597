"""How long the gate's paired bootstrap takes: 1,000 resamples of 10,000 rows (ROC AUC).

python benchmarks/gate_benchmark.py [--rows 10000] [--resamples 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from retrain.decisions.gate import gate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, args.rows)
    challenger, champion = y + rng.normal(0, 0.9, args.rows), y + rng.normal(0, 1.0, args.rows)
    times = []
    for _ in range(args.repeat):
        began = time.perf_counter()
        gate("roc_auc", y, challenger, champion, min_gain=0.005, floor=None,
             resamples=args.resamples, alpha=0.05)  # fmt: skip
        times.append(time.perf_counter() - began)
    print(
        f"gate, {args.resamples} paired bootstrap resamples of {args.rows} rows (roc_auc): "
        f"min {min(times):.3f} s, median {sorted(times)[len(times) // 2]:.3f} s, "
        f"max {max(times):.3f} s over {args.repeat} runs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
