#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer) of every decoder of peer bytes, for a
# bounded time: the targets of shared/fuzz (docs/FUZZING.md). For each target it first
# replays every committed input of shared/fuzz/regressions/<target>/, then fuzzes from
# the committed seeds plus a scratch corpus (shared/fuzz/corpus/<target>, not committed)
# for FUZZ_SECONDS. Exits non-zero if any input crashes, hangs or runs out of memory,
# after printing where the input was written and how to replay it.
#
#   FUZZ_SECONDS=18      fuzzing time per message target, a quarter of it for each of the
#                        two framing targets (6 targets: about 80 s in all)
#   FUZZ_TARGETS="a b"   a subset of the targets
#
# Needs a nightly toolchain (`rustup toolchain install nightly`); installs cargo-fuzz
# if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

fuzz_dir=shared/fuzz
seconds=${FUZZ_SECONDS:-18}
read -r -a targets <<<"${FUZZ_TARGETS:-client_msg server_msg snapshot_apply upgrade_request fallback_batch fallback_stream}"
started=$SECONDS

# Largest input per target. client_msg: the server refuses larger client frames before
# decoding them (limits.max_message_bytes, 1009). The others: libFuzzer's usual 4 KiB,
# which holds a full snapshot of a 70-entity view.
max_len() {
  case $1 in
    client_msg) echo 1024 ;;
    *) echo 4096 ;;
  esac
}

# Fuzzing time per target. The HTTP fallback's framing targets are a few dozen branches
# each, and a 60 s run from the seeds covered all it ever reached within 2 s
# (docs/FUZZING.md): a quarter of the time (at least 1 s) leaves the rest to the
# message decoders.
seconds_for() {
  case $1 in
    fallback_*) echo $((seconds / 4 > 0 ? seconds / 4 : 1)) ;;
    *) echo "$seconds" ;;
  esac
}

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

host=$(rustc +nightly -vV | sed -n 's/^host: //p')
# Only upgrade_request needs the server crate, much the largest part of the build.
features=(--no-default-features)
[[ " ${targets[*]} " == *" upgrade_request "* ]] && features=()
echo "== building the fuzz targets ($host, address sanitizer, debug assertions)"
cargo +nightly fuzz build --fuzz-dir "$fuzz_dir" --target "$host" "${features[@]}"
bin="$fuzz_dir/target/$host/release"
# What `cargo fuzz run` sets: Rust's statics trip ASan's ODR check.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_odr_violation=0}

failed=()
# Prints why a run failed, the input that failed and how to replay it.
report_failure() {
  local target=$1 log=$2
  echo "!! $target failed (full log: $log):"
  # The panic and its message, libFuzzer's verdict (crash, timeout, out-of-memory).
  grep -E -A2 "panicked at" "$log" | head -n 12 | sed 's/^/   /' || true
  grep -E "ERROR: (libFuzzer|AddressSanitizer)|^SUMMARY:" "$log" | head -n 6 | sed 's/^/   /' || true
  local inputs
  inputs=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log")
  # Replaying given files, libFuzzer names each before running it: the last one crashed.
  [[ -z $inputs ]] && inputs=$(sed -n 's/^Running: \(.*\)$/\1/p' "$log" | tail -n 1)
  if [[ -n $inputs ]]; then
    while read -r input; do
      echo "!! crashing input: $input"
      echo "   replay: $bin/$target $input"
      [[ $input == */regressions/* ]] ||
        echo "   keep it: cp $input $fuzz_dir/regressions/$target/<what-it-caught>  (then fix the decoder)"
    done <<<"$inputs"
  fi
  failed+=("$target")
}

for target in "${targets[@]}"; do
  if [[ ! -x $bin/$target ]]; then
    echo "!! no fuzz target $target in $bin"
    failed+=("$target")
    continue
  fi
  artifacts="$fuzz_dir/artifacts/$target"
  corpus="$fuzz_dir/corpus/$target"
  mkdir -p "$artifacts" "$corpus"
  log="$artifacts/fuzz.log"

  mapfile -t regressions < <(find "$fuzz_dir/regressions/$target" -type f ! -name '.*' 2>/dev/null | sort)
  echo "== $target: replaying ${#regressions[@]} regression input(s)"
  if ((${#regressions[@]} > 0)); then
    if ! "$bin/$target" -runs=0 -timeout=5 -rss_limit_mb=2048 -malloc_limit_mb=256 \
      -artifact_prefix="$artifacts/" "${regressions[@]}" >"$artifacts/regressions.log" 2>&1; then
      report_failure "$target" "$artifacts/regressions.log"
      continue
    fi
  fi

  echo "== $target: fuzzing for $(seconds_for "$target")s"
  dict=()
  [[ -f $fuzz_dir/dicts/$target.dict ]] && dict=(-dict="$fuzz_dir/dicts/$target.dict")
  if "$bin/$target" "$corpus" "$fuzz_dir/seeds/$target" "${dict[@]}" \
    -max_total_time="$(seconds_for "$target")" -max_len="$(max_len "$target")" -timeout=5 -rss_limit_mb=2048 \
    -malloc_limit_mb=256 -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1; then
    # "#N DONE cov: C ft: F corp: K/S lim: L exec/s: E rss: R" and the run's totals.
    grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' "$log" | sed 's/^/   /'
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log" | sed 's/^/   /'
  else
    report_failure "$target" "$log"
  fi
done

echo
if ((${#failed[@]} > 0)); then
  echo "== fuzz: FAILED: ${failed[*]} ($((SECONDS - started))s); see docs/FUZZING.md"
  exit 1
fi
echo "== fuzz: ${#targets[@]} target(s) passed ($((SECONDS - started))s in all)"
