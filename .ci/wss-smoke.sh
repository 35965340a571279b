#!/usr/bin/env bash
# Whole-program check over wss: the release server with a self-signed certificate and
# the bot swarm trusting it with --insecure (the in-process tests cover --ca).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=.ci/lib.sh
source .ci/lib.sh
port=${WSS_PORT:-17778}
out=target/wss-smoke
mkdir -p "$out"

./target/release/tickcast-server --bind "127.0.0.1:$port" --max-connections-per-ip 100 --tls-self-signed >"$out/server.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
wait_for_port "$port"
grep -q "spki_sha256_base64" "$out/server.log" || { echo "the server did not log its certificate's fingerprint"; exit 1; }
timeout 120 ./target/release/tickcast-bots --url "wss://127.0.0.1:$port/ws" --insecure --bots 20 \
  --duration 5s --ramp 1s --json "$out/bots.json"
