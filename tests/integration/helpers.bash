# helpers.bash: shared by the integration tests. They run as an ordinary user with subordinate ids
# (scripts/check.sh arranges that); USERNODE is the binary under test.

: "${USERNODE:?set USERNODE to the usernode binary (make check does)}"

# A state dir of the test's own, so tests never collide with a user's nodes or each other.
setup_state() {
  export XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/run"
  export XDG_DATA_HOME="$BATS_TEST_TMPDIR/data"
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
  mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
  NODE_STATE="$XDG_RUNTIME_DIR/usernode/default"
}

# wait_until SECONDS CMD...: poll CMD every 50 ms until it succeeds; fail after SECONDS.
wait_until() {
  local limit=$1; shift
  local deadline=$(( $(date +%s%N) + limit * 1000000000 ))
  until "$@"; do
    if [ "$(date +%s%N)" -ge "$deadline" ]; then
      echo "timed out after ${limit}s waiting for: $*" >&2
      return 1
    fi
    sleep 0.05
  done
}

# Start `usernode run ARGS...` in the background; sets NODE_PID (the launcher) and waits until the
# node reports itself up (its pid file exists).
start_node() {
  "$USERNODE" run "$@" >"$BATS_TEST_TMPDIR/node.out" 2>&1 &
  NODE_PID=$!
  wait_until 10 test -s "$NODE_STATE/pid"
}

# Stop the node started by start_node (if still running) and collect it.
stop_node() {
  if [ -n "${NODE_PID:-}" ] && kill -0 "$NODE_PID" 2>/dev/null; then
    kill -TERM "$NODE_PID" 2>/dev/null || true
    wait "$NODE_PID" 2>/dev/null || true
  fi
  NODE_PID=
}

# Processes of this user other than the test's own shell and its ancestors.
user_processes_named() {
  pgrep -u "$(id -u)" -f "$1" || true
}

# reachable HOST PORT: a TCP round trip through a published port works (the port is published and
# the server inside the node listens). port_peer is tests/helpers/port_peer.
reachable() {
  "$USERNODE_HELPERS/port_peer" roundtrip "$1" "$2" >/dev/null 2>&1
}
