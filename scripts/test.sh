#!/usr/bin/env bash
# The test command: lint, format check, type check, then pytest against the real local stack.
# Starts whatever part of the stack is not running and stops only what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy"; .venv/bin/mypy
scripts/install_chromium.sh  # the browser check needs it; make up does not install it
echo "== pytest (real LocalStack S3, MLflow server, Prefect server)"
exec .venv/bin/python scripts/stack.py run -- .venv/bin/pytest "$@"
