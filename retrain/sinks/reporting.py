"""The decision record of one run (JSON for S3 and MLflow) and its markdown summary for Prefect."""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

from retrain.budget import seconds_lines
from retrain.run_record import (
    DriftSection,
    EarlierEstimate,
    EstimateSection,
    MonitoringSection,
    RunRecord,
)

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


def latest_per_window(records: list[RunRecord]) -> list[RunRecord]:
    """One record per window end (the last written), oldest window first."""
    by_day: dict[date, RunRecord] = {}
    for rec in sorted(records, key=lambda r: (r.as_of, r.finished_at or "")):
        by_day[rec.as_of] = rec
    return [by_day[k] for k in sorted(by_day)]


def drift_history(
    records: list[RunRecord],
    n: int,
    champion_version: str | None = None,
    since: date | None = None,
) -> tuple[bool, ...]:
    """Dataset-drift verdicts of the last n windows' records, oldest first: only windows served
    by `champion_version` and ending on or after `since`, when given (consecutive windows of the
    current champion, not any n records)."""
    verdicts = [
        r.drift.dataset_drift
        for r in records
        if r.drift is not None
        and (champion_version is None or r.champion_version == champion_version)
        and (since is None or r.as_of >= since)
    ]
    return tuple(verdicts[-n:]) if n > 0 else ()


def last_promotion(records: list[RunRecord]) -> date | None:
    """The newest window end at which the champion changed (in shadow mode: would have)."""
    days = [
        r.as_of
        for r in records
        if r.promoted or (r.mode == "shadow" and r.gate is not None and r.gate.promote)
    ]
    return max(days) if days else None


def challenger_scores(records: list[RunRecord], since: date) -> list[float]:
    """Holdout scores the challengers of windows ending on or after `since` reached."""
    return [
        float(r.gate.challenger_score)
        for r in records
        if r.gate is not None and r.gate.challenger_score is not None and r.as_of >= since
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


def headline(record: RunRecord) -> str:
    """One line: what the run decided and what it did."""
    decision = record.decision
    reasons = ", ".join(decision.reasons) or "-"
    outcome = ""
    if record.reinstated_version:
        outcome = f"; past version v{record.reinstated_version} reinstated"
    elif record.registered_version:
        verb = "promoted" if record.promoted else "registered, not promoted"
        outcome = f"; challenger v{record.registered_version} {verb}"
    return (
        f"{record.model} window ending {record.as_of} ({record.mode}): "
        f"{decision.action} ({reasons}){outcome}"
    )


def markdown(record: RunRecord, links: dict[str, str]) -> str:
    """The Prefect artifact: what happened and why, with drift, metrics and links."""
    lines = [f"# {md(headline(record))}", ""]
    if record.attention:
        lines += [f"**Needs attention:** {md(record.attention)}", ""]
    mismatch = served_mismatch(record)
    if mismatch:
        lines += [f"**Served predictions disagree with the champion:** {md(mismatch)}", ""]
    window = record.window
    if window is not None:
        lines += [
            "| window | rows | labelled (matured) | days missing |",
            "|---|---|---|---|",
            f"| {_fmt(window.start)} to {_fmt(window.end)} | {_fmt(window.rows)}"
            f" | {_fmt(window.labelled_rows)} | {_fmt(len(window.days_missing))} |",
            "",
        ]
    else:
        lines += [
            "| window | rows | labelled (matured) | days missing |",
            "|---|---|---|---|",
            "| - to - | - | - | 0 |",
            "",
        ]
    validation = record.validation
    if validation is not None and validation.problems:
        lines += [
            "## Validation",
            "",
            "| severity | code | column | message |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {_fmt(p.severity)} | {_fmt(p.code)} | {_fmt(p.column)} | {_fmt(p.message)} |"
            for p in validation.problems
        ]
        lines.append("")
    drift = record.drift
    if drift is not None:
        drifted = ", ".join(drift.drifted_columns) or "none"
        lines += [
            "## Drift",
            "",
            f"Share of drifted columns {_fmt(drift.drift_share)}, dataset drift "
            f"{_fmt(drift.dataset_drift)}; drifted: {md(drifted)}.",
            "",
            target_drift_line(drift),
            "",
        ]
    champion = record.champion
    gate = record.gate
    version, metric = _fmt(record.champion_version), _fmt(record.metric)
    lines += [
        "## Metrics",
        "",
        "| model | version | metric | value |",
        "|---|---|---|---|",
        f"| champion on this window | {version} | {metric} "
        f"| {_fmt(champion.metric_now if champion else None)} |",
        f"| champion on its holdout at registration | {version} | {metric} "
        f"| {_fmt(champion.holdout_metric_at_registration if champion else None)} |",
    ]
    estimated = record.estimated_performance
    if estimated is not None:
        lines.append(estimated_row(estimated, version))
        if estimated.earlier is not None:
            lines.append(earlier_row(estimated.earlier, version))
    training = record.training
    if gate is not None:
        challenger = record.registered_version or (training.winner if training else None)
        lines += [
            f"| champion on holdout | {version} | {_fmt(gate.metric)} "
            f"| {_fmt(gate.champion_score)} |",
            f"| challenger on holdout | {_fmt(challenger)} "
            f"| {_fmt(gate.metric)} | {_fmt(gate.challenger_score)} |",
            "",
            f"Gate: {'promote' if gate.promote else 'reject'} "
            f"({md(', '.join(gate.reasons))}); gain {_fmt(gate.gain)}, "
            f"CI [{_fmt(gate.ci_low)}, {_fmt(gate.ci_high)}], "
            f"p {_fmt(gate.p_value)}, {_fmt(gate.n_rows)} rows.",
        ]
    if training is not None and training.candidates:
        lines += [
            "",
            "## Tournament",
            "",
            f"Winner {md(training.winner)} ({md(training.choice.get('reason'))}); "
            f"refit on the holdout: {_fmt(training.refit)}; fits took "
            f"{_fmt(training.seconds)} s.",
            "",
            "| candidate | kind | validation score | rows | error |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {_fmt(c.name)} | {_fmt(c.kind)} | {_fmt(c.validation_score)} "
            f"| {_fmt(c.rows)} | {_fmt(c.error)} |"
            for c in training.candidates
        ]
        lines.append("")
    if record.monitoring is not None and record.monitoring.dump():
        lines += ["", "## Monitoring", "", *monitoring_lines(record.monitoring)]
    if record.error:
        lines += ["", f"Error: {md(record.error)}"]
    lines += seconds_lines(record.seconds)
    lines += ["", "## Links", ""]
    lines += [f"- [{md(label)}]({url})" for label, url in links.items() if url]
    if record.record_uri:
        lines += [f"- decision record in S3: `{md(record.record_uri)}`"]
    return "\n".join(lines) + "\n"


def estimated_row(estimate: EstimateSection, version: str) -> str:
    """The CBPE estimate on the rows whose labels are not yet due, as a row of the metrics table."""
    days = estimate.days
    span = f"{days[0]} to {days[-1]}" if len(days) > 1 else (days[0] if days else "no day")
    value = estimate.value
    shown = (
        f"{_fmt(value)} ± {_fmt(estimate.standard_error)}"
        if value is not None
        else f"- ({md(estimate.error or 'not estimated')})"
    )
    calibrated = estimate.calibrated_on or {}
    return (
        f"| champion estimated (CBPE) on {_fmt(estimate.rows)} rows of {md(span)}, labels "
        f"not yet due; calibrated on {_fmt(calibrated.get('rows'))} matured rows | {version} "
        f"| {_fmt(estimate.metric)} | {shown} |"
    )


def earlier_row(earlier: EarlierEstimate, version: str) -> str:
    """An earlier window's estimate beside what its days realised once labels matured."""
    days = earlier.days
    span = f"{days[0]} to {days[-1]}" if len(days) > 1 else (days[0] if days else "-")
    return (
        f"| champion on {md(span)}: estimated in the window ending {_fmt(earlier.as_of)}, "
        f"realised now on {_fmt(earlier.rows)} rows | {version} "
        f"| {_fmt(earlier.metric)} | {_fmt(earlier.estimated)} ± "
        f"{_fmt(earlier.standard_error)} estimated, {_fmt(earlier.realised)} "
        f"realised ({_fmt(earlier.gap_in_standard_errors)} SE) |"
    )


def target_drift_line(drift: DriftSection) -> str:
    """The label's drift verdict: a concept change shows here when no feature drifts."""
    target = drift.target
    if target is None:
        return "Target drift: not measured (too few labelled rows in the window)."
    verdict = "drifted" if target.drifted else "no drift"
    return (
        f"Target drift ({md(target.column)}): {verdict}, {md(target.method)} "
        f"{_fmt(target.score)} against threshold {_fmt(target.threshold)}."
    )


def served_mismatch(record: RunRecord) -> str | None:
    """Why production seems to serve another model than the champion, or None."""
    predictions = (record.monitoring.predictions if record.monitoring else None) or {}
    served = predictions.get("served") or {}
    if not served.get("mismatch"):
        return None
    return (
        f"{served['column']} agrees with the champion's re-prediction on "
        f"{served['agreement']:.1%} of {served['rows']} rows; production may serve another model"
    )


def _named(values: dict[str, Any]) -> str:
    return ", ".join(f"{md(k)} {_fmt(v)}" for k, v in values.items()) or "-"


def monitoring_lines(section: MonitoringSection | dict[str, Any]) -> list[str]:
    """The monitoring section of the summary: a line each for quality, predictions, the served
    prediction, inputs and traffic (the numbers are in the record and the MLflow history)."""
    m = section.dump() if isinstance(section, MonitoringSection) else section
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
