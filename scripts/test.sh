#!/usr/bin/env bash
# The test command: lint, format check, type check, then pytest against the real local stack.
# Starts whatever part of the stack is not running and stops only what it started.
# With no arguments it runs the whole suite in two steps: every test not marked `serial` on
# TEST_WORKERS pytest-xdist workers (2 by default; a module stays on one worker, so its
# fixtures are built once), then the `serial` tests (they stop, kill or flood the shared
# stack) alone. With arguments they go to one plain pytest run: scripts/test.sh -k restart
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy"; .venv/bin/mypy
scripts/install_chromium.sh  # the browser check needs it; make up does not install it
echo "== pytest (real LocalStack S3, MLflow, Prefect, Prometheus; PostgreSQL behind them)"
if [ $# -gt 0 ]; then
    exec .venv/bin/python -m stack run -- .venv/bin/pytest "$@"
fi
exec .venv/bin/python -m stack run -- bash -c '
    .venv/bin/pytest -m "not serial" -n "${TEST_WORKERS:-2}" --dist loadfile --durations=25
    parallel=$?
    echo "== pytest: the serial tests, alone"
    .venv/bin/pytest -m serial --durations=10
    serial=$?
    echo "== pytest: parallel part exit $parallel, serial part exit $serial"
    [ "$parallel" -eq 0 ] && [ "$serial" -eq 0 ]
'
