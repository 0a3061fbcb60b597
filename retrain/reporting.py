"""The decision record of one run (JSON for S3 and MLflow) and its markdown summary for Prefect."""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

from retrain.budget import seconds_lines

RECORD_VERSION = 1
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]#|!])")
_LINE_BREAKS = re.compile(r"[\r\n]+")


def decision_key(model: str, mode: str, as_of: date, run_id: str) -> str:
    """Where a run's decision record lives in the loop bucket; sorts by window end."""
    return f"decisions/{model}/{mode}/{as_of.isoformat()}/{run_id}.json"


def decisions_prefix(model: str, mode: str) -> str:
    return f"decisions/{model}/{mode}/"


def report_prefix(model: str, as_of: date, run_id: str) -> str:
    return f"reports/{model}/{as_of.isoformat()}/{run_id}/"


def artifact_key(model: str, what: str) -> str:
    """A Prefect artifact key for one of a model's artifacts (lowercase letters, digits, dashes)."""
    return f"{model}-{what}".lower().replace("_", "-").replace(".", "-")


def as_of_of_key(key: str) -> date | None:
    """The window end encoded in a decision key, or None for a key of another shape."""
    parts = key.split("/")
    try:
        return date.fromisoformat(parts[-2])
    except (IndexError, ValueError):
        return None


def latest_per_window(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per window end (the last written), oldest window first."""
    by_day: dict[str, dict[str, Any]] = {}
    for rec in sorted(records, key=lambda r: (r.get("as_of", ""), r.get("finished_at", ""))):
        by_day[rec.get("as_of", "")] = rec
    return [by_day[k] for k in sorted(by_day)]


def drift_history(
    records: list[dict[str, Any]],
    n: int,
    champion_version: str | None = None,
    since: date | None = None,
) -> tuple[bool, ...]:
    """Dataset-drift verdicts of the last n windows' records, oldest first: only windows served
    by `champion_version` and ending on or after `since`, when given (consecutive windows of the
    current champion, not any n records)."""
    verdicts = [
        bool(r["drift"].get("dataset_drift"))
        for r in records
        if r.get("drift")
        and (champion_version is None or _champion_version(r) == champion_version)
        and (since is None or date.fromisoformat(r["as_of"]) >= since)
    ]
    return tuple(verdicts[-n:]) if n > 0 else ()


def _champion_version(record: dict[str, Any]) -> str | None:
    version = (record.get("champion") or {}).get("version")
    return None if version is None else str(version)


def last_promotion(records: list[dict[str, Any]]) -> date | None:
    """The newest window end at which the champion changed (in shadow mode: would have)."""
    days = [
        r["as_of"]
        for r in records
        if r.get("promoted") or (r.get("mode") == "shadow" and (r.get("gate") or {}).get("promote"))
    ]
    return date.fromisoformat(max(days)) if days else None


def challenger_scores(records: list[dict[str, Any]], since: date) -> list[float]:
    """Holdout scores the challengers of windows ending on or after `since` reached."""
    return [
        float(r["gate"]["challenger_score"])
        for r in records
        if (r.get("gate") or {}).get("challenger_score") is not None
        and date.fromisoformat(r["as_of"]) >= since
    ]


def md(value: Any) -> str:
    """Escape a value for markdown (and HTML inside it): data never becomes markup."""
    text = _LINE_BREAKS.sub(" ", html.escape(str(value), quote=False))  # a break ends a table row
    return _MD_SPECIAL.sub(r"\\\1", text)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return md(value)


def headline(record: dict[str, Any]) -> str:
    """One line: what the run decided and what it did."""
    decision = record["decision"]
    reasons = ", ".join(decision["reasons"]) or "-"
    outcome = ""
    if record.get("reinstated_version"):
        outcome = f"; past version v{record['reinstated_version']} reinstated"
    elif record.get("registered_version"):
        verb = "promoted" if record.get("promoted") else "registered, not promoted"
        outcome = f"; challenger v{record['registered_version']} {verb}"
    return (
        f"{record['model']} window ending {record['as_of']} ({record['mode']}): "
        f"{decision['action']} ({reasons}){outcome}"
    )


def markdown(record: dict[str, Any], links: dict[str, str]) -> str:
    """The Prefect artifact: what happened and why, with drift, metrics and links."""
    lines = [f"# {md(headline(record))}", ""]
    if record.get("attention"):
        lines += [f"**Needs attention:** {md(record['attention'])}", ""]
    mismatch = served_mismatch(record)
    if mismatch:
        lines += [f"**Served predictions disagree with the champion:** {md(mismatch)}", ""]
    window = record.get("window", {})
    lines += [
        "| window | rows | labelled (matured) | days missing |",
        "|---|---|---|---|",
        f"| {_fmt(window.get('start'))} to {_fmt(window.get('end'))} | {_fmt(window.get('rows'))}"
        f" | {_fmt(window.get('labelled_rows'))} | {_fmt(len(window.get('days_missing', [])))} |",
        "",
    ]
    validation = record.get("validation") or {}
    if validation.get("problems"):
        lines += [
            "## Validation",
            "",
            "| severity | code | column | message |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {_fmt(p['severity'])} | {_fmt(p['code'])} | {_fmt(p.get('column'))} "
            f"| {_fmt(p['message'])} |"
            for p in validation["problems"]
        ]
        lines.append("")
    drift = record.get("drift")
    if drift:
        drifted = ", ".join(drift.get("drifted_columns", [])) or "none"
        lines += [
            "## Drift",
            "",
            f"Share of drifted columns {_fmt(drift.get('drift_share'))}, dataset drift "
            f"{_fmt(drift.get('dataset_drift'))}; drifted: {md(drifted)}.",
            "",
            target_drift_line(drift),
            "",
        ]
    champion = record.get("champion") or {}
    gate = record.get("gate") or {}
    version, metric = _fmt(champion.get("version")), _fmt(record.get("metric"))
    lines += [
        "## Metrics",
        "",
        "| model | version | metric | value |",
        "|---|---|---|---|",
        f"| champion on this window | {version} | {metric} | {_fmt(champion.get('metric_now'))} |",
        f"| champion on its holdout at registration | {version} | {metric} "
        f"| {_fmt(champion.get('holdout_metric_at_registration'))} |",
    ]
    estimated = record.get("estimated_performance") or {}
    if estimated:
        lines.append(estimated_row(estimated, version))
    if estimated.get("earlier"):
        lines.append(earlier_row(estimated["earlier"], version))
    if gate:
        challenger = record.get("registered_version") or (record.get("training") or {}).get(
            "winner"
        )
        lines += [
            f"| champion on holdout | {_fmt(champion.get('version'))} | {_fmt(gate.get('metric'))} "
            f"| {_fmt(gate.get('champion_score'))} |",
            f"| challenger on holdout | {_fmt(challenger)} "
            f"| {_fmt(gate.get('metric'))} | {_fmt(gate.get('challenger_score'))} |",
            "",
            f"Gate: {'promote' if gate.get('promote') else 'reject'} "
            f"({md(', '.join(gate.get('reasons', [])))}); gain {_fmt(gate.get('gain'))}, "
            f"CI [{_fmt(gate.get('ci_low'))}, {_fmt(gate.get('ci_high'))}], "
            f"p {_fmt(gate.get('p_value'))}, {_fmt(gate.get('n_rows'))} rows.",
        ]
    training = record.get("training") or {}
    if training.get("candidates"):
        choice = training.get("choice") or {}
        lines += [
            "",
            "## Tournament",
            "",
            f"Winner {md(training.get('winner'))} ({md(choice.get('reason'))}); "
            f"refit on the holdout: {_fmt(training.get('refit'))}; fits took "
            f"{_fmt(training.get('seconds'))} s.",
            "",
            "| candidate | kind | validation score | rows | error |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {_fmt(c['name'])} | {_fmt(c['kind'])} | {_fmt(c.get('validation_score'))} "
            f"| {_fmt(c.get('rows'))} | {_fmt(c.get('error'))} |"
            for c in training["candidates"]
        ]
        lines.append("")
    if record.get("monitoring"):
        lines += ["", "## Monitoring", "", *monitoring_lines(record["monitoring"])]
    if record.get("error"):
        lines += ["", f"Error: {md(record['error'])}"]
    lines += seconds_lines(record.get("seconds"))
    lines += ["", "## Links", ""]
    lines += [f"- [{md(label)}]({url})" for label, url in links.items() if url]
    if record.get("record_uri"):
        lines += [f"- decision record in S3: `{md(record['record_uri'])}`"]
    return "\n".join(lines) + "\n"


def estimated_row(estimate: dict[str, Any], version: str) -> str:
    """The CBPE estimate on the rows whose labels are not yet due, as a row of the metrics table."""
    days = estimate.get("days") or []
    span = f"{days[0]} to {days[-1]}" if len(days) > 1 else (days[0] if days else "no day")
    value = estimate.get("value")
    shown = (
        f"{_fmt(value)} ± {_fmt(estimate.get('standard_error'))}"
        if value is not None
        else f"- ({md(estimate.get('error', 'not estimated'))})"
    )
    calibrated = estimate.get("calibrated_on") or {}
    return (
        f"| champion estimated (CBPE) on {_fmt(estimate.get('rows'))} rows of {md(span)}, labels "
        f"not yet due; calibrated on {_fmt(calibrated.get('rows'))} matured rows | {version} "
        f"| {_fmt(estimate.get('metric'))} | {shown} |"
    )


def earlier_row(earlier: dict[str, Any], version: str) -> str:
    """An earlier window's estimate beside what its days realised once labels matured."""
    days = earlier.get("days") or []
    span = f"{days[0]} to {days[-1]}" if len(days) > 1 else (days[0] if days else "-")
    return (
        f"| champion on {md(span)}: estimated in the window ending {_fmt(earlier.get('as_of'))}, "
        f"realised now on {_fmt(earlier.get('rows'))} rows | {version} "
        f"| {_fmt(earlier.get('metric'))} | {_fmt(earlier.get('estimated'))} ± "
        f"{_fmt(earlier.get('standard_error'))} estimated, {_fmt(earlier.get('realised'))} "
        f"realised ({_fmt(earlier.get('gap_in_standard_errors'))} SE) |"
    )


def target_drift_line(drift: dict[str, Any]) -> str:
    """The label's drift verdict: a concept change shows here when no feature drifts."""
    target = drift.get("target")
    if not target:
        return "Target drift: not measured (too few labelled rows in the window)."
    verdict = "drifted" if target.get("drifted") else "no drift"
    return (
        f"Target drift ({md(target.get('column'))}): {verdict}, {md(target.get('method'))} "
        f"{_fmt(target.get('score'))} against threshold {_fmt(target.get('threshold'))}."
    )


def served_mismatch(record: dict[str, Any]) -> str | None:
    """Why production seems to serve another model than the champion, or None."""
    served = (((record.get("monitoring") or {}).get("predictions") or {}).get("served")) or {}
    if not served.get("mismatch"):
        return None
    return (
        f"{served['column']} agrees with the champion's re-prediction on "
        f"{served['agreement']:.1%} of {served['rows']} rows; production may serve another model"
    )


def _named(values: dict[str, Any]) -> str:
    return ", ".join(f"{md(k)} {_fmt(v)}" for k, v in values.items()) or "-"


def monitoring_lines(m: dict[str, Any]) -> list[str]:
    """The monitoring section of the summary: a line each for quality, predictions, the served
    prediction, inputs and traffic (the numbers are in the record and the MLflow history)."""
    lines: list[str] = []
    quality = m.get("quality")
    if quality:
        undefined = "; ".join(f"{k}: {v}" for k, v in quality["undefined"].items())
        lines.append(
            f"- Quality on {quality['rows']} matured rows: {_named(quality['metrics'])}"
            + (f" (undefined: {md(undefined)})" if undefined else "")
        )
    p = m.get("predictions")
    if p:
        q = p.get("quantiles") or {}
        drift = p.get("drift") or {}
        lines.append(
            f"- Predictions ({md(p['kind'])}): mean {_fmt(p['mean'])}, p05 {_fmt(q.get('0.05'))}, "
            f"p50 {_fmt(q.get('0.5'))}, p95 {_fmt(q.get('0.95'))}; mean confidence "
            f"{_fmt(p['mean_confidence'])}; positive rate {_fmt(p['positive_rate'])}; outside the "
            f"training range {_fmt(p['outlier_share'])}; drift {md(drift.get('method', '-'))} "
            f"{_fmt(drift.get('score'))} (drifted: {_fmt(drift.get('drifted'))})"
        )
        served = p.get("served")
        if served:
            sd = served.get("drift") or {}
            lines.append(
                f"- Served prediction {md(served['column'])}: agreement {_fmt(served['agreement'])}"
                f" on {served['rows']} rows; drift {md(sd.get('method', '-'))} "
                f"{_fmt(sd.get('score'))} (drifted: {_fmt(sd.get('drifted'))})"
                + (f"; {md(served['drift_note'])}" if served.get("drift_note") else "")
            )
    classes = m.get("classes")
    if classes:
        lines.append(
            f"- Classes: predicted share {_named(classes['predicted_share'])}; actual share "
            f"{_named(classes['actual_share'])}; recall {_named(classes['recall'])}; confidence "
            f"of the predicted class {_fmt(classes['mean_confidence'])}; probability drift "
            f"{_named(classes['probability_drift'])} (drifted: "
            f"{md(', '.join(classes['probability_drifted']) or 'none')})"
        )
    inputs = m.get("inputs") or {}
    missing = {k: v for k, v in (inputs.get("missing_share") or {}).items() if v}
    new = {
        k: v["share"] for k, v in (inputs.get("new_categories") or {}).items() if v and v["rows"]
    }
    lines.append(f"- Inputs: missing share {_named(missing)}; new categories (share) {_named(new)}")
    t = m.get("traffic") or {}
    latency = t.get("latency_ms") or {}
    lines.append(
        f"- Traffic: {t.get('rows')} rows, {_fmt(t.get('mean_rows_per_day'))} a day against "
        f"{_fmt(t.get('expected_rows_per_day'))} expected (ratio {_fmt(t.get('volume_ratio'))}); "
        f"days without rows: {md(', '.join(t.get('days_missing') or []) or 'none')}; latency ms "
        f"{_named(latency)}; error rate {_fmt(t.get('error_rate'))}; "
        f"{_fmt(t.get('rows_per_second'))} rows/s"
    )
    return lines
