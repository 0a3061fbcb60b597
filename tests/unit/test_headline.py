"""The demo's headline: served vs never retrained, and what the loop did, from its records."""

from __future__ import annotations

import pytest

from retrain.headline import headline, headline_lines


def row(served: float | None, never: float | None) -> dict[str, float | None]:
    return {"served_metric": served, "never_retrained_metric": never}


RECORDS = [
    {"decision": {"action": "keep"}},
    {"decision": {"action": "retrain"}, "gate": {"promote": True}, "promoted": True},
    {"decision": {"action": "retrain"}, "gate": {"promote": False}, "promoted": False},
    {
        "decision": {"action": "retrain"},
        "gate": {"promote": True},
        "promoted": True,
        "reinstated_version": "2",
    },
    {"decision": {"action": "skip"}},
]


def test_headline_counts_and_means_over_the_weeks_both_scored() -> None:
    rows = [row(0.70, 0.68), row(0.66, 0.66), row(0.60, 0.65), row(None, 0.7), row(0.72, 0.70)]
    h = headline(rows, RECORDS)
    assert (h.windows, h.scored) == (5, 4)
    assert h.mean_served == pytest.approx((0.70 + 0.66 + 0.60 + 0.72) / 4)
    assert h.mean_never == pytest.approx((0.68 + 0.66 + 0.65 + 0.70) / 4)
    assert h.gain == pytest.approx(h.mean_served - h.mean_never)  # type: ignore[operator]
    assert (h.weeks_better, h.weeks_worse) == (2, 1)
    assert (h.retrains, h.promotions, h.reinstatements, h.gate_refusals) == (3, 1, 1, 1)
    lines = headline_lines(h, "roc_auc", 125.0)
    assert "over 4 scored weeks of 5" in lines[0] and "equal 1" in lines[1]
    assert "gate refusals 1" in lines[2] and "2.1 min (125 s)" in lines[3]


def test_headline_of_nothing_scored_says_so() -> None:
    h = headline([row(None, None)], [])
    assert h.mean_served is None and h.gain is None and h.retrains == 0
    assert "- vs never retrained - (-)" in headline_lines(h, "roc_auc", 1.0)[0]
