"""Task wrapping the pure retrain policy, so each decision shows up in the Prefect UI."""

from __future__ import annotations

from prefect import get_run_logger, task

from retrain.budget import timed
from retrain.config import Thresholds
from retrain.decisions.policy import Decision, PolicyInputs, decide


@task
@timed
def decide_action(inputs: PolicyInputs, thresholds: Thresholds) -> Decision:
    """Retrain, keep or skip, with machine-readable reasons."""
    decision = decide(inputs, thresholds)
    get_run_logger().info("decision: %s (%s)", decision.action, ", ".join(decision.reasons))
    return decision
