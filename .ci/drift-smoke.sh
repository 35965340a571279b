#!/usr/bin/env bash
# Whole-program check of the drift scene with spectators and players together: the
# release server with `--game drift`, 30 bots spectating the whole world (the shared
# world body) and 10 playing, at once. Fails if any bot fails or any checksum mismatches.
# Bounded: the swarms stop themselves, and the server is stopped with SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=.ci/lib.sh
source .ci/lib.sh
port=${DRIFT_PORT:-17779}
out=${DRIFT_OUT:-target/drift-smoke}
mkdir -p "$out"

cargo build --release -p tickcast-server -p tickcast-bots
./target/release/tickcast-server --bind "127.0.0.1:$port" --game drift --drift-entities 300 \
  --snapshot-rate 20 --budget-kbps 2000 --max-connections-per-ip 100 >"$out/server.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT

wait_for_port "$port"

bots() { timeout 120 ./target/release/tickcast-bots --url "ws://127.0.0.1:$port/ws" --duration 8s --ramp 1s "$@"; }
status=0
bots --bots 30 --spectate --json "$out/spectators.json" >"$out/spectators.txt" 2>&1 &
spectators=$!
bots --bots 10 --json "$out/players.json" >"$out/players.txt" 2>&1 || { status=1; cat "$out/players.txt"; }
wait $spectators || { status=1; cat "$out/spectators.txt"; }
python3 - "$out/spectators.json" "$out/players.json" <<'PY' || status=1
import json, sys
spectators, players = (json.load(open(path)) for path in sys.argv[1:3])
for name, run in [("spectators", spectators), ("players", players)]:
    assert run["bots_connected"] == run["bots"], (name, run["bots_connected"])
    assert run["checksum_mismatches"] == 0, (name, run["checksum_mismatches"])
    print(f"{name}: {run['bots_connected']} bots, {run['snapshots_applied']} snapshots, 0 mismatches")
assert spectators["inputs_sent"] == 0, "spectators sent inputs"
PY
exit $status
