#!/usr/bin/env bash
# Installs what the tests beyond cargo need, on a fresh machine: Debian's chromium for
# the browser test, redis-server for the multi-node tests (started by the tests themselves
# on loopback ports, never as a service), and the web SDK's npm packages (exact versions,
# from its lockfile). Idempotent: skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # The tests start their own redis-servers: keep the package from starting a service
  # on 6379 (containers usually have this policy already; leave theirs alone).
  policy=/usr/sbin/policy-rc.d
  own_policy=false
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=true
  fi
  apt-get install -y -q "${missing[@]}"
  if $own_policy; then rm -f "$policy"; fi
fi
npm ci --prefix assets/web --no-audit --no-fund --loglevel=error
