#!/usr/bin/env bash
# Whole-program check: the release server on its embedded defaults and a bot swarm
# against it. Fails if any bot fails, any checksum mismatches or inputs go unacked.
# Bounded: the swarm stops itself, and the server is stopped with SIGTERM (then 1001).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=.ci/lib.sh
source .ci/lib.sh
bots=${SWARM_BOTS:-50}
duration=${SWARM_DURATION:-10s}
port=${SWARM_PORT:-17777}
out=${SWARM_OUT:-target/swarm-smoke}
mkdir -p "$out"

cargo build --release -p tickcast-server -p tickcast-bots
./target/release/tickcast-server --bind "127.0.0.1:$port" --max-connections-per-ip "$((bots + 10))" --stats-json "$out/server.json" >"$out/server.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT

wait_for_port "$port"

status=0
timeout 120 ./target/release/tickcast-bots --url "ws://127.0.0.1:$port/ws" --bots "$bots" \
  --duration "$duration" --ramp 2s --json "$out/bots.json" || status=$?

# SIGTERM drains: every client closed with 1001, exit 0 within 2 s (the drain's bound,
# not a speed figure).
stopping=$(date +%s%N)
kill -TERM $server
wait $server || { echo "server exited with $?"; status=1; }
drain_ms=$(( ($(date +%s%N) - stopping) / 1000000 ))
echo "server drained and exited in ${drain_ms} ms"
[ "$drain_ms" -le 2000 ] || { echo "the drain took over 2 s"; status=1; }
grep -q "closed every connection" "$out/server.log" || { echo "server did not log what it closed"; status=1; }
trap - EXIT
grep -q "shutting down" "$out/server.log" || { echo "server did not log its shutdown"; status=1; }
python3 - "$out/server.json" "$out/bots.json" <<'PY' || status=1
import json, sys
server, bots = (json.load(open(path)) for path in sys.argv[1:3])
for key in ["ticks", "tick_ms", "overruns", "clients_max", "entities_max", "bytes_out", "bytes_in"]:
    assert key in server, f"stats report lacks {key}"
assert server["clients_max"] >= bots["bots_connected"], (server["clients_max"], bots["bots_connected"])
print(f"server: {server['ticks']} ticks, tick p99 {server['tick_ms']['p99']:.2f} ms, "
      f"{server['overruns']} overruns, {server['bytes_out']} bytes out")
PY
echo "--- server log (tail)"; tail -n 5 "$out/server.log"
exit $status
