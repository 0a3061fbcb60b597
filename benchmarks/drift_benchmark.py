"""Drift at scale: Evidently's DataDriftPreset on full frames vs the project's drift step, and
the loop's whole no-drift cycle on a window read in batches.

    .venv/bin/python benchmarks/drift_benchmark.py --rows 100000      # quick
    make bench                                                          # 1M x (40 + 10)
    make bench ROWS=10000000                                            # 10M: no (a), (b)

Writes a synthetic reference and current window (known shifts) to LocalStack S3 in the data
contract's layout (daily parquet partitions, one day generated at a time), then measures each
step in its own subprocess, so that each peak RSS (VmHWM) is its own:
  prepare    once per champion: reference statistics, reference sample, a small model
  evidently  (a) what a user would write: Report([DataDriftPreset()]).run(current, reference)
  fast       (b) the project's run_drift on the window loaded whole (+ sampled HTML report)
  streamed   (c) feature drift alone with the window never whole: batch summaries merged
  cycle      the no-drift cycle of one run, as the flow does it without the services: the
             window read once in batches (labels masked, features summarised, the champion's
             one predict, a row sample), validation, drift, the monitoring metric set, the
             champion's metric, the CBPE estimate
  floor      what the cycle cannot go below: read the window from S3 the same way (each object
             downloaded, one record batch at a time) and predict each batch

Figures are printed and written to --out (default bench-results/drift_<rows>.txt, with every
measurement in a .json beside it). Above EVIDENTLY_MAX_ROWS rows a side, (a) and (b), which
hold the window whole, are not run (the report gives Evidently's memory slope from the 1M
run's file when present), and the reference side has TRAINING_MAX_ROWS rows: a champion's
statistics come from its training rows, at most `training.max_rows`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from retrain.samples import synthetic

ROOT = Path(__file__).resolve().parents[1]

# Evidently 0.7 display names of the stattests DataDriftPreset picks -> our method names.
_DISPLAY = {
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "PSI": "psi",
    "Kullback-Leibler divergence": "kl_div",
    "Hellinger distance": "hellinger",
}
REFERENCE_SAMPLE_ROWS = 5000  # the config default `thresholds.drift.reference_rows`
TRAINING_MAX_ROWS = 2_000_000  # the config default `training.max_rows`
EVIDENTLY_MAX_ROWS = 2_000_000  # above it (a) is skipped: see _evidently_skipped
# Evidently's DataDriftPreset at 1M x 50 rows per side on these 2-core machines: 3.5-4.1 GB of
# peak RSS (210-239 s), measured with `Report([DataDriftPreset()]).run(ref, cur)` on two frames
# of that shape, the process's VmHWM read from /proc/self/status (2026-11-21); this benchmark's
# own 1M run replaces the figure when its results file is there.
EVIDENTLY_GB_PER_MILLION = 4.1
RESULTS = ROOT / "bench-results"


def _reset_peak_rss() -> None:
    """Start a new VmHWM from the current RSS (Linux >= 4.0), to measure one step's own peak."""
    Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_gb() -> float:
    """This process's peak resident set size (VmHWM), in GB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024**2
    return float("nan")


class _Clock:
    """Named wall-clock phases, and the process's peak RSS (GB) at the end of each."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self.peaks: dict[str, float] = {}

    def time(self, name: str) -> _Phase:
        return _Phase(self, name)


class _Phase:
    def __init__(self, clock: _Clock, name: str) -> None:
        self.clock, self.name = clock, name

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.clock.phases[self.name] = time.perf_counter() - self.start
        self.clock.peaks[self.name] = _peak_rss_gb()


# ---------------------------------------------------------------- children (one per process)


def _setup(args: argparse.Namespace) -> tuple[Any, synthetic.Layout]:
    from retrain.clients import s3_client
    from retrain.settings import get_settings

    where = synthetic.layout(args.bucket, args.rows, args.numeric, args.categorical)
    return s3_client(get_settings()), where


def _config(where: synthetic.Layout) -> Any:
    """A model config for the benchmark data (what predict and validation need)."""
    from retrain.config import parse_config

    return parse_config(
        {
            "name": "drift-bench",
            "data": where.source.model_dump(),
            "columns": where.columns.model_dump(),
            "task": "classification",
            "metric": "roc_auc",
            "estimator": {"class_path": "sklearn.linear_model.LogisticRegression"},
            "thresholds": {"max_window_rows": 100_000_000},
        }
    )


def child_prepare(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Once per champion: statistics of the full reference, a reference sample, a model."""
    import skops.io as sio
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from retrain.data.s3 import load_window
    from retrain.drift.reference import PREDICTION, compute_reference_stats
    from retrain.training.pipeline import features, predict

    s3, where = _setup(args)
    config, cols, clock = _config(where), where.columns, _Clock()
    with clock.time("load_reference"):
        reference = load_window(s3, where.source, cols, where.reference).frame
    train = reference.sample(n=min(len(reference), 20_000), random_state=0)
    model = make_pipeline(
        make_column_transformer(
            (StandardScaler(), cols.numeric),
            (OneHotEncoder(handle_unknown="ignore"), cols.categorical),
        ),
        LogisticRegression(max_iter=300),
    ).fit(features(train, config), train[cols.label])
    sio.dump(model, work / "model.skops")
    with clock.time("reference_stats"):
        frame = {c: reference[c] for c in (*cols.features, cols.label)}
        frame[PREDICTION] = _series(predict(model, reference, config), reference.index)
        stats = compute_reference_stats(
            frame, cols.numeric, cols.categorical, [cols.label, PREDICTION]
        )
        (work / "reference_stats.json").write_text(stats.to_json())
    sample = reference.sample(n=min(len(reference), REFERENCE_SAMPLE_ROWS), random_state=0)
    sample.to_parquet(work / "reference.parquet", index=False)
    return {"phases": clock.phases, "stats_bytes": (work / "reference_stats.json").stat().st_size}


def _series(values: Any, index: Any) -> Any:
    import pandas as pd

    return pd.Series(values, index=index)


def _evidently_verdicts(result: dict[str, Any]) -> dict[str, Any]:
    """Per-column (method, score, drifted) and the share of drifted columns from a preset run."""
    from retrain.drift.measures import is_drift

    columns: dict[str, Any] = {}
    share = None
    for metric in result["metrics"]:
        config = metric["config"]
        if config["type"].endswith(":ValueDrift"):
            method = _DISPLAY.get(config["method"], config["method"])
            score, threshold = float(metric["value"]), float(config["threshold"])
            columns[config["column"]] = [method, score, is_drift(method, score, threshold)]
        elif config["type"].endswith(":DriftedColumnsCount"):
            share = float(metric["value"]["share"])
            drift_share = float(config["drift_share"])
    return {
        "columns": columns,
        "share": share,
        "dataset_drift": share is not None and share >= drift_share,
    }


def child_evidently(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """(a) Evidently's DataDriftPreset on the full frames (features only), as a user writes it."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    from retrain.data.s3 import load_window

    s3, where = _setup(args)
    cols, clock = where.columns, _Clock()
    with clock.time("load"):
        reference = load_window(s3, where.source, cols, where.reference).frame[cols.features]
        current = load_window(s3, where.source, cols, where.current).frame[cols.features]
    load_peak = _peak_rss_gb()
    _reset_peak_rss()
    with clock.time("drift"):
        snapshot = Report([DataDriftPreset()]).run(current, reference)
    step_peak = _peak_rss_gb()
    return {
        "phases": clock.phases,
        "load_peak_rss_gb": load_peak,
        "step_peak_rss_gb": step_peak,
        **_evidently_verdicts(snapshot.dict()),
    }


def child_fast(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """(b) the project's drift step: statistics decide, Evidently reports on a sample."""
    import evidently  # noqa: F401  (imported before timing, as in (a))
    import pandas as pd

    from retrain.config import DriftThresholds
    from retrain.data.s3 import load_window
    from retrain.drift.reference import ReferenceStats
    from retrain.drift.summary import run_drift

    s3, where = _setup(args)
    cols, clock = where.columns, _Clock()
    with clock.time("load"):
        current = load_window(s3, where.source, cols, where.current).frame
    load_peak = _peak_rss_gb()
    _reset_peak_rss()
    with clock.time("drift"):
        stats = ReferenceStats.from_json((work / "reference_stats.json").read_text())
        reference = pd.read_parquet(work / "reference.parquet")
        summary, reports = run_drift(
            reference,
            current,
            numeric=cols.numeric,
            categorical=cols.categorical,
            thresholds=DriftThresholds(),
            out_dir=work / "fast",
            reference_stats=stats,
            report_sample_rows=args.sample_rows,
        )
    step_peak = _peak_rss_gb()
    assert reports is not None
    sample = json.loads(reports.json.read_text())
    sample_scores = {
        m["config"]["column"]: float(m["value"])
        for m in sample["metrics"]
        if m["config"]["type"].endswith(":ValueDrift")
    }
    return {
        "phases": clock.phases,
        "load_peak_rss_gb": load_peak,
        "step_peak_rss_gb": step_peak,
        "sample_noise": _sampling_noise(stats, len(reference), summary.report_sample_rows or 1),
        "columns": {c.column: [c.method, c.score, c.drifted] for c in summary.columns},
        "share": summary.drift_share,
        "dataset_drift": summary.dataset_drift,
        "report_sample_rows": summary.report_sample_rows,
        "reference_sample_rows": len(reference),
        "sample_scores": sample_scores,
        "html_bytes": reports.html.stat().st_size,
    }


def _sampling_noise(stats: Any, ref_rows: int, cur_rows: int) -> dict[str, float]:
    """The typical score between two samples of these sizes from one distribution, per column.

    Normed W1 ~ sqrt(1/n1 + 1/n2); Jensen-Shannon distance ~ sqrt((k - 1)(1/n1 + 1/n2) / 8)
    for k categories (its divergence is about chi-square / 8).
    """
    from retrain.drift.reference import CategoricalStats

    both = 1 / ref_rows + 1 / cur_rows
    return {
        name: (
            ((len(col.counts) - 1) * both / 8) ** 0.5
            if isinstance(col, CategoricalStats)
            else both**0.5
        )
        for name, col in stats.columns.items()
    }


def _load_model(work: Path) -> Any:
    import skops.io as sio

    path = work / "model.skops"
    return sio.load(path, trusted=sio.get_untrusted_types(file=path))


def child_floor(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """The floor: read the window's parquet files from S3 (each downloaded, then read a record
    batch at a time, as the cycle reads them) and predict each batch; nothing else."""
    import pyarrow.parquet as pq

    from retrain.data.s3 import list_partitions
    from retrain.training.pipeline import predict

    s3, where = _setup(args)
    config, cols, clock, model = _config(where), where.columns, _Clock(), _load_model(work)
    wanted = [cols.id, cols.timestamp, *cols.features, cols.label]
    clock.phases = {"read": 0.0, "predict": 0.0}
    keys = [k for ks in list_partitions(s3, where.source, where.current).values() for k in ks]
    path = work / "floor.parquet"
    for key in keys:
        began = time.perf_counter()
        s3.download_file(where.source.bucket, key, str(path))
        batches = pq.ParquetFile(path).iter_batches(
            batch_size=config.scale.predict_chunk_rows, columns=wanted
        )
        clock.phases["read"] += time.perf_counter() - began
        while True:
            began = time.perf_counter()
            batch = next(batches, None)
            if batch is None:
                break
            frame = batch.to_pandas()
            clock.phases["read"] += time.perf_counter() - began
            began = time.perf_counter()
            predict(model, frame, config)
            clock.phases["predict"] += time.perf_counter() - began
    return {"phases": clock.phases}


def child_cycle(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """The no-drift cycle of one run, as the flow does it without the services: the window read
    once in batches (labels masked, features summarised, the champion's one predict, a row
    sample), validation, drift, the monitoring metric set, the champion's metric, CBPE."""
    import evidently  # noqa: F401
    import pandas as pd

    from retrain.cycle import CycleSteps, check_window
    from retrain.data.s3 import WindowBatches
    from retrain.data.validation import capture_schema, validate_window
    from retrain.drift.reference import PREDICTION, ReferenceStats
    from retrain.drift.summary import run_drift
    from retrain.monitoring.estimate import window_estimate
    from retrain.monitoring.metric_set import ChampionFacts, monitor_window
    from retrain.monitoring.scoring import score_outputs
    from retrain.monitoring.window_scan import scan_window
    from retrain.training.pipeline import day_start, matured_mask, predict

    s3, where = _setup(args)
    config, cols, clock, model = _config(where), where.columns, _Clock(), _load_model(work)
    as_of = where.current.end
    reference = pd.read_parquet(work / "reference.parquet")
    schema = capture_schema(reference, cols, task="classification")
    stats = ReferenceStats.from_json((work / "reference_stats.json").read_text())
    reference[PREDICTION] = predict(model, reference, config)
    with clock.time("read+score+summarise"):
        batches = WindowBatches(
            s3, where.source, cols, where.current, batch_rows=config.scale.predict_chunk_rows
        )
        window = scan_window(config, batches, as_of, model=model, stats=stats)
        frame, outputs = window.frame, window.outputs
        assert outputs is not None, window.predict_error
    read_peak = _peak_rss_gb()
    own: dict[str, float] = {}

    def timed(name: str, step: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            began = time.perf_counter()
            try:
                return step(*args)
            finally:
                own[name] = time.perf_counter() - began

        return run

    def validate() -> Any:
        return validate_window(
            frame,
            cols,
            config.thresholds,
            schema,
            window_start=day_start(where.current.start),
            window_end=day_start(as_of),
            task="classification",
            features=window.features,
        )

    def drift(outs: Any) -> tuple[Any, dict[str, str]]:
        current = {
            PREDICTION: pd.Series(outs.for_metric(config.metric), index=frame.index),
            cols.label: frame[cols.label],
        }
        found, _ = run_drift(
            reference,
            current,
            numeric=cols.numeric,
            categorical=cols.categorical,
            thresholds=config.thresholds.drift,
            prediction=PREDICTION,
            target=cols.label,
            out_dir=work / "cycle",
            reference_stats=stats,
            report_sample_rows=args.sample_rows,
            summary=window.features,
            sample=window.sample,
        )
        return found, {}

    facts = ChampionFacts(outputs, schema, reference, stats)
    # the flow's own sequence (retrain/cycle.py), with the plain functions its tasks wrap
    with clock.time("cycle"), ThreadPoolExecutor(max_workers=1) as pool:
        timed_drift = timed("drift", drift)
        steps = CycleSteps(
            validate=timed("validate", validate),
            predict=lambda: outputs,
            drift=lambda outs: pool.submit(timed_drift, outs),
            estimate=timed(
                "estimate", lambda outs: window_estimate(model, frame, config, as_of, outs)
            ),
            monitor=timed(
                "monitoring",
                lambda found, outs: monitor_window(
                    frame, config, where.current.days(), facts, found, window.features
                ),
            ),
            evaluate=timed(
                "evaluate",
                lambda _, outs: (
                    score_outputs(outs, frame, config, matured_mask(frame, config)),
                    None,
                ),
            ),
        )
        check = check_window(steps, has_champion=True, rows=len(frame))
    validation, summary, estimate = check.validation, check.drift, check.estimate
    assert summary is not None, "the cycle measured no drift"
    return {
        "phases": clock.phases,
        "peaks": clock.peaks,
        "own_seconds": own,
        "rows": len(frame),
        "read_peak_rss_gb": read_peak,
        "valid": validation.valid,
        "dataset_drift": summary.dataset_drift,
        "drift_share": summary.drift_share,
        "prediction_drift": bool(summary.prediction and summary.prediction.drifted),
        "prediction_score": summary.prediction.score if summary.prediction else None,
        "columns": {c.column: [c.method, c.score, c.drifted] for c in summary.columns},
        "estimate_rows": (estimate or {}).get("rows"),
    }


def child_streamed(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """(c) feature drift with the window never whole: S3 objects read one at a time, record
    batches summarised and merged (retrain.drift.window_stats), verdicts from the merged summary."""
    from retrain.config import DriftThresholds
    from retrain.drift.reference import ReferenceStats
    from retrain.drift.window_stats import feature_drift, summarize_window

    s3, where = _setup(args)
    cols, clock = where.columns, _Clock()
    stats = ReferenceStats.from_json((work / "reference_stats.json").read_text())
    _reset_peak_rss()
    with clock.time("drift"):
        summary = summarize_window(s3, where.source, cols, where.current, stats)
        verdicts = feature_drift(stats, summary, cols.numeric, cols.categorical, DriftThresholds())
    columns = {c.column: [c.method, c.score, c.drifted] for c in verdicts if c is not None}
    share = sum(v[2] for v in columns.values()) / len(columns)
    return {
        "phases": clock.phases,
        "step_peak_rss_gb": _peak_rss_gb(),
        "rows": summary.rows,
        "columns": columns,
        "share": share,
        "dataset_drift": share >= DriftThresholds().dataset_share,
    }


CHILDREN = {
    "prepare": child_prepare,
    "evidently": child_evidently,
    "fast": child_fast,
    "cycle": child_cycle,
    "floor": child_floor,
    "streamed": child_streamed,
}


# ---------------------------------------------------------------- parent


def _run_child(name: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", name, "--work", str(work), *_shared_args(args)]
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark step {name} failed:\n{out.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - start
    return result


def _shared_args(args: argparse.Namespace) -> list[str]:
    return [
        f"--rows={args.rows}",
        f"--numeric={args.numeric}",
        f"--categorical={args.categorical}",
        f"--bucket={args.bucket}",
        f"--sample-rows={args.sample_rows}",
    ]


def _write_data(args: argparse.Namespace) -> dict[str, Any]:
    """Write both windows unless this exact data set is already there (a marker says so)."""
    from retrain.data.s3 import get_json, missing_buckets, put_json

    s3, where = _setup(args)
    if missing_buckets(s3, [args.bucket]):
        s3.create_bucket(Bucket=args.bucket)
    marker = f"{where.source.prefix}/_benchmark.json"  # not a data file: loaders skip it
    wanted = {"version": synthetic.DATA_VERSION, "rows": args.rows, "reference": _ref_rows(args)}
    found = get_json(s3, args.bucket, marker)
    if found and not args.rewrite and {k: found.get(k) for k in wanted} == wanted:
        return {"write_s": None, "megabytes": found["bytes"] / 1e6}
    start = time.perf_counter()
    size = synthetic.write_side(s3, where, _ref_rows(args), current=False, seed=1)
    size += synthetic.write_side(s3, where, args.rows, current=True, seed=2)
    put_json(s3, args.bucket, marker, {**wanted, "bytes": size})
    return {"write_s": time.perf_counter() - start, "megabytes": size / 1e6}


def _ref_rows(args: argparse.Namespace) -> int:
    """Rows of the reference side: the current side's, except where Evidently is not run; there
    a champion's training rows, at most `training.max_rows` (its statistics come from them)."""
    return args.rows if args.rows <= EVIDENTLY_MAX_ROWS else min(args.rows, TRAINING_MAX_ROWS)


def _agreement(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    common = sorted(set(a["columns"]) & set(b["columns"]))
    same = [c for c in common if a["columns"][c][2] == b["columns"][c][2]]
    diffs = [abs(a["columns"][c][1] - b["columns"][c][1]) for c in common]
    return {
        "columns": len(common),
        "agree": len(same),
        "disagree": sorted(set(common) - set(same)),
        "max_score_diff": max(diffs) if diffs else float("nan"),
        "dataset_same": a["dataset_drift"] == b["dataset_drift"],
    }


def _sample_check(b: dict[str, Any]) -> dict[str, float]:
    """How far the sampled report's scores are from the full-data scores, in sampling noise."""
    ratios = sorted(
        abs(b["sample_scores"][c] - v[1]) / b["sample_noise"][c]
        for c, v in b["columns"].items()
        if c in b["sample_scores"]
    )
    diffs = sorted(
        abs(b["sample_scores"][c] - v[1])
        for c, v in b["columns"].items()
        if c in b["sample_scores"]
    )
    return {
        "max_diff": diffs[-1],
        "median_diff": diffs[len(diffs) // 2],
        "max_ratio": ratios[-1],
        "median_ratio": ratios[len(ratios) // 2],
    }


def _report(args: argparse.Namespace, results: dict[str, Any]) -> str:
    data, prep, b = results["data"], results["prepare"], results.get("fast")
    cycle = results["cycle"]
    lines = [
        f"drift benchmark: {args.rows:,} rows (reference {_ref_rows(args):,}) x "
        f"{args.numeric} numeric + "
        f"{args.categorical} categorical columns ({data['megabytes']:.0f} MB parquet in "
        f"s3://{args.bucket}, "
        + (f"written in {data['write_s']:.1f} s)" if data["write_s"] else "written before)"),
        f"once per champion: reference statistics {prep['phases']['reference_stats']:.2f} s "
        f"(incl. one predict), stored as {prep['stats_bytes'] / 1e6:.2f} MB JSON",
        "",
        f"{'':36}{'wall s':>9}{'peak RSS GB':>13}{'(process)':>11}",
    ]
    a = results.get("evidently")
    if not a:
        lines.append(_evidently_skipped(args))
    if a:
        lines.append(
            f"{'(a) Evidently DataDriftPreset':36}{a['phases']['drift']:>9.2f}"
            f"{a['step_peak_rss_gb']:>13.2f}{a['peak_rss_gb']:>11.2f}"
            f"   (+{a['phases']['load']:.2f} s loading both windows)"
        )
    if b:
        lines.append(
            f"{'(b) run_drift from statistics':36}{b['phases']['drift']:>9.2f}"
            f"{b['step_peak_rss_gb']:>13.2f}{b['peak_rss_gb']:>11.2f}"
            f"   (+{b['phases']['load']:.2f} s loading the window)"
        )
    else:
        lines.append(
            f"(b) not run: it loads the window whole ({args.rows:,} rows); the cycle below reads "
            "it in batches"
        )
    if a and b:
        agree = _agreement(a, b)
        lines += [
            f"speed-up (a)/(b): {a['phases']['drift'] / b['phases']['drift']:.1f}x; "
            f"peak RSS of the step (a)/(b): {a['step_peak_rss_gb'] / b['step_peak_rss_gb']:.1f}x "
            "(step = the drift call with the loaded frames resident; process = with loading)",
            f"per-column verdicts: {agree['agree']}/{agree['columns']} agree "
            f"({100 * agree['agree'] / agree['columns']:.1f}%)"
            + (f", differ on {agree['disagree']}" if agree["disagree"] else "")
            + f"; max |score difference| {agree['max_score_diff']:.2e}",
            f"dataset verdict: (a) {a['dataset_drift']} (share {a['share']:.2f}), "
            f"(b) {b['dataset_drift']} (share {b['share']:.2f}) -> "
            + ("same" if agree["dataset_same"] else "DIFFERENT"),
        ]
    c = results.get("streamed")
    if c:
        line = (
            "(c) streamed feature drift alone: S3 objects one at a time, merged batch summaries: "
            f"{c['phases']['drift']:.2f} s load and drift, process peak {c['peak_rss_gb']:.2f} GB"
        )
        if b:
            same = _agreement(c, b)
            line += (
                f"; verdicts {same['agree']}/{same['columns']} agree with (b), "
                f"max |score difference| {same['max_score_diff']:.1e}"
            )
        if a:
            same = _agreement(c, a)
            line += f"; {same['agree']}/{same['columns']} with (a)"
        lines.append(line)
    if b:
        check = _sample_check(b)
        lines.append(
            f"HTML report on a sample: {b['report_sample_rows']:,} window rows vs "
            f"{b['reference_sample_rows']:,} reference rows ({b['html_bytes'] / 1e6:.1f} MB); "
            f"its scores differ from the full-data scores by median {check['median_diff']:.4f}, "
            f"max {check['max_diff']:.4f}, i.e. {check['median_ratio']:.1f}x (max "
            f"{check['max_ratio']:.1f}x) the sampling noise of each column's score"
        )
    lines += [
        "",
        "no-drift cycle of one run on the window (no services) vs its floor (S3 read + one "
        "predict):",
    ]
    cyc = cycle["phases"]
    total = sum(cyc.values())
    floor = results["floor"]["phases"]
    floor_total = sum(floor.values())
    lines += [
        f"  cycle {total:.2f} s = "
        + " + ".join(f"{name} {seconds:.2f}" for name, seconds in cyc.items())
        + " (alone: "
        + ", ".join(f"{name} {seconds:.2f}" for name, seconds in cycle["own_seconds"].items())
        + ")",
        f"  floor {floor_total:.2f} s = read {floor['read']:.2f} + predict {floor['predict']:.2f}",
        f"  cycle / floor = {total / floor_total:.2f}; dataset drift {cycle['dataset_drift']} "
        f"(share {cycle['drift_share']:.2f}), prediction drift {cycle['prediction_drift']}, "
        f"window valid {cycle['valid']}",
        f"  peak RSS of the cycle's process {cycle['peak_rss_gb']:.2f} GB "
        f"({cycle['read_peak_rss_gb']:.2f} GB once read; the floor's process "
        f"{results['floor']['peak_rss_gb']:.2f} GB)",
    ]
    if a:
        agree = _agreement(cycle, a)
        lines.append(
            f"  the cycle's feature verdicts vs (a): {agree['agree']}/{agree['columns']} agree, "
            f"dataset verdict " + ("same" if agree["dataset_same"] else "DIFFERENT")
        )
    return "\n".join(lines)


def _evidently_skipped(args: argparse.Namespace) -> str:
    """Why (a) did not run, with its memory slope (from the 1M run's results when there)."""
    slope, source = EVIDENTLY_GB_PER_MILLION, "DataDriftPreset, 1M x 50, measured 2026-11-21"
    found = _results_path(args, 1_000_000).with_suffix(".json")
    if found.exists():
        measured = json.loads(found.read_text()).get("evidently") or {}
        if measured.get("peak_rss_gb"):
            slope, source = measured["peak_rss_gb"], f"{found.name}"
    need = slope * args.rows / 1e6
    return (
        f"(a) Evidently not run: its DataDriftPreset peaked at {slope:.2f} GB per million rows "
        f"a side ({source}; it holds both frames and copies the current one per column), so "
        f"{args.rows:,} rows would need about {need:.0f} GB"
        + (" (asked to skip)" if args.skip_evidently and args.rows <= EVIDENTLY_MAX_ROWS else "")
    )


def _results_path(args: argparse.Namespace, rows: int | None = None) -> Path:
    return RESULTS / f"drift_{rows or args.rows}.txt"


def write_results(results: dict[str, Any], out: Path) -> Path:
    """The printed figures to `out`, every measurement to the .json beside it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(results["report"] + "\n")
    out.with_suffix(".json").write_text(json.dumps(results, indent=2, default=str))
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Write the data, run every step in its own process; returns every measurement."""
    results: dict[str, Any] = {"data": _write_data(args)}
    with tempfile.TemporaryDirectory(prefix="drift-bench-") as tmp:
        work = Path(tmp)
        print("... prepare", file=sys.stderr, flush=True)
        results["prepare"] = child_prepare(args, work)  # once per champion: not compared
        whole = args.rows <= EVIDENTLY_MAX_ROWS  # (a) and (b) hold the window whole
        steps = ["streamed", "cycle", "floor"]
        steps = (["fast"] if whole else []) + steps
        steps = steps if args.skip_evidently or not whole else ["evidently", *steps]
        for step in steps:
            print(f"... {step}", file=sys.stderr, flush=True)
            results[step] = _run_child(step, args, work)
    results["report"] = _report(args, results)
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per side")
    parser.add_argument("--numeric", type=int, default=40)
    parser.add_argument("--categorical", type=int, default=10)
    parser.add_argument("--bucket", default="bench-data")
    parser.add_argument("--sample-rows", type=int, default=10_000, help="HTML report sample")
    parser.add_argument("--skip-evidently", action="store_true", help="skip (a), the slow one")
    parser.add_argument("--rewrite", action="store_true", help="write the data even if present")
    parser.add_argument(
        "--out", type=Path, help="write the figures here (default bench-results/drift_<rows>.txt)"
    )
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.numeric < 1 or args.categorical < 0 or args.rows < 100:
        parser.error("need --rows >= 100, --numeric >= 1, --categorical >= 0")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        warnings.filterwarnings("ignore")
        result = CHILDREN[args.child](args, args.work)
        result["peak_rss_gb"] = max(_peak_rss_gb(), result.get("load_peak_rss_gb", 0.0))
        print(json.dumps(result))
        return
    results = run(args)
    print(results["report"])
    out = write_results(results, args.out or _results_path(args))
    print(f"written to {out} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
