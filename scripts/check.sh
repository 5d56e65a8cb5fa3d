#!/usr/bin/env bash
# check.sh [--asan]: the test command behind `make check` (and `make asan`).
#
# Installs what is missing (as root), builds, runs the unit tests (cmocka), the integration tests
# (bats) as an unprivileged user, the VM tests where the host can run them, and ends with one line
# "N passed, N failed, N skipped". Run as root, it creates a throwaway user with subordinate id
# ranges (scripts/test-user.sh) and opens /dev/net/tun to users, as udev does on desktops.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

asan=0
[ "${1:-}" = --asan ] && asan=1

scripts/install-deps.sh build test lint fuzz || exit $?

build=build program=usernode make_vars=()
if [ $asan -eq 1 ]; then
  build=build-asan program=usernode-asan
  make_vars=(BUILD=$build PROGRAM=$program OPTFLAGS="-O1 -g -fno-omit-frame-pointer"
             SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=undefined")
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
make -s -j"$(nproc)" "${make_vars[@]}" tests || { echo "0 passed, 1 failed"; exit 1; }

# The real CRI-O and kubelet for the real-node tests (tests/e2e here, the VM carries its own):
# from ../shared/k8s when it is beside the repo, unless USERNODE_K8S_BIN already names them.
if [ -z "${USERNODE_K8S_BIN:-}" ] && k8s_bin=$(scripts/k8s-bin.sh 2>/dev/null); then
  export USERNODE_K8S_BIN=$k8s_bin
fi

passed=0 failed=0 skipped=0
# Tally TAP lines (cmocka with CMOCKA_MESSAGE_OUTPUT=TAP, bats --tap) and echo them.
tally() {
  local line
  while IFS= read -r line; do
    printf '%s\n' "$line"
    case "$line" in
      "not ok "*) failed=$((failed + 1)) ;;
      "ok "*"# skip"* | "ok "*"# SKIP"*) skipped=$((skipped + 1)) ;;
      "ok "*) passed=$((passed + 1)) ;;
    esac
  done
}

echo "== unit tests"
for t in "$build"/unit/test_*; do
  [ -x "$t" ] || continue
  echo "# $(basename "$t")"
  tally < <(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1; rc=$?; [ $rc -eq 0 ] || echo "# exit status $rc")
done

# The Makefile as packagers use it: the environment's flags, no forced -Werror, make install.
if [ $asan -eq 0 ]; then
  echo "== build tests"
  tally < <(bats --tap tests/build 2>&1)
fi

# libFuzzer targets (tests/fuzz): CHECK_FUZZ_SECONDS each (60, as `make fuzz`), FUZZ_JOBS at a
# time (scripts/fuzz.sh: nproc), so six targets cost three minutes on two cores, not six.
if [ $asan -eq 0 ] && command -v clang >/dev/null; then
  echo "== fuzzing, ${CHECK_FUZZ_SECONDS:-60} s per target, ${FUZZ_JOBS:-$(nproc)} at a time"
  tally < <(FUZZ_TAP=1 FUZZ_SECONDS=${CHECK_FUZZ_SECONDS:-60} scripts/fuzz.sh 2>&1)
fi

echo "== integration tests"
stage=$(mktemp -d /tmp/usernode-check.XXXXXX)
trap 'rm -rf "$stage"' EXIT
cp -a "$program" "$stage/usernode"
mkdir -p "$stage/helpers"
cp -a "$build"/helpers/. "$stage/helpers/" 2>/dev/null
cp -a tests scripts configs "$stage/"
chmod -R a+rX "$stage"
chmod 755 "$stage"

# A hung test fails after this many seconds instead of hanging CI; tests bound their own waits.
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-120}
test_env=(BATS_TEST_TIMEOUT="$BATS_TEST_TIMEOUT" USERNODE="$stage/usernode" USERNODE_HELPERS="$stage/helpers" USERNODE_TOP="$stage"
          ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}"
          USERNODE_K8S_BIN="${USERNODE_K8S_BIN:-}")
if [ "$(id -u)" -eq 0 ]; then
  # shellcheck source=scripts/test-user.sh
  . scripts/test-user.sh
  test_user_setup || { echo "0 passed, 1 failed"; exit 1; }
  [ -c /dev/net/tun ] && chmod 0666 /dev/net/tun
  tally < <(cd "$stage" && run_as_test_user env "${test_env[@]}" bats --tap tests/integration 2>&1)
  echo "== integration tests as a user without subordinate ids"
  test_user_setup_without_subids || { echo "0 passed, 1 failed"; exit 1; }
  tally < <(cd "$stage" && run_as_user_without_subids env "${test_env[@]}" bats --tap tests/integration/nosubid 2>&1)
  echo "== integration tests as root"
  tally < <(cd "$stage" && env "${test_env[@]}" bats --tap tests/integration/root 2>&1)
  echo "== end-to-end tests (real crio and kubelet; skipped, naming what is missing, without them)"
  tally < <(cd "$stage" && run_as_test_user env "${test_env[@]}" bats --tap tests/e2e 2>&1)
else
  tally < <(cd "$stage" && env "${test_env[@]}" bats --tap tests/integration tests/integration/nosubid \
            tests/integration/root tests/e2e 2>&1)
fi

if [ $asan -eq 0 ] && [ -x tests/vm/run.sh ]; then
  echo "== VM tests"
  tally < <(tests/vm/run.sh --tap 2>&1)
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
