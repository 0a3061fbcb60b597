#!/usr/bin/env bash
# Create the two virtual environments with pinned packages; safe to run again (a no-op when
# the lock files have not changed since the last install).
#   .venv            Python 3.11: the project (requirements.lock + the project, editable)
#   .venv-localstack Python 3.13: LocalStack's host-mode runtime (localstack/requirements.lock)
#   .venv-docs       Python 3.11: MkDocs and its Material theme (requirements-docs.lock)
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9

find_python() {  # $1 = minor version, e.g. 3.11
    local v="$1" root
    if command -v "python$v" >/dev/null 2>&1 && "python$v" -c "" 2>/dev/null; then
        command -v "python$v"; return
    fi
    if command -v pyenv >/dev/null 2>&1; then
        root="$(pyenv root)"
        for p in "$root"/versions/"$v".*/bin/"python$v"; do
            [ -x "$p" ] && { echo "$p"; return; }
        done
    fi
    echo "error: Python $v not found (looked on PATH and in pyenv); install it, e.g. 'pyenv install $v'" >&2
    exit 1
}

stamp_ok() {  # $1 = stamp file, rest = inputs
    local stamp="$1"; shift
    [ -f "$stamp" ] || return 1
    for f in "$@"; do [ "$f" -nt "$stamp" ] && return 1; done
    return 0
}

if ! stamp_ok .venv/.installed pyproject.toml requirements.lock; then
    echo "setup: project environment (.venv, Python 3.11)"
    [ -x .venv/bin/python ] || "$(find_python 3.11)" -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
    .venv/bin/uv pip sync --quiet --python .venv/bin/python requirements.lock
    .venv/bin/uv pip install --quiet --python .venv/bin/python --no-deps -e .
    touch .venv/.installed
fi

if ! stamp_ok .venv-localstack/.installed localstack/requirements.lock; then
    echo "setup: LocalStack environment (.venv-localstack, Python 3.13)"
    [ -x .venv-localstack/bin/python ] || "$(find_python 3.13)" -m venv .venv-localstack
    .venv/bin/uv pip sync --quiet --python .venv-localstack/bin/python localstack/requirements.lock
    touch .venv-localstack/.installed
fi

if ! stamp_ok .venv-docs/.installed requirements-docs.lock; then
    echo "setup: documentation environment (.venv-docs: MkDocs with the Material theme)"
    [ -x .venv-docs/bin/python ] || "$(find_python 3.11)" -m venv .venv-docs
    .venv/bin/uv pip sync --quiet --python .venv-docs/bin/python requirements-docs.lock
    touch .venv-docs/.installed
fi

apt_install() {  # $1 = Debian package, $2 = what it is for; apt-get update first, once per call
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: $1 is not installed and apt-get is unavailable; install it with your" \
             "package manager ($2)" >&2
        exit 1
    fi
    echo "setup: $1 (Debian package, $2)"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$1" >/dev/null
}

# PostgreSQL behind the Prefect and MLflow servers: Debian's postgresql-15, installed once; nothing
# to do when it is there, or when the stack runs on SQLite (STACK_DB=sqlite).
has_postgres() { ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || command -v postgres >/dev/null; }
if [ "${STACK_DB:-postgres}" != "sqlite" ] && ! has_postgres; then
    apt_install postgresql-15 "the Prefect and MLflow database; or run on SQLite: STACK_DB=sqlite"
    has_postgres || { echo "error: postgresql-15 did not install" >&2; exit 1; }
fi

# Prometheus and its Pushgateway (the flow runs push their metrics there): Debian's packages,
# installed once. The stack runs the binaries itself (stack/prometheus.py, stack/pushgateway.py)
# with its own config and ports; the packages' own services are never used.
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
    apt_install prometheus "metrics and alert rules of the flow runs (ships promtool)"
    command -v promtool >/dev/null || { echo "error: prometheus did not install" >&2; exit 1; }
fi
if ! command -v prometheus-pushgateway >/dev/null 2>&1; then
    apt_install prometheus-pushgateway "where each flow run pushes its metrics"
    command -v prometheus-pushgateway >/dev/null \
        || { echo "error: prometheus-pushgateway did not install" >&2; exit 1; }
fi
# Alertmanager routes what the rules fire to Slack, email and PagerDuty (stack/alertmanager.py):
# Debian's prometheus-alertmanager 0.25, which ships amtool (it validates the generated config).
if ! command -v prometheus-alertmanager >/dev/null 2>&1 || ! command -v amtool >/dev/null 2>&1; then
    apt_install prometheus-alertmanager "routes the alerts to Slack, email, PagerDuty (ships amtool)"
    command -v amtool >/dev/null \
        || { echo "error: prometheus-alertmanager did not install" >&2; exit 1; }
fi
