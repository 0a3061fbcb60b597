"""The tables of the decision replay: per window, per policy, and the freshness curve. Pure code."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from retrain.run_record import RunRecord

LOOP = "loop"


@dataclass(frozen=True)
class PolicyWindow:
    """What one policy served in one window: its metric there, and what it did at that point.

    `seconds` is the training time spent for this window (the fit of the served model for a
    cron, the retrain made at this window for the loop)."""

    policy: str
    as_of: date
    metric: float | None
    retrained: bool
    promoted: bool
    seconds: float
    note: str = ""


@dataclass(frozen=True)
class FreshnessPoint:
    """A model fitted at `trained_at`, scored on the window ending `as_of`, `age` windows later;
    `policy` is the weekly cron that fitted it."""

    trained_at: date
    age: int
    as_of: date
    metric: float | None
    policy: str = ""


ALPHAS = (0.0, 0.001, 0.002, 0.005, 0.01)  # metric units one retrain costs, for the cost table
CADENCES = (2, 4)  # weeks between two fits of a slower cron (the weekly cron is every 1)
UPPER = "best recipe each week"


def policy_window(row: dict[str, Any]) -> PolicyWindow:
    """A row read back from policy_windows.csv (a missing metric is NaN or None)."""
    metric = row.get("metric")
    missing = metric is None or metric == "" or metric != metric
    return PolicyWindow(
        policy=str(row["policy"]),
        as_of=date.fromisoformat(str(row["as_of"])),
        metric=None if missing else float(metric),  # type: ignore[arg-type]
        retrained=str(row["retrained"]) == "True",
        promoted=str(row["promoted"]) == "True",
        seconds=float(row["seconds"]),
        note=note if isinstance(note := row.get("note"), str) else "",
    )


def freshness_point(row: dict[str, Any]) -> FreshnessPoint:
    """A row read back from freshness_points.csv."""
    metric = row.get("metric")
    policy = row.get("policy")
    return FreshnessPoint(
        date.fromisoformat(str(row["trained_at"])),
        int(row["age"]),
        date.fromisoformat(str(row["as_of"])),
        None if metric is None or metric != metric else float(metric),
        policy if isinstance(policy, str) else "",
    )


def cadence_policy(cron: str, every: int) -> str:
    """`cron 56d refit` fitted every 2 weeks -> `cron 56d refit every 2w`."""
    return f"{cron} every {every}w"


def cadence_rows(
    points: list[FreshnessPoint], windows: list[date], cron: str, every: int
) -> list[PolicyWindow]:
    """A cron that fits every `every` windows, derived from its weekly fits scored at each age:
    window j is served by the fit made at the newest decision point i < j with i % every == 0
    (the first point fits), scored there at age j - i. `windows` are the decision points, the
    bootstrap first; a window whose serving fit has no score at that age has no metric."""
    scores = {(p.trained_at, p.age): p.metric for p in points if p.policy == cron}
    policy, out = cadence_policy(cron, every), []
    for j in range(1, len(windows)):
        fitted = ((j - 1) // every) * every
        age = j - fitted
        out.append(
            PolicyWindow(
                policy,
                windows[j],
                scores.get((windows[fitted], age)),
                retrained=age == 1,
                promoted=age == 1,
                seconds=0.0,
                note=f"fit {windows[fitted]}, age {age}",
            )
        )
    return out


def upper_bound(rows: list[PolicyWindow], crons: list[str]) -> list[PolicyWindow]:
    """The best of the weekly crons in each window, chosen afterwards: what choosing the recipe
    perfectly every week would serve (one fit a week)."""
    by_window: dict[date, list[tuple[float, str]]] = {}
    for r in rows:
        if r.policy in crons and r.metric is not None:
            by_window.setdefault(r.as_of, []).append((r.metric, r.policy))
    out = []
    for day in sorted(by_window):
        best, name = max(by_window[day])
        out.append(PolicyWindow(UPPER, day, best, True, True, 0.0, note=short(name)))
    return out


def costs(table: list[dict[str, Any]], alphas: tuple[float, ...] = ALPHAS) -> list[dict[str, Any]]:
    """Each policy's mean metric minus alpha x retrains per window, for each alpha (metric units
    one retrain costs; higher-is-better metrics): which cadence pays at which price."""
    out = []
    for r in table:
        if r["mean_metric"] is None or not r["windows"]:
            continue
        rate = r["retrains"] / r["windows"]
        row: dict[str, Any] = {"policy": r["policy"], "retrains_per_window": round(rate, 3)}
        for a in alphas:
            row[f"alpha_{a:g}"] = round(r["mean_metric"] - a * rate, 4)
        out.append(row)
    return out


def format_costs(table: list[dict[str, Any]], metric: str) -> str:
    """The cost table as markdown, the best policy at each alpha marked with *."""
    if not table:
        return ""
    alphas = [k for k in table[0] if k.startswith("alpha_")]
    best = {a: max(r[a] for r in table) for a in alphas}
    head = ["policy", "retrains/window", *(f"{metric} - {a[6:]} x retrains" for a in alphas)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in table:
        cells = [r["policy"], f"{r['retrains_per_window']:.3f}"]
        cells += [f"{r[a]:.4f}" + ("*" if r[a] == best[a] else "") for a in alphas]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def policies(rows: Iterable[PolicyWindow]) -> list[str]:
    """Policy names in first-seen order, the loop first."""
    names = list(dict.fromkeys(r.policy for r in rows))
    return sorted(names, key=lambda n: n != LOOP)


def common_windows(rows: list[PolicyWindow]) -> list[date]:
    """Windows every policy scored (the fair set to average over), oldest first."""
    names = policies(rows)
    scored: dict[date, set[str]] = {}
    for r in rows:
        if r.metric is not None:
            scored.setdefault(r.as_of, set()).add(r.policy)
    return sorted(d for d, got in scored.items() if got >= set(names))


def summary(rows: list[PolicyWindow], seconds_source: dict[str, str] | None = None) -> list[dict]:
    """One row per policy: mean metric over the common windows, retrains, promotions, seconds,
    and, when the loop is among them, the mean difference to it and the windows it is beaten in."""
    common = set(common_windows(rows))
    by_policy = {name: [r for r in rows if r.policy == name] for name in policies(rows)}
    loop = {r.as_of: r.metric for r in by_policy.get(LOOP, [])}
    out = []
    for name, own in by_policy.items():
        scored: dict[date, float] = {
            r.as_of: r.metric for r in own if r.as_of in common and r.metric is not None
        }
        retrains = sum(r.retrained for r in own)
        seconds = sum(r.seconds for r in own if r.retrained)
        row: dict[str, Any] = {
            "policy": name,
            "windows": len(scored),
            "mean_metric": _mean(scored.values()),
            "retrains": retrains,
            "promotions": sum(r.promoted for r in own),
            "train_seconds": round(seconds, 1),
            "seconds_per_retrain": round(seconds / retrains, 2) if retrains else None,
            "seconds_source": (seconds_source or {}).get(name, "fit"),
        }
        if loop and name != LOOP:
            diffs = [m - ref for d, m in scored.items() if (ref := loop.get(d)) is not None]
            row["minus_loop"] = _mean(diffs)
            row["beats_loop"] = f"{sum(d > 0 for d in diffs)}/{len(diffs)}"
        out.append(row)
    return out


def _mean(values: Iterable[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return round(sum(found) / len(found), 4) if found else None


def wide(rows: list[PolicyWindow]) -> list[dict[str, Any]]:
    """One row per window: each policy's metric, and the loop's note."""
    names = policies(rows)
    table: dict[date, dict[str, Any]] = {}
    for r in rows:
        line = table.setdefault(r.as_of, {"as_of": r.as_of.isoformat(), **dict.fromkeys(names)})
        line[r.policy] = r.metric
        if r.policy == LOOP:
            line["loop_note"] = r.note
    return [table[d] for d in sorted(table)]


def freshness_curve(points: list[FreshnessPoint]) -> list[dict[str, Any]]:
    """Mean metric by model age: over all pairs, and over the models scored at every age (the
    same fits at each age, so the curve is not a different set of models per age), with the
    loss against age 1 on those."""
    ages = sorted({p.age for p in points})
    if not ages:
        return []
    by_age = {a: {p.trained_at: p.metric for p in points if p.age == a} for a in ages}
    common = [t for t in sorted(by_age[ages[0]]) if all(by_age[a].get(t) is not None for a in ages)]
    base = _mean(by_age[1][t] for t in common) if 1 in by_age else None
    out = []
    for a in ages:
        same = _mean(by_age[a][t] for t in common)
        out.append(
            {
                "age_weeks": a,
                "pairs": sum(v is not None for v in by_age[a].values()),
                "mean_all": _mean(by_age[a].values()),
                "common_models": len(common),
                "mean_common": same,
                "minus_age1": None if same is None or base is None else round(same - base, 4),
            }
        )
    return out


def records(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Dataclass rows as dicts with ISO dates, for CSV."""
    out = []
    for r in rows:
        d = asdict(r)
        out.append({k: v.isoformat() if isinstance(v, date) else v for k, v in d.items()})
    return out


def short(name: str) -> str:
    """A column header for a policy: `cron 56 holdout` -> `56 ho`, `cron 56 refit` -> `56 rf`,
    `cron 56 refit every 2w` -> `56 rf/2w`."""
    if name.startswith("cron "):
        _, recipe, variant, *rest = name.split(" ")
        every = f"/{rest[-1]}" if rest else ""
        return f"{recipe} {'ho' if variant == 'holdout' else 'rf'}{every}"
    return {"never retrain": "never", UPPER: "best/wk"}.get(name, name)


def _num(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_windows(rows: list[PolicyWindow]) -> str:
    """The per-window table as text."""
    names = policies(rows)
    width = max(7, *(len(short(n)) for n in names))
    head = f"{'as_of':<10} " + " ".join(f"{short(n):>{width}}" for n in names) + "  the loop did"
    lines = [head]
    for line in wide(rows):
        cells = " ".join(f"{_num(line[n]):>{width}}" for n in names)
        lines.append(f"{line['as_of']:<10} {cells}  {line.get('loop_note', '')}")
    return "\n".join(lines)


def format_summary(table: list[dict[str, Any]], metric: str) -> str:
    """The per-policy summary as a markdown table (for the terminal and the README)."""
    vs_loop = any("minus_loop" in r for r in table)
    head = ["policy", f"mean {metric}", "windows", "retrains", "promotions", "train s", "s/retrain"]
    head += ["minus loop", "beats loop"] if vs_loop else []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in table:
        cells = [
            r["policy"],
            _num(r["mean_metric"]),
            str(r["windows"]),
            str(r["retrains"]),
            str(r["promotions"]),
            f"{r['train_seconds']:.0f}" + ("*" if r["seconds_source"] != "fit" else ""),
            _num(r["seconds_per_retrain"], 1),
        ]
        if vs_loop:
            diff = r.get("minus_loop")
            cells += ["" if diff is None else f"{diff:+.4f}", r.get("beats_loop", "")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_freshness(curve: list[dict[str, Any]], metric: str) -> str:
    """The freshness curve as a markdown table."""
    lines = [
        f"| model age (weeks) | mean {metric}, same models | minus age 1 | mean, all pairs "
        "| pairs |",
        "|---|---|---|---|---|",
    ]
    for r in curve:
        diff = "" if r["minus_age1"] is None else f"{r['minus_age1']:+.4f}"
        lines.append(
            f"| {r['age_weeks']} | {_num(r['mean_common'])} | {diff} | {_num(r['mean_all'])} "
            f"| {r['pairs']} |"
        )
    return "\n".join(lines)


def loop_row(record: RunRecord, wall_seconds: float) -> tuple[PolicyWindow, str]:
    """The loop's line for one window from its decision record, and where its seconds came from:
    the record's `training.seconds` when it has one, else the flow's wall time of a retrain."""
    action = record.decision.action
    retrained = action == "retrain"
    recorded = record.training.seconds if record.training else None
    if recorded is not None:
        seconds, source = float(recorded), "record"
    else:
        seconds, source = (wall_seconds if retrained else 0.0), "flow wall time"
    promoted = record.promoted
    reasons = ", ".join(record.decision.reasons)
    note = f"{action} ({reasons})" if reasons else action
    if record.reinstated_version:
        note += f" -> v{record.reinstated_version} reinstated"
    elif retrained:
        version = record.registered_version
        note += f" -> v{version} promoted" if promoted else f", v{version} rejected"
    served = f"v{record.champion_version} " if record.champion_version else ""
    row = PolicyWindow(
        LOOP,
        record.as_of,
        record.champion.metric_now if record.champion else None,
        retrained,
        promoted,
        seconds if retrained else 0.0,
        served + note,
    )
    return row, source


def bootstrap_check(rows: list[PolicyWindow]) -> tuple[int, float] | None:
    """Windows up to the loop's first promotion (it serves its bootstrap model there) and the
    largest difference there between the loop's metric and the never-retrain baseline's: zero
    when the baseline is trained and scored exactly as the flow does it."""
    loop = sorted((r for r in rows if r.policy == LOOP), key=lambda r: r.as_of)
    never = {r.as_of: r.metric for r in rows if r.policy == "never retrain"}
    if not loop or not never:
        return None
    diffs = []
    for r in loop:
        if r.metric is not None and never.get(r.as_of) is not None:
            diffs.append(abs(r.metric - never[r.as_of]))  # type: ignore[operator]
        if r.promoted:
            break
    return len(diffs), max(diffs, default=0.0)
