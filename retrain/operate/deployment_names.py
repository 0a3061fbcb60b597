"""What a model's Prefect deployments are called: one place for scripts/deploy.py, the `retrain`
command line, the demo and the tests, so nobody hard-codes a deployment's name.

A name reads as `<model>: <what it does>` (Prefect 3.8.8 refuses only `/ % & > <` in a name), so
the deployments of a model stay distinct in the UI's deployment list, and
`prefect deployment run '<flow>/<model>: <what>'` still finds them. The second half is one word:
the list cuts a name at about 23 characters, and the flow's name under it says the rest
(`monitor-and-retrain`, `champion-history`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

BANNED = frozenset("/%&><")  # prefect.types.names.BANNED_CHARACTERS


class Purpose(StrEnum):
    """What a deployment of one model does; the value is the name's second half."""

    SCHEDULED = "check"
    RETRAIN_NOW = "retrain"
    REPLAY = "replay"
    ROLLBACK = "rollback"
    APPROVE = "approve"
    HISTORY = "history"


@dataclass(frozen=True)
class Spec:
    """The flow a purpose runs (its name on the server and its entrypoint) and its description."""

    flow: str
    entrypoint: str
    description: str


SPECS: dict[Purpose, Spec] = {
    Purpose.SCHEDULED: Spec(
        "monitor-and-retrain",
        "flows/monitor.py:monitor_and_retrain",
        "The loop for {model} on its schedule: load the newest window, validate, drift, score "
        "the champion, decide; retrain, gate and promote when the policy says so.",
    ),
    Purpose.RETRAIN_NOW: Spec(
        "monitor-and-retrain",
        "flows/monitor.py:monitor_and_retrain",
        "Retrain {model} now whatever drift and metrics say (force_retrain); the gate still "
        "decides whether the challenger is promoted.",
    ),
    Purpose.REPLAY: Spec(
        "replay",
        "flows/operate.py:replay",
        "Replay {model}'s loop over past windows (shadow mode by default: decide and record, "
        "never move the champion), with a table of what it would have done window by window.",
    ),
    Purpose.ROLLBACK: Spec(
        "rollback",
        "flows/operate.py:rollback",
        "Move {model}'s champion alias back to the version it replaced, recording who, when and "
        "why; refuses when there is nothing to roll back to.",
    ),
    Purpose.APPROVE: Spec(
        "approve",
        "flows/approval.py:approve",
        "Approve or reject {model}'s challenger that waits in mode: approval (the request is the "
        "model's approval artifact; docs/approval.md).",
    ),
    Purpose.HISTORY: Spec(
        "champion-history",
        "flows/operate.py:champion_history",
        "Who was {model}'s champion from when to when, as a table artifact.",
    ),
}


def deployment_name(model: str, purpose: Purpose) -> str:
    """The deployment's own name, e.g. `flights_delay: retrain`."""
    bad = sorted(BANNED & set(model))
    if bad:
        raise ValueError(f"model name {model!r} has characters Prefect refuses in a name: {bad}")
    return f"{model}: {purpose.value}"


def deployment_path(model: str, purpose: Purpose) -> str:
    """`<flow>/<deployment>`, as `prefect deployment run` and `run_deployment` take it."""
    return f"{SPECS[purpose].flow}/{deployment_name(model, purpose)}"


def description(model: str, purpose: Purpose) -> str:
    """One or two sentences on what the deployment does, shown under its name in the UI."""
    return SPECS[purpose].description.format(model=model)
