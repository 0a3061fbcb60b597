"""Run the monitor flow and SIGKILL this process at a step boundary (tests/integration/test_kills).

    python tests/kill_runner.py MODEL AS_OF POINT before|after

POINT names the function wrapped: the wrapper calls the original (for "after") and then kills
the process with SIGKILL, so nothing after that step runs, no `finally`, no handler. Exit code
3 means the point was never reached.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from datetime import date
from typing import Any

POINTS = {
    "registration": ("retrain.registry.versions", "register_version"),  # create the model version
    "tagging": ("mlflow:MlflowClient", "set_model_version_tag"),  # previous_champion tag
    "alias": ("mlflow:MlflowClient", "set_registered_model_alias"),  # move `champion`
    "record": ("retrain.data.s3", "put_json"),  # the S3 decision record
}
NOT_REACHED = 3


def _owner(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    owner = importlib.import_module(module)
    return getattr(owner, attr) if attr else owner


def _die(point: str, when: str) -> None:
    os.write(1, f"KILLED {when} {point}\n".encode())  # not print: the flow captures prints
    os.kill(os.getpid(), signal.SIGKILL)


def arm(point: str, when: str) -> None:
    """Replace the function at `point` by one that dies before or after calling it."""
    owner = _owner(POINTS[point][0])
    name = POINTS[point][1]
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if when == "before":
            _die(point, when)
        result = original(*args, **kwargs)
        _die(point, when)
        return result

    setattr(owner, name, wrapper)


def main(argv: list[str]) -> int:
    model, as_of, point, when = argv
    if point not in POINTS or when not in ("before", "after"):
        raise SystemExit(f"usage: kill_runner.py MODEL AS_OF {'|'.join(POINTS)} before|after")
    arm(point, when)
    from flows.monitor import monitor_and_retrain

    monitor_and_retrain(model, as_of=date.fromisoformat(as_of))
    return NOT_REACHED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
