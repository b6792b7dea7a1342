#!/usr/bin/env bash
# fuzz.sh — `make fuzz`: build the libFuzzer targets (clang, ASan+UBSan) and
# run each for FUZZ_SECONDS (default 60) from its committed seed corpus
# (test/fuzz/corpus/<target>); what it finds new goes to test/fuzz/work.
# Prints executions and coverage per target; a crash fails the run and
# leaves its input in test/fuzz/work/<target>-crash-*.
#   FUZZ_SECONDS=600 make fuzz       FUZZ_TARGETS="s3event http" make fuzz
# With FUZZ_SECONDS=0 it only replays the seeds (what `make check` does).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-s3event sigv4 http report creds}
make -s fuzzers 2>&1 | grep -v 'overriding recipe\|ignoring old recipe' || true
status=0
for t in $targets; do
  bin=test/fuzz/fuzz_$t
  seeds=test/fuzz/corpus/$t
  work=test/fuzz/work/$t
  mkdir -p "$work"
  log=$(mktemp)
  if [ "$seconds" = 0 ]; then
    args=(-runs=0 "$seeds")
  else
    args=(-max_total_time="$seconds" -max_len=8192 -timeout=10 -print_final_stats=1
          -artifact_prefix="test/fuzz/work/$t-" "$work" "$seeds")
  fi
  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=test/fuzz/lsan.supp \
     UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     "$bin" "${args[@]}" >"$log" 2>&1; then
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    if [ "$seconds" = 0 ]; then
      echo "fuzz $t: ok, $(ls "$seeds" | wc -l) seeds replayed, ${cov:-cov: ?}"
    else
      execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
      echo "fuzz $t: ok, ${execs:-?} executions in ${seconds} s, ${cov:-cov: ?}, corpus $(ls "$work" | wc -l) new + $(ls "$seeds" | wc -l) seeds"
    fi
  else
    status=1
    echo "fuzz $t: FAILED"
    tail -n 60 "$log"
  fi
  rm -f "$log"
done
exit $status
