#!/usr/bin/env bash
# Headless Chromium for the browser check (scripts/browser_check.py): Debian's package, installed
# once, only by what runs the check (`make test`, `make demo`); `make up` never installs it.
# Nothing to do when a Chromium is already on PATH.
set -euo pipefail
for name in chromium chromium-browser google-chrome; do
    command -v "$name" >/dev/null 2>&1 && exit 0
done
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: chromium is not on PATH and apt-get is unavailable; install Chromium with your" \
         "package manager (the browser check runs \`chromium --headless\`)" >&2
    exit 1
fi
echo "installing chromium (Debian package, for the browser check)"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "error: chromium did not install" >&2; exit 1; }
