"""The drift benchmark end to end at a tiny size: data into LocalStack S3, every step measured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import drift_benchmark
from retrain.samples import synthetic
from retrain.settings import Settings

pytestmark = pytest.mark.integration


def test_benchmark_runs_end_to_end_at_a_tiny_size(stack: Settings, tmp_path: Path) -> None:
    args = drift_benchmark.parse_args(
        ["--rows=3000", "--numeric=6", "--categorical=3", "--sample-rows=1000"]
    )
    results = drift_benchmark.run(args)  # about 40 s on an idle 2-core machine, mostly imports

    from retrain.clients import s3_client

    where = synthetic.layout(args.bucket, args.rows, args.numeric, args.categorical)
    listed = s3_client(stack).list_objects_v2(
        Bucket=args.bucket, Prefix=f"{where.source.prefix}/dt="
    )
    assert len(listed["Contents"]) == 2 * synthetic.DAYS  # one file a day, both windows

    a, b = results["evidently"], results["fast"]
    agreement = drift_benchmark._agreement(a, b)
    assert agreement["columns"] == 9
    assert agreement["agree"] == 9 and agreement["dataset_same"]
    assert b["report_sample_rows"] == 1000
    assert b["columns"]["n00"][2] is True  # shifted by half a std
    assert b["columns"]["n09" if args.numeric > 9 else "n05"][0] == "wasserstein"
    assert results["cycle"]["valid"] is True
    for step in ("evidently", "fast"):
        assert results[step]["peak_rss_gb"] > 0
    report = results["report"]
    assert "per-column verdicts: 9/9 agree (100.0%)" in report
    assert "cycle / floor" in report
    cycle = results["cycle"]["phases"]  # the window read once, in batches, then the flow's cycle
    assert list(cycle) == ["read+score+summarise", "cycle"]
    own = results["cycle"]["own_seconds"]  # each step of retrain/cycle.py, drift beside estimate
    assert set(own) == {"validate", "drift", "estimate", "monitoring", "evaluate"}
    assert results["cycle"]["estimate_rows"] > 0 and results["floor"]["peak_rss_gb"] > 0
    assert drift_benchmark._agreement(results["cycle"], a)["agree"] == 9  # verdicts of the flow
    assert "the cycle's feature verdicts vs (a): 9/9 agree" in report
    assert "peak RSS of the cycle's process" in report
    c = results["streamed"]  # the window never whole: the same verdicts from merged summaries
    assert c["rows"] == args.rows and drift_benchmark._agreement(c, b)["agree"] == 9
    assert "(c) streamed" in report
    out = drift_benchmark.write_results(results, tmp_path / "drift.txt")
    assert out.read_text() == report + "\n"
    assert json.loads(out.with_suffix(".json").read_text())["cycle"]["valid"] is True
    skipped = drift_benchmark._evidently_skipped(drift_benchmark.parse_args(["--rows=10000000"]))
    assert "Evidently not run" in skipped and "10,000,000 rows would need about" in skipped
