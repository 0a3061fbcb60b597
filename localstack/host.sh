#!/usr/bin/env bash
# Host-mode LocalStack (no Docker): S3 only, in its own Python 3.13 virtual environment.
# Usage: localstack/host.sh <state-dir> <port>. Runs the ready.d hooks of localstack/init/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
state="${1:?state dir}"
port="${2:-4566}"
mkdir -p "$state/fs/etc/localstack" "$state/volume"
ln -sfn "$here/init" "$state/fs/etc/localstack/init"
export GATEWAY_LISTEN="127.0.0.1:$port" SERVICES=s3 EAGER_SERVICE_LOADING=1 \
    LOCALSTACK_VOLUME_DIR="$state/volume" FILESYSTEM_ROOT="$state/fs" \
    SKIP_SSL_CERT_DOWNLOAD=1 OVERRIDE_IN_DOCKER=0 DISABLE_EVENTS=1 LOCALSTACK_TELEMETRY_DISABLED=1
exec "$root/.venv-localstack/bin/python" -m localstack.runtime.main
