"""What a series of windows found, in a few figures: the served model against the never-retrained
one, and what the loop did (retrains, promotions, reinstatements, gate refusals)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Headline:
    """Figures of a replay; the means are over the windows where both models were scored."""

    windows: int
    scored: int
    mean_served: float | None
    mean_never: float | None
    weeks_better: int
    weeks_worse: int
    retrains: int
    promotions: int
    reinstatements: int
    gate_refusals: int

    @property
    def gain(self) -> float | None:
        if self.mean_served is None or self.mean_never is None:
            return None
        return self.mean_served - self.mean_never


def headline(rows: Iterable[Mapping[str, Any]], records: Iterable[Mapping[str, Any]]) -> Headline:
    """From the table rows (served_metric, never_retrained_metric) and the windows' records."""
    rows = list(rows)
    pairs = [
        (r["served_metric"], r["never_retrained_metric"])
        for r in rows
        if r.get("served_metric") is not None and r.get("never_retrained_metric") is not None
    ]
    records = list(records)
    promoted = [r for r in records if r.get("promoted")]
    gated = [r for r in records if r.get("gate")]
    return Headline(
        windows=len(rows),
        scored=len(pairs),
        mean_served=sum(s for s, _ in pairs) / len(pairs) if pairs else None,
        mean_never=sum(n for _, n in pairs) / len(pairs) if pairs else None,
        weeks_better=sum(s > n for s, n in pairs),
        weeks_worse=sum(s < n for s, n in pairs),
        retrains=sum((r.get("decision") or {}).get("action") == "retrain" for r in records),
        promotions=sum(not r.get("reinstated_version") for r in promoted),
        reinstatements=sum(bool(r.get("reinstated_version")) for r in promoted),
        gate_refusals=sum(not (r.get("gate") or {}).get("promote") for r in gated),
    )


def headline_lines(h: Headline, metric: str, wall_seconds: float) -> list[str]:
    """The headline as the demo prints it."""

    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:.4f}"

    gain = "-" if h.gain is None else f"{h.gain:+.4f}"
    return [
        f"mean {metric} served by the loop {num(h.mean_served)} vs never retrained "
        f"{num(h.mean_never)} ({gain}) over {h.scored} scored weeks of {h.windows}",
        f"weeks better {h.weeks_better}, worse {h.weeks_worse}, equal "
        f"{h.scored - h.weeks_better - h.weeks_worse}",
        f"retrains {h.retrains}, promotions {h.promotions}, reinstatements {h.reinstatements}, "
        f"gate refusals {h.gate_refusals}",
        f"wall time {wall_seconds / 60:.1f} min ({wall_seconds:.0f} s)",
    ]
