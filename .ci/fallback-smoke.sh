#!/usr/bin/env bash
# Whole-program check of the HTTP fallback: the release server, the fault proxy in front
# of it refusing WebSocket upgrades (as a corporate proxy might), and a bot swarm on
# `--transport auto` through the proxy. Every bot must find its WebSocket refused, fall
# back to HTTP and play there: fails on any failed bot, any checksum mismatch or unacked
# input, a bot left on the WebSocket, or a proxy that did not refuse each bot's upgrade.
# Bounded: the swarm and the proxy stop themselves, the server is stopped with SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=.ci/lib.sh
source .ci/lib.sh
bots=${FALLBACK_BOTS:-20}
duration=${FALLBACK_DURATION:-10s}
port=${FALLBACK_PORT:-18777}
proxy_port=${FALLBACK_PROXY_PORT:-18778}
out=${FALLBACK_OUT:-target/fallback-smoke}
mkdir -p "$out"

cargo build --release -p tickcast-server -p tickcast-bots
./target/release/tickcast-server --bind "127.0.0.1:$port" --max-connections-per-ip "$((bots + 10))" \
  --stats-json "$out/server.json" >"$out/server.log" 2>&1 &
server=$!
./target/release/tickcast-bots proxy --listen "127.0.0.1:$proxy_port" --upstream "127.0.0.1:$port" \
  --refuse-upgrades --duration 90s --json "$out/proxy.json" >"$out/proxy.log" 2>&1 &
proxy=$!
trap 'kill -TERM $server $proxy 2>/dev/null || true; wait $server $proxy 2>/dev/null || true' EXIT

wait_for_port "$port"
wait_for_port "$proxy_port"
# Something else on either port (another run) would take the bots elsewhere.
kill -0 $server 2>/dev/null || { echo "the server did not start (port $port taken?)"; cat "$out/server.log"; exit 1; }
kill -0 $proxy 2>/dev/null || { echo "the proxy did not start (port $proxy_port taken?)"; cat "$out/proxy.log"; exit 1; }

status=0
timeout 120 ./target/release/tickcast-bots --url "ws://127.0.0.1:$proxy_port/ws" --transport auto \
  --bots "$bots" --duration "$duration" --ramp 2s --json "$out/bots.json" || status=$?

# The proxy prints its summary (and writes its JSON) when interrupted.
kill -INT $proxy
wait $proxy || { echo "proxy exited with $?"; status=1; }
kill -TERM $server
wait $server || { echo "server exited with $?"; status=1; }
trap - EXIT
python3 - "$out/bots.json" "$out/proxy.json" "$bots" <<'PY' || status=1
import json, sys
bots, proxy = (json.load(open(path)) for path in sys.argv[1:3])
expected = int(sys.argv[3])
assert bots["checksum_mismatches"] == 0, bots["checksum_mismatches"]
transports = {t["transport"]: t for t in bots["transports"]}
assert set(transports) == {"http"}, f"bots not all on http: {transports}"
assert transports["http"]["bots"] == expected, transports["http"]
assert proxy["upgrades_refused"] >= expected, proxy["upgrades_refused"]
http = transports["http"]
print(f"{http['bots']} bots over http: input to ack p50 {http['rtt_ms']['p50']:.1f} ms, "
      f"p99 {http['rtt_ms']['p99']:.1f} ms; down {http['down_kbps_per_bot']:.1f}, "
      f"up {http['up_kbps_per_bot']:.1f} kbit/s per bot; proxy refused {proxy['upgrades_refused']} upgrades, "
      f"relayed {proxy['up']['bytes']} bytes up, {proxy['down']['bytes']} down")
PY
echo "--- proxy summary"; cat "$out/proxy.log"
exit $status
