#!/usr/bin/env bash
# Whole-program check of scale-out: three release servers on one real redis-server, 300
# bots matchmaking through one of them, then one node killed with SIGKILL (the checks are
# in .ci/scaleout.py). Bounded: every wait has a deadline and every process is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v redis-server >/dev/null || { echo "redis-server is not installed: run .ci/setup.sh"; exit 1; }
cargo build --release -p tickcast-server -p tickcast-bots
exec timeout 300 python3 .ci/scaleout.py
