#!/usr/bin/env bash
# Installs what the tests beyond cargo need, on a fresh machine: Debian's chromium for
# the browser test, and the web SDK's npm packages (exact versions, from its lockfile).
# Idempotent: skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q chromium
fi
npm ci --prefix assets/web --no-audit --no-fund --loglevel=error
