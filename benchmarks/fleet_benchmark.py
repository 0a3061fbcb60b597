"""Fleet fan-out: the fleet flow over N small models, sequential vs threads vs a Dask cluster.

    python benchmarks/fleet_benchmark.py --models 20 --parallel 4       # make bench-fleet

Each side gets its own N synthetic models (same data shape, fresh names), so all do the same
work: a bootstrap run per model (load, validate, train, gate, register, promote, record)
against the running local stack.
  sequential  in process, `max_parallel=1`
  threads     in process, `max_parallel=--parallel` (ThreadPoolTaskRunner)
  dask        `dask_address=` (prefect-dask's DaskTaskRunner) on a local Dask cluster started
              as on several machines: `dask scheduler` and `dask worker --nworkers <parallel>
              --nthreads 1`, separate processes with this repository on PYTHONPATH and the
              same RETRAIN_* / PREFECT_API_URL settings; shut down at the end, always
Every side starts warm, as a long-running process or cluster is: the flow and the libraries a
run imports on first use are loaded first (in this process; on the scheduler and each worker,
which is part of the cluster's start, timed apart). Every side's outcomes (the multiset of
actions) must equal the sequential side's, else the exit code is 1. Figures are printed and
written to --out (default bench-results/fleet_<N>.txt, with every measurement in a .json and
the cluster's output in a .dask.log beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from retrain.clients import s3_client
from retrain.samples.fixtures import AS_OF, write_models
from retrain.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench-results"
SIDES = ("sequential", "threads", "dask")
# What a run imports on first use (flows.fleet and the lazy imports of the steps): every side
# starts with them loaded, as a long-running worker or Dask cluster has them.
WARM_MODULES = (
    "flows.fleet",
    "mlflow",
    "mlflow.sklearn",
    "skops.io",
    "evidently",
    "evidently.metrics",
    "scipy.stats",
    "prometheus_client",
)
CLUSTER_START_TIMEOUT_S = 120


def make_models(config_dir: Path, tag: str, n: int) -> list[str]:
    """N synthetic models with their own S3 prefixes and configs in one config folder."""
    settings = get_settings()
    return write_models(
        s3_client(settings), settings.data_bucket, config_dir, f"fleet_bench_{tag}", n
    )


def timed_fleet(
    names: list[str], cpu: Callable[[], float] = time.process_time, **options: Any
) -> tuple[float, dict[str, str], float, float]:
    """Wall time and outcomes (model -> action) of one fleet run over `names`, the CPU seconds
    its processes spent (`cpu`: their total so far), and the machine's mean 1-minute load
    average meanwhile (sampled every 5 s: others share these cores)."""
    from flows.fleet import fleet

    loads, done = [os.getloadavg()[0]], threading.Event()

    def sample() -> None:
        while not done.wait(5.0):
            loads.append(os.getloadavg()[0])

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    cpu_start, start = cpu(), time.perf_counter()
    try:
        outcomes = fleet(models=names, as_of=AS_OF, **options)
    finally:
        wall_s = time.perf_counter() - start
        done.set()
        sampler.join()
    return wall_s, outcomes, cpu() - cpu_start, sum(loads) / len(loads)


# ---------------------------------------------------------------- the Dask cluster


def worker_env(settings: Settings) -> dict[str, str]:
    """Every RETRAIN_* setting as resolved here (.env included; this process's environment wins,
    as it does for pydantic-settings), PREFECT_API_URL and the repository on PYTHONPATH: what
    each machine of a cluster needs."""
    env: dict[str, str] = {}
    for field, value in settings.model_dump().items():
        if value is not None:
            secret = getattr(value, "get_secret_value", None)
            env[f"RETRAIN_{field.upper()}"] = str(secret() if secret else value)
    env.update(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def warm_up() -> dict[str, Any]:
    """Import WARM_MODULES; report what this process sees (run on each Dask worker too)."""
    import importlib

    modules = {name: importlib.import_module(name) for name in WARM_MODULES}
    return {
        "flow_module": modules["flows.fleet"].__file__,
        "RETRAIN_CONFIG_DIR": os.environ.get("RETRAIN_CONFIG_DIR"),
        "PREFECT_API_URL": os.environ.get("PREFECT_API_URL"),
        "pid": os.getpid(),
    }


def _stop(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """Wait `grace_s` for one command we started to exit, then SIGTERM its process group (a
    nanny takes its workers along), then SIGKILL it after 30 s more."""
    for sig, wait_s in ((None, grace_s), (signal.SIGTERM, 30.0), (signal.SIGKILL, None)):
        if sig is not None:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def dask_cluster(
    workers: int, work: Path, env: dict[str, str], log: Path
) -> Iterator[dict[str, Any]]:
    """`dask scheduler` + `dask worker --nworkers <workers> --nthreads 1` on this machine, their
    output to `log`; yields the scheduler's address and what it and each worker sees, all warmed
    (the scheduler unpickles every submitted task, so it imports the flow too); always shuts
    everything down."""
    from distributed import Client

    scheduler_file = work / "scheduler.json"
    log.parent.mkdir(parents=True, exist_ok=True)
    common = ["--no-dashboard", "--scheduler-file", str(scheduler_file)]
    scheduler = ["distributed.cli.dask_scheduler", "--port", "0", "--idle-timeout", "900"]
    scheduler += ["--dashboard-address", "127.0.0.1:0"]  # its HTTP routes: no fixed port
    worker = ["distributed.cli.dask_worker", "--nworkers", str(workers), "--nthreads", "1"]
    worker += ["--death-timeout", "60", "--local-directory", str(work / "workers")]
    commands = [scheduler, worker]
    procs: list[subprocess.Popen[bytes]] = []
    client = None
    try:
        with log.open("wb") as out:
            for i, command in enumerate(commands):
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", *command, "--host", "127.0.0.1", *common],
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
                if i == 0:
                    _wait_for_file(scheduler_file, procs[0], log)
        client = Client(scheduler_file=str(scheduler_file), timeout=CLUSTER_START_TIMEOUT_S)
        client.wait_for_workers(workers, timeout=CLUSTER_START_TIMEOUT_S)
        if len(client.scheduler_info(n_workers=-1)["workers"]) != workers:
            raise RuntimeError(f"expected {workers} Dask workers: {client.scheduler_info()}")
        scheduler_view, views = client.run_on_scheduler(warm_up), client.run(warm_up)
        address = json.loads(scheduler_file.read_text())["address"]
        yield {
            "address": address,
            "scheduler": scheduler_view,
            "workers": views,
            "cpu": lambda: (
                time.process_time()
                + client.run_on_scheduler(time.process_time)
                + sum(client.run(time.process_time).values())
            ),
        }
    except BaseException:
        if log.exists():
            print(f"--- tail of {log}:\n{_tail(log)}", file=sys.stderr)
        raise
    finally:
        grace_s = 0.0
        if client is not None:
            try:
                client.shutdown()  # the scheduler and workers exit on their own
                grace_s = 30.0
            except Exception as exc:  # stopped by signal below
                print(f"dask shutdown: {exc!r}", file=sys.stderr)
        for proc in reversed(procs):
            _stop(proc, grace_s)


def _wait_for_file(path: Path, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + CLUSTER_START_TIMEOUT_S
    while not path.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"dask scheduler exited with {proc.returncode}; see {log}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"dask scheduler wrote no {path.name} in {CLUSTER_START_TIMEOUT_S}s")
        time.sleep(0.2)


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# ---------------------------------------------------------------- the report


def _report(results: dict[str, Any]) -> str:
    sides, n = results["sides"], results["models"]
    base = sides["sequential"]["wall_s"]
    rows = [
        f"fleet of {n} models (a bootstrap run each) on {results['cpus']} cores; "
        f"load average {results['loadavg_before'][0]:.1f} before, "
        f"{results['loadavg_after'][0]:.1f} after. CPU s: what the side's own processes spent "
        "(this one; with Dask also the scheduler and workers); load: the machine's 1-minute "
        "load average during the side (mean; counts the side's own processes too)",
        "",
        "| side | wall s | speed-up vs sequential | outcomes agree | CPU s | load meanwhile |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for side in sides.values():
        agree = "yes" if side["agrees"] else "NO"
        rows.append(
            f"| {side['label']} | {side['wall_s']:.1f} | {base / side['wall_s']:.2f}x | {agree} "
            f"| {side['cpu_s']:.0f} | {side['mean_loadavg']:.1f} |"
        )
    dask = results["dask_cluster"]
    counts = {
        name: ", ".join(f"{a} {c}" for a, c in sorted(side["counts"].items()))
        for name, side in sides.items()
    }
    same = len(set(counts.values())) == 1
    rows += [
        "",
        f"outcomes of each side: {counts['sequential']}"
        if same
        else "outcomes: " + "; ".join(f"{name} {c}" for name, c in counts.items()),
        f"every side starts warm (the flow and the libraries a run loads on first use imported: "
        f"in process {results['warm_up_s']:.1f} s); the Dask cluster's start ({dask['workers']} "
        f"worker processes registered and warmed) is not in its wall time: {dask['start_s']:.1f} s",
        f"data and configs for 3 x {n} models: {results['setup_s']:.1f} s",
    ]
    return "\n".join(rows)


def write_results(results: dict[str, Any], out: Path) -> Path:
    """The printed figures to `out`, every measurement to the .json beside it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(results["report"] + "\n")
    out.with_suffix(".json").write_text(json.dumps(results, indent=2, default=str))
    return out


def _side(
    label: str, wall_s: float, outcomes: dict[str, str], cpu_s: float, load: float
) -> dict[str, Any]:
    return {
        "label": label,
        "wall_s": wall_s,
        "outcomes": outcomes,
        "counts": Counter(outcomes.values()),
        "cpu_s": cpu_s,
        "mean_loadavg": load,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Models for three sides, then each side's fleet run; returns every measurement."""
    settings = get_settings()
    os.environ.setdefault("PREFECT_API_URL", settings.prefect_api_url)
    run_id = uuid.uuid4().hex[:6]
    results: dict[str, Any] = {
        "models": args.models,
        "parallel": args.parallel,
        "as_of": AS_OF,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "loadavg_before": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
        work = Path(tmp)
        config_dir = work / "configs"
        config_dir.mkdir()
        os.environ["RETRAIN_CONFIG_DIR"] = str(config_dir)
        t0 = time.perf_counter()
        names = {s: make_models(config_dir, f"{run_id}{s[0]}", args.models) for s in SIDES}
        results["setup_s"] = time.perf_counter() - t0
        print(f"data and configs for 3 x {args.models} models: {results['setup_s']:.1f}s")
        t0 = time.perf_counter()
        warm_up()
        results["warm_up_s"] = time.perf_counter() - t0

        sides: dict[str, dict[str, Any]] = {}
        print("... sequential", file=sys.stderr, flush=True)
        sides["sequential"] = _side(
            "sequential (max_parallel=1)", *timed_fleet(names["sequential"], max_parallel=1)
        )
        print("... threads", file=sys.stderr, flush=True)
        sides["threads"] = _side(
            f"threads (max_parallel={args.parallel}, ThreadPoolTaskRunner)",
            *timed_fleet(names["threads"], max_parallel=args.parallel),
        )
        print("... dask cluster", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        log = args.out.with_suffix(".dask.log")
        with dask_cluster(args.parallel, work, worker_env(settings), log) as cluster:
            start_s = time.perf_counter() - t0
            _check_workers({"scheduler": cluster["scheduler"], **cluster["workers"]}, config_dir)
            print(f"... dask ({cluster['address']})", file=sys.stderr, flush=True)
            sides["dask"] = _side(
                f"dask ({args.parallel} worker processes x 1 thread, DaskTaskRunner)",
                *timed_fleet(names["dask"], cluster["cpu"], dask_address=cluster["address"]),
            )
        results["dask_cluster"] = {
            "workers": len(cluster["workers"]),
            "start_s": start_s,
            "worker_pids": sorted(v["pid"] for v in cluster["workers"].values()),
            "log": str(log),
        }
    expected = sides["sequential"]["counts"]
    for side in sides.values():
        side["agrees"] = side["counts"] == expected
        side["speedup"] = sides["sequential"]["wall_s"] / side["wall_s"]
    results["sides"] = sides
    results["loadavg_after"] = os.getloadavg()
    results["agree"] = all(side["agrees"] for side in sides.values())
    results["report"] = _report(results)
    return results


def _check_workers(views: dict[str, dict[str, Any]], config_dir: Path) -> None:
    """The scheduler and each worker imported the flow from this repository and see the same
    settings."""
    for address, view in views.items():
        wrong = {
            "flow_module": not str(view["flow_module"]).startswith(str(ROOT)),
            "RETRAIN_CONFIG_DIR": view["RETRAIN_CONFIG_DIR"] != str(config_dir),
            "PREFECT_API_URL": view["PREFECT_API_URL"] != os.environ["PREFECT_API_URL"],
        }
        if any(wrong.values()):
            raise RuntimeError(f"Dask worker {address} sees {view}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20, help="models per side")
    parser.add_argument(
        "--parallel", type=int, default=4, help="threads, and Dask worker processes"
    )
    parser.add_argument(
        "--out", type=Path, help="write the figures here (default bench-results/fleet_<N>.txt)"
    )
    args = parser.parse_args(argv)
    if args.models < 1 or args.parallel < 1:
        parser.error("need --models >= 1 and --parallel >= 1")
    args.out = args.out or RESULTS / f"fleet_{args.models}.txt"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = run(args)
    print(results["report"])
    out = write_results(results, args.out)
    print(f"written to {out} and {out.with_suffix('.json')}")
    if not results["agree"]:
        print("outcomes differ between sides", file=sys.stderr)
    return 0 if results["agree"] else 1


if __name__ == "__main__":
    sys.exit(main())
