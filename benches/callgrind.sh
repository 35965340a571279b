#!/usr/bin/env bash
# Instruction counts of the hot paths under valgrind's callgrind: repeatable on a noisy
# machine (the same binary and input give the same count whatever else runs), so this is
# how BENCHMARKS.md compares versions. Usage: bash benches/callgrind.sh [--no-build]
# Prints one table: instructions per call of write_frame, a client's apply_frame (in the
# interest crowd and in a swarm-like one where everything in view moves), and a
# 10 000-drone tick. Needs valgrind (Debian package valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
if [[ "${1:-}" != "--no-build" ]]; then
  cargo build --release -p tickcast-benches --example instructions
fi
# INSTRUCTIONS_BINARY=path counts another build of the workload (e.g. an older commit's).
binary=${INSTRUCTIONS_BINARY:-target/release/examples/instructions}
out=target/callgrind
mkdir -p "$out"

# count PART FUNCTION CALLS LABEL
count() {
  local part=$1 function=$2 calls=$3 label=$4
  local file="$out/$part-$function.out"
  valgrind --tool=callgrind --callgrind-out-file="$file" --toggle-collect="*$function*" \
    "$binary" "$part" >/dev/null 2>"$out/$part-$function.log"
  local total
  total=$(awk '/^totals:/ {print $2}' "$file")
  printf '| %-40s | %14s | %6s | %12s |\n' "$label" "$total" "$calls" "$((total / calls))"
}

printf '| %-40s | %14s | %6s | %12s |\n' "function" "instructions" "calls" "per call"
printf '|%s|%s|%s|%s|\n' "------------------------------------------" "----------------" "--------" "--------------"
count frames "write_one" 2000 "ClientView::write_frame (200 in view)"
count frames_moving "write_one" 2000 "write_frame, ~66 in view, all moving"
count frames_skipping "write_one" 1000 "same, each writer skipping every other"
count frames "apply_one" 20 "ClientMirror::apply_frame (client side)"
count apply_moving "apply_moving_one" 200 "apply_frame, ~66 in view, all moving"
count step "step_one" 60 "Simulation::step (10 000 drones)"
