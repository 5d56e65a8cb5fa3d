#!/usr/bin/env bash
# fuzz.sh [TARGET...]: the target behind `make fuzz`: builds the libFuzzer targets of tests/fuzz
# with clang, ASan and UBSan into build-fuzz/, runs each for FUZZ_SECONDS (default 60) from its
# corpus tests/fuzz/corpus/TARGET (new inputs go to a scratch copy, not into the repo), FUZZ_JOBS
# targets at a time (default nproc: each target is one process on one core), and ends with one
# line per target, in the order of the targets: executions, new corpus entries, crashes. A crash
# leaves its input in build-fuzz/crashes/TARGET-*; turn each into a unit test (tests/unit) before
# fixing it.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-$(nproc)}
case $jobs in '' | *[!0-9]* | 0) echo "fuzz.sh: FUZZ_JOBS must be a number of at least 1, not '$jobs'" >&2; exit 2 ;; esac
command -v clang >/dev/null || { echo "fuzz.sh: clang is needed (apt-get install clang)" >&2; exit 3; }
# clang counts a variable that exists only for its cleanup attribute as unused; gcc does not.
make -s -j"$(nproc)" BUILD=build-fuzz CC=clang PROGRAM=build-fuzz/usernode OPTFLAGS="-O1 -g -fno-omit-frame-pointer" \
  SANITIZE="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -Wno-unused-variable" \
  fuzz-build ||
  { echo "fuzz.sh: build failed" >&2; exit 1; }

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi

mkdir -p build-fuzz/crashes
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# run_target TARGET: one target, in the background; its summary line goes to build-fuzz/TARGET.line
# and what it says about a crash to build-fuzz/TARGET.crash, printed in target order at the end.
run_target() {
  local t=$1 work log status=0 execs found crashes=0 line
  work=$(mktemp -d "${TMPDIR:-/tmp}/usernode-fuzz.XXXXXX")
  cp -a "tests/fuzz/corpus/$t/." "$work/" 2>/dev/null || true
  log=build-fuzz/$t.log
  "build-fuzz/fuzz/$t" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=1024 \
    -print_final_stats=1 -artifact_prefix="build-fuzz/crashes/$t-" "$work" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  found=$(( $(find "$work" -type f | wc -l) - $(find "tests/fuzz/corpus/$t" -type f 2>/dev/null | wc -l) ))
  rm -rf "$work"
  : >"build-fuzz/$t.crash"
  if [ $status -ne 0 ]; then
    crashes=1
    grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$log" | head -5 >"build-fuzz/$t.crash"
  fi
  line=$(printf '%-22s %10s executions %6s new inputs %s crash(es) (exit %s)' "$t" "${execs:-?}" "$found" "$crashes" "$status")
  # --tap (scripts/check.sh): one TAP line per target
  if [ "${FUZZ_TAP:-0}" = 1 ]; then
    [ $status -eq 0 ] && line="ok $line" || line="not ok $line"
  fi
  echo "$line" >"build-fuzz/$t.line"
  return $status
}

running=0
for t in "${targets[@]}"; do
  rm -f "build-fuzz/$t.line" "build-fuzz/$t.crash"
  if [ $running -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
  run_target "$t" &
  running=$((running + 1))
done
wait

failed=0
for t in "${targets[@]}"; do
  if [ ! -s "build-fuzz/$t.line" ]; then
    line="$t: no result (the run was interrupted)"
    [ "${FUZZ_TAP:-0}" = 1 ] && line="not ok $line"
    echo "$line"
    failed=1
    continue
  fi
  [ -s "build-fuzz/$t.crash" ] && { cat "build-fuzz/$t.crash" >&2; failed=1; }
  case $(cat "build-fuzz/$t.line") in "not ok "* | *"(exit "[1-9]*) failed=1 ;; esac
  cat "build-fuzz/$t.line"
done
exit $failed
