# lib.bash: helpers of the VM tests (loaded by the phase*.bats files).

# wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds; fails after SECONDS.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || { echo "timed out waiting for: $*" >&2; return 1; }
    sleep 0.1
  done
}

# start_node NAME CMD...: the probe in the background; sets node_pid, node_out; waits for "ready".
start_node() {
  local name=$1
  shift
  node_out=$BATS_TEST_TMPDIR/$name.out
  "$PROBE" "$name" -- "$@" >"$node_out" 2>&1 3>&- &
  # shellcheck disable=SC2034 # used by the .bats files
  node_pid=$!
  wait_for 30 grep -q '^ready' "$node_out" || { cat "$node_out"; return 1; }
}

# node_cgroup: the node's cgroup path (G/node), from the probe's status line.
node_cgroup() {
  sed -n 's/^describe: cgroups: \(\/[^ ]*\) (.*/\1/p' "$node_out"
}

not_dir() { [ ! -d "$1" ]; }
unit_gone() { ! systemctl --user is-active --quiet "$1"; }
no_process() { ! pgrep -u "$(id -u)" -f "$1" >/dev/null; }
